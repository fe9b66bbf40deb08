"""Exports of the lists the secretariat reports on: CSV for spreadsheets, JSON for programs."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

# Excel reads a CSV file as UTF-8 only when it starts with a byte order mark.
BOM = "\ufeff"
# A cell starting with one of these is a formula to a spreadsheet: a comment could run one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The formats an export address may end in.
ExportFormat = Literal["csv", "json"]
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
# Rows encoded together before a chunk goes out.
CHUNK_ROWS = 200


def _plain(value: Any) -> Any:
    """A value as JSON holds it: dates in ISO 8601, enums by value, the rest as it is."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _cell(value: Any) -> str:
    """A value as one CSV cell; lists joined by "; ", formulas defused with a leading quote."""
    plain = _plain(value)
    if plain is None:
        text = ""
    elif isinstance(plain, list):
        text = "; ".join(_cell(item) for item in plain)
    elif isinstance(plain, bool):
        text = "true" if plain else "false"
    else:
        text = str(plain)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """A CSV file (UTF-8 with a byte order mark, a header row) a few rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(columns)
    for number, row in enumerate(rows, start=1):
        writer.writerow([_cell(row.get(column)) for column in columns])
        if number % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def json_chunks(rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """A JSON array of objects, one object at a time."""
    yield b"["
    for number, row in enumerate(rows):
        prefix = "," if number else ""
        yield (prefix + "\n" + json.dumps(_plain(row), ensure_ascii=False)).encode()
    yield b"\n]\n"


def export_chunks(
    fmt: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> Iterator[bytes]:
    """The rows in the format asked for ("csv" or "json")."""
    return csv_chunks(columns, rows) if fmt == "csv" else json_chunks(rows)
