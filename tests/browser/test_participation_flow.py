"""A tenant claims and submits a chore, a caretaker approves it, the tenant sees the points."""

from klusbank.extensions import db
from participation.models import ProofKind
from tests.browser.conftest import log_in
from tests.factories import create_corporation
from tests.participation.helpers import create_neighbourhood


def test_claim_submit_approve_shows_points(app, page, browser, live_server, backend):
    place = create_neighbourhood(
        create_corporation(),
        title="Portiek vegen",
        points=35,
        proof=ProofKind.NOTE,
    )
    tenant = place.add_tenant(name="Anna de Boer")
    db.session.commit()

    log_in(page, tenant.email)
    page.goto("/participation/chores")
    page.get_by_role("link", name="Portiek vegen").click()
    page.get_by_test_id("claim").click()
    page.wait_for_url("**/participation/claims/*")
    page.locator("textarea[name=note]").fill(
        "Portiek en trap geveegd, matten uitgeklopt."
    )
    page.get_by_test_id("submit").click()
    page.wait_for_load_state()

    assert page.locator(".status-submitted").first.is_visible()

    caretaker_context = browser.new_context(base_url=live_server, locale="nl-NL")
    caretaker_page = caretaker_context.new_page()
    log_in(caretaker_page, place.caretaker.email)
    caretaker_page.goto("/participation/review")
    caretaker_page.get_by_role("link", name="Portiek vegen").click()
    assert caretaker_page.get_by_text("matten uitgeklopt").is_visible()
    caretaker_page.get_by_test_id("approve").click()
    caretaker_page.wait_for_url("**/participation/review")
    caretaker_context.close()

    page.goto("/rewards/balance")
    balance = page.get_by_test_id("points-balance").inner_text()
    page.goto("/participation/claims")

    assert "35" in balance
    assert page.locator(".status-approved").first.is_visible()
