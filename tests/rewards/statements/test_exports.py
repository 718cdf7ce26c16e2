from decimal import Decimal

import pytest
import time_machine

from klusbank.accounts.models import AuditEvent
from klusbank.errors import NotFound, RuleViolation
from klusbank.extensions import db
from rewards.ledger.models import AccountKind, Journal, Posting
from rewards.statements import services
from rewards.statements.exports.csv_cells import CsvDialect
from tests.factories import create_corporation, create_finance
from tests.rewards.statements.helpers import (
    AFTER_CLOSE,
    MONTH,
    account_movement,
    create_closed_month,
)
from tests.rewards.statements.spreadsheet import DUTCH_CSV_FILTER, open_in_calc


@pytest.fixture
def world(app):
    world = create_closed_month()
    with time_machine.travel(AFTER_CLOSE, tick=False):
        yield world


def test_dutch_rent_credit_in_calc_equals_ledger(world, tmp_path):
    exported = services.export_rent_credit(
        world.finance, world.corporation.id, MONTH, CsvDialect.NL
    )
    path = tmp_path / exported.filename
    path.write_bytes(exported.content)

    rows = open_in_calc(path, tmp_path, DUTCH_CSV_FILTER)

    expected = {}
    for tenant in (world.rent_tenant, world.payout_tenant, world.second_payout_tenant):
        cents = account_movement(
            world.corporation.id, tenant.id, AccountKind.TENANT_RENT_CREDIT, MONTH
        )
        if cents:
            expected[f"HC-{tenant.id}"] = Decimal(cents).scaleb(-2)
    assert rows[0][3].value == "amount_eur"
    assert all(row[3].value_type == "float" for row in rows[1:])
    assert {row[1].value: Decimal(row[3].value) for row in rows[1:]} == expected
    assert expected == {f"HC-{world.rent_tenant.id}": Decimal("4.20")}


def test_rent_credit_rows_name_unit_and_month(world):
    exported = services.export_rent_credit(
        world.finance, world.corporation.id, MONTH, CsvDialect.PLAIN
    )
    lines = exported.content.decode("utf-8").split("\r\n")

    assert lines[0] == "unit_external_id,tenant_reference,month,amount_eur"
    assert lines[1].endswith(f",HC-{world.rent_tenant.id},2026-02,4.20")
    assert lines[2] == ""


def test_ledger_export_has_every_posting(world):
    exported = services.export_ledger(
        world.finance, world.corporation.id, MONTH, CsvDialect.PLAIN
    )
    lines = [line for line in exported.content.decode().split("\r\n")[1:] if line]

    postings = db.session.scalar(
        db.select(db.func.count(Posting.id))
        .join(Journal, Journal.id == Posting.journal_id)
        .where(Journal.corporation_id == world.corporation.id)
    )
    assert len(lines) == postings
    debits = {}
    for line in lines:
        cells = line.split(",")
        sign = 1 if cells[8] == "debit" else -1
        debits[cells[7]] = debits.get(cells[7], Decimal(0)) + sign * Decimal(cells[9])
    assert debits == {"points": Decimal(0), "eur": Decimal(0)}


def test_export_of_open_month_refused(world):
    with pytest.raises(RuleViolation, match="not closed"):
        services.export_rent_credit(
            world.finance, world.corporation.id, MONTH.next(), CsvDialect.NL
        )


def test_export_audited_with_checksum(world):
    exported = services.export_ledger(
        world.finance, world.corporation.id, MONTH, CsvDialect.NL
    )

    event = db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.action == "export.ledger")
    )
    assert event.actor_id == world.finance.id
    assert event.subject == "period:2026-02"
    assert len(event.details["sha256"]) == 64
    assert exported.content.startswith(b"\xef\xbb\xbf")


def test_tenant_cannot_export(world):
    with pytest.raises(NotFound):
        services.export_rent_credit(
            world.rent_tenant, world.corporation.id, MONTH, CsvDialect.NL
        )


def test_other_corporation_finance_cannot_export(world):
    outsider = create_finance(create_corporation())

    with pytest.raises(NotFound):
        services.export_ledger(outsider, world.corporation.id, MONTH, CsvDialect.NL)
