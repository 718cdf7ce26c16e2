import csv
import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from klusbank.accounts.access import today
from klusbank.extensions import db
from liability import services as liability
from liability.models import Acceptance, BriefingVersion, Channel, Withdrawal
from tests.factories import (
    create_admin,
    create_caretaker,
    create_cluster,
    create_corporation,
    create_tenant,
    create_unit,
    login,
)
from tests.liability.helpers import accept, create_briefing, evidence, publish


@pytest.fixture
def world(app):
    corporation = create_corporation()
    cluster = create_cluster(corporation)
    other_cluster = create_cluster(corporation)
    briefing = create_briefing(corporation)
    version = publish(briefing)
    tenant = create_tenant(
        corporation, create_unit(corporation, cluster), name="Ans Smit"
    )
    formula = create_tenant(
        corporation,
        create_unit(corporation, cluster),
        name='=HYPERLINK("https://evil.example")',
    )
    elsewhere = create_tenant(corporation, create_unit(corporation, other_cluster))
    accept(tenant, version)
    accept(formula, version)
    accept(elsewhere, version)
    liability.withdraw_acceptance(
        tenant, briefing.id, reason="-1+1 no longer able", evidence=evidence()
    )
    world = {
        "briefing_id": briefing.id,
        "version_id": version.id,
        "tenant": tenant,
        "elsewhere": elsewhere,
        "caretaker": create_caretaker(corporation, cluster),
        "admin": create_admin(corporation),
    }
    db.session.commit()
    return world


def _csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_admin_csv_lists_acceptances_and_withdrawals(world, client):
    login(client, world["admin"])

    response = client.get(f"/liability/manage/{world['briefing_id']}/export.csv")

    rows = _csv_rows(response)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert sorted(row["event"] for row in rows) == [
        "accepted",
        "accepted",
        "accepted",
        "withdrawn",
    ]
    withdrawn = next(row for row in rows if row["event"] == "withdrawn")
    assert withdrawn["tenant_name"] == "Ans Smit"
    assert withdrawn["version_number"] == "1"


def test_csv_neutralises_formula_cells(world, client):
    login(client, world["admin"])

    rows = _csv_rows(client.get(f"/liability/manage/{world['briefing_id']}/export.csv"))

    names = {row["tenant_name"] for row in rows}
    reasons = {row["reason"] for row in rows}
    assert '\'=HYPERLINK("https://evil.example")' in names
    assert "'-1+1 no longer able" in reasons


def test_caretaker_csv_limited_to_own_clusters(world, client):
    login(client, world["caretaker"])

    rows = _csv_rows(client.get(f"/liability/manage/{world['briefing_id']}/export.csv"))

    assert str(world["elsewhere"].id) not in {row["tenant_id"] for row in rows}
    assert len(rows) == 3


