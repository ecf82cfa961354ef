"""Column mappings: how one export format becomes rows of one or more kinds.

A mapping file (`mappings/<source>.yml`) is validated with errors that name the
file and the field. See docs/mappings.md for every key; in short:

    format: csv                     # csv | jsonl | xlsx
    encoding: utf-8                 # utf-8 (a BOM is detected by itself) | latin-1 | cp1252
    delimiter: ","
    timezone: Europe/London         # zone of naive date-times
    personal_data: [Email, Phone]   # source columns masked in quarantine copies
    kinds:
      interactions:
        fields:
          interaction_id: Call Id                         # shorthand for {column: ...}
          interaction_kind: {value: call}                 # a constant
          opened_at: {columns: [Date, Time], parse: datetime, format: "%d/%m/%Y %H:%M:%S"}
      feedback:
        where: [{column: Satisfaction rating, not_in: ["0"]}]   # 0 = not answered
        fields:
          response_id: {template: "{Call Id}-csat"}       # an id from several columns
          score: {column: Satisfaction rating, parse: integer}

A parse failure puts the row in quarantine with a reason; the file goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from string import Formatter
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flows.ingest.kinds import KINDS
from plaudit.errors import IngestError

ParseKind = Literal["text", "integer", "number", "date", "datetime", "duration", "boolean"]
TRUE = {"y", "yes", "true", "t", "1", "oui", "ja"}
FALSE = {"n", "no", "false", "f", "0", "non", "nein"}


class ParseError(ValueError):
    """A value that does not parse; its message is the quarantine reason."""


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = None
    columns: list[str] | None = Field(default=None, description="joined with a space before parsing")
    value: str | None = Field(default=None, description="a constant")
    template: str | None = Field(default=None, description='e.g. "{Call Id}-csat"')
    map: dict[str, str | None] | None = Field(default=None, description="value map applied first; null = empty")
    parse: ParseKind = "text"
    format: str | list[str] | None = Field(default=None, description="strptime format(s) for date/datetime")
    thousands: str | None = Field(default=None, description="thousands separator to drop in numbers")
    decimal: str = "."
    plus_duration: str | None = Field(default=None, description="a column with a duration to add to a datetime")

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        given = [k for k in ("column", "columns", "value", "template") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of column, columns, value or template (got {given or 'none'})")
        return self

    def source_columns(self) -> list[str]:
        cols = [self.column] if self.column else list(self.columns or [])
        if self.template:
            cols += [f for _, f, _, _ in Formatter().parse(self.template) if f]
        if self.plus_duration:
            cols.append(self.plus_duration)
        return cols


class Filter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    column: str
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None

    def keeps(self, value: str) -> bool:
        if self.in_ is not None and value not in self.in_:
            return False
        return not (self.not_in is not None and value in self.not_in)


class KindMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[str, FieldSpec]
    where: list[Filter] = Field(default_factory=list)

    @field_validator("fields", mode="before")
    @classmethod
    def _shorthand(cls, v: object) -> object:
        if isinstance(v, dict):
            return {k: ({"column": s} if isinstance(s, str) else s) for k, s in v.items()}
        return v


class ApiSource(BaseModel):
    """How to read an HTTP JSON API: cursor pagination, incremental by a saved cursor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(default=None, description="pulled by the nightly flow when set; --api URL overrides")
    records: str = Field(default="data", description="dotted path of the page's list of records")
    next_cursor: str = Field(default="next_cursor", description="dotted path of the cursor for the next page")
    end_of_stream: str | None = Field(default="end_of_stream", description="dotted path of a true/false end flag")
    cursor_param: str = "cursor"
    page_size_param: str | None = "limit"
    page_size: int = Field(default=500, ge=1, le=100_000)
    token_env: str | None = Field(default=None, description="environment variable holding a bearer token")
    timeout_seconds: float = Field(default=30, gt=0)
    retries: int = Field(default=5, ge=1, le=20, description="attempts per page on 5xx and timeouts")
    backoff_seconds: float = Field(default=1.0, ge=0, description="first wait; doubles each attempt (max 60 s)")
    max_pages: int = Field(default=10_000, ge=1)


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    format: Literal["csv", "jsonl", "xlsx"] = "csv"
    encoding: Literal["utf-8", "latin-1", "cp1252"] = "utf-8"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    sheet: str | None = Field(default=None, description="xlsx: the sheet to read (default: the first)")
    timezone: str = "UTC"
    personal_data: list[str] = Field(default_factory=list)
    customer_first_name_allowed: bool = Field(
        default=False,
        description="keep the customer's first name (feedback field customer_first_name); it then appears "
        "beside their words in employee-facing messages. Without this, no first name is ever stored",
    )
    api: ApiSource | None = None
    kinds: dict[str, KindMapping]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Paris)") from None
        return v

    @model_validator(mode="after")
    def _fields_exist(self) -> Mapping:
        for kind_name, km in self.kinds.items():
            if kind_name not in KINDS:
                raise ValueError(f"unknown kind {kind_name!r}: use one of {', '.join(KINDS)}")
            kind = KINDS[kind_name]
            unknown = [f for f in km.fields if f not in kind.input_fields]
            if unknown:
                raise ValueError(
                    f"kinds.{kind_name}: unknown field(s) {', '.join(unknown)}; "
                    f"{kind_name} takes {', '.join(kind.input_fields)}"
                )
            missing = [f for f in kind.required if f not in km.fields]
            if missing:
                raise ValueError(f"kinds.{kind_name}: required field(s) not mapped: {', '.join(missing)}")
            if "customer_first_name" in km.fields and not self.customer_first_name_allowed:
                raise ValueError(
                    f"kinds.{kind_name} maps customer_first_name, but the mapping does not allow it: set "
                    "`customer_first_name_allowed: true` (the name then appears in employee-facing messages)"
                )
        return self

    @classmethod
    def native(cls, kind_name: str, header: list[str]) -> Mapping:
        """Plaudit's own format: columns named as the kind's fields."""
        kind = KINDS[kind_name]
        # a customer's first name is kept only through a mapping that allows it, never from a bare file
        fields = {f: FieldSpec(column=f) for f in kind.input_fields if f in header and f != "customer_first_name"}
        missing = [f for f in kind.required if f not in fields]
        if missing:
            raise IngestError(
                f"missing required column(s) {', '.join(missing)} for kind {kind_name}. "
                f"The header has: {', '.join(h for h in header if h)}. "
                "Rename the columns, or describe the file with --mapping (see docs/mappings.md)."
            )
        return cls.model_construct(
            name=None, format="csv", encoding="utf-8", delimiter=",", quotechar='"', sheet=None,
            timezone="UTC", personal_data=[], customer_first_name_allowed=False, api=None, kinds={kind_name: KindMapping.model_construct(fields=fields, where=[])},
        )

    def source_columns(self) -> set[str]:
        cols: set[str] = set()
        for km in self.kinds.values():
            for spec in km.fields.values():
                cols.update(spec.source_columns())
            cols.update(f.column for f in km.where)
        return cols


