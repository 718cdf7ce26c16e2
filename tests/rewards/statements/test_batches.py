from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from lxml import etree

from klusbank.errors import InvalidInput, NotFound, RuleViolation
from klusbank.extensions import db
from rewards.ledger import queries as ledger_queries
from rewards.ledger import services as ledger
from rewards.ledger.models import AccountKind, Hold, HoldStatus
from rewards.statements import batches, services
from rewards.statements.data import build_yearly_overview
from rewards.statements.exports.csv_cells import CsvDialect
from rewards.statements.exports.sepa import NAMESPACE, validate_pain001
from rewards.statements.models import BatchStatus, DebtorAccount
from rewards.statements.services import ensure_yearly_overview
from tests.rewards.statements.helpers import (
    AFTER_CLOSE,
    MONTH,
    PAYEE_BSN,
    account_movement,
    amsterdam,
    create_closed_month,
    pdf_text,
    set_debtor,
)

NS = {"p": NAMESPACE}


@pytest.fixture
def world(app):
    world = create_closed_month()
    with time_machine.travel(AFTER_CLOSE, tick=False):
        set_debtor(world)
        db.session.commit()
        yield world


def month_payouts(world) -> int:
    """Return the payouts granted in MONTH according to the ledger."""
    return sum(
        account_movement(
            world.corporation.id, tenant.id, AccountKind.TENANT_PAYOUT, MONTH
        )
        for tenant in (
            world.rent_tenant,
            world.payout_tenant,
            world.second_payout_tenant,
        )
    )


def payout_account(world, tenant):
    return ledger.tenant_account(
        world.corporation.id, tenant.id, AccountKind.TENANT_PAYOUT
    )


def test_sepa_validates_and_sums_to_ledger(world):
    batch = batches.create_payout_batch(world.finance, world.corporation.id, MONTH)
    exported = batches.export_sepa(world.finance, world.corporation.id, batch.id)

    validate_pain001(exported.content)
    document = etree.fromstring(exported.content)
    [control_sum] = document.xpath("//p:GrpHdr/p:CtrlSum/text()", namespaces=NS)
    [count] = document.xpath("//p:GrpHdr/p:NbOfTxs/text()", namespaces=NS)
    amounts = document.xpath("//p:InstdAmt/text()", namespaces=NS)
    assert Decimal(control_sum) == Decimal(month_payouts(world)).scaleb(-2)
    assert month_payouts(world) == 575 + 675
    assert int(count) == 2
    assert sum(Decimal(amount) for amount in amounts) == Decimal(control_sum)


def test_sepa_names_in_latin_set(world):
    batch = batches.create_payout_batch(world.finance, world.corporation.id, MONTH)
    exported = batches.export_sepa(world.finance, world.corporation.id, batch.id)

    names = etree.fromstring(exported.content).xpath(
        "//p:Cdtr/p:Nm/text()", namespaces=NS
    )
    assert sorted(names) == ["John Smith", "Zoe de Wit-Oster"]


def test_sepa_export_again_same_bytes(world):
    batch = batches.create_payout_batch(world.finance, world.corporation.id, MONTH)
    db.session.commit()

    with time_machine.travel(amsterdam(2026, 3, 20), tick=False):
        first = batches.export_sepa(world.finance, world.corporation.id, batch.id)
        second = batches.export_sepa(world.finance, world.corporation.id, batch.id)

    assert first.content == second.content
    assert first.filename == second.filename


def test_batch_holds_payouts(world):
    batch = batches.create_payout_batch(world.finance, world.corporation.id, MONTH)
    account = payout_account(world, world.payout_tenant)

    assert ledger_queries.available_balance(account.id) == 0
    assert ledger_queries.balance(account.id) == 575
    assert batch.control_sum_cents == 1250


def test_second_live_batch_refused(world):
    batches.create_payout_batch(world.finance, world.corporation.id, MONTH)

    with pytest.raises(RuleViolation, match="heeft al een uitbetalingsbatch"):
        batches.create_payout_batch(world.finance, world.corporation.id, MONTH)


def test_paid_batch_posts_holds(world):
    batch = batches.create_payout_batch(world.finance, world.corporation.id, MONTH)
    batches.mark_batch_paid(
        world.finance, world.corporation.id, batch.id, paid_on=date(2026, 3, 3)
    )
    account = payout_account(world, world.payout_tenant)

    assert batch.status == BatchStatus.PAID
    assert ledger_queries.balance(account.id) == 0
    assert all(
        status == HoldStatus.POSTED
        for status in (item_hold(item).status for item in batch.items)
    )


