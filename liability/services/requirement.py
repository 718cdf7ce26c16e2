"""The check participation makes before a claim: is the current briefing accepted?"""

import logging

from flask import current_app, has_request_context, request, url_for
from flask_babel import gettext as _

from klusbank.accounts.models import User
from klusbank.errors import RuleViolation
from klusbank.security import is_safe_redirect
from liability import queries
from liability.models import (
    Acceptance,
)
from liability.services.common import (
    briefing_of,
)

logger = logging.getLogger(__name__)


def require_current_acceptance(
    tenant: User, briefing_id: int, *, next_url: str | None = None
) -> Acceptance:
    """Return the acceptance that covers the briefing's current material version.

    Raises RuleViolation with code ``briefing_required`` and a link to the
    briefing page when the tenant never accepted, withdrew, or accepted a
    version that a material version has since replaced. Raises code
    ``briefing_unavailable`` when no version is in effect yet, and NotFound
    for a briefing of another corporation. ``next_url`` is where the briefing
    page returns after acceptance; by default the current page.
    """
    briefing = briefing_of(tenant, briefing_id)
    status = queries.briefing_status(tenant, briefing)
    if status.is_covered:
        return status.latest_acceptance
    if status.standing is queries.Standing.UNAVAILABLE:
        raise RuleViolation(
            _("The safety briefing for this work is not published yet."),
            code="briefing_unavailable",
        )
    messages = {
        queries.Standing.NOT_ACCEPTED: _(
            "Read and accept the safety briefing before you claim this work."
        ),
        queries.Standing.WITHDRAWN: _(
            "You withdrew your acceptance of the safety briefing. Accept it again "
            "before you claim this work."
        ),
        queries.Standing.OUTDATED: _(
            "The safety briefing has changed. Read and accept the new version "
            "before you claim this work."
        ),
    }
    raise RuleViolation(
        messages[status.standing],
        code="briefing_required",
        link=briefing_link(briefing.id, next_url or _return_path()),
    )


def briefing_link(briefing_id: int, next_url: str | None) -> str:
    """Return the path of the tenant's briefing page, returning to ``next_url``."""
    values: dict[str, object] = {"briefing_id": briefing_id}
    if next_url and is_safe_redirect(next_url):
        values["next"] = next_url
    if has_request_context():
        return url_for("liability.briefing", **values)
    # Jobs and the demo seed claim without a request, where url_for needs a
    # SERVER_NAME; a path relative to the site root serves them as well.
    adapter = current_app.url_map.bind(
        "localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/"
    )
    return adapter.build("liability.briefing", values)


def _return_path() -> str | None:
    # A claim is usually a POST, which cannot be repeated by a link, so the
    # page that sent the form (the Referer, when it is on this site) is used.
    if not has_request_context():
        return None
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = request.referrer or ""
    prefix = request.host_url
    if referrer.startswith(prefix):
        return "/" + referrer[len(prefix) :]
    return None