def load(path: str | Path) -> Mapping:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IngestError(f"mapping {p} not found") from None
    except yaml.YAMLError as exc:
        raise IngestError(f"mapping {p} is not valid YAML: {exc}") from None
    try:
        m = Mapping.model_validate(data or {})
    except ValidationError as exc:
        problems = "\n".join(
            f"  {p}: {'.'.join(str(x) for x in e['loc']) or '(top level)'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise IngestError(f"mapping {p} is not valid:\n{problems}") from None
    return m if m.name else m.model_copy(update={"name": p.stem})


# ------------------------------------------------------------------ parsing


def parse_duration(text: str) -> timedelta:
    """`0:02:23`, `02:23`, `143` (seconds) or `1:02:03.5`."""
    parts = text.strip().split(":")
    try:
        nums = [float(x) for x in parts]
    except ValueError:
        raise ParseError(f"{text!r} is not a duration like 0:02:23") from None
    if len(nums) > 3 or any(n < 0 for n in nums):
        raise ParseError(f"{text!r} is not a duration like 0:02:23")
    seconds = 0.0
    for n in nums:
        seconds = seconds * 60 + n
    return timedelta(seconds=seconds)


def _number(text: str, spec: FieldSpec) -> Decimal:
    t = text.strip().replace("\u00a0", "").replace(" ", "")
    if spec.thousands:
        t = t.replace(spec.thousands, "")
    if spec.decimal != ".":
        t = t.replace(spec.decimal, ".")
    try:
        return Decimal(t)
    except InvalidOperation:
        raise ParseError(f"{text!r} is not a number") from None


def _formats(spec: FieldSpec) -> list[str]:
    return [spec.format] if isinstance(spec.format, str) else list(spec.format or [])


def _datetime(text: str, spec: FieldSpec, zone: ZoneInfo) -> datetime:
    value: datetime | None = None
    fmts = _formats(spec)
    if fmts:
        for fmt in fmts:
            try:
                value = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if value is None:
            raise ParseError(f"{text!r} does not match {' or '.join(fmts)}")
    else:
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ParseError(f"{text!r} is not an ISO 8601 date-time (give a format in the mapping)") from None
    return value if value.tzinfo else value.replace(tzinfo=zone)


def _date(text: str, spec: FieldSpec) -> date:
    fmts = _formats(spec)
    for fmt in fmts:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    if fmts:
        raise ParseError(f"{text!r} does not match {' or '.join(fmts)}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ParseError(f"{text!r} is not an ISO date YYYY-MM-DD (give a format in the mapping)") from None


Record = dict[str, str | None]


def _getter(spec: FieldSpec) -> Callable[[Record], str | None]:
    """The field's raw text from a source record."""
    if spec.value is not None:
        constant = spec.value
        return lambda rec: constant
    if spec.template is not None:
        template = spec.template
        return lambda rec: template.format_map({k: (v or "") for k, v in rec.items()})
    if spec.column is not None:
        column = spec.column
        return lambda rec: rec.get(column)
    columns = list(spec.columns or [])

    def joined(rec: Record) -> str | None:
        return " ".join(p for p in (rec.get(c) for c in columns) if p) or None

    return joined


def _integer(text: str, spec: FieldSpec, zone: ZoneInfo, rec: Record) -> str:
    if text.isascii() and text.isdigit():  # the common case, as Decimal would give it
        return str(int(text))
    n = _number(text, spec)
    if n != n.to_integral_value():
        raise ParseError(f"{text!r} is not a whole number")
    return str(int(n))


def _boolean(text: str, spec: FieldSpec, zone: ZoneInfo, rec: Record) -> str:
    low = text.lower()
    if low in TRUE:
        return "true"
    if low in FALSE:
        return "false"
    raise ParseError(f"{text!r} is not yes/no")


def _datetime_text(text: str, spec: FieldSpec, zone: ZoneInfo, rec: Record) -> str:
    value = _datetime(text, spec, zone)
    if spec.plus_duration:
        extra = (rec.get(spec.plus_duration) or "").strip()
        if extra:
            value += parse_duration(extra)
    return value.isoformat()


_PARSERS: dict[str, Callable[[str, FieldSpec, ZoneInfo, Record], str]] = {
    "integer": _integer,
    "number": lambda text, spec, zone, rec: str(_number(text, spec)),
    "date": lambda text, spec, zone, rec: _date(text, spec).isoformat(),
    "duration": lambda text, spec, zone, rec: str(int(parse_duration(text).total_seconds())),
    "boolean": _boolean,
    "datetime": _datetime_text,
}


def field_reader(name: str, spec: FieldSpec, zone: ZoneInfo) -> Callable[[Record], str | None]:
    """A function from a source record to the field's canonical text (None = empty).

    It runs once per field of every source row, so what does not change from row to row (where
    the text comes from, the value map, the parser) is chosen here, once."""
    get = _getter(spec)
    value_map = spec.map
    parser = _PARSERS.get(spec.parse)

    def read(rec: Record) -> str | None:
        text = get(rec)
        if text is not None:
            text = text.strip()
            if value_map is not None and text in value_map:
                text = value_map[text]
        if not text:
            return None
        if parser is None:  # text
            return text
        try:
            return parser(text, spec, zone, rec)
        except ParseError as exc:
            raise ParseError(f"unparseable {spec.parse} in {name}: {exc}") from None

    return read
