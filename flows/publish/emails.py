"""Render and deliver queued outbox messages, once each.

A message is rendered once, into its outbox row (subject, text, HTML); delivery
sends what the row holds. The row moves queued → sending → sent (or failed).
Its Message-ID and file name come from its outbox id, so a resend after a
crash is the same message and recognisable. With no PLAUDIT_SMTP_URL,
messages are written as .eml files.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import psycopg
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    nodes,
    pass_eval_context,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer
from markupsafe import Markup
from psycopg import sql
from psycopg.rows import dict_row

from plaudit import failpoints, settings
from plaudit import program as program_schema
from plaudit.errors import ConfigError, PlauditError

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()./-]{6,}\d")


def mask_contacts(text: str) -> str:
    """Customer contact details never reach an employee: mask emails and phone numbers."""
    return _PHONE.sub("[phone removed]", _EMAIL.sub("[email removed]", text))


def trim_words(text: str, limit: int = 280) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _newstyle_gettext(translate: Any) -> Any:
    """Jinja's newstyle `gettext` for one language, called straight (`{% trans %}` blocks, and `_()`
    of anything but a literal): the i18n extension's wrapper calls the translation through the
    template context a second time, and its `_` alias went through it once more. What it returns
    is the same: the translation, marked safe where the template autoescapes, with the variables
    put in by `%` (so escaped there), even when there are none."""

    @pass_eval_context
    def gettext(eval_ctx: Any, string: str, /, **variables: Any) -> str:
        rv = translate(string)
        if eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    return gettext


class _TranslatedLiterals(NodeTransformer):
    """`_("a literal", name=...)` in a template, translated when the template is compiled: the
    literal's translation, marked safe where the template autoescapes, `%` its variables (escaped
    there), which is what the newstyle `_` returns when it is called, without the call."""

    def __init__(self, translate: Callable[[str], str]) -> None:
        self.translate = translate

    def visit_Call(self, node: nodes.Call) -> nodes.Node:  # noqa: N802 - the visitor's naming
        node = self.generic_visit(node)
        if (isinstance(node.node, nodes.Name) and node.node.name == "_" and len(node.args) == 1
                and isinstance(node.args[0], nodes.Const) and isinstance(node.args[0].value, str)
                and node.dyn_args is None and node.dyn_kwargs is None):
            translated = nodes.MarkSafeIfAutoescape(nodes.Const(self.translate(node.args[0].value)))
            variables = nodes.Dict([nodes.Pair(nodes.Const(k.key), k.value) for k in node.kwargs])
            return nodes.Mod(translated, variables, lineno=node.lineno)
        return node


class _LiteralsTranslated:
    """An environment whose templates have their `_("literal")` translated when compiled (each
    rendering called `_` 18 times a message, about a fifth of its time: the 2,000 emails/s target,
    bench/RESULTS.md). Jinja has no public step between parsing and compiling, so this one wraps
    `_parse`; were it not called, `_` would be called when rendering, as before: the same output."""

    translate_literals: Callable[[str], str] | None = None

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)  # type: ignore[misc]
        return _TranslatedLiterals(self.translate_literals).visit(tree) if self.translate_literals else tree


class _Environment(_LiteralsTranslated, Environment):
    pass


class _SandboxedEnvironment(_LiteralsTranslated, SandboxedEnvironment):
    pass


def environment(program_templates: str | None = None, language: str | None = None) -> Environment:
    """The Jinja2 environment: autoescaped HTML, StrictUndefined, gettext.

    With a program's own templates folder, those templates come first and
    everything renders in the sandbox: a program file is data, not code.
    With a `language`, its translations are installed (a template's `_("a literal")` translated
    when it is compiled); without, the messages stay as written.
    """
    options: dict[str, Any] = {
        "autoescape": select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
        "undefined": StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "extensions": ["jinja2.ext.i18n"],
        "auto_reload": False,  # templates do not change while a process renders: no stat() per message
    }
    env: Environment
    if program_templates:
        folder = Path(program_templates)
        if not folder.is_dir():
            raise ConfigError(f"the program's templates folder {folder} does not exist")
        env = _SandboxedEnvironment(
            loader=ChoiceLoader([FileSystemLoader(folder), FileSystemLoader(TEMPLATES_DIR)]), **options)
    else:
        env = _Environment(loader=FileSystemLoader(TEMPLATES_DIR), **options)
    if language is None:
        env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]  # added by the i18n extension
        return env
    tr = translations(language)
    env.translate_literals = tr.gettext  # type: ignore[attr-defined]
    env.install_gettext_translations(tr, newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext"] = env.globals["_"] = _newstyle_gettext(tr.gettext)
    return env


LOCALES_DIR = TEMPLATES_DIR / "locales"


@lru_cache(maxsize=16)
def translations(language: str) -> Any:
    """gettext translations for a language, compiled from templates/locales/<lang>/LC_MESSAGES/messages.po."""
    from io import BytesIO

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    po = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def program_templates_dir(definition: dict[str, Any]) -> str | None:
    """The program's own templates folder, resolved against the programs folder."""
    folder = (definition.get("communications") or {}).get("templates")
    if not folder:
        return None
    path = Path(folder)
    return str(path if path.is_absolute() else settings.load().programs_dir / path)


