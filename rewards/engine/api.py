"""JSON API of the rewards engine: payout choice, settlements and reward rules."""

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import current_user

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.errors import InvalidInput
from klusbank.extensions import db
from klusbank.openapi import ErrorSchema, operation
from rewards.engine import queries, services
from rewards.engine.models import PayoutMethod
from rewards.engine.rules import rule_versions
from rewards.engine.schemas import (
    PayoutChoiceSchema,
    RuleVersionCreateSchema,
    RuleVersionListSchema,
    RuleVersionSchema,
    SettlementListSchema,
)

bp = Blueprint("rewards_engine_api", __name__)
TAGS = ["rewards"]


@bp.get("/rewards/payout-choice")
@roles_required(Role.TENANT)
@operation(
    summary="Read the tenant's choice of rent credit or payout",
    tags=TAGS,
    responses={200: ("The latest choice, masked.", PayoutChoiceSchema)},
)
def payout_choice():
    """Return the tenant's latest choice with the IBAN and BSN masked."""
    choice = queries.latest_payout_choice(current_user.id)
    next_close = services.next_close_period(current_user.corporation_id)
    if choice is None:
        data = {"method": PayoutMethod.RENT_CREDIT.value, "applies_from": None}
    else:
        data = {
            "method": choice.method.value,
            "applies_from": choice.applies_from,
            "account_holder": choice.account_holder,
            "iban_masked": choice.masked_iban or None,
            "bsn_masked": choice.masked_bsn or None,
        }
    return PayoutChoiceSchema().dump({**data, "next_close_period": str(next_close)})


@bp.get("/rewards/settlements")
@roles_required(Role.TENANT)
@operation(
    summary="List the tenant's monthly settlements",
    tags=TAGS,
    responses={200: ("Settlements, newest month first.", SettlementListSchema)},
)
def settlements():
    """Return the tenant's settlement lines with their computation."""
    lines = queries.tenant_settlement_lines(current_user.id)
    return SettlementListSchema().dump({"settlements": lines})


@bp.get("/rewards/rules")
@roles_required(Role.FINANCE)
@operation(
    summary="List the corporation's reward rule versions",
    tags=TAGS,
    responses={200: ("Versions, latest effective date first.", RuleVersionListSchema)},
)
def list_rules():
    """Return every rule version of the finance user's corporation."""
    versions = rule_versions(current_user.corporation_id)
    return RuleVersionListSchema().dump({"rule_versions": versions})


@bp.post("/rewards/rules")
@roles_required(Role.FINANCE)
@operation(
    summary="Add a reward rule version from the first day of a month",
    description="A month may have one version; closed months cannot get one.",
    tags=TAGS,
    request_schema=RuleVersionCreateSchema,
    responses={
        201: ("The version created.", RuleVersionSchema),
        409: ("The month is closed or has a version already.", ErrorSchema),
    },
)
def create_rule():
    """Add a rule version; out-of-range values are a 422 naming the field."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(
            _("Send the body as JSON with the header Content-Type: application/json.")
        )
    data = RuleVersionCreateSchema().load(body)
    version = services.create_rule_version(current_user, **data)
    db.session.commit()
    return RuleVersionSchema().dump(version), 201
