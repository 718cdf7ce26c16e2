"""JSON API of the rewards ledger."""

from flask import Blueprint
from flask_login import current_user

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.openapi import operation
from rewards.ledger import queries
from rewards.ledger.models import AccountKind
from rewards.ledger.schemas import LedgerBalanceSchema

bp = Blueprint("rewards_ledger_api", __name__)


@bp.get("/me/balance")
@roles_required(Role.TENANT)
@operation(
    summary="Read the tenant's balances, pending holds and movements",
    description=(
        "Amounts are integers: points, or euro cents for rent credit and payout."
        " Movements are newest first; a reversal undoes an earlier entry."
    ),
    tags=["ledger"],
    responses={200: ("The tenant's ledger figures.", LedgerBalanceSchema)},
)
def my_balance():
    """Return the tenant's balances, pending holds and every movement."""
    corporation_id = current_user.corporation_id
    balances = queries.tenant_balances(corporation_id, current_user.id)
    holds = queries.pending_holds(corporation_id, current_user.id)
    held_cents = sum(
        hold.amount for hold in holds if hold.account.kind == AccountKind.TENANT_PAYOUT
    )
    return LedgerBalanceSchema().dump(
        {
            "points": balances[AccountKind.TENANT_POINTS],
            "lifetime_earned_points": queries.lifetime_earned_points(
                corporation_id, current_user.id
            ),
            "rent_credit_cents": balances[AccountKind.TENANT_RENT_CREDIT],
            "payout_cents": balances[AccountKind.TENANT_PAYOUT],
            "payout_available_cents": balances[AccountKind.TENANT_PAYOUT] - held_cents,
            "pending_holds": [
                {
                    "id": hold.id,
                    "account": hold.account.kind.value,
                    "asset": hold.asset.value,
                    "amount": hold.amount,
                    "memo": hold.memo,
                    "source_type": hold.source_type,
                    "source_id": hold.source_id,
                    "created_at": hold.created_at,
                }
                for hold in holds
            ],
            "movements": queries.tenant_movements(corporation_id, current_user.id),
        }
    )