@lru_cache(maxsize=1)
def available_languages() -> frozenset[str]:
    """The languages Plaudit has translations for (read once per process)."""
    return frozenset({"en"} | ({p.name for p in LOCALES_DIR.iterdir() if p.is_dir()} if LOCALES_DIR.is_dir() else set()))


@lru_cache(maxsize=64)
def babel_locale(language: str) -> Any:
    """The babel Locale for a language, parsed once per process (parsing it per email cost 6% of rendering)."""
    from babel import Locale

    return Locale.parse(language)


def choose_locale(employee_locale: str | None, program_default: str | None) -> str:
    """The employee's language if Plaudit speaks it, else the program's default, else English."""
    available = available_languages()
    for candidate in (employee_locale, program_default):
        lang = (candidate or "").replace("-", "_").split("_")[0].lower()
        if lang in available:
            return lang
    return "en"


def money(amount_minor: int, currency: str) -> str:
    return f"{Decimal(amount_minor) / 100:,.2f} {currency}"


@dataclass
class DeliveryResult:
    written: int = 0
    sent: int = 0
    failed: int = 0
    deferred: int = 0  # temporary failures left queued for the next run
    files: list[str] = field(default_factory=list)


_CONTEXT_SQL = """
select o.outbox_id, o.message_id, o.recipient_email, o.queued_at, o.attempts,
       a.award_id, a.period, a.points, a.amount_minor, a.currency, a.program,
       pv.version_id as program_version_id,
       e.full_name, e.locale, m.full_name as manager_name,
       coalesce((select sum(l.points) from plaudit.ledger_entries l
                 where l.employee_id = a.employee_id and l.program = a.program), 0) as balance,
       held.name as tier_name, nxt.name as next_tier_name, nxt.min_points - rolling.points as points_to_next_tier,
       coalesce((
           select jsonb_agg(q order by q.goodness desc, q.responded_at desc)
           from (
               select f.comment as text, f.feedback_kind as kind, f.score, f.channel, f.responded_at,
                      nullif(trim(f.customer_first_name), '') as customer,
                      (f.score - case f.feedback_kind when 'nps' then 0 when 'thumbs' then 0 else 1 end)::numeric / case f.feedback_kind when 'nps' then 10 when 'ces' then 6 when 'thumbs' then 1 else 4 end as goodness
               from plaudit.ledger_entries l
               join raw.feedback_responses f on l.source_kind = 'feedback' and f.response_id = l.source_id
               where l.employee_id = a.employee_id and l.period = a.period and l.program = a.program
                 and nullif(trim(f.comment), '') is not null
               order by goodness desc, f.responded_at desc
               limit 3
           ) q
       ), '[]'::jsonb) as quotes
{source}
join plaudit.program_versions pv on pv.program = a.program and pv.version_id = a.version_id
join raw.employees e on e.employee_id = a.employee_id
left join raw.employees m on m.employee_id = e.manager_id
-- the tier as of the period's end: rolling 12-month points without tier bonuses (as in fct_employee_balances)
cross join lateral (
    select coalesce(sum(l.points), 0) as points
    from plaudit.ledger_entries l
    cross join lateral (select (to_date(a.period || '-01', 'YYYY-MM-DD') + interval '1 month')::timestamp
                        at time zone 'UTC' as period_end) pe
    where l.employee_id = a.employee_id and l.program = a.program and l.entry_kind <> 'tier_bonus'
      and l.effective_at >= pe.period_end - interval '1 year' and l.effective_at < pe.period_end
) rolling
left join lateral (
    select t ->> 'name' as name from jsonb_array_elements(coalesce(pv.definition -> 'tiers', '[]')) t
    where (t ->> 'min_points')::numeric <= rolling.points order by (t ->> 'min_points')::numeric desc limit 1
) held on true
left join lateral (
    select t ->> 'name' as name, (t ->> 'min_points')::numeric as min_points
    from jsonb_array_elements(coalesce(pv.definition -> 'tiers', '[]')) t
    where (t ->> 'min_points')::numeric > rolling.points order by 2 limit 1
) nxt on true
{where}
order by o.queued_at, o.outbox_id
"""
_PENDING_RENDER = {
    "source": sql.SQL("from plaudit.outbox o join plaudit.awards a on a.award_id = o.award_id"),
    "where": sql.SQL("where o.template = 'recognition' and o.body_html is null"),
}
_ONE_AWARD = {
    "source": sql.SQL("from plaudit.awards a left join plaudit.outbox o on false"),
    "where": sql.SQL("where a.award_id = %(award_id)s"),
}


