"""Excel (xlsx) and CSV exports: Chinese column headers, dates as dates, numbers as numbers, and no
cell that a spreadsheet could run as a formula.

A text cell that begins with = + - @, a TAB or a CR is what Excel, LibreOffice and WPS treat as a
formula (CSV/formula injection: `=HYPERLINK(…)`, `=cmd|…`). Such text is written with a leading
apostrophe, the OWASP advice, in both formats; numbers and dates are typed cells and never text.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from portal.core.timeutil import to_local

DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {"int": "#,##0", "float1": "#,##0.0", "float2": "0.00", "pct": "0.0%", "date": "yyyy-mm-dd",
           "datetime": "yyyy-mm-dd hh:mm"}
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv"  # Flask adds "; charset=utf-8"


def neutralise(text: str) -> str:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(DANGEROUS_FIRST) else text


@dataclass
class Column:
    title: str
    kind: str = "text"  # text | int | float1 | float2 | pct | date | datetime
    width: int = 14


@dataclass
class Typed:
    """A value whose format is its own, not its column's (a summary mixes counts, hours and shares)."""

    value: object
    kind: str


@dataclass
class Table:
    name: str  # sheet name
    columns: list[Column]
    rows: Iterable[list]  # read once


def _unwrap(value, kind: str) -> tuple[object, str]:
    return (value.value, value.kind) if isinstance(value, Typed) else (value, kind)


def _cell_value(value, kind: str):
    """The typed value for a cell; times (naive UTC in the database) become local wall-clock times."""
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, datetime):
        return to_local(value).replace(tzinfo=None, second=0, microsecond=0)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return neutralise(value)
    if kind == "text" and not isinstance(value, (int, float, date)):
        return neutralise(str(value))
    return value


def to_xlsx(tables: list[Table]) -> bytes:
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in tables:
        ws = wb.create_sheet(title=table.name[:31])
        for i, col in enumerate(table.columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = col.width
        ws.freeze_panes = "A2"
        header = []
        for col in table.columns:
            cell = WriteOnlyCell(ws, value=neutralise(col.title))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in table.rows:
            cells = []
            for col, raw in zip(table.columns, row):
                value, kind = _unwrap(raw, col.kind)
                value = _cell_value(value, kind)
                if value is None or isinstance(value, str) or kind not in FORMATS:
                    # Plain values are written much faster; no text here begins with "=" (neutralised), so
                    # openpyxl keeps all of it as text.
                    cells.append(value)
                    continue
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = FORMATS[kind]
                cells.append(cell)
            ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _csv_text(raw, kind: str) -> str:
    raw, kind = _unwrap(raw, kind)
    value = _cell_value(raw, kind)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "float1":
        return f"{value:.1f}"
    if kind == "float2":
        return f"{value:.2f}"
    return str(value)


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([neutralise(c.title) for c in table.columns])
    for row in table.rows:
        w.writerow([_csv_text(v, c.kind) for c, v in zip(table.columns, row)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