def test_staff_page_shows_history(world, client):
    login(client, world["caretaker"])

    response = client.get(f"/liability/manage/{world['briefing_id']}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ans Smit" in page
    assert "ingetrokken" in page


def test_tenant_cannot_open_staff_pages(world, client):
    login(client, world["tenant"])

    response = client.get(f"/liability/manage/{world['briefing_id']}/export.csv")

    assert response.status_code == 404


def _png() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(output, format="PNG")
    return output.getvalue()


def test_caretaker_records_paper_acceptance(world, client):
    login(client, world["caretaker"])

    response = client.post(
        f"/liability/manage/{world['briefing_id']}/paper-acceptances",
        data={
            "tenant_id": str(world["tenant"].id),
            "version_id": str(world["version_id"]),
            "typed_name": "ans smit",
            "signed_on": today().isoformat(),
            "scan": (io.BytesIO(_png()), "form.png"),
            "checked": "y",
        },
        content_type="multipart/form-data",
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    acceptance = db.session.scalar(
        select(Acceptance).where(Acceptance.channel == Channel.PAPER)
    )
    assert acceptance.tenant_id == world["tenant"].id
    assert acceptance.recorded_by_id == world["caretaker"].id
    assert acceptance.paper_signed_on == today()
    assert acceptance.scan_mime_type == "image/png"
    scan = client.get(f"/liability/manage/acceptances/{acceptance.id}/scan")
    assert scan.status_code == 200
    assert scan.data.startswith(b"\x89PNG")


def test_paper_acceptance_for_tenant_elsewhere_rejected(world, client):
    login(client, world["caretaker"])

    response = client.post(
        f"/liability/manage/{world['briefing_id']}/paper-acceptances",
        data={
            "tenant_id": str(world["elsewhere"].id),
            "version_id": str(world["version_id"]),
            "typed_name": world["elsewhere"].full_name,
            "signed_on": today().isoformat(),
            "scan": (io.BytesIO(_png()), "form.png"),
            "checked": "y",
        },
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    paper = db.session.scalar(
        select(func.count()).where(Acceptance.channel == Channel.PAPER)
    )
    assert paper == 0


def test_caretaker_records_paper_withdrawal(world, client):
    login(client, world["caretaker"])
    formula_tenant_id = db.session.scalar(
        select(Acceptance.tenant_id).where(
            Acceptance.tenant_id.not_in([world["tenant"].id, world["elsewhere"].id])
        )
    )

    response = client.post(
        f"/liability/manage/{world['briefing_id']}/paper-withdrawals",
        data={"tenant_id": str(formula_tenant_id), "reason": "Letter of 3 May"},
    )

    assert response.status_code == 302
    withdrawal = db.session.scalar(
        select(Withdrawal).where(Withdrawal.tenant_id == formula_tenant_id)
    )
    assert withdrawal.channel is Channel.PAPER
    assert withdrawal.recorded_by_id == world["caretaker"].id


def test_admin_previews_then_publishes(world, client):
    login(client, world["admin"])
    form = {
        "locale": "en",
        "title": "Working in the garden",
        "body": "Never use a ladder.\n\n<script>alert(1)</script>",
        "change": "material",
        "change_summary": "Ladders banned",
        "effective_from": (today() + timedelta(days=7)).isoformat(),
        "action": "preview",
    }
    url = f"/liability/manage/{world['briefing_id']}/publish"

    preview = client.post(url, data=form)
    digest = _previewed_sha256(preview.get_data(as_text=True))
    published = client.post(
        url, data={**form, "action": "publish", "previewed_sha256": digest}
    )

    assert preview.status_code == 200
    assert "Never use a ladder." in preview.get_data(as_text=True)
    assert "<script>alert" not in preview.get_data(as_text=True)
    assert published.status_code == 302
    version = db.session.scalar(
        select(BriefingVersion).where(BriefingVersion.version_number == 2)
    )
    assert version.text_sha256 in preview.get_data(as_text=True)
    assert len(digest) == 64
    assert version.is_material is True
    assert version.published_by_id == world["admin"].id


def test_publish_after_edit_shows_preview_again(world, client):
    login(client, world["admin"])
    form = {
        "locale": "nl",
        "title": "Tuin",
        "body": "Tekst.",
        "change": "cosmetic",
        "change_summary": "Spelling",
        "action": "publish",
        "previewed_sha256": "0" * 64,
    }

    response = client.post(
        f"/liability/manage/{world['briefing_id']}/publish", data=form
    )

    assert response.status_code == 200
    assert "gewijzigd sinds het voorbeeld" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(BriefingVersion.id))) == 1


def test_caretaker_cannot_publish(world, client):
    login(client, world["caretaker"])

    response = client.get(f"/liability/manage/{world['briefing_id']}/publish")

    assert response.status_code == 404


def _previewed_sha256(page: str) -> str:
    marker = 'name="previewed_sha256" type="hidden" value="'
    start = page.index(marker) + len(marker)
    return page[start : start + 64]


def test_briefing_list_shows_title_in_portal_language(app, client):
    corporation = create_corporation()
    briefing = create_briefing(corporation)
    publish(briefing, locale="en", title="Working in the garden")
    publish(briefing, locale="nl", title="Werken in de tuin", version_number=1)
    caretaker = create_caretaker(corporation, create_cluster(corporation))
    db.session.commit()
    login(client, caretaker)

    dutch = client.get("/liability/manage/").get_data(as_text=True)
    client.post("/language", data={"locale": "en"})
    english = client.get("/liability/manage/").get_data(as_text=True)

    assert "Werken in de tuin" in dutch
    assert "Working in the garden" not in dutch
    assert "Working in the garden" in english