class RecognitionRenderer:
    """Renders recognition messages from one templates folder (a program's own, or Plaudit's):
    one Jinja environment per language, its translations installed and its templates compiled
    and looked up once."""

    def __init__(self, program_templates: str | None = None) -> None:
        self.program_templates = program_templates
        self._by_locale: dict[str, tuple[Template, Template]] = {}

    def _templates(self, locale: str) -> tuple[Template, Template]:
        """The text and HTML templates in a language, compiled the first time it is asked for."""
        if locale not in self._by_locale:
            env = environment(self.program_templates, locale)
            self._by_locale[locale] = env.get_template("recognition.txt.j2"), env.get_template("recognition.html.j2")
        return self._by_locale[locale]

    def render(self, row: dict[str, Any]) -> tuple[str, str, str]:
        """(subject, text, html) for one recognition message, in the employee's language."""
        from babel.dates import format_date
        from babel.numbers import format_currency, format_decimal

        definition = row["program_definition"]
        locale = choose_locale(row["locale"], definition.get("communications", {}).get("default_locale"))
        text_template, html_template = self._templates(locale)
        tr = translations(locale)
        lang = babel_locale(locale)
        first_name = row["full_name"].split(" ", 1)[0]
        period = datetime.strptime(row["period"], "%Y-%m")
        ctx = {
            "subject": tr.gettext("%(name)s, your customers noticed") % {"name": first_name},
            "first_name": first_name,
            "program_title": definition["title"],
            "locale": locale,
            "period_label": format_date(period, "MMMM y", locale=lang),
            "points": format_decimal(Decimal(row["points"]).normalize(), locale=lang),
            "amount": format_currency(Decimal(row["amount_minor"]) / 100, row["currency"], locale=lang),
            "balance": f"{format_decimal(Decimal(row['balance']).normalize(), locale=lang)} {tr.gettext('pts')}",
            "manager_name": row["manager_name"],
            "tier": row["tier_name"],
            "next_tier": row["next_tier_name"],
            "to_next_tier": format_decimal(Decimal(row["points_to_next_tier"]).normalize(), locale=lang)
            if row["points_to_next_tier"] is not None else None,
            "quotes": [
                {**q, "text": trim_words(mask_contacts(q["text"]))} for q in row["quotes"]
            ],
        }
        return ctx["subject"], text_template.render(ctx), html_template.render(ctx)


