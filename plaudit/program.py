"""A recognition program as code: `programs/<name>.yml`, validated by pydantic.

Errors name the file, the line and the field. Money is Decimal (never float);
the database stores it in integer minor units.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from plaudit.errors import ProgramError

# The score scale of each feedback kind. A band outside its kind's scale is an error.
SCORE_SCALES: dict[str, tuple[int, int]] = {
    "csat": (1, 5),
    "nps": (0, 10),
    "ces": (1, 7),
    "stars": (1, 5),
    "thumbs": (0, 1),
}
ATTRIBUTION_MODELS = ("last_touch", "first_touch", "linear", "role_weighted", "time_decay")
PARTICIPANT_ROLES = ("owner", "assist", "escalation", "delivery")
MINOR_UNITS = 100  # two decimal places for every supported currency


def _no_float(v: Any) -> Any:
    """YAML turns 0.1 into a binary float; money must be written exactly."""
    if isinstance(v, float):
        raise ValueError(f"write money as a quoted decimal string, e.g. \"{v:.2f}\" (floats are inexact)")
    return v


Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Eligibility(_Strict):
    roles: list[str] | None = Field(
        default=None, description="employee roles covered; omit to cover every role"
    )


class Attribution(_Strict):
    model: Literal["last_touch", "first_touch", "linear", "role_weighted", "time_decay"] = "last_touch"
    role_weights: dict[str, Annotated[Decimal, Field(gt=0, le=1, decimal_places=6)]] | None = Field(
        default=None, description="role_weighted: weight per participant role; they sum to 1"
    )
    half_life_hours: Annotated[Decimal, Field(gt=0, le=100_000)] | None = Field(
        default=None, description="time_decay: a touch this many hours before the feedback counts half"
    )

    _numbers = field_validator("role_weights", "half_life_hours", mode="before")(
        lambda v: {k: _no_float(x) for k, x in v.items()} if isinstance(v, dict) else _no_float(v)
    )

    @model_validator(mode="after")
    def _model_settings(self) -> Attribution:
        if self.model == "role_weighted":
            if not self.role_weights:
                raise ValueError("role_weighted attribution needs `role_weights`, e.g. {owner: \"0.7\", assist: \"0.3\"}")
            unknown = [r for r in self.role_weights if r not in PARTICIPANT_ROLES]
            if unknown:
                raise ValueError(f"unknown role(s) {', '.join(unknown)} in role_weights: use {', '.join(PARTICIPANT_ROLES)}")
            total = sum(self.role_weights.values(), Decimal(0))
            if total != 1:
                raise ValueError(f"role_weights sum to {total}, not 1")
        elif self.role_weights is not None:
            raise ValueError(f"`role_weights` only applies to role_weighted attribution, not {self.model}")
        if self.model == "time_decay" and self.half_life_hours is None:
            raise ValueError("time_decay attribution needs `half_life_hours`")
        if self.model != "time_decay" and self.half_life_hours is not None:
            raise ValueError(f"`half_life_hours` only applies to time_decay attribution, not {self.model}")
        return self


class PointsRule(_Strict):
    rule: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="stable id, written into every ledger entry")
    kind: Literal["csat", "nps", "ces", "stars", "thumbs", "nomination"]
    scores: tuple[int, int] | None = Field(default=None, description="inclusive score band [min, max]")
    points: Decimal = Field(ge=0, max_digits=10, decimal_places=2)

    _money = field_validator("points", mode="before")(_no_float)

    @model_validator(mode="after")
    def _band_fits_scale(self) -> PointsRule:
        if self.kind == "nomination":
            if self.scores is not None:
                raise ValueError("a nomination rule takes no `scores` band")
            return self
        if self.scores is None:
            raise ValueError(f"a {self.kind} rule needs `scores: [min, max]`")
        lo, hi = self.scores
        smin, smax = SCORE_SCALES[self.kind]
        if lo > hi:
            raise ValueError(f"scores [{lo}, {hi}]: min is greater than max")
        if lo < smin or hi > smax:
            raise ValueError(f"scores [{lo}, {hi}] fall outside the {self.kind} scale {smin}–{smax}")
        return self


class Multiplier(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="stable id, written into the ledger's explanation")
    factor: Annotated[Decimal, Field(gt=0, le=100, max_digits=8, decimal_places=4)]
    from_: date | None = Field(default=None, alias="from", description="first day of feedback it applies to (UTC)")
    to: date | None = Field(default=None, description="last day of feedback it applies to (UTC)")
    channels: list[str] | None = Field(default=None, description="the channels it applies to; omit for all")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    _money = field_validator("factor", mode="before")(_no_float)

    @model_validator(mode="after")
    def _range(self) -> Multiplier:
        if self.from_ and self.to and self.from_ > self.to:
            raise ValueError(f"multiplier {self.name}: from {self.from_} is after to {self.to}")
        known = ("email", "sms", "whatsapp", "in_app", "web", "phone", "qr_kiosk")
        unknown = [c for c in self.channels or [] if c not in known]
        if unknown:
            raise ValueError(f"multiplier {self.name}: unknown channel(s) {', '.join(unknown)}; use {', '.join(known)}")
        return self


class Awards(_Strict):
    value_per_point: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4)]
    auto_approve_up_to: Money = Field(description="awards up to this amount are approved without a person")
    max_award: Money = Field(description="a single award above this is treated as a data error (quality gate)")
    finance_approvers: list[str] = Field(
        default_factory=list, description="employee ids of finance: they receive the monthly close reminder"
    )

    _money = field_validator("value_per_point", "auto_approve_up_to", "max_award", mode="before")(_no_float)


class Budget(_Strict):
    monthly: Money

    _money = field_validator("monthly", mode="before")(_no_float)


class Communications(_Strict):
    sender: str = "Plaudit <recognition@plaudit.invalid>"
    default_locale: str = "en"
    templates: str | None = Field(
        default=None,
        description="a folder of the program's own templates (relative to the program file); they override "
        "the shipped ones and render in Jinja2's sandbox",
    )


class Program(_Strict):
    program: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: str
    effective_from: date
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    eligibility: Eligibility = Eligibility()
    attribution: Attribution = Attribution()
    points: list[PointsRule] = Field(min_length=1)
    multipliers: list[Multiplier] = Field(
        default_factory=list, description="points multipliers; several that apply multiply together"
    )
    awards: Awards
    budget: Budget
    communications: Communications = Communications()

    @model_validator(mode="after")
    def _bands_do_not_overlap(self) -> Program:
        seen: dict[str, list[tuple[int, int, str]]] = {}
        ids: set[str] = set()
        for r in self.points:
            if r.rule in ids:
                raise ValueError(f"rule id {r.rule!r} is used twice")
            ids.add(r.rule)
            if r.scores is None:
                continue
            for lo, hi, other in seen.get(r.kind, []):
                if r.scores[0] <= hi and lo <= r.scores[1]:
                    raise ValueError(
                        f"{r.kind} bands of rules {other!r} [{lo}, {hi}] and {r.rule!r} "
                        f"{list(r.scores)} overlap: a score must earn points under one rule only"
                    )
            seen.setdefault(r.kind, []).append((r.scores[0], r.scores[1], r.rule))
        return self

    @model_validator(mode="after")
    def _multiplier_names_unique(self) -> Program:
        names = [m.name for m in self.multipliers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"multiplier name(s) used twice: {', '.join(dupes)}")
        return self

    @property
    def version_id(self) -> str:
        """A hash of the program's content: the same file gives the same version.

        Keys left at their defaults are left out, so a Plaudit upgrade that adds
        a key does not turn every existing program into a new version.
        """
        canonical = json.dumps(self.model_dump(mode="json", exclude_defaults=True, by_alias=True), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def minor(self, amount: Decimal) -> int:
        """Money in integer minor units (cents)."""
        return int((amount * MINOR_UNITS).to_integral_exact())


# ------------------------------------------------------------------ loading


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at `loc`, or of its nearest existing parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == key), None)
            if nxt is None:  # unknown key or missing field: point at the key or parent
                knode = next((k for k, _ in node.value if k.value == key), None)
                return knode.start_mark.line + 1 if knode is not None else line
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def load(path: str | Path) -> Program:
    """Parse and validate a program file; raise ProgramError naming file, line and field."""
    p = Path(path)
    if not p.exists():
        raise ProgramError(str(p), [f"{p}: file not found"])
    text = p.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark else str(p)
        raise ProgramError(str(p), [f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    if not isinstance(data, dict):
        raise ProgramError(str(p), [f"{p}:1: a program is a mapping of keys (program, title, points, ...)"])
    try:
        return Program.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
            field = ".".join(str(x) for x in loc) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see docs/programs.md for the keys)"
            line = _line_of(node, loc)
            problems.append(f"{p}:{line}: {field}: {msg}")
        raise ProgramError(str(p), problems) from exc


def resolve(name_or_path: str, programs_dir: Path) -> Path:
    """`demo` → programs/demo.yml; a path is taken as it is."""
    p = Path(name_or_path)
    if p.suffix in (".yml", ".yaml") or p.exists():
        return p
    return programs_dir / f"{name_or_path}.yml"


def store(conn: Any, prog: Program) -> str:
    """Record this program version (a no-op if its content was stored before). Returns its id."""
    vid = prog.version_id
    conn.execute(
        "insert into plaudit.program_versions (program, version_id, effective_from, attribution_model,"
        " value_per_point, currency, auto_approve_up_to_minor, monthly_budget_minor, max_award_minor,"
        " half_life_hours, definition) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (program, version_id) do nothing",
        [
            prog.program, vid, prog.effective_from, prog.attribution.model, prog.awards.value_per_point,
            prog.currency, prog.minor(prog.awards.auto_approve_up_to), prog.minor(prog.budget.monthly),
            prog.minor(prog.awards.max_award), prog.attribution.half_life_hours,
            json.dumps(prog.model_dump(mode="json")),
        ],
    )
    with conn.cursor() as cur:
        cur.executemany(
            "insert into plaudit.program_point_rules (program, version_id, rule_id, feedback_kind,"
            " score_min, score_max, points) values (%s, %s, %s, %s, %s, %s, %s) on conflict do nothing",
            [
                (prog.program, vid, r.rule, r.kind, *(r.scores or (0, 0)), r.points)
                for r in prog.points
            ],
        )
        cur.executemany(
            "insert into plaudit.program_eligibility (program, version_id, dimension, value)"
            " values (%s, %s, 'role', %s) on conflict do nothing",
            [(prog.program, vid, role) for role in prog.eligibility.roles or []],
        )
        cur.executemany(
            "insert into plaudit.program_multipliers (program, version_id, multiplier_id, channel, factor,"
            " valid_from, valid_to) values (%s, %s, %s, %s, %s, %s, %s) on conflict do nothing",
            [(prog.program, vid, m.name, channel, m.factor, m.from_, m.to)
             for m in prog.multipliers for channel in (m.channels or ["*"])],
        )
        cur.executemany(
            "insert into plaudit.program_role_weights (program, version_id, participant_role, weight)"
            " values (%s, %s, %s, %s) on conflict do nothing",
            [(prog.program, vid, role, w) for role, w in (prog.attribution.role_weights or {}).items()],
        )
    return vid
