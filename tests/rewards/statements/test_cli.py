import hashlib

import pytest
import time_machine

from klusbank.accounts.models import AuditEvent
from klusbank.extensions import db
from rewards.statements.models import PayoutBatch, StatementFile
from tests.rewards.statements.helpers import (
    AFTER_CLOSE,
    DEBTOR_IBAN,
    create_closed_month,
)


@pytest.fixture
def world(app):
    return create_closed_month()


def invoke(runner, *args: str):
    with time_machine.travel(AFTER_CLOSE, tick=False):
        return runner.invoke(args=["rewards", *args])


def test_statements_rendered_on_workers(world, runner, tmp_path):
    code = world.corporation.code

    result = invoke(
        runner,
        *("statements", "--corporation", code, "--period", "2026-02"),
        *("--out", str(tmp_path), "--workers", "2"),
    )

    assert result.exit_code == 0, result.output
    assert "3 statements rendered, 0 already stored" in result.output
    records = db.session.scalars(db.select(StatementFile)).all()
    assert sorted(record.tenant_id for record in records) == sorted(
        [world.rent_tenant.id, world.payout_tenant.id, world.second_payout_tenant.id]
    )
    sums = (tmp_path / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 3
    for line in sums:
        digest, name = line.split("  ")
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest
    assert {record.sha256 for record in records} == {
        line.split("  ")[0] for line in sums
    }


def test_statements_rerun_adds_nothing(world, runner, tmp_path):
    args = ("statements", "--corporation", world.corporation.code)
    args += ("--period", "2026-02", "--out", str(tmp_path), "--workers", "1")
    invoke(runner, *args)
    first = (tmp_path / "SHA256SUMS").read_text()

    result = invoke(runner, *args)

    assert result.exit_code == 0, result.output
    assert "0 statements rendered, 3 already stored" in result.output
    assert db.session.scalar(db.select(db.func.count(StatementFile.id))) == 3
    assert (tmp_path / "SHA256SUMS").read_text() == first


def test_statements_of_open_month_fail(world, runner, tmp_path):
    result = invoke(
        runner,
        *("statements", "--corporation", world.corporation.code),
        *("--period", "2026-03", "--out", str(tmp_path)),
    )

    assert result.exit_code == 1
    assert "not closed" in result.output


def test_export_rent_credit_plain(world, runner, tmp_path):
    out = tmp_path / "rent.csv"

    result = invoke(
        runner,
        *("export", "rent-credit", "--corporation", world.corporation.code),
        *("--period", "2026-02", "--dialect", "plain", "--out", str(out)),
    )

    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[1].endswith(",2026-02,4.20")
    event = db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.action == "export.rent_credit")
    )
    assert event.actor_id is None
    assert event.corporation_id == world.corporation.id


def test_export_sepa_twice_same_file(world, runner, tmp_path):
    code = world.corporation.code
    invoke(
        runner,
        *("payout-account", "--corporation", code),
        *("--account-holder", "Woonstichting Test", "--iban", DEBTOR_IBAN),
    )
    args = ("export", "sepa", "--corporation", code, "--period", "2026-02")

    first = invoke(runner, *args, "--out", str(tmp_path / "first.xml"))
    second = invoke(runner, *args, "--out", str(tmp_path / "second.xml"))

    assert first.exit_code == 0, first.output
    assert "created payout batch" in first.output
    assert "created payout batch" not in second.output
    assert (tmp_path / "first.xml").read_bytes() == (
        tmp_path / "second.xml"
    ).read_bytes()
    assert db.session.scalar(db.select(db.func.count(PayoutBatch.id))) == 1


def test_export_payees_needs_year(world, runner, tmp_path):
    result = invoke(
        runner,
        *("export", "payees", "--corporation", world.corporation.code),
        *("--out", str(tmp_path / "payees.csv")),
    )

    assert result.exit_code == 2
    assert "--year" in result.output


def test_batch_paid_command_posts_holds(world, runner, tmp_path):
    code = world.corporation.code
    invoke(
        runner,
        *("payout-account", "--corporation", code),
        *("--account-holder", "Woonstichting Test", "--iban", DEBTOR_IBAN),
    )
    invoke(
        runner,
        *("export", "sepa", "--corporation", code, "--period", "2026-02"),
        *("--out", str(tmp_path / "sepa.xml")),
    )

    result = invoke(
        runner, "payout-batch", "paid", "--corporation", code, "--period", "2026-02"
    )
    payees = invoke(
        runner,
        *("export", "payees", "--corporation", code, "--year", "2026"),
        *("--dialect", "plain", "--out", str(tmp_path / "payees.csv")),
    )

    assert result.exit_code == 0, result.output
    assert payees.exit_code == 0, payees.output
    lines = (tmp_path / "payees.csv").read_text().splitlines()
    assert sorted(line.split(",")[-1] for line in lines[1:]) == ["5.75", "6.75"]
