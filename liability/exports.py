"""CSV export of a briefing's acceptances and withdrawals for staff."""

import csv
import io

from liability.queries import HistoryRow

HISTORY_COLUMNS = (
    "event",
    "at_utc",
    "tenant_id",
    "tenant_name",
    "unit",
    "briefing_code",
    "version_number",
    "locale",
    "is_material",
    "acceptance_id",
    "withdrawal_id",
    "channel",
    "typed_name",
    "recorded_by",
    "text_sha256",
    "rendered_sha256",
    "reason",
)
# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> str:
    """Return a cell as text, with a leading quote if a spreadsheet would run it."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def history_csv(rows: list[HistoryRow]) -> str:
    """Write a briefing's history rows as CSV text with a header line."""
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\r\n")
    writer.writerow(HISTORY_COLUMNS)
    for row in rows:
        writer.writerow([neutralise_cell(cell) for cell in _cells(row)])
    return output.getvalue()


def _cells(row: HistoryRow) -> list[object]:
    acceptance = row.acceptance
    version = acceptance.version
    withdrawal = row.withdrawal
    record = withdrawal or acceptance
    return [
        row.event,
        row.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        acceptance.tenant_id,
        acceptance.tenant.full_name,
        acceptance.unit.external_id,
        acceptance.briefing.code,
        version.version_number,
        acceptance.locale,
        "yes" if version.is_material else "no",
        acceptance.id,
        withdrawal.id if withdrawal else "",
        record.channel.value,
        acceptance.typed_name,
        record.recorded_by.full_name,
        acceptance.text_sha256,
        acceptance.rendered_sha256,
        withdrawal.reason if withdrawal else "",
    ]
