from datetime import timedelta

import pytest
import time_machine

from klusbank.accounts.access import today
from klusbank.db import utcnow
from klusbank.errors import InvalidInput, NotFound, RuleViolation
from klusbank.extensions import db
from liability import services as liability
from liability.models import Channel
from tests.factories import create_corporation, create_tenant
from tests.liability.helpers import accept, create_briefing, evidence, publish


@pytest.fixture
def corporation(app):
    return create_corporation()


@pytest.fixture
def tenant(corporation):
    return create_tenant(corporation, name="Fatima el Amrani")


def test_require_without_acceptance_links_to_briefing(app, corporation, tenant):
    briefing = create_briefing(corporation)
    publish(briefing)

    with app.test_request_context("/chores/7"), pytest.raises(RuleViolation) as raised:
        liability.require_current_acceptance(tenant, briefing.id)

    assert raised.value.code == "briefing_required"
    assert f"/liability/briefings/{briefing.id}" in raised.value.link
    assert raised.value.link.endswith("?next=/chores/7")


def test_require_after_acceptance_returns_it(app, corporation, tenant):
    briefing = create_briefing(corporation)
    version = publish(briefing)
    acceptance = accept(tenant, version)

    with app.test_request_context("/"):
        covering = liability.require_current_acceptance(tenant, briefing.id)

    assert covering.id == acceptance.id
    assert covering.channel is Channel.PORTAL


def test_require_after_withdrawal_rejects(app, corporation, tenant):
    briefing = create_briefing(corporation)
    accept(tenant, publish(briefing))
    liability.withdraw_acceptance(
        tenant, briefing.id, reason="Te zwaar", evidence=evidence()
    )

    with app.test_request_context("/"), pytest.raises(RuleViolation) as raised:
        liability.require_current_acceptance(tenant, briefing.id)

    assert raised.value.code == "briefing_required"
    assert "ingetrokken" in raised.value.message


def test_require_after_material_version_rejects(app, corporation, tenant):
    briefing = create_briefing(corporation)
    first = publish(
        briefing, published_days_ago=30, effective_from=today() - timedelta(days=30)
    )
    accept(tenant, first)
    publish(briefing, is_material=True, summary="Ladders banned", body="No ladders.")

    with app.test_request_context("/"), pytest.raises(RuleViolation) as raised:
        liability.require_current_acceptance(tenant, briefing.id)

    assert raised.value.code == "briefing_required"
    assert "is veranderd" in raised.value.message


def test_material_version_before_effect_still_covered(app, corporation, tenant):
    briefing = create_briefing(corporation)
    first = publish(briefing)
    acceptance = accept(tenant, first)
    publish(
        briefing,
        is_material=True,
        summary="Ladders banned",
        body="No ladders.",
        effective_from=today() + timedelta(days=10),
    )

    with app.test_request_context("/"):
        covering = liability.require_current_acceptance(tenant, briefing.id)

    assert covering.id == acceptance.id


def test_cosmetic_version_keeps_acceptance(app, corporation, tenant):
    briefing = create_briefing(corporation)
    first = publish(
        briefing, published_days_ago=30, effective_from=today() - timedelta(days=30)
    )
    acceptance = accept(tenant, first)
    publish(briefing, is_material=False, summary="Typo fixed", body="Fixed typo.")

    with app.test_request_context("/"):
        covering = liability.require_current_acceptance(tenant, briefing.id)

    assert covering.id == acceptance.id


def test_accepting_new_material_version_covers_again(app, corporation, tenant):
    briefing = create_briefing(corporation)
    accept(
        tenant,
        publish(
            briefing, published_days_ago=30, effective_from=today() - timedelta(days=30)
        ),
    )
    second = publish(briefing, is_material=True, summary="Ladders banned", body="No.")

    acceptance = accept(tenant, second)
    with app.test_request_context("/"):
        covering = liability.require_current_acceptance(tenant, briefing.id)

    assert covering.id == acceptance.id
    assert covering.version.version_number == 2


def test_unpublished_briefing_is_unavailable(app, corporation, tenant):
    briefing = create_briefing(corporation)

    with app.test_request_context("/"), pytest.raises(RuleViolation) as raised:
        liability.require_current_acceptance(tenant, briefing.id)

    assert raised.value.code == "briefing_unavailable"


def test_briefing_of_other_corporation_not_found(app, corporation, tenant):
    briefing = create_briefing(create_corporation())
    publish(briefing)

    with app.test_request_context("/"), pytest.raises(NotFound):
        liability.require_current_acceptance(tenant, briefing.id)


