"""Rent credit CSV for the corporation's rent administration.

One row per tenancy and month with the rent credit (huurkorting) to book as a
separate credit line on the tenant's rent account. Amounts are euros written
exactly from integer cents; a negative amount is a correction and stays a
number in both dialects.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from rewards.statements.exports.csv_cells import Amount, CsvDialect, write_csv

HEADER = ("unit_external_id", "tenant_reference", "month", "amount_eur")


@dataclass(frozen=True)
class RentCreditRow:
    """Rent credit of one tenancy for one month."""

    unit_external_id: str
    tenant_reference: str
    month: str  # YYYY-MM
    amount_cents: int


def write_rent_credit_csv(rows: Iterable[RentCreditRow], dialect: CsvDialect) -> bytes:
    """Write the rent credit rows as CSV bytes in the dialect."""
    cells = (
        (
            row.unit_external_id,
            row.tenant_reference,
            row.month,
            Amount(row.amount_cents),
        )
        for row in rows
    )
    return write_csv(HEADER, cells, dialect)
