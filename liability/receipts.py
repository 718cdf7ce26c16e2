"""PDF receipts of acceptances and printable paper briefing forms.

Both are rendered by ``klusbank.pdf.render_pdf`` from plain data. The
briefing text goes in as the sanitised HTML stored with the version, so the
PDF shows exactly what tenants are shown in the portal.
"""

import logging

from flask import Response
from markupsafe import Markup

from klusbank.pdf import render_pdf
from liability.models import Acceptance, BriefingVersion

logger = logging.getLogger(__name__)


def version_data(version: BriefingVersion) -> dict:
    """Return the plain data of a version that receipts and forms print."""
    return {
        "id": version.id,
        "briefing_code": version.briefing.code,
        "corporation_name": version.briefing.corporation.name,
        "version_number": version.version_number,
        "locale": version.locale,
        "title": version.title,
        # The stored HTML was sanitised by nh3 when the version was published.
        "html": Markup(version.rendered_html),
        "text_sha256": version.text_sha256,
        "html_sha256": version.html_sha256,
        "effective_from": version.effective_from,
        "is_material": version.is_material,
    }


def receipt_data(acceptance: Acceptance) -> dict:
    """Return the plain data printed on an acceptance receipt."""
    withdrawal = acceptance.withdrawal
    return {
        "acceptance_id": acceptance.id,
        "version": version_data(acceptance.version),
        "tenant_name": acceptance.tenant.full_name,
        "typed_name": acceptance.typed_name,
        "unit_address": acceptance.unit.address,
        "unit_reference": acceptance.unit.external_id,
        "accepted_at": acceptance.accepted_at,
        "accepted_at_utc": acceptance.accepted_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "channel": acceptance.channel.value,
        "recorded_by_name": acceptance.recorded_by.full_name,
        "paper_signed_on": acceptance.paper_signed_on,
        "text_sha256": acceptance.text_sha256,
        "rendered_sha256": acceptance.rendered_sha256,
        "ip_address": acceptance.ip_address,
        "login_method": acceptance.login_method,
        "withdrawn_at": withdrawal.withdrawn_at if withdrawal else None,
    }


def render_receipt(acceptance: Acceptance) -> bytes:
    """Render the PDF receipt of an acceptance in the language of its text."""
    return render_pdf(
        "liability/receipt.html", acceptance.locale, receipt=receipt_data(acceptance)
    )


def receipt_response(acceptance: Acceptance) -> Response:
    """Return the receipt as a PDF download."""
    pdf = render_receipt(acceptance)
    logger.info("receipt of acceptance %s rendered", acceptance.id)
    name = f"briefing-receipt-{acceptance.id}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def render_paper_form(version: BriefingVersion) -> bytes:
    """Render a printable form of a version for a tenant to sign on paper."""
    return render_pdf(
        "liability/paper_form.html", version.locale, version=version_data(version)
    )
