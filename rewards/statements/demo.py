"""Demo data of the statements: payout account, payout batches and rendered statements.

Called after the engine's demo close. Earlier closed months get a payout batch
that the bank paid today, so the payee report has figures. The previous month
gets a batch waiting for the bank, so finance can download its SEPA file and
mark it paid or failed. The demo logins' statements of the previous month are
rendered ahead; the others are rendered when first downloaded.
"""

import logging

from klusbank.errors import RuleViolation
from klusbank.timeutil import Period
from rewards.statements import batches, queries, services

logger = logging.getLogger(__name__)

DEMO_DEBTOR_IBAN = "NL91ABNA0417164300"
# The demo tenants whose logins are printed: the first two of the seed.
RENDERED_TENANTS = 2


def finish(context) -> None:
    """Set the payout account, create the demo's payout batches and render statements."""
    corporation = context.corporation
    batches.set_debtor_account(
        context.finance,
        corporation.id,
        account_holder=corporation.name,
        iban=DEMO_DEBTOR_IBAN,
    )
    previous = Period.of(context.today).previous()
    closed = sorted(queries.closed_periods(corporation.id))
    for period in closed:
        batch = _create_batch(context, period)
        if batch is not None and period < previous:
            batches.mark_batch_paid(
                context.finance, corporation.id, batch.id, paid_on=context.today
            )
    if previous not in closed:
        logger.warning("demo statements: %s is not closed; nothing rendered", previous)
        return
    eligible = set(queries.statement_tenant_ids(corporation.id, previous))
    for tenant in context.tenants[:RENDERED_TENANTS]:
        if tenant.id in eligible:
            services.ensure_statement(corporation.id, tenant.id, previous)
    logger.info("demo statements: batches for %d months", len(closed))


def _create_batch(context, period: Period):
    try:
        return batches.create_payout_batch(
            context.finance, context.corporation.id, period
        )
    except RuleViolation as error:
        # A month without payouts has no batch; that is expected in the demo.
        logger.info("demo payout batch of %s skipped: %s", period, error.code)
        return None
