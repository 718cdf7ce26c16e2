"""Portal forms sent back with errors: same page, message beside the field, input kept.

Every case posts bad input to one portal form as a logged-in actor. It checks
the status (422 for invalid input, 409 for a rule) and the translated message
beside the field's label or above the form. It also checks that the typed
input is on the page, that no password or BSN comes back, and that the
database is exactly as it was.
"""

import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from klusbank.accounts.models import Role
from klusbank.extensions import db
from tests.factories import create_user_with_roles
from tests.participation.helpers import png_bytes
from tests.security.helpers import REWARDS_MONTH

NEW_PASSWORD = "a much longer secret"
BSN = "111222333"
TYPED_NAME = "Iemand Anders"
ERROR_PAGE_MARK = '<ul class="errors">'


@dataclass
class FormCase:
    """Bad input for one form, and what the page must show in return."""

    actor: str
    path: Callable
    data: Callable
    status: int
    # Field id and label msgid; None when the message belongs above the form.
    field_id: str | None
    label: str | None
    message: str
    kept: tuple[str, ...] = ()
    never_shown: tuple[str, ...] = ()
    message_args: dict = field(default_factory=dict)
    # WTForms translates its own messages, so these are given in Dutch.
    wtforms_message: str | None = None


def briefing_path(world, action: str) -> str:
    return f"/liability/briefings/{world.liability.briefing.id}/{action}"


def staff_briefing_path(world, action: str) -> str:
    return f"/liability/manage/{world.liability.briefing.id}/{action}"


def existing_email(world) -> str:
    """Add a user with an address that passes the form's e-mail check."""
    user = create_user_with_roles(world.corporation_1, Role.FINANCE)
    user.email = "bestaand@woonstichting.nl"
    db.session.commit()
    return user.email


def batch_path(world, action: str) -> str:
    return f"/rewards/finance/batches/{world.rewards.batch.id}/{action}"


