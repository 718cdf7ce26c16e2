"""Record withdrawals of acceptances, on the portal or handed in on paper."""

import logging

from flask_babel import gettext as _

from klusbank.accounts.models import User
from klusbank.accounts.services import record_audit
from klusbank.errors import RuleViolation
from klusbank.extensions import db
from liability import queries
from liability.models import (
    Briefing,
    Channel,
    Withdrawal,
)
from liability.services.common import (
    Evidence,
    briefing_of,
    evidence_columns,
    tenant_for_staff,
)

logger = logging.getLogger(__name__)


def withdraw_acceptance(
    tenant: User, briefing_id: int, *, reason: str | None, evidence: Evidence
) -> Withdrawal:
    """Withdraw the tenant's acceptance of a briefing, from the portal."""
    briefing = briefing_of(tenant, briefing_id)
    return _add_withdrawal(
        tenant,
        briefing,
        reason=reason,
        channel=Channel.PORTAL,
        recorded_by=tenant,
        evidence=evidence,
    )


def record_paper_withdrawal(
    staff: User,
    tenant_id: int,
    briefing_id: int,
    *,
    reason: str | None,
    evidence: Evidence,
) -> Withdrawal:
    """Record a withdrawal that a tenant handed in on paper."""
    tenant = tenant_for_staff(staff, tenant_id)
    briefing = briefing_of(tenant, briefing_id)
    return _add_withdrawal(
        tenant,
        briefing,
        reason=reason,
        channel=Channel.PAPER,
        recorded_by=staff,
        evidence=evidence,
    )


def _add_withdrawal(
    tenant: User,
    briefing: Briefing,
    *,
    reason: str | None,
    channel: Channel,
    recorded_by: User,
    evidence: Evidence,
) -> Withdrawal:
    latest = queries.latest_acceptance(tenant.id, briefing.id)
    if latest is None or latest.withdrawal is not None:
        raise RuleViolation(
            _("There is no acceptance of this briefing to withdraw."),
            code="nothing_to_withdraw",
        )
    withdrawal = Withdrawal(
        acceptance=latest,
        briefing_id=briefing.id,
        tenant_id=tenant.id,
        reason=" ".join((reason or "").split())[:2000] or None,
        withdrawn_at=evidence.received_at,
        **evidence_columns(evidence, channel=channel, recorded_by=recorded_by),
    )
    db.session.add(withdrawal)
    db.session.flush()
    record_audit(
        "briefing.withdrawn",
        actor=recorded_by,
        corporation_id=briefing.corporation_id,
        subject=f"briefing_withdrawal:{withdrawal.id}",
        tenant_id=tenant.id,
        acceptance_id=latest.id,
        channel=channel.value,
    )
    logger.info(
        "withdrawal %s of acceptance %s for tenant %s recorded by user %s",
        withdrawal.id,
        latest.id,
        tenant.id,
        recorded_by.id,
    )
    return withdrawal
