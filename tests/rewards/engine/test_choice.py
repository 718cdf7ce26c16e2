"""The tenant's choice of rent credit or payout: validation, masking, when it applies."""

import logging
from datetime import date

import pytest
import time_machine
from sqlalchemy import func, select

from klusbank.accounts.models import AuditEvent
from klusbank.errors import InvalidInput
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine import queries, services
from rewards.engine.models import PayoutChoice, PayoutMethod
from tests.factories import create_corporation, create_finance, create_tenant, login
from tests.rewards.engine.helpers import (
    VALID_BSN,
    VALID_IBAN,
    amsterdam,
    choose_payout,
    close,
    create_rules,
    credit,
)


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("iban", {"iban": "NL91ABNA0417164301"}),
        ("iban", {"iban": ""}),
        ("bsn", {"bsn": "111222334"}),
        ("bsn", {"bsn": "12345"}),
        ("account_holder", {"account_holder": "  "}),
        ("acknowledge_tax", {"acknowledge_tax": False}),
    ],
)
def test_payout_rejects_invalid_field(app, field, overrides):
    tenant = create_tenant(create_corporation())

    with pytest.raises(InvalidInput) as error:
        choose_payout(tenant, amsterdam(2026, 11, 2), **overrides)

    assert list(error.value.errors) == [field]
    assert db.session.scalar(select(func.count()).select_from(PayoutChoice)) == 0


def test_payout_stores_compact_details(app):
    tenant = create_tenant(create_corporation())

    choice = choose_payout(
        tenant, amsterdam(2026, 11, 2), iban="nl91 abna 0417 1643 00", bsn="1112.22.333"
    )

    assert choice.iban == VALID_IBAN
    assert choice.bsn == VALID_BSN
    assert choice.masked_iban == "NL** **** **** 4300"
    assert choice.masked_bsn == "******333"
    assert choice.tax_acknowledged_at is not None


def test_rent_credit_keeps_no_bank_details(app):
    tenant = create_tenant(create_corporation())

    with time_machine.travel(amsterdam(2026, 11, 2), tick=False):
        choice = services.choose_payout_method(
            tenant, method=PayoutMethod.RENT_CREDIT, iban=VALID_IBAN, bsn=VALID_BSN
        )

    assert choice.iban is None
    assert choice.bsn is None


def test_change_applies_from_next_close(app):
    corporation = create_corporation()
    create_rules(create_finance(corporation))
    tenant = create_tenant(corporation)
    october_choice = choose_payout(tenant, amsterdam(2026, 11, 2))
    db.session.commit()
    close(app, corporation, Period(2026, 10))

    with time_machine.travel(amsterdam(2026, 11, 20), tick=False):
        later = services.choose_payout_method(tenant, method=PayoutMethod.RENT_CREDIT)

    assert october_choice.applies_from == date(2026, 10, 1)
    assert later.applies_from == date(2026, 11, 1)
    assert (
        queries.payout_choice_for(tenant.id, Period(2026, 10)).id == october_choice.id
    )
    assert queries.payout_choice_for(tenant.id, Period(2026, 11)).id == later.id


def test_payout_page_warns_and_masks(app, client):
    tenant = create_tenant(create_corporation())
    choose_payout(tenant, amsterdam(2026, 11, 2))
    db.session.commit()
    login(client, tenant)

    page = client.get("/rewards/payout").get_data(as_text=True)

    assert "Belastingdienst" in page
    assert page.index("Belastingdienst") < page.index('name="iban"')
    assert VALID_IBAN not in page
    assert VALID_BSN not in page
    assert "4300" in page


def test_payout_page_names_invalid_field(app, client):
    tenant = create_tenant(create_corporation())
    db.session.commit()
    login(client, tenant)

    response = client.post(
        "/rewards/payout",
        data={
            "method": "payout",
            "iban": "NL00ABNA0000000000",
            "account_holder": "A. Tenant",
            "bsn": VALID_BSN,
            "acknowledge_tax": "y",
        },
    )
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert 'id="iban-error"' in page
    assert 'id="bsn-error"' not in page
    assert "tonen we het IBAN en het BSN dat u typte niet opnieuw" in page
    assert VALID_BSN not in page
    assert db.session.scalar(select(func.count()).select_from(PayoutChoice)) == 0


def test_payout_page_saves_choice(app, client):
    tenant = create_tenant(create_corporation())
    db.session.commit()
    login(client, tenant)

    response = client.post(
        "/rewards/payout",
        data={
            "method": "payout",
            "iban": VALID_IBAN,
            "account_holder": "A. Tenant",
            "bsn": VALID_BSN,
            "acknowledge_tax": "y",
        },
    )

    assert response.status_code == 302
    choice = db.session.scalar(select(PayoutChoice))
    assert choice.method == PayoutMethod.PAYOUT
    assert choice.tenant_id == tenant.id


def test_api_returns_masked_choice(app, client):
    tenant = create_tenant(create_corporation())
    choose_payout(tenant, amsterdam(2026, 11, 2))
    db.session.commit()
    login(client, tenant)

    body = client.get("/api/v1/rewards/payout-choice").get_json()

    assert body["method"] == "payout"
    assert body["iban_masked"] == "NL** **** **** 4300"
    assert body["bsn_masked"] == "******333"
    assert VALID_IBAN not in str(body)


def test_api_lists_own_settlements(app, client):
    corporation = create_corporation()
    create_rules(create_finance(corporation))
    tenant = create_tenant(corporation)
    other = create_tenant(corporation)
    credit(corporation, tenant, 40, amsterdam(2026, 10, 7))
    credit(corporation, other, 50, amsterdam(2026, 10, 8))
    db.session.commit()
    close(app, corporation, Period(2026, 10))
    login(client, tenant)

    body = client.get("/api/v1/rewards/settlements").get_json()

    assert [line["amount_cents"] for line in body["settlements"]] == [400]
    assert body["settlements"][0]["method"] == "rent_credit"


def test_payout_details_never_logged(app, caplog):
    tenant = create_tenant(create_corporation())

    with caplog.at_level(logging.DEBUG):
        choose_payout(tenant, amsterdam(2026, 11, 2))
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "payout_choice.changed")
    )

    assert VALID_IBAN not in caplog.text
    assert VALID_BSN not in caplog.text
    assert VALID_IBAN not in str(event.details)
    assert VALID_BSN not in str(event.details)
