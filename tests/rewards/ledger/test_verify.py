"""``flask rewards verify``: passes on a sound ledger, names what was tampered with.

Tampering needs the triggers out of the way: PostgreSQL disables them with
ALTER TABLE, and on SQLite the test drops a trigger and creates it again.
"""

from contextlib import contextmanager
from datetime import UTC, date, datetime

import time_machine
from sqlalchemy import text

from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger import services as ledger
from rewards.ledger.models import AccountKind
from rewards.ledger.verify import verify_ledger
from tests.factories import create_corporation, create_tenant
from tests.rewards.ledger.helpers import credit_points, fund_payout

NOV_3 = date(2026, 11, 3)


@contextmanager
def triggers_disabled(backend: str, table: str, sqlite_triggers: tuple[str, ...]):
    """Run the body with the table's triggers off, then commit and restore them."""
    if backend == "postgresql":
        db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        yield
        db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        db.session.commit()
        return
    definitions = [
        db.session.execute(
            text(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"
            ),
            {"name": name},
        ).scalar_one()
        for name in sqlite_triggers
    ]
    for name in sqlite_triggers:
        db.session.execute(text(f"DROP TRIGGER {name}"))
    yield
    for definition in definitions:
        db.session.execute(text(definition))
    db.session.commit()


def test_verify_passes_on_sound_ledger(app, runner, corporation, tenant):
    credit_points(corporation, tenant, 10, on=NOV_3)
    fund_payout(corporation, tenant, 300, on=NOV_3)
    db.session.commit()

    result = runner.invoke(args=["rewards", "verify"])

    assert result.exit_code == 0, result.output
    assert "no violations" in result.output


def test_verify_names_journal_with_altered_posting(
    app, runner, backend, corporation, tenant
):
    journal = credit_points(corporation, tenant, 10, on=NOV_3, key="approval:77")
    db.session.commit()
    posting_id = journal.postings[0].id

    with triggers_disabled(
        backend, "ledger_postings", ("ledger_postings_before_update",)
    ):
        db.session.execute(
            text("UPDATE ledger_postings SET amount = amount + 1 WHERE id = :id"),
            {"id": posting_id},
        )
    result = runner.invoke(args=["rewards", "verify"])

    assert result.exit_code == 1
    assert f"journal {journal.id} (key 'approval:77') does not balance" in result.output


def test_verify_names_stale_cache(app, runner, corporation, tenant):
    credit_points(corporation, tenant, 10, on=NOV_3)
    account = ledger.tenant_account(
        corporation.id, tenant.id, AccountKind.TENANT_POINTS
    )
    db.session.commit()
    # The cache columns are the one part of an account that may change.
    db.session.execute(
        text("UPDATE ledger_accounts SET cached_balance = 99 WHERE id = :id"),
        {"id": account.id},
    )
    db.session.commit()

    violations = verify_ledger()

    assert len(violations) == 1
    assert f"account {account.id}" in violations[0]
    assert "cached balance 99" in violations[0]


def test_verify_names_changed_snapshot(app, backend, corporation, tenant):
    credit_points(corporation, tenant, 10, on=NOV_3)
    db.session.commit()
    with time_machine.travel(datetime(2026, 12, 2, tzinfo=UTC), tick=False):
        ledger.mark_period_closing(corporation.id, Period(2026, 11))
        ledger.write_period_snapshot(corporation.id, Period(2026, 11))
        ledger.mark_period_closed(corporation.id, Period(2026, 11))
    db.session.commit()

    with triggers_disabled(
        backend,
        "ledger_period_snapshots",
        ("ledger_period_snapshots_before_update",),
    ):
        db.session.execute(
            text(
                "UPDATE ledger_period_snapshots SET closing_balance = closing_balance + 5"
            )
        )
    violations = verify_ledger()

    assert violations
    assert all("period 2026-11 of corporation" in violation for violation in violations)
    assert any("checksum" in violation for violation in violations)


def test_verify_names_posting_changed_in_closed_period(
    app, backend, corporation, tenant
):
    journal = credit_points(corporation, tenant, 10, on=NOV_3, key="approval:5")
    db.session.commit()
    with time_machine.travel(datetime(2026, 12, 2, tzinfo=UTC), tick=False):
        ledger.mark_period_closing(corporation.id, Period(2026, 11))
        ledger.write_period_snapshot(corporation.id, Period(2026, 11))
        ledger.mark_period_closed(corporation.id, Period(2026, 11))
    db.session.commit()

    with triggers_disabled(
        backend, "ledger_postings", ("ledger_postings_before_update",)
    ):
        db.session.execute(
            text("UPDATE ledger_postings SET amount = 12 WHERE journal_id = :id"),
            {"id": journal.id},
        )
    violations = verify_ledger()
    snapshot_violations = [v for v in violations if "snapshot of account" in v]

    assert snapshot_violations
    assert f"journal {journal.id} (key 'approval:5')" in snapshot_violations[0]


def test_verify_scopes_to_corporation(app, runner, backend, corporation, tenant):
    other = create_corporation(code="other")
    other_tenant = create_tenant(other)
    credit_points(corporation, tenant, 10, on=NOV_3)
    broken = credit_points(other, other_tenant, 10, on=NOV_3)
    db.session.commit()
    with triggers_disabled(
        backend, "ledger_postings", ("ledger_postings_before_update",)
    ):
        db.session.execute(
            text("UPDATE ledger_postings SET amount = 3 WHERE id = :id"),
            {"id": broken.postings[0].id},
        )

    sound = runner.invoke(args=["rewards", "verify", "--corporation", corporation.code])
    tampered = runner.invoke(args=["rewards", "verify", "--corporation", "other"])

    assert sound.exit_code == 0, sound.output
    assert tampered.exit_code == 1


def test_verify_rejects_unknown_corporation(app, runner):
    result = runner.invoke(args=["rewards", "verify", "--corporation", "nope"])

    assert result.exit_code == 2
    assert "no corporation has code 'nope'" in result.output
