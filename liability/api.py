"""JSON API of the liability domain, mounted under /api/v1.

Tenants read briefings, accept and withdraw; the tenant and staff in scope
read an acceptance's evidence. Handlers parse the input with a schema, call
one service, commit once and return the resulting object.
"""

from flask import Blueprint, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.errors import NotFound
from klusbank.extensions import db
from klusbank.openapi import ErrorSchema, operation
from liability import queries, services
from liability.models import Briefing, BriefingVersion
from liability.schemas import (
    AcceptanceRequestSchema,
    AcceptanceSchema,
    BriefingListSchema,
    BriefingSchema,
    WithdrawalRequestSchema,
    WithdrawalSchema,
    load_json,
)

bp = Blueprint("liability_api", __name__)
TAGS = ["liability"]
_RULE_RESPONSE = ("Rejected by a rule; `code` names it.", ErrorSchema)


def register(api: Blueprint) -> None:
    api.register_blueprint(bp)


@bp.get("/briefings")
@roles_required(Role.TENANT)
@operation(
    summary="List the briefings with the tenant's standing",
    tags=TAGS,
    responses={
        200: ("Every briefing of the tenant's corporation.", BriefingListSchema)
    },
)
def list_briefings():
    """Return the corporation's briefings with the tenant's standing for each."""
    briefings = [
        _briefing_data(briefing)
        for briefing in queries.briefings_of(current_user.corporation_id)
    ]
    return BriefingListSchema().dump({"briefings": briefings})


@bp.get("/briefings/<int:briefing_id>")
@roles_required(Role.TENANT)
@operation(
    summary="Read a briefing: the version in effect and the tenant's standing",
    tags=TAGS,
    responses={200: ("The briefing.", BriefingSchema)},
)
def get_briefing(briefing_id: int):
    """Return one briefing with the text to read and accept."""
    return BriefingSchema().dump(_briefing_data(_briefing_or_404(briefing_id)))


@bp.post("/briefings/<int:briefing_id>/acceptances")
@roles_required(Role.TENANT)
@operation(
    summary="Accept the version of a briefing that the tenant read",
    tags=TAGS,
    request_schema=AcceptanceRequestSchema,
    responses={
        201: ("The acceptance and its evidence.", AcceptanceSchema),
        409: _RULE_RESPONSE,
    },
)
def accept(briefing_id: int):
    """Record the tenant's acceptance; the typed name must match the account name."""
    briefing = _briefing_or_404(briefing_id)
    data = load_json(AcceptanceRequestSchema())
    version = db.session.get(BriefingVersion, data["version_id"])
    if version is None or version.briefing_id != briefing.id:
        raise NotFound(_("Briefing not found."))
    acceptance = services.accept_version(
        current_user,
        version.id,
        typed_name=data["full_name"],
        confirmed_read=data["confirm_read"],
        shown_html_sha256=data["shown_html_sha256"],
        evidence=services.request_evidence(),
    )
    db.session.commit()
    return _acceptance_data(acceptance.id), 201


@bp.post("/briefings/<int:briefing_id>/withdrawal")
@roles_required(Role.TENANT)
@operation(
    summary="Withdraw the tenant's acceptance of a briefing",
    tags=TAGS,
    request_schema=WithdrawalRequestSchema,
    responses={201: ("The withdrawal.", WithdrawalSchema), 409: _RULE_RESPONSE},
)
def withdraw(briefing_id: int):
    """Withdraw the tenant's acceptance; new claims under the briefing stop."""
    briefing = _briefing_or_404(briefing_id)
    data = load_json(WithdrawalRequestSchema())
    withdrawal = services.withdraw_acceptance(
        current_user,
        briefing.id,
        reason=data["reason"],
        evidence=services.request_evidence(),
    )
    db.session.commit()
    return WithdrawalSchema().dump(withdrawal), 201


@bp.get("/briefing-acceptances/<int:acceptance_id>")
@login_required
@operation(
    summary="Read the evidence of an acceptance",
    description="For the tenant it belongs to, administrators, and caretakers of "
    "the unit's clusters.",
    tags=TAGS,
    responses={200: ("The acceptance and its evidence.", AcceptanceSchema)},
)
def get_acceptance(acceptance_id: int):
    """Return the evidence of one acceptance the caller may see."""
    acceptance = queries.acceptance_for_viewer(current_user, acceptance_id)
    if acceptance is None:
        raise NotFound(_("Acceptance not found."))
    return _acceptance_data(acceptance.id)


def _briefing_or_404(briefing_id: int) -> Briefing:
    briefing = queries.get_briefing(current_user.corporation_id, briefing_id)
    if briefing is None:
        raise NotFound(_("Briefing not found."))
    return briefing


def _briefing_data(briefing: Briefing) -> dict:
    status = queries.briefing_status(current_user, briefing)
    version = None
    if status.current_number is not None:
        version = queries.version_in_locale(
            briefing.id, status.current_number, str(get_locale() or "nl")
        )
    latest = status.latest_acceptance
    return {
        "id": briefing.id,
        "code": briefing.code,
        "standing": status.standing.value,
        "current_version_number": status.current_number,
        "required_version_number": status.required_number,
        "latest_acceptance_id": latest.id if latest else None,
        "version": version,
        "upcoming_version": status.upcoming,
    }


def _acceptance_data(acceptance_id: int) -> dict:
    evidence = services.acceptance_evidence(acceptance_id)
    evidence["receipt_url"] = url_for("liability.receipt", acceptance_id=acceptance_id)
    return AcceptanceSchema().dump(evidence)
