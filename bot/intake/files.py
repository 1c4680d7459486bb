"""Read tickets from CSV, JSONL or JSON files, reporting unusable rows with their line numbers.

Rows are streamed, so a file of any size is read in constant memory.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.tickets import TicketIn, TicketRejected

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class RowProblem:
    """A row that could not be used at all; reported, never silently dropped."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class Row:
    line: int
    ticket: TicketIn | None
    raw: dict[str, object] | None
    problem: RowProblem | None


class TicketFileError(ValueError):
    """The file as a whole cannot be read (missing, unknown format, no id column)."""


def detect_format(path: Path) -> str:
    """`csv` or `jsonl` from the extension, else from the first non-blank character."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        for line in handle:
            if line.strip():
                return "jsonl" if line.lstrip()[0] in "{[" else "csv"
    return "csv"


def _row(line: int, raw: object, extra: str | None = None) -> Row:
    if not isinstance(raw, dict):
        return Row(line, None, None, RowProblem(line, "not a JSON object"))
    try:
        ticket = TicketIn.from_raw(raw)
    except TicketRejected as exc:
        return Row(line, None, raw, RowProblem(line, str(exc)))
    return Row(line, ticket, raw, None)


def _read_csv(path: Path) -> Iterator[Row]:
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            return
        names = [(n or "").strip().lower() for n in reader.fieldnames]
        if "id" not in names:
            raise TicketFileError(f"{path}: the CSV header has no 'id' column")
        reader.fieldnames = names
        for record in reader:
            line = reader.line_num
            record.pop(None, None)  # type: ignore[call-overload]  # extra cells without header
            yield _row(line, dict(record))


def _read_jsonl(path: Path) -> Iterator[Row]:
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        first = ""
        for first in handle:
            if first.strip():
                break
        handle.seek(0)
        if first.lstrip().startswith("["):
            try:
                items = json.load(handle)
            except json.JSONDecodeError as exc:
                raise TicketFileError(
                    f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})"
                ) from exc
            for index, item in enumerate(items, start=1):
                yield _row(index, item)
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Row(number, None, None, RowProblem(number, f"not valid JSON: {exc.msg}"))
                continue
            yield _row(number, item)


def read_ticket_file(path: Path, fmt: str | None = None) -> Iterator[Row]:
    """Every row of a ticket file, in order, each a ticket or a problem with its line number."""
    if not path.is_file():
        raise TicketFileError(f"{path}: no such file")
    fmt = fmt or detect_format(path)
    if fmt == "csv":
        return _read_csv(path)
    if fmt == "jsonl":
        return _read_jsonl(path)
    raise TicketFileError(f"{path}: unknown format {fmt!r}; use csv or jsonl")
