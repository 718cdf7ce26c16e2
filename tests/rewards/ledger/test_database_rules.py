"""Each ledger rule, broken with raw SQL below the ORM, is rejected by the database.

The data is built through the services and committed. Every attack then runs
as plain SQL in the test's session and must fail with a database error.
"""

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger import services as ledger
from rewards.ledger.models import AccountKind
from tests.factories import create_corporation
from tests.rewards.ledger.helpers import credit_points, fund_payout

NOV_3 = date(2026, 11, 3)


def _sql(statement: str, **parameters):
    return db.session.execute(text(statement), parameters)


def _rejected(statement: str, **parameters) -> str:
    """Run a statement that must fail; return the database's message."""
    with pytest.raises(DBAPIError) as raised:
        _sql(statement, **parameters)
        db.session.flush()
    db.session.rollback()
    return str(raised.value.orig)


def _insert_draft(corporation_id: int, key: str, *, day: str = "2026-11-03") -> int:
    _sql(
        "INSERT INTO ledger_journals (corporation_id, kind, status, effective_date,"
        " period, memo, source_type, idempotency_key, request_hash, recorded_at)"
        " VALUES (:corporation, 'correction', 'draft', :day, :period, 'raw',"
        " 'test', :key, 'hash', CURRENT_TIMESTAMP)",
        corporation=corporation_id,
        day=day,
        period=day[:7],
        key=key,
    )
    return _sql(
        "SELECT id FROM ledger_journals"
        " WHERE corporation_id = :corporation AND idempotency_key = :key",
        corporation=corporation_id,
        key=key,
    ).scalar_one()


def _insert_posting(
    journal_id: int, account_id: int, side: str, amount: int, asset: str = "points"
):
    _sql(
        "INSERT INTO ledger_postings (journal_id, account_id, asset, side, amount)"
        " VALUES (:journal, :account, :asset, :side, :amount)",
        journal=journal_id,
        account=account_id,
        asset=asset,
        side=side,
        amount=amount,
    )


def _seal(journal_id: int):
    _sql("UPDATE ledger_journals SET status = 'posted' WHERE id = :id", id=journal_id)


@pytest.fixture
def posted(corporation, tenant):
    """A committed approval journal of 10 points and its accounts."""
    journal = credit_points(corporation, tenant, 10, on=NOV_3)
    db.session.commit()
    return {
        "journal": journal.id,
        "posting": journal.postings[0].id,
        "points": ledger.tenant_account(
            corporation.id, tenant.id, AccountKind.TENANT_POINTS
        ).id,
        "issued": ledger.corporation_account(
            corporation.id, AccountKind.POINTS_ISSUED
        ).id,
    }


def _close_november(corporation_id: int):
    with time_machine.travel(datetime(2026, 12, 2, tzinfo=UTC), tick=False):
        ledger.mark_period_closing(corporation_id, Period(2026, 11))
        ledger.write_period_snapshot(corporation_id, Period(2026, 11))
        ledger.mark_period_closed(corporation_id, Period(2026, 11))
    db.session.commit()


def test_posted_journal_update_rejected(posted):
    message = _rejected(
        "UPDATE ledger_journals SET memo = 'changed' WHERE id = :id",
        id=posted["journal"],
    )

    assert "posted journal" in message


def test_posted_journal_delete_rejected(posted):
    message = _rejected(
        "DELETE FROM ledger_journals WHERE id = :id", id=posted["journal"]
    )

    assert "posted journal" in message


def test_posted_journal_unsealing_rejected(posted):
    _rejected(
        "UPDATE ledger_journals SET status = 'draft' WHERE id = :id",
        id=posted["journal"],
    )


def test_posting_update_rejected(posted):
    message = _rejected(
        "UPDATE ledger_postings SET amount = 11 WHERE id = :id", id=posted["posting"]
    )

    assert "ledger" in message


def test_posting_delete_rejected(posted):
    _rejected("DELETE FROM ledger_postings WHERE id = :id", id=posted["posting"])


def test_delete_all_postings_rejected(posted):
    _rejected("DELETE FROM ledger_postings")


