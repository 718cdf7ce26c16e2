"""Yearly report of payouts to private persons, for the tax office.

Dutch payers report what they paid to private persons for work ("uitbetaalde
bedragen aan derden") by 1 February of the next year, per payee with BSN,
name, address and date of birth. This file lists exactly those fields and the
total paid in the year; it carries BSNs, so only finance may produce it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from rewards.statements.exports.csv_cells import Amount, CsvDialect, write_csv

HEADER = (
    "bsn",
    "name",
    "street_and_number",
    "postcode",
    "city",
    "date_of_birth",
    "year",
    "payment_count",
    "total_paid_eur",
)


@dataclass(frozen=True)
class PayeeRow:
    """One payee's payments in a year, with the details the tax office needs."""

    bsn: str
    name: str
    street_and_number: str
    postcode: str
    city: str
    date_of_birth: date | None
    year: int
    payment_count: int
    total_paid_cents: int


def write_payees_csv(rows: Iterable[PayeeRow], dialect: CsvDialect) -> bytes:
    """Write the payee rows as CSV bytes in the dialect."""
    cells = (
        (
            row.bsn,
            row.name,
            row.street_and_number,
            row.postcode,
            row.city,
            row.date_of_birth,
            row.year,
            row.payment_count,
            Amount(row.total_paid_cents),
        )
        for row in rows
    )
    return write_csv(HEADER, cells, dialect)