class ProgramDefinitions:
    """Program definitions by (program, version id), read once each: a message row refers to its
    version's definition rather than carrying its own copy (5,000 copies took 120 MB)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._by_version: dict[tuple[str, str], dict[str, Any]] = {}

    def attach(self, row: dict[str, Any]) -> dict[str, Any]:
        key = (row["program"], row["program_version_id"])
        if key not in self._by_version:
            found = self._conn.cursor(row_factory=dict_row).execute(
                "select definition from plaudit.program_versions where program = %s and version_id = %s", key
            ).fetchone()
            self._by_version[key] = found["definition"]  # type: ignore[index]
        row["program_definition"] = self._by_version[key]
        return row


RENDER_BATCH = 1000  # messages read, rendered and stored at a time: memory stays flat however many are queued


def render_pending(conn: psycopg.Connection[Any]) -> int:
    """Render every queued recognition message that has no content yet; store it in its row.

    Runs inside the caller's transaction: the messages are read through a server-side cursor
    and stored a batch at a time."""
    renderers: dict[str | None, RecognitionRenderer] = {}
    definitions = ProgramDefinitions(conn)
    rendered = 0
    with conn.cursor(name="plaudit_render_pending", row_factory=dict_row) as cur:
        cur.execute(sql.SQL(_CONTEXT_SQL).format(**_PENDING_RENDER))
        while batch := cur.fetchmany(RENDER_BATCH):
            stored, failed = [], []
            for row in map(definitions.attach, batch):
                definition = row["program_definition"]
                folder = program_templates_dir(definition)
                renderer = renderers.get(folder) or renderers.setdefault(folder, RecognitionRenderer(folder))
                try:
                    subject, text, html = renderer.render(row)
                except TemplateError as exc:  # a program's template that fails, or that the sandbox stops
                    failed.append([f"template error ({type(exc).__name__}): {exc}"[:500], row["outbox_id"]])
                    continue
                stored.append([
                    subject, text, html,
                    definition.get("communications", {}).get("sender") or program_schema.Communications().sender,
                    row["full_name"], row["outbox_id"],
                ])
            with conn.cursor() as write:
                write.executemany(
                    "update plaudit.outbox set state = 'failed', last_error = %s where outbox_id = %s", failed
                )
                write.executemany(
                    "update plaudit.outbox set subject = %s, body_text = %s, body_html = %s, sender = %s,"
                    " recipient_name = %s where outbox_id = %s",
                    stored,
                )
            rendered += len(batch)
    return rendered


def queue_rendered(conn: psycopg.Connection[Any], messages: list[dict[str, Any]], run_id: Any = None) -> int:
    """Queue messages rendered elsewhere (digests, reminders); the dedupe key makes each once only."""
    queued = 0
    for m in messages:
        queued += conn.execute(
            "insert into plaudit.outbox (outbox_id, dedupe_key, template, recipient_employee_id, recipient_email,"
            " recipient_name, message_id, subject, body_text, body_html, sender, run_id)"
            " values (md5(%(key)s), %(key)s, %(template)s, %(to_id)s, %(to_email)s, %(to_name)s,"
            " '<' || md5(%(key)s) || '@plaudit.invalid>', %(subject)s, %(text)s, %(html)s, %(sender)s, %(run_id)s)"
            " on conflict (dedupe_key) do nothing",
            {**m, "run_id": run_id},
        ).rowcount
    return queued


def build_message(row: dict[str, Any]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = row["sender"] or program_schema.Communications().sender
    msg["To"] = str(Address(display_name=row["recipient_name"] or "", addr_spec=row["recipient_email"]))
    msg["Subject"] = row["subject"]
    msg["Message-ID"] = row["message_id"]
    msg["Date"] = format_datetime(row["queued_at"])
    msg["X-Plaudit-Template"] = row["template"]
    if row["award_id"]:
        msg["X-Plaudit-Award"] = row["award_id"]
    msg.set_content(row["body_text"])
    msg.add_alternative(row["body_html"], subtype="html")
    return msg


def _smtp(url: str) -> smtplib.SMTP:
    u = urlparse(url)
    if u.scheme not in ("smtp", "smtp+starttls", "smtps"):
        raise ConfigError(
            f"PLAUDIT_SMTP_URL has scheme {u.scheme!r}: use smtp://, smtp+starttls:// or smtps://host:port"
        )
    host, port = u.hostname or "localhost", u.port or (465 if u.scheme == "smtps" else 25)
    # TLS verifies the server's certificate and name (the system's CAs, or PLAUDIT_SMTP_CA_FILE)
    ca_file = settings.load().smtp_ca_file
    tls = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    client: smtplib.SMTP = (
        smtplib.SMTP_SSL(host, port, timeout=30, context=tls) if u.scheme == "smtps" else smtplib.SMTP(host, port, timeout=30)
    )
    if u.scheme == "smtp+starttls":
        client.starttls(context=tls)
    if u.username:
        client.login(unquote(u.username), unquote(u.password or ""))
    return client


class _Temporary(Exception):
    """A failure worth another attempt: 4xx, a timeout, a dropped connection."""


def _classify(exc: BaseException) -> tuple[bool, str]:
    """(temporary?, reason) for an SMTP failure."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return 400 <= code < 500, f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return 400 <= exc.smtp_code < 500, f"{exc.smtp_code} {text}"
    if isinstance(exc, smtplib.SMTPServerDisconnected | TimeoutError | ConnectionError):
        return True, f"{type(exc).__name__}: {exc}"
    return False, f"{type(exc).__name__}: {exc}"