@pytest.mark.parametrize(
    "table",
    [
        "ledger_postings",
        "ledger_journals",
        "ledger_accounts",
        "ledger_holds",
        "ledger_hold_resolutions",
        "ledger_periods",
        "ledger_period_snapshots",
    ],
)
def test_truncate_rejected_on_postgresql(postgresql_only, posted, table):
    # SQLite has no TRUNCATE; its DELETE runs the row triggers tested above.
    message = _rejected(f"TRUNCATE {table} CASCADE")

    assert "append-only" in message


def test_journal_inserted_as_posted_rejected(corporation):
    message = _rejected(
        "INSERT INTO ledger_journals (corporation_id, kind, status, effective_date,"
        " period, memo, source_type, idempotency_key, request_hash, recorded_at)"
        " VALUES (:corporation, 'correction', 'posted', '2026-11-03', '2026-11',"
        " 'raw', 'test', 'raw:1', 'hash', CURRENT_TIMESTAMP)",
        corporation=corporation.id,
    )

    assert "draft" in message


def test_journal_period_must_match_date(corporation):
    _rejected(
        "INSERT INTO ledger_journals (corporation_id, kind, status, effective_date,"
        " period, memo, source_type, idempotency_key, request_hash, recorded_at)"
        " VALUES (:corporation, 'correction', 'draft', '2026-11-03', '2026-10',"
        " 'raw', 'test', 'raw:1', 'hash', CURRENT_TIMESTAMP)",
        corporation=corporation.id,
    )


def test_unbalanced_journal_cannot_be_sealed(posted, corporation):
    journal = _insert_draft(corporation.id, "raw:1")
    _insert_posting(journal, posted["issued"], "debit", 5)
    _insert_posting(journal, posted["points"], "credit", 4)

    with pytest.raises(DBAPIError) as raised:
        _seal(journal)
    db.session.rollback()

    assert "balance" in str(raised.value.orig)


def test_journal_balanced_across_assets_cannot_be_sealed(posted, corporation, tenant):
    payout = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_PAYOUT)
    db.session.commit()
    journal = _insert_draft(corporation.id, "raw:1")
    _insert_posting(journal, posted["issued"], "debit", 5)
    _insert_posting(journal, payout.id, "credit", 5, asset="eur")

    with pytest.raises(DBAPIError):
        _seal(journal)


def test_empty_journal_cannot_be_sealed(corporation):
    journal = _insert_draft(corporation.id, "raw:1")

    with pytest.raises(DBAPIError) as raised:
        _seal(journal)

    assert "no postings" in str(raised.value.orig) or "without postings" in str(
        raised.value.orig
    )


def test_balanced_raw_journal_can_be_sealed(posted, corporation):
    journal = _insert_draft(corporation.id, "raw:1")
    _insert_posting(journal, posted["issued"], "debit", 5)
    _insert_posting(journal, posted["points"], "credit", 5)
    _seal(journal)
    db.session.commit()

    cached = _sql(
        "SELECT cached_balance FROM ledger_accounts WHERE id = :id", id=posted["points"]
    ).scalar_one()

    assert cached == 15


def test_draft_can_only_change_status(posted, corporation):
    journal = _insert_draft(corporation.id, "raw:1")

    _rejected("UPDATE ledger_journals SET memo = 'other' WHERE id = :id", id=journal)


@pytest.mark.parametrize("amount", [0, -5])
def test_posting_amount_must_be_positive(posted, corporation, amount):
    journal = _insert_draft(corporation.id, "raw:1")

    with pytest.raises(DBAPIError):
        _insert_posting(journal, posted["issued"], "debit", amount)


def test_posting_asset_must_match_account(posted, corporation):
    journal = _insert_draft(corporation.id, "raw:1")

    with pytest.raises(DBAPIError) as raised:
        _insert_posting(journal, posted["issued"], "debit", 5, asset="eur")

    assert "asset" in str(raised.value.orig)


def test_posting_on_foreign_account_rejected(posted):
    other = create_corporation()
    db.session.commit()
    journal = _insert_draft(other.id, "raw:1")

    with pytest.raises(DBAPIError) as raised:
        _insert_posting(journal, posted["issued"], "debit", 5)

    assert "corporation" in str(raised.value.orig)