CASES = {
    "login": FormCase(
        "anonymous",
        lambda world: "/login",
        lambda world: {"email": "iemand@example.test", "password": ""},
        422,
        "password",
        "Password",
        None,
        kept=("iemand@example.test",),
        wtforms_message="Dit veld is vereist.",
    ),
    "invitation": FormCase(
        "anonymous",
        lambda world: f"/invitation/{world.invitation_token}",
        lambda world: {"password": "too short", "confirm": "too short"},
        422,
        "password",
        "Password",
        None,
        never_shown=("too short",),
        wtforms_message="Veld moet tussen 12 en 512 karakters lang zijn.",
    ),
    "password change": FormCase(
        "tenant_a",
        lambda world: "/account/password",
        lambda world: {
            "current_password": "not my password",
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
        422,
        "current_password",
        "Current password",
        "The current password is wrong.",
        never_shown=("not my password", NEW_PASSWORD),
    ),
    "api token": FormCase(
        "tenant_a",
        lambda world: "/account/tokens",
        lambda world: {"name": "x" * 101},
        422,
        "name",
        "Token name",
        None,
        kept=("x" * 101,),
        wtforms_message="Veld mag niet langer zijn dan 100 karakters.",
    ),
    "user creation": FormCase(
        "admin",
        lambda world: "/admin/users",
        lambda world: {
            "email": existing_email(world),
            "full_name": "Nieuwe Collega",
            "locale": "nl",
            "roles": ["caretaker"],
        },
        422,
        "email",
        "E-mail address",
        "A user with this e-mail address already exists.",
        kept=("Nieuwe Collega",),
    ),
    "roles": FormCase(
        "admin",
        lambda world: f"/admin/users/{world.users['admin'].id}/roles",
        lambda world: {"roles": ["finance"]},
        422,
        "roles",
        "Roles",
        "This is the last administrator. Make someone else administrator first.",
        # The roles are tenant, caretaker, finance and administrator, in order.
        kept=('checked id="roles-2"',),
        never_shown=('checked id="roles-3"',),
    ),
    "clusters": FormCase(
        "admin",
        lambda world: f"/admin/users/{world.tenant_a.id}/clusters",
        lambda world: {"cluster_id": [str(world.cluster_y.id)]},
        422,
        "cluster_id",
        "Clusters",
        "Only caretakers can be assigned to clusters.",
    ),
    "password reset": FormCase(
        "admin",
        lambda world: f"/admin/users/{world.tenant_a.id}/reset-password",
        lambda world: {},
        422,
        "reset-confirm",
        "Yes, I am sure",
        "Tick the box to confirm.",
    ),
    "deactivation": FormCase(
        "admin",
        lambda world: f"/admin/users/{world.users['admin'].id}/deactivate",
        lambda world: {"deactivate-confirm": "y"},
        422,
        "deactivate-confirm",
        "Yes, I am sure",
        "You cannot deactivate your own account.",
    ),
    "briefing acceptance": FormCase(
        "tenant_b",
        lambda world: briefing_path(world, "accept"),
        lambda world: {
            "version_id": str(world.liability.version.id),
            "shown_sha256": world.liability.version.html_sha256,
            "confirm_read": "y",
            "full_name": TYPED_NAME,
        },
        422,
        "full_name",
        "Your full name",
        "The name you typed does not match the name on your account, %(name)s. "
        "Type your full name as shown.",
        kept=(TYPED_NAME,),
        message_args={"name": "Bram Buur"},
    ),
    "briefing withdrawal": FormCase(
        "tenant_b",
        lambda world: briefing_path(world, "withdraw"),
        lambda world: {"reason": "Ik stop ermee"},
        409,
        None,
        None,
        "There is no acceptance of this briefing to withdraw.",
    ),
    "paper acceptance": FormCase(
        "caretaker_x",
        lambda world: staff_briefing_path(world, "paper-acceptances"),
        lambda world: {
            "tenant_id": str(world.tenant_a.id),
            "version_id": str(world.liability.version.id),
            "typed_name": TYPED_NAME,
            "signed_on": date.today().isoformat(),
            "scan": (io.BytesIO(png_bytes()), "scan.png"),
            "checked": "y",
        },
        422,
        "typed_name",
        "Name as signed",
        "The name does not match the tenant's account name, %(name)s. "
        "Check the form and type the name as signed.",
        kept=(TYPED_NAME,),
        message_args={"name": "Anna Kanarie"},
    ),
    "paper withdrawal": FormCase(
        "caretaker_x",
        lambda world: staff_briefing_path(world, "paper-withdrawals"),
        lambda world: {"tenant_id": str(world.users["tenant_b"].id), "reason": "x"},
        422,
        "tenant_id",
        "Tenant",
        None,
        wtforms_message="Ongeldige keuze.",
    ),
    "briefing publication": FormCase(
        "admin",
        lambda world: "/liability/manage/new",
        lambda world: {
            "code": world.liability.briefing.code,
            "locale": "nl",
            "title": "Werken in de tuin",
            "body": "Draag handschoenen.",
            "change": "material",
        },
        422,
        "code",
        "Code of the new briefing",
        "A briefing with code %(code)s exists.",
        kept=("Werken in de tuin", "Draag handschoenen."),
        message_args={"code": "tuin"},
    ),
    "payout choice": FormCase(
        "tenant_b",
        lambda world: "/rewards/payout",
        lambda world: {
            "method": "payout",
            "iban": "NL00 NOPE 0000 0000 00",
            "account_holder": "B. Buur",
            "bsn": BSN,
            "acknowledge_tax": "y",
        },
        422,
        "iban",
        "IBAN",
        None,
        kept=("B. Buur",),
        never_shown=(BSN, "NOPE"),
    ),
    "payout batch": FormCase(
        "finance_1",
        lambda world: f"/rewards/finance/exports/{REWARDS_MONTH}/batches",
        lambda world: {"execution_date": date.today().isoformat()},
        409,
        None,
        None,
        "Month %(month)s already has a payout batch.",
        message_args={"month": str(REWARDS_MONTH)},
    ),
    "batch paid": FormCase(
        "finance_1",
        lambda world: batch_path(world, "paid"),
        lambda world: {"paid_on": date.today().isoformat()},
        409,
        None,
        None,
        "This payout batch is already marked paid.",
    ),
    "batch failed": FormCase(
        "finance_1",
        lambda world: batch_path(world, "failed"),
        lambda world: {"reason": "Rekening opgeheven"},
        409,
        None,
        None,
        "This payout batch is already marked paid.",
    ),
    "payout account": FormCase(
        "finance_1",
        lambda world: "/rewards/finance/payout-account",
        lambda world: {
            "account_holder": "Woonstichting Een",
            "iban": "NL00 NOPE 0000 0000 00",
        },
        422,
        "iban",
        "IBAN",
        None,
        kept=("Woonstichting Een",),
    ),
}


def database_snapshot() -> dict[str, list[tuple]]:
    """Read every row of every table, so that any change shows."""
    db.session.expire_all()
    snapshot = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table)).all()
        snapshot[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return snapshot


def field_block(page: str, field_id: str) -> str:
    """Return the HTML of the field whose error paragraph has this id."""
    for block in page.split('<div class="field')[1:]:
        if f'id="{field_id}-error"' in block:
            return block
    raise AssertionError(f"no error beside field {field_id!r} on the page")


def dutch(message: str, **args) -> str:
    """Return the Dutch text of a message or label, HTML-escaped."""
    with force_locale("nl"):
        return html.escape(gettext(message, **args), quote=False)


def dutch_message(message: str, **args) -> str:
    """Return the Dutch text of an error message, failing when it is untranslated."""
    english = html.escape(message % args if args else message, quote=False)
    translated = dutch(message, **args)
    assert translated != english, f"no Dutch translation of {message!r}"
    return translated


@pytest.mark.parametrize("name", list(CASES))
def test_form_errors_show_on_form(app, full_world, actors, name):
    case = CASES[name]
    client = actors.client(case.actor)
    path, data = case.path(full_world), case.data(full_world)
    before = database_snapshot()

    response = client.post(path, data=data, content_type="multipart/form-data")

    page = response.get_data(as_text=True)
    assert response.status_code == case.status, page[:2000]
    assert ERROR_PAGE_MARK not in page
    assert database_snapshot() == before
    with app.test_request_context():
        if case.field_id is not None:
            block = field_block(page, case.field_id)
            assert dutch(case.label) in block, block
            if case.message is not None:
                assert dutch_message(case.message, **case.message_args) in block, block
            if case.wtforms_message is not None:
                assert case.wtforms_message in block, block
        else:
            alert = re.search(
                r'<div class="flash flash-error" role="alert">(.*?)</div>', page, re.S
            )
            assert alert is not None
            if case.message is not None:
                expected = dutch_message(case.message, **case.message_args)
                assert expected in alert.group(1), alert.group(1)
    for text in case.kept:
        assert html.escape(text) in page or text in page
    for text in case.never_shown:
        assert text not in page


def test_every_case_is_a_portal_write(app, full_world):
    # A case whose path stops existing would still pass, with a 404.
    adapter = app.url_map.bind("klusbank.test")
    for name, case in CASES.items():
        endpoint, _args = adapter.match(case.path(full_world), method="POST")
        assert not endpoint.startswith("api_v1"), name
