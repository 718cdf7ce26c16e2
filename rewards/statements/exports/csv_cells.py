"""CSV writing shared by the exports: two dialects and formula-safe cells.

Spreadsheets run a cell as a formula when its text starts with ``=``, ``+``,
``-`` or ``@`` (and some also after a tab or carriage return), so a chore
title such as ``=HYPERLINK(...)`` could act when finance opens the file. Text
cells that start that way get a leading apostrophe, as OWASP recommends for
CSV injection. Amounts are written as ``Amount`` cells and never prefixed, so a
negative correction stays a number.
"""

import csv
import enum
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


class CsvDialect(enum.StrEnum):
    """``nl`` for Dutch spreadsheets (semicolon, decimal comma, UTF-8 BOM); ``plain``."""

    NL = "nl"
    PLAIN = "plain"

    @property
    def delimiter(self) -> str:
        return ";" if self is CsvDialect.NL else ","

    @property
    def decimal_separator(self) -> str:
        return "," if self is CsvDialect.NL else "."

    @property
    def byte_order_mark(self) -> bytes:
        # Excel reads a semicolon file as UTF-8 only when it starts with a BOM.
        return b"\xef\xbb\xbf" if self is CsvDialect.NL else b""


@dataclass(frozen=True)
class Amount:
    """An amount in the smallest unit, written with ``scale`` decimals."""

    minor_units: int
    scale: int = 2


Cell = str | int | date | Amount | None


def neutralise_formula(text: str) -> str:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe."""
    if text.startswith(FORMULA_TRIGGERS) or text.lstrip(" ").startswith(
        FORMULA_TRIGGERS
    ):
        return "'" + text
    return text


def format_amount(amount: Amount, dialect: CsvDialect) -> str:
    """Write an amount exactly, without digit grouping: ``-1234,50`` or ``-1234.50``."""
    if amount.scale == 0:
        return str(amount.minor_units)
    sign = "-" if amount.minor_units < 0 else ""
    whole, fraction = divmod(abs(amount.minor_units), 10**amount.scale)
    return f"{sign}{whole}{dialect.decimal_separator}{fraction:0{amount.scale}d}"


def format_cell(value: Cell, dialect: CsvDialect) -> str:
    """Turn one cell value into its text in the dialect."""
    if value is None:
        return ""
    if isinstance(value, Amount):
        return format_amount(value, dialect)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return neutralise_formula(str(value))


def write_csv(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], dialect: CsvDialect
) -> bytes:
    """Write a header and rows as CSV bytes in the dialect."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(
        buffer,
        delimiter=dialect.delimiter,
        quoting=csv.QUOTE_MINIMAL,
        lineterminator="\r\n",
    )
    writer.writerow([neutralise_formula(name) for name in header])
    for row in rows:
        writer.writerow([format_cell(value, dialect) for value in row])
    return dialect.byte_order_mark + buffer.getvalue().encode("utf-8")