def test_posting_into_posted_journal_rejected(posted):
    with pytest.raises(DBAPIError) as raised:
        _insert_posting(posted["journal"], posted["issued"], "debit", 5)

    assert "draft" in str(raised.value.orig)


def test_idempotency_key_unique_per_corporation(posted, corporation):
    key = _sql(
        "SELECT idempotency_key FROM ledger_journals WHERE id = :id",
        id=posted["journal"],
    ).scalar_one()

    with pytest.raises(DBAPIError):
        _insert_draft(corporation.id, key)
    db.session.rollback()
    other = create_corporation()
    db.session.commit()
    _insert_draft(other.id, key)


def _insert_reversal(corporation_id: int, key: str, original_id: int):
    _sql(
        "INSERT INTO ledger_journals (corporation_id, kind, status, effective_date,"
        " period, memo, source_type, idempotency_key, request_hash, recorded_at,"
        " reverses_journal_id) VALUES (:corporation, 'reversal', 'draft',"
        " '2026-11-04', '2026-11', 'raw', 'test', :key, 'hash', CURRENT_TIMESTAMP,"
        " :original)",
        corporation=corporation_id,
        key=key,
        original=original_id,
    )


def test_journal_reversed_at_most_once(posted, corporation):
    _insert_reversal(corporation.id, "raw:reversal:1", posted["journal"])

    with pytest.raises(DBAPIError):
        _insert_reversal(corporation.id, "raw:reversal:2", posted["journal"])


def test_closed_period_rejects_new_journal(posted, corporation):
    _close_november(corporation.id)

    message = _rejected(
        "INSERT INTO ledger_journals (corporation_id, kind, status, effective_date,"
        " period, memo, source_type, idempotency_key, request_hash, recorded_at)"
        " VALUES (:corporation, 'correction', 'draft', '2026-11-20', '2026-11',"
        " 'raw', 'test', 'raw:1', 'hash', CURRENT_TIMESTAMP)",
        corporation=corporation.id,
    )

    assert "closed" in message


def test_closed_period_freezes_earlier_periods(posted, corporation):
    _close_november(corporation.id)

    message = _rejected(
        "INSERT INTO ledger_journals (corporation_id, kind, status, effective_date,"
        " period, memo, source_type, idempotency_key, request_hash, recorded_at)"
        " VALUES (:corporation, 'correction', 'draft', '2026-10-20', '2026-10',"
        " 'raw', 'test', 'raw:1', 'hash', CURRENT_TIMESTAMP)",
        corporation=corporation.id,
    )

    assert "closed" in message


def test_closed_period_rejects_sealing_a_draft(posted, corporation):
    journal = _insert_draft(corporation.id, "raw:1")
    _insert_posting(journal, posted["issued"], "debit", 5)
    _insert_posting(journal, posted["points"], "credit", 5)
    db.session.commit()
    _close_november(corporation.id)

    message = _rejected(
        "UPDATE ledger_journals SET status = 'posted' WHERE id = :id", id=journal
    )

    assert "closed" in message


def test_closed_period_rejects_postings_on_draft(posted, corporation):
    journal = _insert_draft(corporation.id, "raw:1")
    db.session.commit()
    _close_november(corporation.id)

    with pytest.raises(DBAPIError) as raised:
        _insert_posting(journal, posted["issued"], "debit", 5)

    assert "closed" in str(raised.value.orig)


def test_closed_period_cannot_reopen(posted, corporation):
    _close_november(corporation.id)

    _rejected("UPDATE ledger_periods SET status = 'open'")
    _rejected("UPDATE ledger_periods SET checksum = 'x'")
    _rejected("DELETE FROM ledger_periods")


def test_period_cannot_be_inserted_closed(corporation):
    _rejected(
        "INSERT INTO ledger_periods (corporation_id, period, status, checksum)"
        " VALUES (:corporation, '2026-10', 'closed', 'x')",
        corporation=corporation.id,
    )


