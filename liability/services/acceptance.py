"""Record acceptances, on the portal or from a signed paper form, and show their evidence."""

import logging
import unicodedata
from datetime import date

from flask_babel import gettext as _

from klusbank.accounts.models import Role, User
from klusbank.accounts.services import record_audit
from klusbank.errors import InvalidInput, NotFound, RuleViolation, field_error
from klusbank.extensions import db
from klusbank.timeutil import business_date
from klusbank.uploads import store_image
from liability import queries
from liability.models import (
    Acceptance,
    BriefingVersion,
    Channel,
)
from liability.services.common import (
    SCAN_FOLDER,
    Evidence,
    evidence_columns,
    no_tenancy,
    tenant_for_staff,
)

logger = logging.getLogger(__name__)


def names_match(typed: str, account_name: str) -> bool:
    """Compare two names ignoring case, whitespace and Unicode composition."""

    def simplify(name: str) -> str:
        return "".join(unicodedata.normalize("NFC", name).casefold().split())

    return bool(typed.strip()) and simplify(typed) == simplify(account_name)


def accept_version(
    tenant: User,
    version_id: int,
    *,
    typed_name: str,
    confirmed_read: bool,
    shown_html_sha256: str,
    evidence: Evidence,
) -> Acceptance:
    """Record a tenant's own acceptance on the portal of the version they were shown."""
    version = _acceptable_version(tenant, version_id)
    errors: dict[str, list[str]] = {}
    if not confirmed_read:
        errors["confirm_read"] = [
            _("Tick the box to confirm that you have read the briefing.")
        ]
    if not names_match(typed_name or "", tenant.full_name):
        errors["full_name"] = [
            _(
                "The name you typed does not match the name on your account, "
                "%(name)s. Type your full name as shown.",
                name=tenant.full_name,
            )
        ]
    if errors:
        raise InvalidInput(_("The briefing is not accepted yet."), errors=errors)
    if shown_html_sha256 != version.html_sha256:
        raise RuleViolation(
            _("The text you were shown is not the current text. Read it again."),
            code="briefing_text_changed",
        )

    latest = queries.latest_acceptance(tenant.id, version.briefing_id)
    if (
        latest is not None
        and latest.version_id == version.id
        and latest.withdrawal is None
    ):
        # A second submit of the same form records nothing new.
        return latest
    return _add_acceptance(
        tenant,
        version,
        typed_name=typed_name,
        channel=Channel.PORTAL,
        recorded_by=tenant,
        evidence=evidence,
    )


def record_paper_acceptance(
    staff: User,
    tenant_id: int,
    version_id: int,
    *,
    typed_name: str,
    signed_on: date,
    scan: bytes,
    evidence: Evidence,
) -> Acceptance:
    """Record a signed paper form on a tenant's behalf, with a scan of it."""
    tenant = tenant_for_staff(staff, tenant_id)
    version = _acceptable_version(tenant, version_id)
    if not names_match(typed_name or "", tenant.full_name):
        raise field_error(
            "typed_name",
            _(
                "The name does not match the tenant's account name, %(name)s. "
                "Check the form and type the name as signed.",
                name=tenant.full_name,
            ),
        )
    received_on = business_date(evidence.received_at)
    published_on = business_date(version.published_at)
    if signed_on > received_on or signed_on < published_on:
        raise field_error(
            "signed_on",
            _(
                "The signing date must lie between %(start)s, when this version "
                "was published, and today.",
                start=published_on.isoformat(),
            ),
        )
    if queries.tenancy_for_acceptance(tenant, staff.corporation_id) is None:
        raise no_tenancy()
    # NOTE: the scan is written before the transaction commits, so a failed
    # commit leaves the file without a record.
    stored = store_image(scan, field="scan", folder=SCAN_FOLDER)
    acceptance = _add_acceptance(
        tenant,
        version,
        typed_name=typed_name,
        channel=Channel.PAPER,
        recorded_by=staff,
        evidence=evidence,
        paper_signed_on=signed_on,
        scan_name=stored.name,
        scan_mime_type=stored.mime_type,
        scan_sha256=stored.sha256,
    )
    return acceptance


def _add_acceptance(
    tenant: User,
    version: BriefingVersion,
    *,
    typed_name: str,
    channel: Channel,
    recorded_by: User,
    evidence: Evidence,
    **paper: object,
) -> Acceptance:
    corporation_id = version.briefing.corporation_id
    tenancy = queries.tenancy_for_acceptance(tenant, corporation_id)
    if tenancy is None:
        raise no_tenancy()
    acceptance = Acceptance(
        briefing_id=version.briefing_id,
        version_id=version.id,
        tenant_id=tenant.id,
        tenancy_id=tenancy.id,
        unit_id=tenancy.unit_id,
        locale=version.locale,
        text_sha256=version.text_sha256,
        rendered_sha256=version.html_sha256,
        typed_name=" ".join(typed_name.split())[:200],
        accepted_at=evidence.received_at,
        **evidence_columns(evidence, channel=channel, recorded_by=recorded_by),
        **paper,
    )
    db.session.add(acceptance)
    db.session.flush()
    record_audit(
        "briefing.accepted",
        actor=recorded_by,
        corporation_id=corporation_id,
        subject=f"briefing_acceptance:{acceptance.id}",
        tenant_id=tenant.id,
        version_id=version.id,
        channel=channel.value,
    )
    logger.info(
        "acceptance %s of version %s for tenant %s recorded by user %s (%s)",
        acceptance.id,
        version.id,
        tenant.id,
        recorded_by.id,
        channel.value,
    )
    return acceptance


def _acceptable_version(tenant: User, version_id: int) -> BriefingVersion:
    version = db.session.get(BriefingVersion, version_id)
    if version is None or version.briefing.corporation_id != tenant.corporation_id:
        raise NotFound(_("Briefing not found."))
    if not tenant.has_role(Role.TENANT):
        raise NotFound(_("Briefing not found."))
    current = queries.current_version_number(version.briefing_id)
    if current is not None and version.version_number < current:
        raise RuleViolation(
            _("A newer version of this briefing applies. Read and accept that one."),
            code="briefing_version_superseded",
        )
    return version


def acceptance_evidence(acceptance_id: int) -> dict:
    """Return the evidence of an acceptance as plain data for staff pages.

    The caller checks that the viewer may see it; an unknown id raises NotFound.
    """
    acceptance = db.session.get(Acceptance, acceptance_id)
    if acceptance is None:
        raise NotFound(_("Acceptance not found."))
    version = acceptance.version
    withdrawal = acceptance.withdrawal
    return {
        "acceptance_id": acceptance.id,
        "briefing_id": acceptance.briefing_id,
        "briefing_code": acceptance.briefing.code,
        "version_id": version.id,
        "version_number": version.version_number,
        "title": version.title,
        "is_material": version.is_material,
        "effective_from": version.effective_from,
        "text_sha256": acceptance.text_sha256,
        "rendered_sha256": acceptance.rendered_sha256,
        "accepted_at": acceptance.accepted_at,
        "locale": acceptance.locale,
        "channel": acceptance.channel.value,
        "typed_name": acceptance.typed_name,
        "tenant_id": acceptance.tenant_id,
        "recorded_by_id": acceptance.recorded_by_id,
        "withdrawn_at": withdrawal.withdrawn_at if withdrawal else None,
    }
