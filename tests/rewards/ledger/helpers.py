"""Small builders for ledger tests, on top of tests.factories."""

import itertools
from datetime import date

from klusbank.extensions import db
from rewards.ledger import services as ledger
from rewards.ledger.models import AccountKind, Journal, JournalKind, Side
from tests.factories import create_corporation, create_tenant

_keys = itertools.count(1)


def next_key(prefix: str = "test") -> str:
    return f"{prefix}:{next(_keys)}"


def create_ledger_tenant(corporation=None):
    """Create a corporation (unless given) and a tenant of it; return both."""
    corporation = corporation or create_corporation()
    tenant = create_tenant(corporation)
    return corporation, tenant


def credit_points(
    corporation, tenant, points: int, *, on: date, key: str | None = None
):
    """Post points issued to a tenant, dated ``on``."""
    return ledger.post_journal(
        corporation.id,
        kind=JournalKind.APPROVAL,
        idempotency_key=key or next_key("approval"),
        effective_date=on,
        memo="Stairwell cleaning",
        source_type="approval",
        source_id="1",
        lines=[
            ledger.Line(
                ledger.corporation_account(corporation.id, AccountKind.POINTS_ISSUED),
                Side.DEBIT,
                points,
            ),
            ledger.Line(
                ledger.tenant_account(
                    corporation.id, tenant.id, AccountKind.TENANT_POINTS
                ),
                Side.CREDIT,
                points,
            ),
        ],
    )


def fund_payout(
    corporation, tenant, cents: int, *, on: date, key: str | None = None
) -> Journal:
    """Post reward expense into the tenant's payout payable, dated ``on``."""
    return ledger.post_journal(
        corporation.id,
        kind=JournalKind.SETTLEMENT,
        idempotency_key=key or next_key("settle"),
        effective_date=on,
        memo="Settlement",
        source_type="settlement",
        source_id=None,
        lines=[
            ledger.Line(
                ledger.corporation_account(corporation.id, AccountKind.REWARD_EXPENSE),
                Side.DEBIT,
                cents,
            ),
            ledger.Line(
                ledger.tenant_account(
                    corporation.id, tenant.id, AccountKind.TENANT_PAYOUT
                ),
                Side.CREDIT,
                cents,
            ),
        ],
    )


def pay_out(
    corporation, tenant, cents: int, *, on: date, key: str | None = None
) -> Journal:
    """Post a payout from the tenant's payable to the payout clearing account."""
    return ledger.post_journal(
        corporation.id,
        kind=JournalKind.PAYOUT,
        idempotency_key=key or next_key("payout"),
        effective_date=on,
        memo="Payout",
        source_type="payout_batch",
        source_id="7",
        lines=[
            ledger.Line(
                ledger.tenant_account(
                    corporation.id, tenant.id, AccountKind.TENANT_PAYOUT
                ),
                Side.DEBIT,
                cents,
            ),
            ledger.Line(
                ledger.corporation_account(corporation.id, AccountKind.PAYOUT_CLEARING),
                Side.CREDIT,
                cents,
            ),
        ],
    )


def commit():
    db.session.commit()
