"""Rows of the finance exports, read from the ledger's closed months.

Amounts are summed from posted journals, the same source as every balance,
so an export's totals equal the ledger's.
"""

from collections.abc import Iterator

from klusbank.accounts.models import User
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger.models import AccountKind, Asset
from rewards.statements import queries
from rewards.statements.exports.ledger_csv import LedgerPostingRow
from rewards.statements.exports.payees import PayeeRow
from rewards.statements.exports.rent_credit import RentCreditRow


def rent_credit_rows(corporation_id: int, period: Period) -> list[RentCreditRow]:
    """Return the rent credit granted per tenancy in a closed month."""
    queries.closed_ledger_period(corporation_id, period)
    granted = queries.granted_cents_by_tenant(
        corporation_id, AccountKind.TENANT_RENT_CREDIT, period
    )
    rows = []
    for tenant_id, amount_cents in granted.items():
        place = queries.tenant_place(tenant_id, period.last_day)
        rows.append(
            RentCreditRow(
                unit_external_id=place.unit_external_id if place else "",
                tenant_reference=place.tenancy_reference if place else "",
                month=str(period),
                amount_cents=amount_cents,
            )
        )
    rows.sort(key=lambda row: (row.unit_external_id, row.tenant_reference))
    return rows


def ledger_rows(corporation_id: int, period: Period) -> Iterator[LedgerPostingRow]:
    """Yield every posting of a closed month with its journal and account."""
    queries.closed_ledger_period(corporation_id, period)
    references = queries.tenancy_references(corporation_id, period.last_day)
    for posting, journal, account in queries.ledger_postings(corporation_id, period):
        yield LedgerPostingRow(
            journal_id=journal.id,
            journal_kind=journal.kind.value,
            effective_date=journal.effective_date,
            recorded_at=journal.recorded_at.isoformat(),
            account_id=account.id,
            account_kind=account.kind.value,
            tenant_reference=references.get(account.tenant_id, "")
            if account.tenant_id
            else None,
            asset=posting.asset.value,
            scale=2 if posting.asset == Asset.EUR else 0,
            side=posting.side.value,
            amount=posting.amount,
            memo=journal.memo,
            source_type=journal.source_type,
            source_id=journal.source_id,
            rule_version=(
                str(journal.rule_version_id) if journal.rule_version_id else None
            ),
            reverses_journal_id=journal.reverses_journal_id,
        )


def payee_rows(corporation_id: int, year: int) -> list[PayeeRow]:
    """Return every tenant paid in a calendar year with BSN, address and total."""
    rows = []
    year_end = Period(year, 12).last_day
    for tenant_id, (count, total_cents) in sorted(
        queries.payment_totals(corporation_id, year).items()
    ):
        tenant = db.session.get(User, tenant_id)
        place = queries.tenant_place(tenant_id, year_end)
        details = queries.latest_bank_details(tenant_id, year_end)
        rows.append(
            PayeeRow(
                bsn=details.bsn if details and details.bsn else "",
                name=tenant.full_name,
                street_and_number=place.street_and_number if place else "",
                postcode=place.postcode if place else "",
                city=place.city if place else "",
                date_of_birth=tenant.date_of_birth,
                year=year,
                payment_count=count,
                total_paid_cents=total_cents,
            )
        )
    rows.sort(key=lambda row: (row.name, row.bsn))
    return rows
