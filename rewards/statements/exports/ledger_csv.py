"""Ledger CSV: every posting of a month, for the corporation's accountants.

One row per posting with its journal, account, asset, side and amount, and
the journal's memo, source and rule version. Points are whole numbers; euro
amounts are written from integer cents with two decimals.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from rewards.statements.exports.csv_cells import Amount, CsvDialect, write_csv

HEADER = (
    "journal_id",
    "journal_kind",
    "effective_date",
    "recorded_at",
    "account_id",
    "account_kind",
    "tenant_reference",
    "asset",
    "side",
    "amount",
    "memo",
    "source_type",
    "source_id",
    "rule_version",
    "reverses_journal_id",
)


@dataclass(frozen=True)
class LedgerPostingRow:
    """One posting with the fields of its journal."""

    journal_id: int
    journal_kind: str
    effective_date: date
    recorded_at: str  # ISO 8601 in UTC
    account_id: int
    account_kind: str
    tenant_reference: str | None
    asset: str
    scale: int  # decimals of the asset: 0 for points, 2 for euro cents
    side: str
    amount: int  # in the asset's smallest unit
    memo: str
    source_type: str
    source_id: str | None
    rule_version: str | None
    reverses_journal_id: int | None


def write_ledger_csv(rows: Iterable[LedgerPostingRow], dialect: CsvDialect) -> bytes:
    """Write the posting rows as CSV bytes in the dialect."""
    cells = (
        (
            row.journal_id,
            row.journal_kind,
            row.effective_date,
            row.recorded_at,
            row.account_id,
            row.account_kind,
            row.tenant_reference,
            row.asset,
            row.side,
            Amount(row.amount, row.scale),
            row.memo,
            row.source_type,
            row.source_id,
            row.rule_version,
            row.reverses_journal_id,
        )
        for row in rows
    )
    return write_csv(HEADER, cells, dialect)
