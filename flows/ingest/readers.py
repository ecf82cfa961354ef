"""Stream a source file as records: (line, raw text, {column: value}) or a rejection.

Nothing is held in memory beyond one row. A row that cannot be read at all
(wrong number of fields, bytes invalid in the declared encoding, NUL bytes,
invalid JSON) comes back as a rejection with its reason; the file goes on.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from flows.ingest.mapping import Mapping
from plaudit.errors import IngestError

csv.field_size_limit(64 * 1024 * 1024)
_BAD_CHARS = re.compile("[\x00\udc80-\udcff]")  # NUL, or a byte the encoding could not decode


class Row(NamedTuple):  # a tuple: one is made for every row of a file
    line: int
    raw_text: str
    values: dict[str, str | None] | None  # None: rejected
    reason: str | None = None


def printable(text: str) -> str:
    """Text PostgreSQL can store: NULs and undecodable bytes made visible."""
    return text.replace("\x00", "\\0").encode("utf-8", "backslashreplace").decode("utf-8")


def _bad_chars(text: str, encoding: str) -> str | None:
    bad = _BAD_CHARS.search(text)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return "NUL byte in row"
    return f"bytes that are not valid {encoding} (declare the file's encoding in its mapping)"


def record_row(line: int, raw_text: str, obj: dict[str, object]) -> Row:
    """A JSON object as a row: values as text (nested values as JSON text)."""
    return Row(line, raw_text, {
        k: None if v is None else (json.dumps(v) if isinstance(v, dict | list) else str(v)) for k, v in obj.items()
    })


class Source:
    """An open source file: its header and its rows."""

    def __init__(self, path: Path, mapping_format: str, encoding: str, delimiter: str, quotechar: str,
                 sheet: str | None = None) -> None:
        self.path = path
        self.format = mapping_format
        self.encoding = encoding
        self.delimiter = delimiter
        self.quotechar = quotechar
        self.sheet = sheet
        self.header: list[str] = []

    def rows(self) -> Iterator[Row]:
        if self.format == "csv":
            yield from self._csv()
        elif self.format == "jsonl":
            yield from self._jsonl()
        else:
            yield from self._xlsx()

    def _open_text(self):  # type: ignore[no-untyped-def]
        enc = "utf-8-sig" if self.encoding == "utf-8" else self.encoding
        return self.path.open("r", encoding=enc, errors="surrogateescape", newline="")

    def read_header(self) -> list[str]:
        if self.format == "csv":
            with self._open_text() as f:
                try:
                    first = next(csv.reader(f, delimiter=self.delimiter, quotechar=self.quotechar))
                except StopIteration:
                    raise IngestError(f"{self.path} is empty: expected a header row") from None
                except csv.Error as exc:
                    raise IngestError(f"{self.path}: the header row cannot be read as CSV: {exc}") from None
            self.header = [h.strip() for h in first]
        elif self.format == "jsonl":
            self.header = []  # keys vary per line
            if self.path.stat().st_size == 0:
                raise IngestError(f"{self.path} is empty")
        else:
            self.header = [h for h in next(self._xlsx_values(), [])]
            if not self.header:
                raise IngestError(f"{self.path}: the sheet is empty: expected a header row")
        return self.header

    def _csv(self) -> Iterator[Row]:
        ncols = len(self.header)
        header, delimiter, bad_chars = self.header, self.delimiter, _BAD_CHARS.search
        with self._open_text() as f:
            reader = csv.reader(f, delimiter=self.delimiter, quotechar=self.quotechar)
            next(reader, None)
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # e.g. an unterminated quote at the end of a truncated file
                    yield Row(reader.line_num, "", None, f"not valid CSV: {exc}")
                    continue
                if not row:
                    continue  # a blank line is not a row
                joined = delimiter.join(row)
                if len(row) != ncols:
                    yield Row(reader.line_num, printable(joined), None, f"row has {len(row)} fields, the header has {ncols}")
                    continue
                if bad_chars(joined):
                    yield Row(reader.line_num, printable(joined), None, _bad_chars(joined, self.encoding))
                    continue
                yield Row(reader.line_num, joined, dict(zip(header, row, strict=True)))

    def _jsonl(self) -> Iterator[Row]:
        with self._open_text() as f:
            for n, line in enumerate(f, start=1):
                text = line.rstrip("\r\n")
                if not text.strip():
                    continue
                problem = _bad_chars(text, self.encoding)
                if problem:
                    yield Row(n, printable(text), None, problem)
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield Row(n, text, None, f"not valid JSON: {exc.msg} at column {exc.colno}")
                    continue
                if not isinstance(obj, dict):
                    yield Row(n, text, None, "a JSON line must be an object of fields")
                    continue
                yield record_row(n, text, obj)

    def _xlsx_values(self) -> Iterator[list[str]]:
        try:
            from openpyxl import load_workbook
        except ImportError:  # pragma: no cover - openpyxl is a dependency
            raise IngestError("reading xlsx needs openpyxl") from None
        try:
            wb = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
            raise IngestError(f"{self.path} cannot be read as an xlsx workbook: {exc}") from None
        try:
            ws = wb[self.sheet] if self.sheet else wb.worksheets[0]
        except KeyError:
            raise IngestError(f"{self.path} has no sheet {self.sheet!r}; it has {', '.join(wb.sheetnames)}") from None
        try:
            for values in ws.iter_rows(values_only=True):
                yield ["" if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v)) for v in values]
        finally:
            wb.close()

    def _xlsx(self) -> Iterator[Row]:
        rows = self._xlsx_values()
        next(rows, None)
        for n, values in enumerate(rows, start=2):
            if not any(v.strip() for v in values):
                continue
            values = (values + [""] * len(self.header))[: len(self.header)]
            yield Row(n, "\t".join(values), dict(zip(self.header, values, strict=True)))


def open_source(path: Path, mapping: Mapping | None) -> Source:
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    fmt = mapping.format if mapping else {"jsonl": "jsonl", "ndjson": "jsonl", "xlsx": "xlsx"}.get(
        path.suffix.lstrip(".").lower(), "csv")
    src = Source(
        path,
        fmt,
        mapping.encoding if mapping else "utf-8",
        mapping.delimiter if mapping else ",",
        mapping.quotechar if mapping else '"',
        mapping.sheet if mapping else None,
    )
    src.read_header()
    return src
