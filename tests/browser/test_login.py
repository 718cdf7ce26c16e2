import pytest

from klusbank.accounts.models import Role
from klusbank.extensions import db
from tests.browser.conftest import log_in
from tests.factories import (
    create_cluster,
    create_corporation,
    create_tenant,
    create_user_with_roles,
)

# Menu entry each role sees on its home page, in Dutch and in English.
HOME_LINKS = {
    Role.TENANT: ("Mijn account", "My account"),
    Role.CARETAKER: ("Clusters", "Clusters"),
    Role.FINANCE: ("Clusters", "Clusters"),
    Role.ADMIN: ("Gebruikers", "Users"),
}


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_each_role_reaches_home_in_both_languages(app, page, role, backend):
    corporation = create_corporation()
    if role is Role.TENANT:
        user = create_tenant(corporation, name="Anna Tenant")
    else:
        user = create_user_with_roles(corporation, role, name="Staff Person")
        create_cluster(corporation)
    db.session.commit()
    dutch_link, english_link = HOME_LINKS[role]

    log_in(page, user.email)

    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("link", name=dutch_link).first.is_visible()
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name=english_link).first.is_visible()
    assert page.get_by_text(user.full_name).first.is_visible()


def test_wrong_password_shows_message(app, page, backend):
    user = create_tenant(create_corporation())
    db.session.commit()

    page.goto("/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")

    assert page.get_by_role("alert").is_visible()
    assert "/login" in page.url