def test_typed_name_ignores_case_and_spaces(app, corporation, tenant):
    version = publish(create_briefing(corporation))

    acceptance = liability.accept_version(
        tenant,
        version.id,
        typed_name="  fatima   EL amrani ",
        confirmed_read=True,
        shown_html_sha256=version.html_sha256,
        evidence=evidence(),
    )

    assert acceptance.typed_name == "fatima EL amrani"


def test_wrong_typed_name_rejected(app, corporation, tenant):
    version = publish(create_briefing(corporation))

    with pytest.raises(InvalidInput) as raised:
        liability.accept_version(
            tenant,
            version.id,
            typed_name="Jan de Vries",
            confirmed_read=True,
            shown_html_sha256=version.html_sha256,
            evidence=evidence(),
        )

    assert "full_name" in raised.value.errors
    assert "Fatima el Amrani" in raised.value.errors["full_name"][0]


def test_unticked_confirmation_rejected(app, corporation, tenant):
    version = publish(create_briefing(corporation))

    with pytest.raises(InvalidInput) as raised:
        liability.accept_version(
            tenant,
            version.id,
            typed_name=tenant.full_name,
            confirmed_read=False,
            shown_html_sha256=version.html_sha256,
            evidence=evidence(),
        )

    assert "confirm_read" in raised.value.errors


def test_acceptance_records_evidence(app, corporation, tenant):
    version = publish(create_briefing(corporation))

    acceptance = accept(tenant, version, ip_address="203.0.113.5")

    assert acceptance.ip_address == "203.0.113.5"
    assert acceptance.user_agent == "pytest browser"
    assert acceptance.login_method == "password"
    assert acceptance.rendered_sha256 == version.html_sha256
    assert acceptance.text_sha256 == version.text_sha256
    assert acceptance.recorded_by_id == tenant.id
    assert acceptance.tenancy.user_id == tenant.id
    assert acceptance.accepted_at.tzinfo is not None


def test_withdraw_without_acceptance_rejected(app, corporation, tenant):
    briefing = create_briefing(corporation)
    publish(briefing)

    with pytest.raises(RuleViolation) as raised:
        liability.withdraw_acceptance(
            tenant, briefing.id, reason=None, evidence=evidence()
        )

    assert raised.value.code == "nothing_to_withdraw"


def test_evidence_of_acceptance_is_plain_data(app, corporation, tenant):
    version = publish(create_briefing(corporation))
    acceptance = accept(tenant, version)
    db.session.commit()

    data = liability.acceptance_evidence(acceptance.id)

    assert data["version_number"] == 1
    assert data["text_sha256"] == version.text_sha256
    assert data["locale"] == "nl"
    assert data["channel"] == "portal"
    assert data["typed_name"] == "Fatima el Amrani"
    assert data["accepted_at"] == acceptance.accepted_at


def test_require_outside_request_links_by_path(app, corporation, tenant):
    briefing = create_briefing(corporation)
    publish(briefing)

    with pytest.raises(RuleViolation) as raised:
        liability.require_current_acceptance(tenant, briefing.id, next_url="/chores/9")

    assert raised.value.link == f"/liability/briefings/{briefing.id}?next=/chores/9"


def test_early_acceptance_covers_after_effect(app, corporation, tenant):
    briefing = create_briefing(corporation)
    accept(tenant, publish(briefing))
    upcoming = publish(
        briefing,
        is_material=True,
        summary="Ladders banned",
        body="No ladders.",
        effective_from=today() + timedelta(days=10),
    )
    early = accept(tenant, upcoming)

    with (
        time_machine.travel(utcnow() + timedelta(days=11)),
        app.test_request_context("/"),
    ):
        covering = liability.require_current_acceptance(tenant, briefing.id)

    assert covering.id == early.id


def test_material_version_rejects_old_acceptance_after_effect(app, corporation, tenant):
    briefing = create_briefing(corporation)
    accept(tenant, publish(briefing))
    publish(
        briefing,
        is_material=True,
        summary="Ladders banned",
        body="No ladders.",
        effective_from=today() + timedelta(days=10),
    )

    with (
        time_machine.travel(utcnow() + timedelta(days=11)),
        app.test_request_context("/"),
        pytest.raises(RuleViolation) as raised,
    ):
        liability.require_current_acceptance(tenant, briefing.id)

    assert raised.value.code == "briefing_required"