def test_failed_batch_voids_holds_and_allows_new(world):
    batch = batches.create_payout_batch(world.finance, world.corporation.id, MONTH)
    batches.mark_batch_failed(
        world.finance, world.corporation.id, batch.id, reason="IBAN rejected"
    )
    account = payout_account(world, world.payout_tenant)

    assert batch.status == BatchStatus.FAILED
    assert ledger_queries.available_balance(account.id) == 575
    retry = batches.create_payout_batch(world.finance, world.corporation.id, MONTH)
    assert retry.message_id != batch.message_id
    assert retry.control_sum_cents == batch.control_sum_cents


def test_resolved_batch_cannot_change(world):
    batch = batches.create_payout_batch(world.finance, world.corporation.id, MONTH)
    batches.mark_batch_paid(world.finance, world.corporation.id, batch.id)

    with pytest.raises(RuleViolation, match="staat al op betaald"):
        batches.mark_batch_failed(
            world.finance, world.corporation.id, batch.id, reason="late"
        )


@pytest.mark.parametrize(
    ("offset_days", "expected"),
    [(1, "ligt in de toekomst"), (-40, "de dag waarop de batch is gemaakt")],
)
def test_paid_date_out_of_range_rejected(world, offset_days, expected):
    batch = batches.create_payout_batch(world.finance, world.corporation.id, MONTH)
    db.session.commit()
    paid_on = AFTER_CLOSE.date() + timedelta(days=offset_days)

    with pytest.raises(InvalidInput, match=expected) as raised:
        batches.mark_batch_paid(
            world.finance, world.corporation.id, batch.id, paid_on=paid_on
        )
    db.session.rollback()

    assert list(raised.value.errors) == ["paid_on"]
    assert db.session.get(type(batch), batch.id).status == BatchStatus.CREATED
    assert all(item_hold(item).status == HoldStatus.PENDING for item in batch.items)


def test_batch_needs_payout_account(app):
    world = create_closed_month()

    with (
        time_machine.travel(AFTER_CLOSE, tick=False),
        pytest.raises(RuleViolation, match="waarvan de corporatie uitbetaalt"),
    ):
        batches.create_payout_batch(world.finance, world.corporation.id, MONTH)


def test_payee_totals_equal_year_payouts(world):
    batch = batches.create_payout_batch(world.finance, world.corporation.id, MONTH)
    batches.mark_batch_paid(world.finance, world.corporation.id, batch.id)

    exported = services.export_payees(
        world.finance, world.corporation.id, 2026, CsvDialect.PLAIN
    )
    lines = [line for line in exported.content.decode().split("\r\n")[1:] if line]

    paid = {}
    for tenant in (world.payout_tenant, world.second_payout_tenant):
        account = payout_account(world, tenant)
        # What left the payout account after the month was settled.
        paid[tenant.full_name] = ledger_queries.balance(
            account.id, MONTH.last_day
        ) - ledger_queries.balance(account.id)
    clearing = ledger.corporation_account(
        world.corporation.id, AccountKind.PAYOUT_CLEARING
    )
    totals = {line.split(",")[1]: Decimal(line.split(",")[-1]) for line in lines}
    assert totals == {name: Decimal(cents).scaleb(-2) for name, cents in paid.items()}
    assert all(line.startswith(PAYEE_BSN + ",") for line in lines)
    assert ledger_queries.balance(clearing.id) == sum(paid.values())


def test_yearly_overview_after_year_ends(world):
    batch = batches.create_payout_batch(world.finance, world.corporation.id, MONTH)
    batches.mark_batch_paid(world.finance, world.corporation.id, batch.id)
    db.session.commit()

    with time_machine.travel(amsterdam(2027, 1, 10), tick=False):
        record = ensure_yearly_overview(
            world.corporation.id, world.payout_tenant.id, 2026
        )
        document = build_yearly_overview(
            world.corporation.id, world.payout_tenant.id, 2026
        )
    text = pdf_text(record.content)

    assert document.total_cents == 575
    assert "€5.75" in text
    assert document.payments[0].reference in text


def test_yearly_overview_waits_for_year_end(world):
    with pytest.raises(NotFound, match="als het jaar voorbij is"):
        ensure_yearly_overview(world.corporation.id, world.payout_tenant.id, 2026)


def item_hold(item) -> Hold:
    return db.session.get(Hold, item.hold_id)


@pytest.mark.parametrize(
    ("bic", "accepted"),
    [
        ("INGBNL2A", True),
        ("INGBNL2AXXX", True),
        ("ABNANL2A", False),
        ("INGBDEFF", False),
        ("1NGBNL2A", False),
    ],
)
def test_payout_account_bic_must_match_iban(app, bic, accepted):
    world = create_closed_month()

    def set_account():
        return batches.set_debtor_account(
            world.finance,
            world.corporation.id,
            account_holder="Woonstichting Test",
            iban="NL69INGB0123456789",
            bic=bic,
        )

    if accepted:
        assert set_account().bic == bic
        return
    with pytest.raises(InvalidInput) as raised:
        set_account()
    assert list(raised.value.errors) == ["bic"]
    assert db.session.get(DebtorAccount, world.corporation.id) is None
