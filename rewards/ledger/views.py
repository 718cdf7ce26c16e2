"""Portal pages of the rewards ledger: the tenant's balance and movements."""

from flask import Blueprint, Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.nav import add_nav_entry
from rewards.ledger import queries
from rewards.ledger.models import AccountKind, Asset, JournalKind

bp = Blueprint("rewards_ledger", __name__, url_prefix="/rewards")

ACCOUNT_LABELS = {
    AccountKind.TENANT_POINTS: _l("Points"),
    AccountKind.TENANT_RENT_CREDIT: _l("Rent credit"),
    AccountKind.TENANT_PAYOUT: _l("Payout"),
}
JOURNAL_LABELS = {
    JournalKind.APPROVAL: _l("Approved chore"),
    JournalKind.SETTLEMENT: _l("Monthly settlement"),
    JournalKind.PAYOUT: _l("Paid out"),
    JournalKind.RENT_CREDIT: _l("Credited against rent"),
    JournalKind.EXPIRY: _l("Points expired"),
    JournalKind.CORRECTION: _l("Correction"),
    JournalKind.REVERSAL: _l("Reversal"),
}
# Sources whose id means something to a tenant. A settlement's id only
# repeats the month and the tenant, which the description already gives.
SOURCE_LABELS = {
    "approval": _l("approval"),
    "payout_batch": _l("payout batch"),
}


def register_nav(app: Flask) -> None:
    """Show the balance page in the tenant's menu."""
    add_nav_entry(app, "rewards_ledger.balance", "My points", Role.TENANT, order=300)


@bp.get("/balance")
@roles_required(Role.TENANT)
def balance():
    """Show the tenant's balances, pending holds and every movement."""
    corporation_id = current_user.corporation_id
    return render_template(
        "rewards/ledger/balance.html",
        balances=queries.tenant_balances(corporation_id, current_user.id),
        lifetime_points=queries.lifetime_earned_points(corporation_id, current_user.id),
        holds=queries.pending_holds(corporation_id, current_user.id),
        movements=queries.tenant_movements(corporation_id, current_user.id),
        account_labels=ACCOUNT_LABELS,
        journal_labels=JOURNAL_LABELS,
        source_labels=SOURCE_LABELS,
        AccountKind=AccountKind,
        JournalKind=JournalKind,
        Asset=Asset,
    )
