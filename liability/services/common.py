"""Shared pieces of the liability services: request evidence and scoped lookups."""

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from flask import g, has_request_context, request, session
from flask_babel import gettext as _

from klusbank.accounts.access import caretaker_cluster_ids, tenant_cluster_ids
from klusbank.accounts.models import Role, User
from klusbank.db import utcnow
from klusbank.errors import NotFound, RuleViolation
from klusbank.extensions import db
from klusbank.net import client_address
from liability import queries
from liability.models import (
    Briefing,
    Channel,
)

logger = logging.getLogger(__name__)

SCAN_FOLDER = "briefing-scans"


@dataclass(frozen=True)
class Evidence:
    """Evidence of a request: client address, browser, login and server time in UTC."""

    received_at: datetime
    ip_address: str | None = None
    user_agent: str | None = None
    login_method: str | None = None
    session_sha256: str | None = None


def evidence_columns(
    evidence: Evidence, *, channel: Channel, recorded_by: User
) -> dict[str, object]:
    """Return the ``RequestEvidence`` column values of an acceptance or withdrawal."""
    return {
        "ip_address": evidence.ip_address,
        "user_agent": evidence.user_agent,
        "login_method": evidence.login_method,
        "session_sha256": evidence.session_sha256,
        "channel": channel,
        "recorded_by_id": recorded_by.id,
    }


def request_evidence() -> Evidence:
    """Return the evidence of the current request, or only the time outside one."""
    if not has_request_context():
        return Evidence(received_at=utcnow())
    sid = session.get("sid")
    return Evidence(
        received_at=utcnow(),
        ip_address=client_address(),
        user_agent=request.user_agent.string[:1000] or None,
        login_method=g.get("login_method"),
        session_sha256=hashlib.sha256(sid.encode()).hexdigest() if sid else None,
    )


def no_tenancy() -> RuleViolation:
    return RuleViolation(
        _("Only a tenant with a current tenancy can accept a briefing."),
        code="no_tenancy",
    )


def briefing_of(user: User, briefing_id: int) -> Briefing:
    briefing = queries.get_briefing(user.corporation_id, briefing_id)
    if briefing is None:
        raise NotFound(_("Briefing not found."))
    return briefing


def tenant_for_staff(staff: User, tenant_id: int) -> User:
    tenant = db.session.get(User, tenant_id)
    if tenant is None or tenant.corporation_id != staff.corporation_id:
        raise NotFound(_("Tenant not found."))
    if not tenant.has_role(Role.TENANT):
        raise NotFound(_("Tenant not found."))
    if staff.has_role(Role.ADMIN):
        return tenant
    shared_clusters = tenant_cluster_ids(tenant) & caretaker_cluster_ids(staff)
    if staff.has_role(Role.CARETAKER) and shared_clusters:
        return tenant
    raise NotFound(_("Tenant not found."))
