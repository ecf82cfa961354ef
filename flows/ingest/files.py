"""Load one export (or one API page) into the raw tables: stream, COPY, check in SQL, upsert.

Python only moves data: it streams the source, applies the mapping (parsers,
value maps, filters, constants, derived ids, keyed hashes of personal data)
and COPYs one landing row per kind into a temporary table. Every check —
required fields, types, enums, score scales, future dates, duplicate keys,
"newer wins" — is set-based SQL. The whole file is one transaction.

For every kind: rows_read = loaded + updated + duplicates + quarantined.
Rows a mapping's `where` filter leaves out (unanswered calls, say) are not
read for that kind; they are counted as `filtered_out`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from flows.ingest import personal
from flows.ingest.kinds import KINDS, Column, Kind
from flows.ingest.mapping import Mapping, ParseError, field_reader
from flows.ingest.readers import Row, open_source
from plaudit.errors import IngestError

_CAST = {"date": "date", "timestamptz": "timestamptz", "integer": "integer", "numeric": "numeric"}
MASK = "[personal data removed]"
UNREADABLE = "*unreadable*"  # landing rows that could not be read at all


@dataclass
class IngestResult:
    """Counts for one kind of one file."""

    kind: str
    file: str
    rows_read: int = 0
    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0
    filtered_out: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class FileResult:
    file: str
    source_rows: int = 0
    unreadable_rows: int = 0
    kinds: dict[str, IngestResult] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return sum(r.loaded + r.updated for r in self.kinds.values())

    @property
    def quarantined_rows(self) -> int:
        """Rows in quarantine (an unreadable row counts once, though every kind counts it)."""
        per_kind = sum(r.quarantined for r in self.kinds.values())
        return per_kind - self.unreadable_rows * (len(self.kinds) - 1)

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "source_rows": self.source_rows,
            "unreadable_rows": self.unreadable_rows,
            "ignored_columns": self.ignored_columns,
            "kinds": {k: {x: y for x, y in r.as_dict().items() if x not in ("kind", "file")} for k, r in self.kinds.items()},
        }


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------ the Python side: stream and map


# One field of a kind, as the row loop uses it: its name; the source column it copies as text, or
# None and its reader; and the landing columns it fills (its value in clear, its keyed hash, the
# keyed hash of an address's domain; None: not).
_Step = tuple[str, str | None, Callable[[dict[str, str | None]], str | None], int | None, int | None, int | None]


@dataclass
class _KindPlan:
    kind: Kind
    steps: list[_Step]
    filters: list  # type: ignore[type-arg]
    width: int  # landing columns

    def land(self, values: dict[str, str | None], secret: bytes) -> tuple[list[str | None], list[str]]:
        """One source row as this kind's landing values, and the problems of the fields that did not parse."""
        out: list[str | None] = [None] * self.width
        problems: list[str] = []
        for name, column, read, clear_at, hash_at, domain_at in self.steps:
            if column is not None:  # most fields: a column's text as it is (what `read` does, without a call)
                value = values.get(column)
                if not value or not (value := value.strip()):
                    continue
            else:
                try:
                    value = read(values)
                except ParseError as exc:
                    problems.append(str(exc))
                    continue
                if value is None:
                    continue
            if clear_at is not None:
                out[clear_at] = value
            if hash_at is not None:
                out[hash_at] = personal.keyed_hash(name, value, secret)
            if domain_at is not None and "@" in value:
                out[domain_at] = personal.keyed_hash("domain", value.rsplit("@", 1)[1], secret)
        return out, problems


def _landing_columns(kinds: list[Kind]) -> list[str]:
    cols: list[str] = []
    for k in kinds:
        for c in k.columns:
            if c.name not in cols:
                cols.append(c.name)
    return cols


