"""What each raw source holds: its table, natural key and typed, checked columns.

The checks run in PostgreSQL (set-based), not per row in Python; this module
only declares them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "text"  # text | date | timestamptz | integer | numeric
    required: bool = False
    choices: tuple[str, ...] = ()  # allowed values (compared lower-case)


@dataclass(frozen=True)
class Kind:
    name: str
    table: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # A later file may replace a record with the same key (HR and CRM master data
    # change); for events (feedback, interactions) a changed record is quarantined.
    updatable: bool = False
    # Timestamp column that may not lie in the future.
    event_time: str | None = None
    extra_checks: tuple[tuple[str, str], ...] = field(default=())  # (sql condition that is bad, reason sql)
    # Input fields stored only as a keyed hash: input field → hashed column.
    # Customer contact details never reach the database in clear.
    hashed: tuple[tuple[str, str], ...] = ()
    # Input fields kept in clear and also hashed (employee emails, for self-feedback checks).
    also_hashed: tuple[tuple[str, str], ...] = ()
    # Input email fields whose domain is also kept as a keyed hash (nomination rings).
    domain_hashed: tuple[tuple[str, str], ...] = ()

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def input_fields(self) -> list[str]:
        """Fields a file or mapping may provide (hashed columns are fed by their input field)."""
        hashed_cols = {col for _, col in self.hashed + self.also_hashed}
        hashed_cols |= {col for _, col in self.domain_hashed}
        return [c.name for c in self.columns if c.name not in hashed_cols] + [f for f, _ in self.hashed]


FEEDBACK_KINDS = ("csat", "nps", "ces", "stars", "thumbs")
CHANNELS = ("email", "sms", "whatsapp", "in_app", "web", "phone", "qr_kiosk")

KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind(
            "employees",
            "employees",
            ("employee_id",),
            (
                Column("employee_id", required=True),
                Column("full_name", required=True),
                Column("email"),
                Column("locale"),
                Column("manager_id"),
                Column("team"),
                Column("cost_centre"),
                Column("role"),
                Column("location"),
                Column("hire_date", "date"),
                Column("status", required=True, choices=("active", "leave", "terminated")),
                Column("terminated_on", "date"),
                Column("updated_at", "timestamptz"),
                Column("email_hash"),
            ),
            updatable=True,
            also_hashed=(("email", "email_hash"),),
        ),
        Kind(
            "accounts",
            "accounts",
            ("account_id",),
            (
                Column("account_id", required=True),
                Column("account_name", required=True),
                Column("segment", required=True, choices=("b2b", "b2c")),
                Column("co_funding_share", "numeric"),
                Column("co_funding_monthly_cap", "numeric"),
                Column("currency"),
                Column("updated_at", "timestamptz"),
            ),
            updatable=True,
            extra_checks=(
                (
                    "co_funding_share::numeric not between 0 and 1",
                    "'co_funding_share ' || co_funding_share || ' is not a share between 0 and 1'",
                ),
            ),
        ),
        Kind(
            "interactions",
            "interactions",
            ("interaction_id",),
            (
                Column("interaction_id", required=True),
                Column("account_id"),
                Column("customer_id"),
                Column(
                    "interaction_kind",
                    required=True,
                    choices=("ticket", "case", "order", "call", "visit", "chat"),
                ),
                Column("channel", choices=CHANNELS),
                Column("queue"),
                Column("opened_at", "timestamptz", required=True),
                Column("closed_at", "timestamptz"),
                Column("updated_at", "timestamptz"),
            ),
            event_time="opened_at",
        ),
        Kind(
            "participants",
            "interaction_participants",
            ("interaction_id", "employee_id", "participant_role", "touched_at"),
            (
                Column("interaction_id", required=True),
                Column("employee_id", required=True),
                Column(
                    "participant_role",
                    required=True,
                    choices=("owner", "assist", "escalation", "delivery"),
                ),
                Column("touched_at", "timestamptz", required=True),
                Column("updated_at", "timestamptz"),
            ),
            event_time="touched_at",
        ),
        Kind(
            "feedback",
            "feedback_responses",
            ("response_id",),
            (
                Column("response_id", required=True),
                Column("interaction_id"),
                Column("employee_id"),
                Column("feedback_kind", required=True, choices=FEEDBACK_KINDS),
                Column("score", "integer", required=True),
                Column("comment"),
                Column("channel", choices=CHANNELS),
                Column("responded_at", "timestamptz", required=True),
                Column("updated_at", "timestamptz"),
                Column("customer_email_hash"),
                Column("customer_phone_hash"),
                # kept only through a mapping that allows it (customer_first_name_allowed)
                Column("customer_first_name"),
            ),
            event_time="responded_at",
            hashed=(("customer_email", "customer_email_hash"), ("customer_phone", "customer_phone_hash")),
            extra_checks=(
                (
                    "nullif(interaction_id, '') is null and nullif(employee_id, '') is null",
                    "'feedback names neither an interaction nor an employee'",
                ),
                (
                    "not (score::integer between (case lower(feedback_kind) when 'nps' then 0 when 'thumbs' then 0 else 1 end)"
                    " and (case lower(feedback_kind) when 'csat' then 5 when 'stars' then 5 when 'nps' then 10"
                    " when 'ces' then 7 when 'thumbs' then 1 end))",
                    "'score ' || score || ' is outside the ' || lower(feedback_kind) || ' scale'",
                ),
            ),
        ),
        Kind(
            "nominations",
            "nominations",
            ("nomination_id",),
            (
                Column("nomination_id", required=True),
                Column("employee_id", required=True),
                Column("account_id"),
                Column("customer_id"),
                Column("reason"),
                Column("channel", choices=CHANNELS),
                Column("nominated_at", "timestamptz", required=True),
                Column("updated_at", "timestamptz"),
                Column("customer_email_hash"),
                Column("customer_domain_hash"),
            ),
            event_time="nominated_at",
            hashed=(("customer_email", "customer_email_hash"),),
            domain_hashed=(("customer_email", "customer_domain_hash"),),
        ),
        Kind(
            "exchange_rates",
            "exchange_rates",
            ("rate_date", "from_currency", "to_currency"),
            (
                Column("rate_date", "date", required=True),
                Column("from_currency", required=True),
                Column("to_currency", required=True),
                Column("rate", "numeric", required=True),
                Column("updated_at", "timestamptz"),
            ),
            # a rate may be corrected by a later file
            updatable=True,
            extra_checks=(
                ("rate::numeric <= 0", "'rate ' || rate || ' is not above 0'"),
                (
                    "from_currency !~ '^[A-Z]{3}$' or to_currency !~ '^[A-Z]{3}$'",
                    "'currencies are ISO 4217 codes like EUR: got ' || from_currency || ' and ' || to_currency",
                ),
            ),
        ),
    ]
}


def kind(name: str) -> Kind:
    from plaudit.errors import IngestError

    if name not in KINDS:
        raise IngestError(f"unknown kind {name!r}: use one of {', '.join(KINDS)}")
    return KINDS[name]
