import io
import zipfile

import pytest
import time_machine

from klusbank.accounts.models import AuditEvent, Role
from klusbank.extensions import db
from rewards.statements.models import BatchStatus, PayoutBatch
from tests.factories import create_caretaker, create_user_with_roles, login
from tests.rewards.statements.helpers import (
    AFTER_CLOSE,
    create_closed_month,
    set_debtor,
)

EXPORT_URLS = (
    "/rewards/finance/exports/2026-02/rent-credit.csv?dialect=nl",
    "/rewards/finance/exports/2026-02/ledger.csv?dialect=plain",
    "/rewards/finance/exports/payees-2026.csv",
    "/rewards/finance/statements/2026-02.zip",
    "/rewards/finance/exports",
    "/rewards/finance/statements",
)


@pytest.fixture
def world(app):
    world = create_closed_month()
    with time_machine.travel(AFTER_CLOSE):
        yield world


def audit_actions() -> list[str]:
    return list(db.session.scalars(db.select(AuditEvent.action)))


def test_tenant_downloads_own_statement(world, client):
    login(client, world.rent_tenant)

    response = client.get("/rewards/statements/2026-02.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "no-store" in response.headers["Cache-Control"]
    assert "statement.downloaded" in audit_actions()


def test_tenant_without_statement_gets_404(world, client):
    login(client, world.idle_tenant)

    response = client.get("/rewards/statements/2026-02.pdf")

    assert response.status_code == 404


def test_tenant_gets_404_for_other_tenants_statement(world, client):
    login(client, world.payout_tenant)

    response = client.get(
        f"/rewards/finance/statements/2026-02/{world.rent_tenant.id}.pdf"
    )

    assert response.status_code == 404
    assert b"%PDF" not in response.data


def test_statement_of_open_month_is_404(world, client):
    login(client, world.rent_tenant)

    assert client.get("/rewards/statements/2026-03.pdf").status_code == 404
    assert client.get("/rewards/statements/2026-13.pdf").status_code == 404


def test_tenant_list_links_closed_month(world, client):
    login(client, world.rent_tenant)

    page = client.get("/rewards/statements").get_data(as_text=True)

    assert "/rewards/statements/2026-02.pdf" in page


def test_finance_downloads_all_as_zip(world, client):
    login(client, world.finance)

    response = client.get("/rewards/finance/statements/2026-02.zip")

    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert len(names) == 3
    assert all(name.endswith(".pdf") for name in names)
    assert "statements.zip_downloaded" in audit_actions()


def test_finance_downloads_one_statement(world, client):
    login(client, world.finance)

    response = client.get(
        f"/rewards/finance/statements/2026-02/{world.rent_tenant.id}.pdf"
    )

    assert response.status_code == 200
    event = db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.action == "statement.downloaded")
    )
    assert event.actor_id == world.finance.id
    assert event.details["tenant_id"] == world.rent_tenant.id


def test_only_finance_reaches_exports(world, app):
    others = (
        world.rent_tenant,
        create_caretaker(world.corporation),
        create_user_with_roles(world.corporation, Role.ADMIN),
    )
    db.session.commit()
    clients = {}
    for user in (*others, world.finance):
        clients[user] = app.test_client()
        login(clients[user], user)

    for url in EXPORT_URLS:
        for user in others:
            assert clients[user].get(url).status_code == 404, (url, user)
        assert clients[world.finance].get(url).status_code == 200, url


def test_export_csv_download_audited(world, client):
    login(client, world.finance)

    response = client.get("/rewards/finance/exports/2026-02/rent-credit.csv")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert "export.rent_credit" in audit_actions()


def test_unknown_dialect_is_404(world, client):
    login(client, world.finance)

    response = client.get("/rewards/finance/exports/2026-02/ledger.csv?dialect=xls")

    assert response.status_code == 404


def test_finance_creates_and_pays_batch(world, client):
    set_debtor(world)
    db.session.commit()
    login(client, world.finance)

    created = client.post("/rewards/finance/exports/2026-02/batches", data={})
    batch = db.session.scalar(db.select(PayoutBatch))
    sepa = client.get(f"/rewards/finance/batches/{batch.id}/sepa.xml")
    paid = client.post(
        f"/rewards/finance/batches/{batch.id}/paid", data={"paid_on": "2026-03-03"}
    )

    assert created.status_code == 302
    assert sepa.status_code == 200
    assert b"pain.001.001.03" in sepa.data
    assert paid.status_code == 302
    db.session.expire_all()
    assert db.session.get(PayoutBatch, batch.id).status == BatchStatus.PAID


def test_failed_batch_needs_reason(world, client):
    set_debtor(world)
    db.session.commit()
    login(client, world.finance)
    client.post("/rewards/finance/exports/2026-02/batches", data={})
    batch = db.session.scalar(db.select(PayoutBatch))

    response = client.post(f"/rewards/finance/batches/{batch.id}/failed", data={})

    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(PayoutBatch, batch.id).status == BatchStatus.CREATED


def test_invalid_payout_iban_rejected(world, client):
    login(client, world.finance)

    response = client.post(
        "/rewards/finance/payout-account",
        data={"account_holder": "Woonstichting", "iban": "NL00BANK0000000000"},
    )

    assert response.status_code == 422


def test_menu_shows_statements_and_exports(world, app):
    tenant_client, finance_client = app.test_client(), app.test_client()
    login(tenant_client, world.rent_tenant)
    login(finance_client, world.finance)

    tenant_home = tenant_client.get("/").get_data(as_text=True)
    finance_home = finance_client.get("/").get_data(as_text=True)

    assert "/rewards/statements" in tenant_home
    assert "/rewards/finance/exports" in finance_home
    assert "/rewards/finance/exports" not in tenant_home
