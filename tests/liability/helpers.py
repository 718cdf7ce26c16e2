"""``create_*`` helpers for liability tests, built through the real services."""

from datetime import date, timedelta

from klusbank.accounts.models import User
from klusbank.db import utcnow
from klusbank.housing.models import Corporation
from liability import services
from liability.models import Acceptance, Briefing, BriefingVersion

BODY = """Wear gloves when you **pick up litter**.

- Do not climb ladders higher than 1.5 metres.
- Never touch electrical installations.

Call the caretaker on 010 123 4567 when something is unsafe.
"""


def create_briefing(corporation: Corporation, code: str = "tuin") -> Briefing:
    return services.create_briefing(corporation, code, actor=None)


def publish(
    briefing: Briefing,
    *,
    locale: str = "nl",
    title: str = "Werken in de tuin",
    body: str = BODY,
    is_material: bool | None = None,
    summary: str = "",
    effective_from: date | None = None,
    version_number: int | None = None,
    published_days_ago: int = 0,
) -> BriefingVersion:
    """Publish a version; ``published_days_ago`` backdates it to build history."""
    published_at = utcnow() - timedelta(days=published_days_ago)
    draft = services.prepare_version(
        briefing,
        locale=locale,
        title=title,
        body=body,
        is_material=is_material,
        change_summary=summary,
        effective_from=effective_from,
        version_number=version_number,
        today=published_at.date(),
    )
    return services.publish_version(
        briefing, draft, actor=None, published_at=published_at
    )


def evidence(**overrides) -> services.Evidence:
    values = {
        "received_at": utcnow(),
        "ip_address": "192.0.2.10",
        "user_agent": "pytest browser",
        "login_method": "password",
        "session_sha256": "0" * 64,
    }
    values.update(overrides)
    return services.Evidence(**values)


def accept(tenant: User, version: BriefingVersion, **overrides) -> Acceptance:
    return services.accept_version(
        tenant,
        version.id,
        typed_name=tenant.full_name,
        confirmed_read=True,
        shown_html_sha256=version.html_sha256,
        evidence=evidence(**overrides),
    )
