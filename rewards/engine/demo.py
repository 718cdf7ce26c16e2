"""Demo data of the rewards engine: rule versions, payout choices, closed months.

The seed runs before chores are approved, so the approvals of the previous
month are settled under these rules and choices when ``finish`` closes it.
"""

import logging

from schwifty import IBAN
from sqlalchemy import select
from stdnum.nl import bsn as bsn_number

from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine import queries, services
from rewards.engine.models import PayoutMethod
from rewards.jobs import close_period, prepare_close
from rewards.ledger.models import Journal

logger = logging.getLogger(__name__)

# One in this many demo tenants is on payout, besides the payout login.
PAYOUT_EVERY = 4
PAYOUT_LOGIN_INDEX = 1


def demo_iban(number: int) -> str:
    """Return a valid Dutch IBAN of a made-up account number at bank code ABNA."""
    return IBAN.generate("NL", bank_code="ABNA", account_code=f"{number:010d}").compact


def demo_bsn(number: int) -> str:
    """Return the ``number``-th nine-digit number from 100000000 on that passes the eleven-test."""
    candidate = 100_000_000
    found = -1
    while True:
        if bsn_number.is_valid(str(candidate)):
            found += 1
            if found == number:
                return str(candidate)
        candidate += 1


def seed(context) -> None:
    """Add two rule versions and put some tenants, the payout login included, on payout."""
    this_month = Period.of(context.today)
    first = services.create_rule_version(
        context.finance,
        effective_from=queries.shift_period(this_month, -12).first_day,
        rent_credit_rate_cents=25,
        payout_rate_cents=25,
        weekend_multiplier_permille=1_250,
        rent_credit_cap_month_cents=500,
        rent_credit_cap_year_cents=6_000,
        payout_cap_month_cents=350,
        payout_cap_year_cents=4_200,
        minimum_payout_cents=250,
        expiry_months=12,
        note="Demo rules: 25 cents a point, small caps so the demo shows them.",
    )
    second = services.create_rule_version(
        context.finance,
        effective_from=this_month.first_day,
        rent_credit_rate_cents=30,
        payout_rate_cents=80,
        payout_rate_points=3,
        weekend_multiplier_permille=1_250,
        rent_credit_cap_month_cents=1_000,
        rent_credit_cap_year_cents=12_000,
        payout_cap_month_cents=750,
        payout_cap_year_cents=9_000,
        minimum_payout_cents=250,
        expiry_months=12,
        note="Demo rules from this month: 30 cents a point, payouts 80 cents per 3.",
    )

    payees = []
    for index, tenant in enumerate(context.tenants):
        if index != PAYOUT_LOGIN_INDEX and index % PAYOUT_EVERY != 2:
            continue
        services.choose_payout_method(
            tenant,
            method=PayoutMethod.PAYOUT,
            iban=demo_iban(1_000_000 + index),
            account_holder=tenant.full_name,
            bsn=demo_bsn(index),
            acknowledge_tax=True,
        )
        payees.append(tenant)
    context.extra["rewards_rule_versions"] = [first, second]
    context.extra["rewards_payees"] = payees
    logger.info("demo rewards: 2 rule versions, %d tenants on payout", len(payees))


def finish(context) -> None:
    """Close every month with ledger entries up to and including the previous month."""
    corporation = context.corporation
    previous = Period.of(context.today).previous()
    earliest = db.session.scalar(
        select(Journal.period)
        .where(Journal.corporation_id == corporation.id)
        .order_by(Journal.period)
        .limit(1)
    )
    period = Period.parse(earliest) if earliest else previous
    period = min(period, previous)
    while period <= previous:
        prepare_close(corporation.id, period)
        result = close_period(corporation.id, period, trigger="demo")
        logger.info(
            "demo close of %s: %d tenants settled", period, result.tenants_settled
        )
        period = period.next()
