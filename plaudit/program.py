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
    teams: list[str] | None = Field(default=None, description="teams covered; omit to cover every team")
    locations: list[str] | None = Field(default=None, description="locations covered; omit for every location")
    statuses: list[Literal["active", "leave", "terminated"]] | None = Field(
        default=None, description="employment statuses covered (e.g. [active] leaves out people on leave); "
        "nobody earns after their termination date whatever this says",
    )

    def rows(self) -> list[tuple[str, str]]:
        """(dimension, value) for each value covered; no rows for a dimension = all covered."""
        return [
            (dim, value)
            for dim, values in (("role", self.roles), ("team", self.teams), ("location", self.locations),
                                ("status", self.statuses))
            for value in values or []
        ]


class Attribution(_Strict):
    model: Literal["last_touch", "first_touch", "linear", "role_weighted", "time_decay"] = "last_touch"
    role_weights: dict[str, Annotated[Decimal, Field(gt=0, le=1, decimal_places=6)]] | None = Field(
        default=None, description="role_weighted: weight per participant role; they sum to 1"
    )
    half_life_hours: Annotated[Decimal, Field(gt=0, le=100_000)] | None = Field(
        default=None, description="time_decay: a touch this many hours before the feedback counts half"
    )
    comment_names: Literal["off", "credit", "bonus"] = Field(
        default="off",
        description="an employee named in the comment (full name, or a first name only one candidate has) "
        "among the interaction's participants, else among their teams: `credit` gives them the whole "
        "feedback, `bonus` adds the points of the `comment_named` rule on top of the usual attribution",
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
    kind: Literal["csat", "nps", "ces", "stars", "thumbs", "nomination", "comment_named"]
    scores: tuple[int, int] | None = Field(default=None, description="inclusive score band [min, max]")
    points: Decimal = Field(max_digits=10, decimal_places=2, description="negative only with `negative_points: true`")

    _money = field_validator("points", mode="before")(_no_float)

    @model_validator(mode="after")
    def _band_fits_scale(self) -> PointsRule:
        if self.kind in ("nomination", "comment_named"):
            if self.scores is not None:
                raise ValueError(f"a {self.kind} rule takes no `scores` band")
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


Metric = Literal["positive_feedback", "five_star_ratings", "customers_served"]
_NAME = r"^[a-z][a-z0-9_]*$"


class Caps(_Strict):
    per_day: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)] | None = Field(
        default=None, description="most feedback/nomination points one employee earns in a UTC day"
    )
    per_month: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)] | None = Field(
        default=None, description="most feedback/nomination points one employee earns in a period"
    )

    _money = field_validator("per_day", "per_month", mode="before")(_no_float)


class FairnessBonus(_Strict):
    top: int = Field(ge=1, le=1000, description="the top N of each closed period's leaderboard")
    points: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)]

    _money = field_validator("points", mode="before")(_no_float)


class Fairness(_Strict):
    baseline: Literal["queue", "channel"] = Field(
        default="queue", description="whom an employee is compared with: the feedback of the same queue or channel"
    )
    prior_weight: Annotated[Decimal, Field(ge=0, le=10_000)] = Field(
        default=Decimal(20), description="k: an employee with n responses keeps n/(n+k) of their gap to the baseline"
    )
    min_feedback: int = Field(default=10, ge=1, description="responses in the period before anyone is ranked")
    bonus: FairnessBonus | None = Field(default=None, description="leaderboard points for the top N each period")

    _money = field_validator("prior_weight", mode="before")(_no_float)


class Streak(_Strict):
    name: str = Field(pattern=_NAME)
    days: int = Field(ge=2, le=366, description="working days (Mon–Fri) in a row with positive feedback")
    points: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)]

    _money = field_validator("points", mode="before")(_no_float)


class Milestone(_Strict):
    name: str = Field(pattern=_NAME)
    metric: Metric
    at: int = Field(ge=1, description="the count that reaches the milestone, e.g. the 100th")
    points: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)]

    _money = field_validator("points", mode="before")(_no_float)


class Challenge(_Strict):
    name: str = Field(pattern=_NAME)
    period: str | None = Field(
        default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM; omit to run every month"
    )
    metric: Metric
    goal: int = Field(ge=1)
    points: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)]

    _money = field_validator("points", mode="before")(_no_float)


class Tier(_Strict):
    name: str = Field(min_length=1, max_length=40)
    min_points: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)] = Field(
        description="rolling 12-month points from which the tier holds"
    )
    bonus: Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)] = Field(
        default=Decimal(0), description="points posted once, the first time the employee reaches the tier"
    )

    _money = field_validator("min_points", "bonus", mode="before")(_no_float)


class RepeatRater(_Strict):
    max_ratings: int = Field(ge=1, description="ratings of one employee by one customer allowed in the window")
    days: int = Field(ge=1, le=366, description="the window, in days")


