"""Load one export file into its raw table: stream, COPY, check in SQL, upsert.

Python only moves bytes: it streams the CSV into a temporary landing table
with COPY (rows with the wrong number of fields, NUL bytes or undecodable
bytes are quarantined on the way). Every other check — required fields, types,
enums, score scales, future dates, duplicate keys — is one set-based SQL
statement. The whole file is one transaction: it lands whole or not at all.

For every file: rows_read = loaded + updated + duplicates + quarantined.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from flows.ingest.kinds import Column, Kind
from flows.ingest.mapping import Mapping
from plaudit.errors import IngestError

csv.field_size_limit(64 * 1024 * 1024)
_BAD_CHARS = re.compile("[\x00\udc80-\udcff]")  # NUL, or a byte the encoding could not decode
_CAST = {"date": "date", "timestamptz": "timestamptz", "integer": "integer", "numeric": "numeric"}


@dataclass
class IngestResult:
    kind: str
    file: str
    rows_read: int = 0
    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _reason_sql(kind: Kind) -> sql.Composable:
    """One `concat_ws` naming every problem of a landing row (empty when none)."""
    parts: list[sql.Composable] = []
    typed_ok: list[sql.Composable] = []
    for c in kind.columns:
        col = sql.Identifier(c.name)
        if c.required:
            parts.append(
                sql.SQL("case when {c} is null then {m} end").format(
                    c=col, m=sql.Literal(f"missing required field {c.name}")
                )
            )
        if c.type in _CAST:
            parts.append(
                sql.SQL(
                    "case when {c} is not null and not pg_input_is_valid({c}, {t}) "
                    "then {m} || quote_literal({c}) end"
                ).format(c=col, t=sql.Literal(_CAST[c.type]), m=sql.Literal(f"unparseable {c.type} in {c.name}: "))
            )
            typed_ok.append(sql.SQL("({c} is null or pg_input_is_valid({c}, {t}))").format(c=col, t=sql.Literal(_CAST[c.type])))
        if c.choices:
            parts.append(
                sql.SQL("case when lower({c}) not in ({vals}) then {m1} || quote_literal({c}) || {m2} end").format(
                    c=col,
                    vals=sql.SQL(", ").join(map(sql.Literal, c.choices)),
                    m1=sql.Literal(f"unknown {c.name} "),
                    m2=sql.Literal(f" (expected one of {', '.join(c.choices)})"),
                )
            )
            typed_ok.append(sql.SQL("({c} is null or lower({c}) in ({vals}))").format(
                c=col, vals=sql.SQL(", ").join(map(sql.Literal, c.choices))))
    all_typed = sql.SQL(" and ").join(typed_ok) if typed_ok else sql.SQL("true")
    if kind.event_time:
        col = sql.Identifier(kind.event_time)
        parts.append(
            sql.SQL(
                "case when {c} is not null and pg_input_is_valid({c}, 'timestamptz') "
                "and {c}::timestamptz > now() + interval '1 day' then {m} || {c} end"
            ).format(c=col, m=sql.Literal(f"{kind.event_time} lies in the future: "))
        )
    for bad, reason in kind.extra_checks:
        # Checks that cast values only run once every typed column parsed.
        parts.append(
            sql.SQL("case when {ok} and ({bad}) then {reason} end").format(
                ok=all_typed, bad=sql.SQL(bad), reason=sql.SQL(reason)  # type: ignore[arg-type]  # declared in kinds.py
            )
        )
    return sql.SQL("nullif(concat_ws('; ', {}), '')").format(sql.SQL(", ").join(parts))


def _typed(c: Column) -> sql.Composable:
    col = sql.Identifier(c.name)
    if c.type in _CAST:
        return sql.SQL("{c}::{t} as {c}").format(c=col, t=sql.SQL(_CAST[c.type]))
    if c.choices:
        return sql.SQL("lower({c}) as {c}").format(c=col)
    return col


def ingest_file(
    conn: psycopg.Connection,
    kind: Kind,
    path: str | Path,
    mapping: Mapping | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Ingest one file in one transaction (the caller commits)."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    mapping = mapping or Mapping()
    result = IngestResult(kind=kind.name, file=str(path))
    encoding = "utf-8-sig" if mapping.encoding == "utf-8" else mapping.encoding
    names = [c.name for c in kind.columns]
    source_of = {n: mapping.columns.get(n, n) for n in names}

    with path.open("r", encoding=encoding, errors="surrogateescape", newline="") as f:
        reader = csv.reader(f, delimiter=mapping.delimiter)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise IngestError(
                f"{path} is empty: expected a header row with {', '.join(kind.required)}"
            ) from None
        except csv.Error as exc:
            raise IngestError(f"{path}: the header row cannot be read as CSV: {exc}") from exc
        index = {h: i for i, h in enumerate(header)}
        wanted = [n for n in names if source_of[n] in index or n in mapping.constants]
        missing = [n for n in kind.required if n not in wanted]
        if missing:
            raise IngestError(
                f"{path}: missing required column(s) {', '.join(source_of[m] for m in missing)} "
                f"for kind {kind.name}. The header has: {', '.join(header)}. "
                "Rename the columns, or map them with --mapping (see mappings/)."
            )
        result.ignored_columns = [h for h in header if h not in set(source_of.values())]
        pick = [(index.get(source_of[n]), mapping.constants.get(n)) for n in wanted]

        conn.execute("set local timezone = 'UTC'")  # naive timestamps are read as UTC
        conn.execute(sql.SQL("select pg_advisory_xact_lock(hashtext({}))").format(sql.Literal("plaudit.ingest." + kind.name)))
        ingest_id = conn.execute(
            "insert into plaudit.ingests (kind, source_file, file_sha256) values (%s, %s, %s) returning ingest_id",
            [kind.name, str(path), file_sha256(path)],
        ).fetchone()[0]  # type: ignore[index]
        # Every column of the kind; those the file lacks stay null.
        conn.execute(
            sql.SQL("create temp table landing (line bigint, raw_text text, {}) on commit drop").format(
                sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(n)) for n in names)
            )
        )
        early: list[tuple[int, str, str]] = []  # (line, raw text, reason) rejected before COPY
        ncols = len(header)
        copy_sql = sql.SQL("copy landing (line, raw_text, {}) from stdin").format(
            sql.SQL(", ").join(map(sql.Identifier, wanted))
        )
        with conn.cursor().copy(copy_sql) as copy:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:  # e.g. an unterminated quote at the end of a truncated file
                    result.rows_read += 1
                    early.append((reader.line_num, "", f"not valid CSV: {exc}"))
                    continue
                result.rows_read += 1
                line = reader.line_num
                if not row:
                    result.rows_read -= 1  # a blank line is not a row
                    continue
                joined = mapping.delimiter.join(row)
                if len(row) != ncols:
                    early.append((line, _clean(joined), f"row has {len(row)} fields, the header has {ncols}"))
                    continue
                bad = _BAD_CHARS.search(joined)
                if bad:
                    reason = "NUL byte in row" if bad.group() == "\x00" else (
                        f"bytes that are not valid {mapping.encoding} (declare the file's encoding in its mapping)"
                    )
                    early.append((line, _clean(joined), reason))
                    continue
                copy.write_row([line, joined, *[(row[i].strip() or None) if i is not None else const for i, const in pick]])
                if on_progress and result.rows_read % 50_000 == 0:
                    on_progress(result.rows_read)

    if early:
        with conn.cursor() as cur:
            cur.executemany(
                "insert into plaudit.quarantine (ingest_id, kind, source_file, source_line, raw_text, reason)"
                " values (%s, %s, %s, %s, %s, %s)",
                [(ingest_id, kind.name, str(path), ln, raw, why) for ln, raw, why in early],
            )
    _check_and_upsert(conn, kind, ingest_id, str(path), result)
    result.quarantined += len(early)
    for row in conn.execute(
        "select reason, count(*) from plaudit.quarantine where ingest_id = %s group by reason order by 2 desc",
        [ingest_id],
    ):
        result.quarantined_by_reason[row[0]] = row[1]
    conn.execute(
        "update plaudit.ingests set rows_read=%s, loaded=%s, updated=%s, duplicates=%s, quarantined=%s,"
        " finished_at=now() where ingest_id=%s",
        [result.rows_read, result.loaded, result.updated, result.duplicates, result.quarantined, ingest_id],
    )
    assert result.rows_read == result.loaded + result.updated + result.duplicates + result.quarantined, result
    return result


def _clean(text: str) -> str:
    """Raw text that PostgreSQL can store: NULs and undecodable bytes made visible."""
    return text.replace("\x00", "\\0").encode("utf-8", "backslashreplace").decode("utf-8")


def _check_and_upsert(
    conn: psycopg.Connection, kind: Kind, ingest_id: int, source_file: str, result: IngestResult
) -> None:
    ident = lambda names: sql.SQL(", ").join(map(sql.Identifier, names))  # noqa: E731
    key = list(kind.key)
    table = sql.Identifier("raw", kind.table)
    q = {"ingest_id": ingest_id, "kind": kind.name, "file": source_file}

    conn.execute(
        sql.SQL("create temp table checked on commit drop as select *, {reason} as _problem from landing").format(
            reason=_reason_sql(kind)
        )
    )
    cur = conn.execute(
        sql.SQL(
            "insert into plaudit.quarantine (ingest_id, kind, source_file, source_line, raw_text, reason)"
            " select %(ingest_id)s, %(kind)s, %(file)s, line, raw_text, _problem"
            " from checked where _problem is not null"
        ),
        q,
    )
    result.quarantined += cur.rowcount

    # Typed rows with a content hash; rn orders copies of one key within this file.
    all_cols = [c.name for c in kind.columns]
    select_typed = sql.SQL(", ").join(_typed(c) for c in kind.columns)
    conn.execute(
        sql.SQL(
            "create temp table typed on commit drop as"
            " select *, md5(row({all})::text) as _row_hash,"
            " row_number() over (partition by {key} order by line) as rn"
            " from (select line, raw_text, {sel} from checked where _problem is null) t"
        ).format(all=ident(all_cols), key=ident(key), sel=select_typed)
    )
    key_eq = lambda a, b: sql.SQL(" and ").join(  # noqa: E731
        sql.SQL("{a}.{k} = {b}.{k}").format(a=sql.Identifier(a), b=sql.Identifier(b), k=sql.Identifier(k)) for k in key
    )
    cur = conn.execute(
        sql.SQL(
            "insert into plaudit.quarantine (ingest_id, kind, source_file, source_line, raw_text, reason)"
            " select %(ingest_id)s, %(kind)s, %(file)s, t.line, t.raw_text,"
            " 'same id as line ' || f.line || ' of this file, with different content'"
            " from typed t join typed f on {eq} and f.rn = 1 where t.rn > 1 and t._row_hash <> f._row_hash"
        ).format(eq=key_eq("t", "f")),
        q,
    )
    result.quarantined += cur.rowcount
    result.duplicates += conn.execute("select count(*) from typed where rn > 1").fetchone()[0] - cur.rowcount  # type: ignore[index]

    conn.execute(
        sql.SQL(
            "create temp table classified on commit drop as"
            " select t.*, case when r.{k0} is null then 'new' when r._row_hash = t._row_hash then 'duplicate'"
            " else 'changed' end as outcome, r._source_file as prev_file, r._source_line as prev_line"
            " from typed t left join {table} r on {eq} where t.rn = 1"
        ).format(k0=sql.Identifier(key[0]), table=table, eq=key_eq("r", "t"))
    )
    counts = dict(conn.execute("select outcome, count(*) from classified group by outcome").fetchall())
    result.duplicates += counts.get("duplicate", 0)
    conn.execute(
        sql.SQL(
            "insert into {table} ({all}, _row_hash, _source_file, _source_line)"
            " select {all}, _row_hash, %(file)s, line from classified where outcome = 'new'"
        ).format(table=table, all=ident(all_cols)),
        q,
    )
    result.loaded += counts.get("new", 0)
    changed = counts.get("changed", 0)
    if not changed:
        return
    if kind.updatable:
        conn.execute(
            sql.SQL(
                "update {table} r set {sets}, _row_hash = c._row_hash, _source_file = %(file)s,"
                " _source_line = c.line, _ingested_at = now() from classified c where c.outcome = 'changed' and {eq}"
            ).format(
                table=table,
                sets=sql.SQL(", ").join(sql.SQL("{c} = c.{c}").format(c=sql.Identifier(n)) for n in all_cols),
                eq=key_eq("r", "c"),
            ),
            q,
        )
        result.updated += changed
    else:
        conn.execute(
            sql.SQL(
                "insert into plaudit.quarantine (ingest_id, kind, source_file, source_line, raw_text, reason)"
                " select %(ingest_id)s, %(kind)s, %(file)s, line, raw_text,"
                " 'same id as already loaded from ' || prev_file || ' line ' || prev_line || ', with different content'"
                " from classified where outcome = 'changed'"
            ),
            q,
        )
        result.quarantined += changed
