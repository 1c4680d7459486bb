"""Read tickets from CSV, JSONL or JSON files, reporting unusable rows with their line numbers.

Rows are streamed, so a file of any size is read in constant memory.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.frozen import fast_init
from bot.progress import row_read
from bot.tickets import TicketIn, TicketRejected

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

OnOpen = Callable[[TextIO], None]


@dataclass(frozen=True)
class RowProblem:
    """A row that could not be used at all; reported, never silently dropped."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@fast_init
@dataclass(frozen=True)
class Row:
    line: int
    ticket: TicketIn | None
    raw: dict[str, object] | None
    problem: RowProblem | None


class TicketFileError(ValueError):
    """The file as a whole cannot be read (missing, unknown format, no id column)."""


STDIN = Path("-")  # `classify -` reads standard input


def detect_format(path: Path) -> str:
    """`csv` or `jsonl` from the extension, else from the first non-blank character."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    with _open(path) as handle:
        return _sniff(_first_line(handle))


def _sniff(first: str) -> str:
    return "jsonl" if first.lstrip()[:1] in ("{", "[") else "csv"


def _first_line(handle: TextIO) -> str:
    for line in handle:
        if line.strip():
            return line
    return ""


def _open(path: Path) -> TextIO:
    """The file as text; `-` is standard input. Pipes and FIFOs are read as they fill."""
    if path == STDIN:
        return io.TextIOWrapper(
            sys.stdin.buffer, encoding="utf-8-sig", errors="replace", newline=""
        )
    return path.open("r", encoding="utf-8-sig", errors="replace", newline="")


def _lines(path: Path, on_open: OnOpen | None) -> Iterator[Iterator[str]]:
    """Opens the file once (a pipe cannot be read twice) and hands out its lines."""
    with _open(path) as handle:
        if on_open is not None:
            on_open(handle)
        yield iter(handle)


def _row(line: int, raw: object, extra: str | None = None) -> Row:
    if not isinstance(raw, dict):
        return Row(line, None, None, RowProblem(line, "not a JSON object"))
    try:
        ticket = TicketIn.from_raw(raw)
    except TicketRejected as exc:
        return Row(line, None, raw, RowProblem(line, str(exc)))
    return Row(line, ticket, raw, None)


def _read_csv(path: Path, lines: Iterator[str]) -> Iterator[Row]:
    # Exactly what csv.DictReader gives (its first row, blank or not, is the header; blank
    # rows are skipped; a row's line is the reader's after it; missing cells are None and
    # extra cells without a header are dropped), with one dict built per row, not two.
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    names = [(n or "").strip().lower() for n in header]
    if "id" not in names:
        raise TicketFileError(f"{path}: the CSV header has no 'id' column")
    width = len(names)
    for cells in reader:
        if not cells:
            continue
        record: dict[str, object] = dict(zip(names, cells))  # noqa: B905 (ragged rows)
        if len(cells) < width:
            for name in names[len(cells) :]:
                record[name] = None
        yield _row(reader.line_num, record)


def _read_jsonl(path: Path, lines: Iterator[str]) -> Iterator[Row]:
    blank = 0
    first = ""
    for first in lines:
        if first.strip():
            break
        blank += 1
    if first.lstrip().startswith("["):
        try:
            items = json.loads(first + "".join(lines))
        except json.JSONDecodeError as exc:
            raise TicketFileError(
                f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})"
            ) from exc
        for index, item in enumerate(items, start=1):
            yield _row(index, item)
        return
    for number, line in enumerate(itertools.chain([first], lines), start=blank + 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Row(number, None, None, RowProblem(number, f"not valid JSON: {exc.msg}"))
            continue
        yield _row(number, item)


def read_ticket_file(
    path: Path, fmt: str | None = None, on_open: OnOpen | None = None
) -> Iterator[Row]:
    """Every row of a ticket file, in order, each a ticket or a problem with its line number.

    Rows are read as they are needed, so a file of any size (or a pipe, or `-` for standard
    input) streams in constant memory. `on_open` sees the open text handle (for progress).
    Errors about the file as a whole are raised here, before any row is read.
    """
    if path != STDIN:
        if path.is_dir():
            raise TicketFileError(f"{path}: is a directory, not a ticket file")
        if not path.exists():
            raise TicketFileError(f"{path}: no such file")
        if not os.access(path, os.R_OK):
            raise TicketFileError(f"{path}: not readable (permission denied)")
    if fmt not in (None, "csv", "jsonl"):
        raise TicketFileError(f"{path}: unknown format {fmt!r}; use csv or jsonl")
    if fmt is None and (path == STDIN or not path.is_file()):
        fmt = None  # a pipe: decided from its first line, read once
    elif fmt is None:
        fmt = detect_format(path)
    return _rows(path, fmt, on_open)


def _rows(path: Path, fmt: str | None, on_open: OnOpen | None) -> Iterator[Row]:
    for lines in _lines(path, on_open):
        if fmt is None:
            head: list[str] = []
            for line in lines:
                head.append(line)
                if line.strip():
                    break
            fmt = _sniff(head[-1] if head else "")
            lines = itertools.chain(head, lines)
        reader = _read_csv if fmt == "csv" else _read_jsonl
        for row in reader(path, lines):
            row_read()
            yield row
