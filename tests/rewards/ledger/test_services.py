"""Ledger services: posting, idempotency, rejections, reversals and balances."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import event, func, select, text

from klusbank.errors import IdempotencyConflict, InvalidInput, NotFound, RuleViolation
from klusbank.extensions import db
from rewards.ledger import queries
from rewards.ledger import services as ledger
from rewards.ledger.idempotency import request_hash
from rewards.ledger.journals import JournalRequest
from rewards.ledger.models import (
    AccountKind,
    Journal,
    JournalKind,
    JournalStatus,
    Posting,
    Rejection,
    Side,
)
from rewards.ledger.verify import verify_ledger
from tests.factories import create_corporation, create_tenant
from tests.rewards.ledger.helpers import (
    credit_points,
    fund_payout,
    next_key,
    pay_out,
)

NOV_3 = date(2026, 11, 3)


def _journal_count() -> int:
    return db.session.scalar(select(func.count(Journal.id)))


def _points(corporation, tenant) -> int:
    return queries.tenant_balances(corporation.id, tenant.id)[AccountKind.TENANT_POINTS]


def _payout(corporation, tenant) -> int:
    return queries.tenant_balances(corporation.id, tenant.id)[AccountKind.TENANT_PAYOUT]


def test_post_journal_seals_and_updates_balances(corporation, tenant):
    journal = credit_points(corporation, tenant, 12, on=NOV_3)
    db.session.commit()

    issued = ledger.corporation_account(corporation.id, AccountKind.POINTS_ISSUED)
    assert journal.status == JournalStatus.POSTED
    assert journal.period == "2026-11"
    assert len(journal.postings) == 2
    assert _points(corporation, tenant) == 12
    assert queries.balance(issued.id) == 12
    assert verify_ledger() == []


def test_same_key_and_payload_returns_original(corporation, tenant):
    first = credit_points(corporation, tenant, 12, on=NOV_3, key="approval:1")
    db.session.commit()

    again = credit_points(corporation, tenant, 12, on=NOV_3, key="approval:1")

    assert again.id == first.id
    assert _journal_count() == 1
    assert _points(corporation, tenant) == 12


def test_retry_with_other_memo_is_same_request(corporation, tenant):
    account = ledger.tenant_account(
        corporation.id, tenant.id, AccountKind.TENANT_POINTS
    )
    issued = ledger.corporation_account(corporation.id, AccountKind.POINTS_ISSUED)
    arguments = {
        "kind": JournalKind.CORRECTION,
        "idempotency_key": "correction:1",
        "effective_date": NOV_3,
        "source_type": "correction",
        "source_id": None,
        "lines": [
            ledger.Line(issued, Side.DEBIT, 3),
            ledger.Line(account, Side.CREDIT, 3),
        ],
    }
    first = ledger.post_journal(corporation.id, memo="Forgotten chore", **arguments)
    db.session.commit()

    again = ledger.post_journal(
        corporation.id, memo="Forgotten chore (fix)", **arguments
    )

    assert again.id == first.id


def test_same_key_other_payload_conflicts(corporation, tenant):
    credit_points(corporation, tenant, 12, on=NOV_3, key="approval:1")
    db.session.commit()

    with pytest.raises(IdempotencyConflict) as raised:
        credit_points(corporation, tenant, 13, on=NOV_3, key="approval:1")
    db.session.rollback()

    assert raised.value.code == "idempotency_conflict"
    assert _journal_count() == 1
    assert _points(corporation, tenant) == 12


def test_keys_are_per_corporation(corporation, tenant):
    other = create_corporation()
    other_tenant = create_tenant(other)
    credit_points(corporation, tenant, 5, on=NOV_3, key="approval:1")
    credit_points(other, other_tenant, 6, on=NOV_3, key="approval:1")
    db.session.commit()

    assert _points(corporation, tenant) == 5
    assert _points(other, other_tenant) == 6


@pytest.mark.parametrize(
    ("amounts", "field"),
    [
        ((5, 4), "lines"),
        ((0, 0), "lines"),
        ((-5, -5), "lines"),
    ],
)
def test_invalid_lines_are_rejected(corporation, tenant, amounts, field):
    account = ledger.tenant_account(
        corporation.id, tenant.id, AccountKind.TENANT_POINTS
    )
    issued = ledger.corporation_account(corporation.id, AccountKind.POINTS_ISSUED)
    db.session.commit()

    with pytest.raises(InvalidInput) as raised:
        ledger.post_journal(
            corporation.id,
            kind=JournalKind.CORRECTION,
            idempotency_key=next_key(),
            effective_date=NOV_3,
            memo="Bad",
            source_type="correction",
            source_id=None,
            lines=[
                ledger.Line(issued, Side.DEBIT, amounts[0]),
                ledger.Line(account, Side.CREDIT, amounts[1]),
            ],
        )
    db.session.rollback()

    assert field in raised.value.errors
    assert _journal_count() == 0


def test_account_of_other_corporation_is_rejected(corporation, tenant):
    other = create_corporation()
    foreign = ledger.corporation_account(other.id, AccountKind.POINTS_ISSUED)
    account = ledger.tenant_account(
        corporation.id, tenant.id, AccountKind.TENANT_POINTS
    )

    with pytest.raises(InvalidInput):
        ledger.post_journal(
            corporation.id,
            kind=JournalKind.CORRECTION,
            idempotency_key=next_key(),
            effective_date=NOV_3,
            memo="Cross",
            source_type="correction",
            source_id=None,
            lines=[
                ledger.Line(foreign, Side.DEBIT, 1),
                ledger.Line(account, Side.CREDIT, 1),
            ],
        )


def test_tenant_account_of_foreign_tenant_not_found(corporation, tenant):
    other = create_corporation()

    with pytest.raises(NotFound):
        ledger.tenant_account(other.id, tenant.id, AccountKind.TENANT_POINTS)


def test_tenant_account_created_once(corporation, tenant):
    first = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_PAYOUT)
    second = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_PAYOUT)

    assert first.id == second.id
    assert first.cached_balance == 0
    assert first.asset.value == "eur"


def test_payout_below_zero_is_rejected(corporation, tenant):
    fund_payout(corporation, tenant, 500, on=NOV_3)
    db.session.commit()

    with pytest.raises(RuleViolation) as raised:
        pay_out(corporation, tenant, 501, on=NOV_3)
    db.session.rollback()

    assert raised.value.code == "insufficient_balance"
    assert _payout(corporation, tenant) == 500


def test_rejection_is_replayed_after_rollback(corporation, tenant):
    with pytest.raises(RuleViolation):
        pay_out(corporation, tenant, 50, on=NOV_3, key="payout:1")
    db.session.rollback()
    fund_payout(corporation, tenant, 500, on=NOV_3)
    db.session.commit()

    with pytest.raises(RuleViolation) as replayed:
        pay_out(corporation, tenant, 50, on=NOV_3, key="payout:1")
    db.session.rollback()
    stored = db.session.scalars(select(Rejection)).all()

    assert replayed.value.code == "insufficient_balance"
    assert len(stored) == 1
    assert stored[0].idempotency_key == "payout:1"
    assert _payout(corporation, tenant) == 500


def test_rejected_key_with_other_payload_conflicts(corporation, tenant):
    with pytest.raises(RuleViolation):
        pay_out(corporation, tenant, 50, on=NOV_3, key="payout:1")
    db.session.rollback()

    with pytest.raises(IdempotencyConflict):
        pay_out(corporation, tenant, 40, on=NOV_3, key="payout:1")


def test_rejection_is_kept_when_caller_commits(corporation, tenant):
    with pytest.raises(RuleViolation):
        pay_out(corporation, tenant, 50, on=NOV_3, key="payout:1")
    db.session.commit()

    assert db.session.scalar(select(func.count(Rejection.id))) == 1


def test_new_key_is_judged_again(corporation, tenant):
    with pytest.raises(RuleViolation):
        pay_out(corporation, tenant, 50, on=NOV_3, key="payout:1")
    db.session.rollback()
    fund_payout(corporation, tenant, 500, on=NOV_3)
    db.session.commit()

    pay_out(corporation, tenant, 50, on=NOV_3, key="payout:2")
    db.session.commit()

    assert _payout(corporation, tenant) == 450


def test_credit_approved_work_uses_amsterdam_date(corporation, tenant):
    # 23:30 UTC on 31 October is already 1 November in Amsterdam (UTC+1).
    approved_at = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)

    journal = ledger.credit_approved_work(
        corporation.id,
        tenant.id,
        8,
        approval_id=41,
        approved_at=approved_at,
        memo="Bins",
    )
    db.session.commit()

    assert journal.idempotency_key == "approval:41"
    assert journal.effective_date == date(2026, 11, 1)
    assert journal.period == "2026-11"
    assert journal.kind == JournalKind.APPROVAL
    assert journal.source_id == "41"
    assert _points(corporation, tenant) == 8


def test_credit_approved_work_twice_credits_once(corporation, tenant):
    approved_at = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    first = ledger.credit_approved_work(
        corporation.id,
        tenant.id,
        8,
        approval_id=41,
        approved_at=approved_at,
        memo="Bins",
    )
    db.session.commit()

    second = ledger.credit_approved_work(
        corporation.id,
        tenant.id,
        8,
        approval_id=41,
        approved_at=approved_at,
        memo="Bins",
    )

    assert second.id == first.id
    assert _points(corporation, tenant) == 8


def test_credit_approved_work_rejects_zero_points(corporation, tenant):
    with pytest.raises(InvalidInput) as raised:
        ledger.credit_approved_work(
            corporation.id,
            tenant.id,
            0,
            approval_id=1,
            approved_at=datetime(2026, 11, 3, tzinfo=UTC),
            memo="Bins",
        )

    assert "points" in raised.value.errors


def test_balance_as_of_end_of_day(corporation, tenant):
    credit_points(corporation, tenant, 5, on=date(2026, 11, 3))
    credit_points(corporation, tenant, 7, on=date(2026, 11, 4))
    db.session.commit()
    account = ledger.tenant_account(
        corporation.id, tenant.id, AccountKind.TENANT_POINTS
    )

    assert queries.balance(account.id, date(2026, 11, 2)) == 0
    assert queries.balance(account.id, date(2026, 11, 3)) == 5
    assert queries.balance(account.id, date(2026, 11, 4)) == 12
    assert queries.balance(account.id) == 12


def test_balance_of_unknown_account_not_found(app):
    with pytest.raises(NotFound):
        queries.balance(999_999)


@time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False)
def test_reverse_journal_mirrors_original(corporation, tenant):
    original = credit_points(corporation, tenant, 9, on=NOV_3)
    db.session.commit()

    reversal = ledger.reverse_journal(original.id, reason="Not done", actor_id=None)
    db.session.commit()

    assert reversal.kind == JournalKind.REVERSAL
    assert reversal.reverses_journal_id == original.id
    assert reversal.memo == "Not done"
    assert reversal.effective_date == date(2026, 11, 20)
    assert sorted(
        (p.account_id, p.side, p.amount) for p in reversal.postings
    ) == sorted(
        (p.account_id, Side.CREDIT if p.side == Side.DEBIT else Side.DEBIT, p.amount)
        for p in original.postings
    )
    assert _points(corporation, tenant) == 0
    assert verify_ledger() == []


@time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False)
def test_reverse_twice_returns_first_reversal(corporation, tenant):
    original = credit_points(corporation, tenant, 9, on=NOV_3)
    first = ledger.reverse_journal(original.id, reason="Not done", actor_id=None)
    db.session.commit()

    second = ledger.reverse_journal(original.id, reason="Not done", actor_id=None)

    assert second.id == first.id
    assert _points(corporation, tenant) == 0


@time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False)
def test_reverse_again_with_other_reason_conflicts(corporation, tenant):
    original = credit_points(corporation, tenant, 9, on=NOV_3)
    ledger.reverse_journal(original.id, reason="Not done", actor_id=None)
    db.session.commit()

    with pytest.raises(IdempotencyConflict):
        ledger.reverse_journal(original.id, reason="Done badly", actor_id=None)


def test_reversal_before_original_is_rejected(corporation, tenant):
    original = credit_points(corporation, tenant, 9, on=NOV_3)
    db.session.commit()

    with pytest.raises(InvalidInput) as raised:
        ledger.reverse_journal(
            original.id, reason="x", actor_id=None, effective_date=date(2026, 11, 2)
        )

    assert "effective_date" in raised.value.errors


@time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False)
def test_reversal_cannot_be_reversed(corporation, tenant):
    original = credit_points(corporation, tenant, 9, on=NOV_3)
    reversal = ledger.reverse_journal(original.id, reason="x", actor_id=None)
    db.session.commit()

    with pytest.raises(RuleViolation) as raised:
        ledger.reverse_journal(reversal.id, reason="y", actor_id=None)

    assert raised.value.code == "reversal_of_reversal"


def test_reverse_needs_reason(corporation, tenant):
    original = credit_points(corporation, tenant, 9, on=NOV_3)

    with pytest.raises(InvalidInput):
        ledger.reverse_journal(original.id, reason="  ", actor_id=None)


def test_reverse_by_foreign_actor_not_found(corporation, tenant):
    original = credit_points(corporation, tenant, 9, on=NOV_3)
    stranger = create_tenant(create_corporation())

    with pytest.raises(NotFound):
        ledger.reverse_journal(original.id, reason="x", actor_id=stranger.id)


@time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False)
def test_reversal_keeps_payout_not_negative(corporation, tenant):
    funding = fund_payout(corporation, tenant, 500, on=NOV_3)
    pay_out(corporation, tenant, 400, on=NOV_3)
    db.session.commit()

    with pytest.raises(RuleViolation) as raised:
        ledger.reverse_journal(funding.id, reason="Wrong rate", actor_id=None)
    db.session.rollback()

    assert raised.value.code == "insufficient_balance"
    assert _payout(corporation, tenant) == 100


@time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False)
def test_lifetime_points_net_of_reversals(corporation, tenant):
    kept = credit_points(corporation, tenant, 9, on=NOV_3)
    undone = credit_points(corporation, tenant, 4, on=NOV_3)
    ledger.reverse_journal(undone.id, reason="Not done", actor_id=None)
    settled = ledger.post_journal(
        corporation.id,
        kind=JournalKind.SETTLEMENT,
        idempotency_key=next_key("settle"),
        effective_date=date(2026, 11, 30),
        memo="Settled",
        source_type="settlement",
        source_id=None,
        lines=[
            ledger.Line(
                ledger.tenant_account(
                    corporation.id, tenant.id, AccountKind.TENANT_POINTS
                ),
                Side.DEBIT,
                9,
            ),
            ledger.Line(
                ledger.corporation_account(corporation.id, AccountKind.POINTS_SETTLED),
                Side.CREDIT,
                9,
            ),
        ],
    )
    db.session.commit()

    assert kept.id != settled.id
    assert queries.lifetime_earned_points(corporation.id, tenant.id) == 9
    assert _points(corporation, tenant) == 0


@time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False)
def test_movements_name_reason_and_source(corporation, tenant):
    original = credit_points(corporation, tenant, 9, on=NOV_3)
    ledger.reverse_journal(original.id, reason="Not done", actor_id=None)
    db.session.commit()

    movements = queries.tenant_movements(corporation.id, tenant.id)

    assert [movement.amount for movement in movements] == [-9, 9]
    assert movements[0].memo == "Not done"
    assert movements[0].reverses_journal_id == original.id
    assert movements[1].memo == "Stairwell cleaning"
    assert movements[1].source_type == "approval"
    assert movements[1].reversed_by_journal_id == movements[0].journal_id


def test_posting_rows_only_from_sealed_journals(corporation, tenant):
    credit_points(corporation, tenant, 3, on=NOV_3)
    db.session.commit()

    statuses = db.session.scalars(
        select(Journal.status).join(Posting, Posting.journal_id == Journal.id)
    ).all()

    assert set(statuses) == {JournalStatus.POSTED}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"effective_date": datetime(2026, 11, 3, 12, tzinfo=UTC)}, "effective_date"),
        ({"memo": "  "}, "memo"),
        ({"source_type": ""}, "source_type"),
        ({"source_id": "x" * 65}, "source_id"),
        ({"idempotency_key": "k" * 201}, "idempotency_key"),
    ],
)
def test_invalid_journal_fields_are_rejected(corporation, tenant, changes, field):
    account = ledger.tenant_account(
        corporation.id, tenant.id, AccountKind.TENANT_POINTS
    )
    issued = ledger.corporation_account(corporation.id, AccountKind.POINTS_ISSUED)
    arguments = {
        "kind": JournalKind.CORRECTION,
        "idempotency_key": next_key(),
        "effective_date": NOV_3,
        "memo": "Correction",
        "source_type": "correction",
        "source_id": None,
        "lines": [
            ledger.Line(issued, Side.DEBIT, 3),
            ledger.Line(account, Side.CREDIT, 3),
        ],
    }

    with pytest.raises(InvalidInput) as raised:
        ledger.post_journal(corporation.id, **{**arguments, **changes})

    assert field in raised.value.errors


def _commit_competing_journal(connection, corporation_id, key, digest, lines):
    """Insert and seal a journal with raw SQL, as another process would."""
    journal_id = connection.execute(
        text(
            "INSERT INTO ledger_journals (corporation_id, kind, status, effective_date,"
            " period, memo, source_type, source_id, idempotency_key, request_hash,"
            " recorded_at) VALUES (:corporation, 'approval', 'draft', '2026-11-03',"
            " '2026-11', 'Other process', 'approval', '1', :key, :digest,"
            " CURRENT_TIMESTAMP) RETURNING id"
        ),
        {"corporation": corporation_id, "key": key, "digest": digest},
    ).scalar_one()
    for account_id, side, amount in lines:
        connection.execute(
            text(
                "INSERT INTO ledger_postings (journal_id, account_id, asset, side,"
                " amount) VALUES (:journal, :account, 'points', :side, :amount)"
            ),
            {
                "journal": journal_id,
                "account": account_id,
                "side": side,
                "amount": amount,
            },
        )
    connection.execute(
        text("UPDATE ledger_journals SET status = 'posted' WHERE id = :id"),
        {"id": journal_id},
    )
    return journal_id


@pytest.mark.parametrize("same_request", [True, False])
def test_key_committed_meanwhile_wins(corporation, tenant, same_request):
    points = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_POINTS)
    issued = ledger.corporation_account(corporation.id, AccountKind.POINTS_ISSUED)
    db.session.commit()
    request = JournalRequest(
        corporation_id=corporation.id,
        kind=JournalKind.APPROVAL,
        idempotency_key="approval:9",
        effective_date=NOV_3,
        memo="Stairwell cleaning",
        source_type="approval",
        source_id="1",
        lines=[
            ledger.Line(issued, Side.DEBIT, 4),
            ledger.Line(points, Side.CREDIT, 4),
        ],
    )
    digest = request_hash(request.default_payload()) if same_request else "other"
    competitor = {}

    def commit_competitor_first(connection, cursor, statement, *arguments):
        # Another process commits the same key after our lookup found nothing
        # and before our INSERT reaches the database.
        if (
            statement.lstrip().startswith("INSERT INTO ledger_journals")
            and not competitor
        ):
            competitor["id"] = None  # the competitor's own INSERT passes here too
            with db.engine.begin() as other:
                competitor["id"] = _commit_competing_journal(
                    other,
                    corporation.id,
                    "approval:9",
                    digest,
                    [(issued.id, "debit", 4), (points.id, "credit", 4)],
                )

    event.listen(db.engine, "before_cursor_execute", commit_competitor_first)
    try:
        if same_request:
            journal = credit_points(corporation, tenant, 4, on=NOV_3, key="approval:9")
            assert journal.id == competitor["id"]
        else:
            with pytest.raises(IdempotencyConflict):
                credit_points(corporation, tenant, 4, on=NOV_3, key="approval:9")
    finally:
        event.remove(db.engine, "before_cursor_execute", commit_competitor_first)
    db.session.rollback()

    assert _journal_count() == 1
    assert _points(corporation, tenant) == 4