def test_closed_period_snapshots_are_frozen(posted, corporation):
    _close_november(corporation.id)
    period_id = _sql("SELECT id FROM ledger_periods").scalar_one()

    _rejected(
        "UPDATE ledger_period_snapshots SET closing_balance = closing_balance + 1"
    )
    _rejected("DELETE FROM ledger_period_snapshots")
    _rejected(
        "INSERT INTO ledger_period_snapshots (ledger_period_id, account_id, asset,"
        " period_debits, period_credits, closing_balance)"
        " VALUES (:period, :account, 'points', 0, 0, 0)",
        period=period_id,
        account=posted["points"] + 1000,
    )


def test_payout_payable_cannot_go_negative(corporation, tenant):
    fund_payout(corporation, tenant, 100, on=NOV_3)
    payout = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_PAYOUT)
    clearing = ledger.corporation_account(corporation.id, AccountKind.PAYOUT_CLEARING)
    db.session.commit()
    journal = _insert_draft(corporation.id, "raw:1")
    _insert_posting(journal, payout.id, "debit", 101, asset="eur")
    _insert_posting(journal, clearing.id, "credit", 101, asset="eur")

    with pytest.raises(DBAPIError) as raised:
        _seal(journal)

    assert "payout_not_negative" in str(raised.value.orig)


def test_hold_cannot_exceed_payout(corporation, tenant):
    fund_payout(corporation, tenant, 100, on=NOV_3)
    payout = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_PAYOUT)
    db.session.commit()

    message = _rejected(
        "INSERT INTO ledger_holds (corporation_id, account_id, asset, amount, memo,"
        " source_type, idempotency_key, request_hash, created_at)"
        " VALUES (:corporation, :account, 'eur', 101, 'raw', 'test', 'raw:1', 'hash',"
        " CURRENT_TIMESTAMP)",
        corporation=corporation.id,
        account=payout.id,
    )

    assert "payout_not_negative" in message


@pytest.fixture
def hold(corporation, tenant):
    fund_payout(corporation, tenant, 100, on=NOV_3)
    payout = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_PAYOUT)
    placed = ledger.place_hold(
        payout,
        60,
        idempotency_key="hold:1",
        memo="Batch",
        source_type="payout_batch",
        source_id="1",
    )
    ledger.void_hold(placed.id, reason="Cancelled")
    db.session.commit()
    return placed.id


def test_hold_resolved_at_most_once(hold):
    message = _rejected(
        "INSERT INTO ledger_hold_resolutions (hold_id, kind, reason, resolved_at)"
        " VALUES (:hold, 'voided', 'again', CURRENT_TIMESTAMP)",
        hold=hold,
    )

    assert "hold_id" in message or "UNIQUE" in message or "unique" in message


def test_holds_and_resolutions_are_append_only(hold):
    _rejected("UPDATE ledger_holds SET amount = 1 WHERE id = :id", id=hold)
    _rejected("DELETE FROM ledger_holds WHERE id = :id", id=hold)
    _rejected("UPDATE ledger_hold_resolutions SET reason = 'x'")
    _rejected("DELETE FROM ledger_hold_resolutions")


def test_posted_resolution_must_debit_the_hold(hold, posted):
    message = _rejected(
        "INSERT INTO ledger_hold_resolutions (hold_id, kind, journal_id, reason,"
        " resolved_at) VALUES (:hold, 'posted', :journal, 'x', CURRENT_TIMESTAMP)",
        hold=hold,
        journal=posted["journal"],
    )

    assert "debit" in message


def test_account_identity_is_frozen(posted):
    _rejected(
        "UPDATE ledger_accounts SET kind = 'tenant_payout', asset = 'eur' WHERE id = :id",
        id=posted["points"],
    )
    _rejected("DELETE FROM ledger_accounts WHERE id = :id", id=posted["points"])


def test_hold_only_on_tenant_accounts(posted, corporation):
    _rejected(
        "INSERT INTO ledger_holds (corporation_id, account_id, asset, amount, memo,"
        " source_type, idempotency_key, request_hash, created_at)"
        " VALUES (:corporation, :account, 'points', 1, 'raw', 'test', 'raw:1', 'hash',"
        " CURRENT_TIMESTAMP)",
        corporation=corporation.id,
        account=posted["issued"],
    )