class NominationBurst(_Strict):
    max_nominations: int = Field(ge=1, description="nominations of one employee from one email domain allowed")
    days: int = Field(ge=1, le=366, description="the window, in days")


class Gaming(_Strict):
    repeat_rater: RepeatRater | None = Field(
        default=None, description="hold ratings past max_ratings from one customer for one employee within `days`",
    )
    reassigned_within_minutes: int | None = Field(
        default=None, ge=1, le=1440,
        description="hold a rating when the credited employee touched the interaction this close before it",
    )
    nomination_burst: NominationBurst | None = Field(
        default=None, description="hold nominations for one employee past max_nominations from customers sharing "
        "an email domain within `days`",
    )


class Awards(_Strict):
    value_per_point: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4)]
    auto_approve_up_to: Money = Field(description="awards up to this amount are approved without a person")
    manager_approves_up_to: Money | None = Field(
        default=None, description="above auto_approve_up_to and up to this, the manager decides; above it, finance "
        "(one of finance_approvers). Omit to let managers decide every amount",
    )
    max_award: Money = Field(description="a single award above this is treated as a data error (quality gate)")
    finance_approvers: list[str] = Field(
        default_factory=list, description="employee ids of finance: they receive the monthly close reminder"
    )
    instant: list[Literal["nomination", "milestone", "challenge"]] = Field(
        default_factory=list, description="entry kinds paid as an award of their own the night they post, "
        "instead of with the month",
    )

    _money = field_validator("value_per_point", "auto_approve_up_to", "manager_approves_up_to", "max_award",
                             mode="before")(_no_float)

    @model_validator(mode="after")
    def _routing(self) -> Awards:
        if self.manager_approves_up_to is not None:
            if self.manager_approves_up_to < self.auto_approve_up_to:
                raise ValueError(
                    f"manager_approves_up_to {self.manager_approves_up_to} is below auto_approve_up_to "
                    f"{self.auto_approve_up_to}"
                )
            if not self.finance_approvers:
                raise ValueError("awards above manager_approves_up_to go to finance: list `finance_approvers`")
        return self


class Budget(_Strict):
    monthly: Money = Field(description="what the program may spend per period, all teams together")
    teams: dict[str, Money] = Field(
        default_factory=dict, description="a period's limit per team (the employee's team at the period's end)"
    )
    cost_centres: dict[str, Money] = Field(
        default_factory=dict, description="a period's limit per cost centre (the employee's at the period's end)"
    )

    _money = field_validator("monthly", mode="before")(_no_float)

    @field_validator("teams", "cost_centres", mode="before")
    @classmethod
    def _no_float_values(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: _no_float(x) for k, x in v.items()}
        return v


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
    negative_points: bool = Field(default=False, description="allow rules with negative points")
    caps: Caps = Caps()
    fairness: Fairness = Fairness()
    streaks: list[Streak] = Field(default_factory=list)
    milestones: list[Milestone] = Field(default_factory=list)
    challenges: list[Challenge] = Field(default_factory=list)
    tiers: list[Tier] = Field(default_factory=list, description="ascending thresholds on rolling 12-month points")
    gaming: Gaming = Gaming()
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
    def _names_unique(self) -> Program:
        for what, names in (
            ("multiplier", [m.name for m in self.multipliers]),
            ("streak", [x.name for x in self.streaks]),
            ("milestone", [x.name for x in self.milestones]),
            ("challenge", [x.name for x in self.challenges]),
            ("tier", [x.name for x in self.tiers]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what} name(s) used twice: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _rules_consistent(self) -> Program:
        negative = [r.rule for r in self.points if r.points < 0]
        if negative and not self.negative_points:
            raise ValueError(
                f"rule(s) {', '.join(negative)} give negative points: set `negative_points: true` to allow it"
            )
        has_named_rule = any(r.kind == "comment_named" for r in self.points)
        if self.attribution.comment_names == "bonus" and not has_named_rule:
            raise ValueError("attribution.comment_names is `bonus`: add a points rule of kind `comment_named`")
        if has_named_rule and self.attribution.comment_names != "bonus":
            raise ValueError("a `comment_named` rule needs `attribution.comment_names: bonus`")
        thresholds = [t.min_points for t in self.tiers]
        if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
            raise ValueError("tiers: list them from lowest to highest `min_points`, each threshold once")
        if self.caps.per_day and self.caps.per_month and self.caps.per_day > self.caps.per_month:
            raise ValueError(f"caps.per_day {self.caps.per_day} is above caps.per_month {self.caps.per_month}")
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
            " values (%s, %s, %s, %s) on conflict do nothing",
            [(prog.program, vid, dim, value) for dim, value in prog.eligibility.rows()],
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