class _Sender:
    """One SMTP connection, reopened when it drops, paced to the per-minute limit."""

    def __init__(self, url: str, rate_per_minute: int) -> None:
        self.url = url
        self.interval = 60.0 / rate_per_minute if rate_per_minute else 0.0
        self.client: smtplib.SMTP | None = None
        self.last = 0.0

    def send(self, msg: EmailMessage) -> None:
        import time

        wait = self.last + self.interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.last = time.monotonic()
        if self.client is None:
            self.client = _smtp(self.url)
        try:
            self.client.send_message(msg)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.client = None


def deliver(url: str, *, limit: int | None = None) -> DeliveryResult:
    """Send (or write) every queued message, once each. Each state change is committed at once.

    Temporary failures (4xx, timeouts, dropped connections) are retried with
    exponential back-off, as the same message; if they persist the message stays
    queued for the next run. Permanent failures (5xx) mark it failed with the
    server's reason.
    """
    from tenacity import (
        RetryError,
        Retrying,
        retry_if_exception_type,
        stop_after_attempt,
        wait_exponential,
    )

    s = settings.load()
    result = DeliveryResult()
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        with conn.transaction():
            render_pending(conn)
        rows = conn.execute(
            "select outbox_id, message_id, template, award_id, recipient_email, recipient_name, sender, subject,"
            " body_text, body_html, queued_at from plaudit.outbox"
            " where state in ('queued', 'sending') and body_html is not null"
            " order by queued_at, outbox_id limit %(limit)s",
            {"limit": limit},
        ).fetchall()
        if not rows:
            return result
        sender = _Sender(s.smtp_url, s.smtp_rate_per_minute) if s.smtp_url else None
        s.emails_dir.mkdir(parents=True, exist_ok=True)

        def mark(outbox_id: str, sql_text: str, *params: object) -> None:
            conn.execute(sql_text, [*params, outbox_id])

        try:
            for row in rows:
                oid = row["outbox_id"]
                try:
                    msg = build_message(row)
                except (ValueError, TypeError) as exc:  # e.g. an address no mail server accepts
                    mark(oid, "update plaudit.outbox set state = 'failed', attempts = attempts + 1, last_error = %s"
                              " where outbox_id = %s",
                         f"cannot build the message for {row['recipient_email']!r}: {exc}"[:500])
                    result.failed += 1
                    continue
                if sender is None:
                    mark(oid, "update plaudit.outbox set state = 'sending', attempts = attempts + 1 where outbox_id = %s")
                    path = s.emails_dir / f"{oid}.eml"
                    tmp = path.with_suffix(".eml.tmp")
                    tmp.write_bytes(bytes(msg))
                    os.replace(tmp, path)
                    mark(oid, "update plaudit.outbox set state = 'sent', sent_at = now(), delivered_to = %s,"
                              " last_error = null where outbox_id = %s", str(path))
                    result.written += 1
                    result.files.append(str(path))
                    continue

                def attempt(msg: EmailMessage = msg, oid: str = oid) -> None:
                    mark(oid, "update plaudit.outbox set state = 'sending', attempts = attempts + 1 where outbox_id = %s")
                    try:
                        sender.send(msg)  # type: ignore[union-attr]
                        failpoints.hit("after_smtp_accept")
                    except (smtplib.SMTPException, OSError) as exc:
                        temporary, reason = _classify(exc)
                        mark(oid, "update plaudit.outbox set last_error = %s where outbox_id = %s", reason[:500])
                        if temporary:
                            raise _Temporary(reason) from exc
                        raise

                try:
                    for attempt_ctx in Retrying(
                        retry=retry_if_exception_type(_Temporary),
                        stop=stop_after_attempt(max(1, s.smtp_retries)),
                        wait=wait_exponential(multiplier=s.smtp_backoff_seconds, max=60),
                    ):
                        with attempt_ctx:
                            attempt()
                except RetryError as exc:  # still temporary after every attempt: the next run tries again
                    mark(oid, "update plaudit.outbox set state = 'queued', last_error = %s where outbox_id = %s",
                         f"temporary failure, will retry next run: {exc.last_attempt.exception()}"[:500])
                    result.deferred += 1
                    continue
                except (smtplib.SMTPException, OSError) as exc:
                    _, reason = _classify(exc)
                    mark(oid, "update plaudit.outbox set state = 'failed', last_error = %s where outbox_id = %s",
                         f"refused: {reason}"[:500])
                    result.failed += 1
                    continue
                mark(oid, "update plaudit.outbox set state = 'sent', sent_at = now(), delivered_to = %s,"
                          " last_error = null where outbox_id = %s", s.smtp_url.split("@")[-1] if s.smtp_url else "")
                result.sent += 1
        finally:
            if sender is not None:
                sender.close()
    return result


