"""A tenant without an accepted briefing is sent to it, accepts it, then claims."""

import re

from klusbank.extensions import db
from participation.models import Claim
from tests.browser.conftest import log_in
from tests.factories import create_corporation
from tests.liability.helpers import create_briefing, publish
from tests.participation.helpers import create_neighbourhood


def test_claim_needs_briefing_then_goes_through(app, page, backend):
    corporation = create_corporation()
    briefing = create_briefing(corporation)
    publish(briefing, title="Werken in de tuin")
    place = create_neighbourhood(corporation, briefing=briefing, title="Heg snoeien")
    tenant = place.add_tenant(name="Karim Bouzid")
    db.session.commit()

    log_in(page, tenant.email)
    page.goto("/participation/chores")
    page.get_by_role("link", name="Heg snoeien").click()
    chore_url = page.url
    page.get_by_test_id("claim").click()
    page.wait_for_load_state()

    assert page.get_by_role("heading", level=1).is_visible()
    assert db.session.query(Claim).count() == 0
    page.locator("main a.button").first.click()
    page.wait_for_url(re.compile(r"/liability/briefings/\d+"))
    assert page.get_by_text("Do not climb ladders higher than 1.5 metres.").is_visible()
    page.locator("input[name=confirm_read]").check()
    page.locator("input[name=full_name]").fill("karim  bouzid")
    page.locator("form[action$='/accept'] button[type=submit]").click()
    page.wait_for_load_state()

    page.goto(chore_url)
    page.get_by_test_id("claim").click()
    page.wait_for_url("**/participation/claims/*")
    db.session.expire_all()
    claim = db.session.query(Claim).one()
    assert claim.tenant_id == tenant.id
    assert claim.acceptance_id is not None
