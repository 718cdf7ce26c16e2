"""JSON API of the rewards engine: the tenant's payout choice and settlements."""

from flask import Blueprint
from flask_login import current_user

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.openapi import operation
from rewards.engine import queries, services
from rewards.engine.models import PayoutMethod
from rewards.engine.schemas import PayoutChoiceSchema, SettlementListSchema

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