def preview_award(url: str, award_id: str) -> tuple[str, str, str]:
    """(subject, text, html) of an award's recognition email, as it is or would be sent."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        stored = conn.execute(
            "select subject, body_text, body_html from plaudit.outbox where award_id = %s and body_html is not null",
            [award_id],
        ).fetchone()
        if stored:
            return stored["subject"], stored["body_text"], stored["body_html"]
        # Not queued (yet): render it as it would be, for its employee.
        row = conn.execute(sql.SQL(_CONTEXT_SQL).format(**_ONE_AWARD), {"award_id": award_id}).fetchone()
        if row is None:
            raise PlauditError(
                f"no award with id {award_id!r}: `plaudit approvals list --status all` shows the ids"
            )
        ProgramDefinitions(conn).attach(row)
    return RecognitionRenderer(program_templates_dir(row["program_definition"])).render(row)


def list_outbox(url: str, state: str | None = None) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(
            "select outbox_id, template, recipient_employee_id, recipient_email, subject, state, attempts,"
            " last_error, queued_at, sent_at, delivered_to, message_id from plaudit.outbox"
            " where %(state)s::text is null or state = %(state)s order by queued_at, outbox_id",
            {"state": state},
        ).fetchall()


def write_dry_run(url: str, folder: Path) -> list[str]:
    """Write every queued message as an .eml file in `folder` without changing its state."""
    folder.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        with conn.transaction():
            render_pending(conn)
        rows = conn.execute(
            "select outbox_id, message_id, template, award_id, recipient_email, recipient_name, sender, subject,"
            " body_text, body_html, queued_at from plaudit.outbox where state in ('queued', 'sending')"
            " and body_html is not null order by queued_at, outbox_id"
        ).fetchall()
    files = []
    for row in rows:
        path = folder / f"{row['outbox_id']}.eml"
        try:
            path.write_bytes(bytes(build_message(row)))
        except (ValueError, TypeError):
            continue
        files.append(str(path))
    return files