def _plans(mapping: Mapping, position: dict[str, int]) -> list[_KindPlan]:
    """What the row loop does for each kind, decided once per file: a field that is stored only as a
    keyed hash (`hashed`) has no clear column; one stored in clear may also be hashed (`also_hashed`)."""
    zone = ZoneInfo(mapping.timezone)
    plans = []
    for name, km in mapping.kinds.items():
        kind = KINDS[name]
        hashed, also_hashed, domain_hashed = dict(kind.hashed), dict(kind.also_hashed), dict(kind.domain_hashed)
        steps: list[_Step] = []
        for f, spec in km.fields.items():
            hashed_as = hashed.get(f) or also_hashed.get(f)
            as_is = spec.column is not None and spec.parse == "text" and spec.map is None
            steps.append((
                f,
                spec.column if as_is else None,
                field_reader(f, spec, zone),
                None if f in hashed else position[f],
                position[hashed_as] if hashed_as else None,
                position[domain_hashed[f]] if f in hashed and f in domain_hashed else None,
            ))
        plans.append(_KindPlan(kind=kind, steps=steps, filters=list(km.where), width=len(position)))
    return plans


def landing_rows(
    mapping: Mapping,
    rows: Iterable[Row],
    result: FileResult,
    *,
    header: list[str] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[list[object]]:
    """The landing table's rows for a stream of source rows (the Python side of an ingest): each row
    mapped for each kind, personal data hashed, and its text masked for a quarantine copy. Counts go to
    `result` (rows read, rows that could not be read, rows a kind's filter left out)."""
    kinds = [KINDS[name] for name in mapping.kinds]
    columns = _landing_columns(kinds)
    plans = _plans(mapping, {c: i for i, c in enumerate(columns)})
    # Source columns whose values never reach the database in clear.
    masked = set(mapping.personal_data)
    for name, km in mapping.kinds.items():
        for f in dict(KINDS[name].hashed):
            if f in km.fields:
                masked.update(km.fields[f].source_columns())
    secret = personal.key()
    mask = _masker(masked, header, mapping.delimiter)
    unreadable = source_rows = 0
    for row in rows:
        source_rows += 1
        if on_progress and source_rows % 50_000 == 0:
            on_progress(source_rows)
        if row.values is None:  # streamed through COPY too: memory stays flat however many
            unreadable += 1
            yield [UNREADABLE, row.line, row.raw_text, row.reason or "unreadable row"] + [None] * len(columns)
            continue
        values = row.values
        raw_text = mask(row.raw_text, values) if masked else row.raw_text
        for plan in plans:
            if plan.filters and not all(f.keeps((values.get(f.column) or "").strip()) for f in plan.filters):
                result.kinds[plan.kind.name].filtered_out += 1
                continue
            out, problems = plan.land(values, secret)
            yield [plan.kind.name, row.line, raw_text, "; ".join(problems) or None, *out]
    result.source_rows, result.unreadable_rows = source_rows, unreadable


def load_rows(
    conn: psycopg.Connection,
    mapping: Mapping,
    rows: Iterable[Row],
    *,
    source_file: str,
    source_sha256: str,
    source: str | None = None,
    header: list[str] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> FileResult:
    """Map, land, check and upsert a stream of source rows, in the caller's transaction."""
    kinds = [KINDS[name] for name in mapping.kinds]
    columns = _landing_columns(kinds)
    kind_label = "+".join(k.name for k in kinds)
    result = FileResult(file=source_file, kinds={k.name: IngestResult(k.name, source_file) for k in kinds})
    if header is not None:
        used = mapping.source_columns()
        result.ignored_columns = [h for h in header if h not in used]

    conn.execute("set local timezone = 'UTC'")  # naive timestamps in native files are UTC
    for k in kinds:
        conn.execute(sql.SQL("select pg_advisory_xact_lock(hashtext({}))").format(sql.Literal("plaudit.ingest." + k.name)))
    ingest_id = conn.execute(
        "insert into plaudit.ingests (kind, source_file, file_sha256, source) values (%s, %s, %s, %s) returning ingest_id",
        [kind_label, source_file, source_sha256, source],
    ).fetchone()[0]  # type: ignore[index]
    conn.execute("drop table if exists landing")
    conn.execute(
        sql.SQL(
            "create temp table landing (kind text, line bigint, raw_text text, pre_problem text, {}) on commit drop"
        ).format(sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(n)) for n in columns))
    )
    copy_sql = sql.SQL("copy landing (kind, line, raw_text, pre_problem, {}) from stdin").format(
        sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(copy_sql) as copy:
        for landing_row in landing_rows(mapping, rows, result, header=header, on_progress=on_progress):
            copy.write_row(landing_row)
    unreadable = result.unreadable_rows
    if unreadable:
        conn.execute(
            "insert into plaudit.quarantine (ingest_id, kind, source_file, source_line, raw_text, reason)"
            " select %s, %s, %s, line, raw_text, pre_problem from landing where kind = %s",
            [ingest_id, kind_label, source_file, UNREADABLE],
        )
    for k in kinds:
        r = result.kinds[k.name]
        r.rows_read = result.source_rows - r.filtered_out
        _check_and_upsert(conn, k, ingest_id, source_file, r, last=k is kinds[-1])
        r.quarantined += unreadable
        for reason, n in conn.execute(
            "select reason, count(*) from plaudit.quarantine where ingest_id = %s and kind in (%s, %s)"
            " group by reason order by 2 desc, 1",
            [ingest_id, k.name, kind_label],
        ):
            r.quarantined_by_reason[reason] = n
        assert r.rows_read == r.loaded + r.updated + r.duplicates + r.quarantined, r
    conn.execute(
        "update plaudit.ingests set rows_read=%s, loaded=%s, updated=%s, duplicates=%s, quarantined=%s,"
        " finished_at=now() where ingest_id=%s",
        [
            result.source_rows,
            sum(r.loaded for r in result.kinds.values()),
            sum(r.updated for r in result.kinds.values()),
            sum(r.duplicates for r in result.kinds.values()),
            result.quarantined_rows,
            ingest_id,
        ],
    )
    return result


def _masker(masked: set[str], header: list[str] | None,
            delimiter: str) -> Callable[[str, dict[str, str | None]], str]:
    """A function giving a row's text with personal data replaced, for the quarantine copy."""
    if header:  # csv / xlsx: the row rebuilt from its fields, in the header's order
        at = [i for i, h in enumerate(header) if h in masked]

        def rebuilt(raw_text: str, values: dict[str, str | None]) -> str:
            sep = "\t" if "\t" in raw_text and delimiter not in raw_text else delimiter
            fields = [values.get(h) or "" for h in header]
            for i in at:
                if fields[i]:
                    fields[i] = MASK
            return sep.join(fields)

        return rebuilt
    import json

    def as_json(raw_text: str, values: dict[str, str | None]) -> str:
        return json.dumps({k: (MASK if k in masked and v else v) for k, v in values.items()}, ensure_ascii=False)

    return as_json


def ingest_file(
    conn: psycopg.Connection,
    path: str | Path,
    *,
    kind: Kind | None = None,
    mapping: Mapping | None = None,
    source: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> FileResult:
    """Ingest one file in one transaction (the caller commits).

    Without a mapping the file is in Plaudit's own format for `kind`.
    """
    path = Path(path)
    src = open_source(path, mapping)
    if mapping is None:
        if kind is None:
            raise IngestError(f"{path}: give --kind, or a --mapping that names its kinds")
        mapping = Mapping.native(kind.name, src.header or kind.input_fields)
    elif kind is not None and kind.name not in mapping.kinds:
        raise IngestError(f"mapping {mapping.name} does not describe kind {kind.name} (it has {', '.join(mapping.kinds)})")
    if src.header:
        absent = sorted(c for c in mapping.source_columns() if c not in src.header)
        if absent:
            raise IngestError(
                f"{path}: the mapping uses column(s) {', '.join(absent)} that the file does not have. "
                f"The header has: {', '.join(h for h in src.header if h)}."
            )
    return load_rows(
        conn, mapping, src.rows(), source_file=str(path), source_sha256=file_sha256(path),
        source=source or mapping.name, header=src.header or None, on_progress=on_progress,
    )


# ------------------------------------------------------------------ the SQL side: check and upsert


def _reason_sql(kind: Kind) -> sql.Composable:
    """The problems of a landing row as one string (null when none)."""
    parts: list[sql.Composable] = []
    typed_ok: list[sql.Composable] = []
    for c in kind.columns:
        col = sql.Identifier(c.name)
        if c.required:
            parts.append(sql.SQL("case when {c} is null then {m} end").format(
                c=col, m=sql.Literal(f"missing required field {c.name}")))
        if c.type in _CAST:
            t = sql.Literal(_CAST[c.type])
            parts.append(sql.SQL(
                "case when {c} is not null and not pg_input_is_valid({c}, {t}) then {m} || quote_literal({c}) end"
            ).format(c=col, t=t, m=sql.Literal(f"unparseable {c.type} in {c.name}: ")))
            typed_ok.append(sql.SQL("({c} is null or pg_input_is_valid({c}, {t}))").format(c=col, t=t))
        if c.choices:
            vals = sql.SQL(", ").join(map(sql.Literal, c.choices))
            parts.append(sql.SQL("case when lower({c}) not in ({vals}) then {m1} || quote_literal({c}) || {m2} end").format(
                c=col, vals=vals, m1=sql.Literal(f"unknown {c.name} "),
                m2=sql.Literal(f" (expected one of {', '.join(c.choices)})")))
            typed_ok.append(sql.SQL("({c} is null or lower({c}) in ({vals}))").format(c=col, vals=vals))
    all_typed = sql.SQL(" and ").join(typed_ok) if typed_ok else sql.SQL("true")
    if kind.event_time:
        col = sql.Identifier(kind.event_time)
        parts.append(sql.SQL(
            "case when {c} is not null and pg_input_is_valid({c}, 'timestamptz') "
            "and {c}::timestamptz > now() + interval '1 day' then {m} || {c} end"
        ).format(c=col, m=sql.Literal(f"{kind.event_time} lies in the future: ")))
    for bad, reason in kind.extra_checks:
        # checks that cast values only run once every typed column parsed
        parts.append(sql.SQL("case when {ok} and ({bad}) then {reason} end").format(
            ok=all_typed, bad=sql.SQL(bad), reason=sql.SQL(reason)))  # type: ignore[arg-type]  # declared in kinds.py
    return sql.SQL("coalesce(pre_problem, nullif(concat_ws('; ', {}), ''))").format(sql.SQL(", ").join(parts))


def _typed(c: Column) -> sql.Composable:
    col = sql.Identifier(c.name)
    if c.type in _CAST:
        return sql.SQL("{c}::{t} as {c}").format(c=col, t=sql.SQL(_CAST[c.type]))
    if c.choices:
        return sql.SQL("lower({c}) as {c}").format(c=col)
    return col


def _check_and_upsert(conn: psycopg.Connection, kind: Kind, ingest_id: int, source_file: str, result: IngestResult,
                      *, last: bool = True) -> None:
    """Check one kind's landing rows, quarantine the bad ones and upsert the rest.

    Each step's table is emptied once the next is built: the tables were created in this
    transaction, so TRUNCATE frees their files at once, and a file's copies do not pile up on
    disk until the commit (at L the database grew to 71 GB during the night's ingest)."""
    def ident(names: list[str]) -> sql.Composable:
        return sql.SQL(", ").join(map(sql.Identifier, names))

    def key_eq(a: str, b: str) -> sql.Composable:
        return sql.SQL(" and ").join(
            sql.SQL("{a}.{k} = {b}.{k}").format(a=sql.Identifier(a), b=sql.Identifier(b), k=sql.Identifier(k))
            for k in kind.key
        )

    all_cols = [c.name for c in kind.columns]
    key = list(kind.key)
    table = sql.Identifier("raw", kind.table)
    q = {"ingest_id": ingest_id, "kind": kind.name, "file": source_file}
    quarantine = sql.SQL(
        "insert into plaudit.quarantine (ingest_id, kind, source_file, source_line, raw_text, reason) "
    )
    conn.execute("drop table if exists checked, typed, classified")
    conn.execute(
        sql.SQL("create temp table checked on commit drop as"
                " select *, {reason} as _problem from landing where kind = %(kind)s").format(reason=_reason_sql(kind)),
        q,
    )
    result.quarantined += conn.execute(
        quarantine + sql.SQL("select %(ingest_id)s, %(kind)s, %(file)s, line, raw_text, _problem"
                             " from checked where _problem is not null"),
        q,
    ).rowcount
    if last:  # every kind of the file has its checked rows
        conn.execute("truncate landing")

    # Typed rows with a content hash; rn orders copies of one key within this file.
    conn.execute(
        sql.SQL(
            "create temp table typed on commit drop as"
            " select *, md5(row({hashed})::text) as _row_hash,"
            " row_number() over (partition by {key} order by line) as rn"
            " from (select line, raw_text, {sel} from checked where _problem is null) t"
        ).format(
            hashed=ident([c for c in all_cols if c != "updated_at"]),
            key=ident(key),
            sel=sql.SQL(", ").join(_typed(c) for c in kind.columns),
        )
    )
    conn.execute("truncate checked")
    in_file_conflicts = conn.execute(
        quarantine + sql.SQL(
            "select %(ingest_id)s, %(kind)s, %(file)s, t.line, t.raw_text,"
            " 'same id as line ' || f.line || ' of this file, with different content'"
            " from typed t join typed f on {eq} and f.rn = 1 where t.rn > 1 and t._row_hash <> f._row_hash"
        ).format(eq=key_eq("t", "f")),
        q,
    ).rowcount
    result.quarantined += in_file_conflicts
    result.duplicates += conn.execute("select count(*) from typed where rn > 1").fetchone()[0] - in_file_conflicts  # type: ignore[index]

    # A record seen before: same content → duplicate; different content → the newer wins
    # (by updated_at where both have one; master data without it: the later file).
    conn.execute(
        sql.SQL(
            "create temp table classified on commit drop as"
            " select t.*, case"
            "   when r.{k0} is null then 'new'"
            "   when r._row_hash = t._row_hash then 'duplicate'"
            "   when t.updated_at is not null and r.updated_at is not null and t.updated_at <= r.updated_at then 'stale'"
            "   when t.updated_at is not null and r.updated_at is not null then 'newer'"
            "   when {updatable} then 'newer'"
            "   else 'conflict' end as outcome,"
            " r._source_file as prev_file, r._source_line as prev_line, r.updated_at as prev_updated_at"
            " from typed t left join {table} r on {eq} where t.rn = 1"
        ).format(k0=sql.Identifier(key[0]), table=table, eq=key_eq("r", "t"), updatable=sql.Literal(kind.updatable))
    )
    conn.execute("truncate typed")
    counts = dict(conn.execute("select outcome, count(*) from classified group by outcome").fetchall())
    result.duplicates += counts.get("duplicate", 0)
    if kind.name == "employees":
        _record_employee_history(conn, q)
    with _indexes_built_after(conn, kind.table, counts.get("new", 0)):
        conn.execute(
            sql.SQL(
                "insert into {table} ({all}, _row_hash, _source_file, _source_line)"
                " select {all}, _row_hash, %(file)s, line from classified where outcome = 'new'"
            ).format(table=table, all=ident(all_cols)),
            q,
        )
    result.loaded += counts.get("new", 0)
    if counts.get("newer"):
        conn.execute(
            sql.SQL(
                "update {table} r set {sets}, _row_hash = c._row_hash, _source_file = %(file)s,"
                " _source_line = c.line, _ingested_at = now() from classified c where c.outcome = 'newer' and {eq}"
            ).format(
                table=table,
                sets=sql.SQL(", ").join(sql.SQL("{c} = c.{c}").format(c=sql.Identifier(n)) for n in all_cols),
                eq=key_eq("r", "c"),
            ),
            q,
        )
        result.updated += counts["newer"]
    result.quarantined += conn.execute(
        quarantine + sql.SQL(
            "select %(ingest_id)s, %(kind)s, %(file)s, line, raw_text, case outcome"
            " when 'stale' then 'older than the version already loaded from ' || prev_file || ' line ' || prev_line"
            "   || ' (updated_at ' || updated_at || ' is not after ' || prev_updated_at || ')'"
            " else 'same id as already loaded from ' || prev_file || ' line ' || prev_line"
            "   || ', with different content (send an updated_at column to replace it)' end"
            " from classified where outcome in ('stale', 'conflict')"
        ),
        q,
    ).rowcount


# A file that brings at least this many new rows, and more than its table holds, loads into the
# table without its indexes, which are then built again from the whole table: one sort per index
# instead of an entry placed at a time. At M a first load of 3.7 M participants took 16.9 s with
# its four indexes in place, and 3.6 s plus 3.9 s for building the four this way (bench/RESULTS.md).
BULK_MIN_ROWS = 100_000


@contextmanager
def _indexes_built_after(conn: psycopg.Connection, table_name: str, new_rows: int) -> Iterator[None]:
    """Around the insert of a file's new rows: when the file brings more rows than its table holds
    (a first load, a history loaded at once), drop the table's indexes and build them again after.

    In the file's transaction, so a failure puts the indexes back as they were. Readers of the
    table wait until the commit (an ordinary ingest lets them read the rows committed before it).
    Re-adding the primary key checks its uniqueness again. Only primary keys and unique constraints
    are dropped with their indexes; a foreign key onto the table would stop the drop."""
    if new_rows < BULK_MIN_ROWS:
        yield
        return
    table = sql.Identifier("raw", table_name)
    oid, estimated = conn.execute(
        "select oid, reltuples from pg_class where oid = %s::regclass", [f"raw.{table_name}"]
    ).fetchone()  # type: ignore[misc]
    # the planner's estimate first (-1: never counted); a table that is not known to be larger is
    # counted, up to as many rows as the file brings
    if estimated >= new_rows or conn.execute(
        sql.SQL("select count(*) from (select from {} limit %s) t").format(table), [new_rows]
    ).fetchone()[0] >= new_rows:  # type: ignore[index]
        yield
        return
    constraints = conn.execute(
        "select conname, pg_get_constraintdef(oid) from pg_constraint"
        " where conrelid = %s and contype in ('p', 'u') order by conname",
        [oid],
    ).fetchall()
    indexes = conn.execute(
        "select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) from pg_index i"
        " where i.indrelid = %s and not exists (select from pg_constraint c where c.conindid = i.indexrelid)"
        " order by 1",
        [oid],
    ).fetchall()
    for name, _ in constraints:
        conn.execute(sql.SQL("alter table {} drop constraint {}").format(table, sql.Identifier(name)))
    for name, _ in indexes:
        conn.execute(sql.SQL("drop index {}").format(sql.SQL(name)))  # regclass text: quoted as needed
    yield
    for name, definition in constraints:
        conn.execute(sql.SQL("alter table {} add constraint {} {}").format(
            table, sql.Identifier(name), sql.SQL(definition)))
    for _, definition in indexes:
        conn.execute(sql.SQL(definition))


_HISTORY_COLS = ["full_name", "email", "email_hash", "locale", "manager_id", "team", "cost_centre", "role",
                 "location", "hire_date", "status", "terminated_on"]


def _record_employee_history(conn: psycopg.Connection, q: dict[str, object]) -> None:
    """Keep every version of an employee: a change closes the current version and opens a new one.

    A new employee's first version is valid since -infinity (as far as we know,
    they always were so); a change takes effect at its updated_at, or now.
    """
    cols = sql.SQL(", ").join(map(sql.Identifier, _HISTORY_COLS))
    conn.execute(
        sql.SQL(
            "update raw.employee_history h set valid_to = coalesce(c.updated_at, now())"
            " from classified c where c.outcome = 'newer' and h.employee_id = c.employee_id"
            " and h.valid_to = 'infinity' and h.valid_from < coalesce(c.updated_at, now())"
        )
    )
    conn.execute(
        sql.SQL(
            "insert into raw.employee_history (employee_id, valid_from, {cols}, _row_hash, _source_file, _source_line)"
            " select employee_id, case outcome when 'new' then '-infinity'::timestamptz else coalesce(updated_at, now()) end,"
            " {cols}, _row_hash, %(file)s, line from classified where outcome in ('new', 'newer')"
            " on conflict (employee_id, valid_from) do nothing"
        ).format(cols=cols),
        q,
    )
