"""Demo data of the liability domain: three briefings with history and evidence.

The story, built through the services with moments in the past:

- ``tuin`` (garden) got a material version 2 that took effect 35 days ago.
  Most tenants accepted it again; a few still have only version 1 and must
  accept again before they claim garden work.
- ``klussen`` (small repairs) got a cosmetic version 2, so acceptances of
  version 1 stay valid. One tenant withdrew, and one accepted on paper,
  recorded by the caretaker with a scan of the signed form.
- ``trappenhuis`` (stairwell) has one version.

The briefings are stored in ``context.extra["briefings"]`` by code. The
acceptance that covers a tenant today is in
``context.extra["briefing_acceptances"]``, keyed by ``(tenant id, code)``.
"""

import hashlib
import io
import logging
from datetime import date, datetime, timedelta

from PIL import Image, ImageDraw

from klusbank.db import utcnow
from klusbank.timeutil import business_date
from liability import services
from liability.demo_texts import TEXTS
from liability.models import Acceptance, Briefing, BriefingVersion

logger = logging.getLogger(__name__)

USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.5 Safari/605.1.15",
)
# Documentation address ranges (RFC 5737), so no real client is named.
ADDRESS_PREFIXES = ("192.0.2.", "198.51.100.", "203.0.113.")
PAPER_TENANT_INDEX = 3
WITHDRAWING_TENANT_INDEX = 5


def seed(context) -> None:
    """Publish the demo briefings and record acceptances, a paper form and a withdrawal."""
    now = utcnow()
    briefings = {
        code: services.create_briefing(context.corporation, code, actor=None)
        for code in ("tuin", "klussen", "trappenhuis")
    }
    garden = {1: _publish_version(context, briefings["tuin"], 1, 150, 150, True)}
    repairs = {1: _publish_version(context, briefings["klussen"], 1, 150, 150, True)}
    stairs = _publish_version(context, briefings["trappenhuis"], 1, 120, 120, True)
    latest: dict[tuple[int, str], Acceptance] = {}

    for index, tenant in enumerate(context.tenants):
        if index % 5 != 4:
            age = _days(context, 140, 50)
            latest[tenant.id, "tuin"] = _accept(context, tenant, garden[1], now - age)
        if index % 4 != PAPER_TENANT_INDEX % 4:
            age = _days(context, 140, 25)
            latest[tenant.id, "klussen"] = _accept(
                context, tenant, repairs[1], now - age
            )
        if index % 2 == 0:
            age = _days(context, 110, 3)
            latest[tenant.id, "trappenhuis"] = _accept(
                context, tenant, stairs, now - age
            )

    repairs[2] = _publish_version(context, briefings["klussen"], 2, 20, 20, False)
    garden[2] = _publish_version(context, briefings["tuin"], 2, 45, 35, True)
    for index, tenant in enumerate(context.tenants):
        # Tenants with index % 7 == 3 keep only version 1 and must accept again.
        if (tenant.id, "tuin") not in latest:
            continue
        if index % 7 == 3:
            del latest[tenant.id, "tuin"]
            continue
        age = _days(context, 34, 2)
        latest[tenant.id, "tuin"] = _accept(context, tenant, garden[2], now - age)

    paper = _paper_acceptance(context, repairs[2], now)
    latest[paper.tenant_id, "klussen"] = paper
    withdrawn = context.tenants[WITHDRAWING_TENANT_INDEX]
    services.withdraw_acceptance(
        withdrawn,
        briefings["klussen"].id,
        reason="Ik heb last van mijn rug en doe voorlopig geen reparaties.",
        evidence=_evidence(context, now - timedelta(days=9)),
    )
    del latest[withdrawn.id, "klussen"]

    context.extra["briefings"] = briefings
    context.extra["briefing_acceptances"] = latest
    logger.info(
        "demo liability seeded: %d briefings, %d current acceptances",
        len(briefings),
        len(latest),
    )


def _publish_version(
    context,
    briefing: Briefing,
    number: int,
    published_ago: int,
    effective_ago: int,
    is_material: bool,
) -> list[BriefingVersion]:
    """Publish version ``number`` in every locale it has a text for."""
    published_at = utcnow() - timedelta(days=published_ago)
    effective_from = context.today - timedelta(days=effective_ago)
    texts = []
    for locale in ("nl", "en"):
        if (briefing.code, number, locale) not in TEXTS:
            continue
        title, body, summary = TEXTS[briefing.code, number, locale]
        draft = services.prepare_version(
            briefing,
            locale=locale,
            title=title,
            body=body,
            is_material=is_material,
            change_summary=summary,
            effective_from=effective_from,
            version_number=number if texts else None,
            today=business_date(published_at),
        )
        texts.append(
            services.publish_version(
                briefing, draft, actor=context.admin, published_at=published_at
            )
        )
    return texts


def _days(context, oldest: int, newest: int) -> timedelta:
    """Return a random age between ``newest`` and ``oldest`` days, in minutes."""
    minutes = context.rng.randrange(newest * 24 * 60, oldest * 24 * 60)
    return timedelta(minutes=minutes)


def _evidence(context, at: datetime) -> services.Evidence:
    session_id = context.rng.randbytes(18)
    return services.Evidence(
        received_at=at,
        ip_address=context.rng.choice(ADDRESS_PREFIXES)
        + str(context.rng.randrange(1, 255)),
        user_agent=context.rng.choice(USER_AGENTS),
        login_method="password",
        session_sha256=hashlib.sha256(session_id).hexdigest(),
    )


def _accept(context, tenant, texts: list[BriefingVersion], at: datetime) -> Acceptance:
    by_locale = {version.locale: version for version in texts}
    version = by_locale.get(tenant.locale, texts[0])
    return services.accept_version(
        tenant,
        version.id,
        typed_name=tenant.full_name,
        confirmed_read=True,
        shown_html_sha256=version.html_sha256,
        evidence=_evidence(context, at),
    )


def _paper_acceptance(context, texts: list[BriefingVersion], now: datetime):
    """Record a signed paper form for a tenant who does not use the portal."""
    tenant = context.tenants[PAPER_TENANT_INDEX]
    caretaker = context.caretakers[0]
    recorded_at = now - timedelta(days=6, hours=3)
    evidence = _evidence(context, recorded_at)
    return services.record_paper_acceptance(
        caretaker,
        tenant.id,
        texts[0].id,
        typed_name=tenant.full_name,
        signed_on=business_date(recorded_at) - timedelta(days=2),
        scan=_scan_image(tenant.full_name, business_date(recorded_at)),
        evidence=evidence,
    )


def _scan_image(name: str, day: date) -> bytes:
    """Draw a simple picture of a signed form, standing in for a real scan."""
    image = Image.new("L", (620, 820), 250)
    draw = ImageDraw.Draw(image)
    draw.text((40, 40), "Veiligheidsinstructie - kleine reparaties", fill=20)
    for line in range(12):
        draw.line((40, 100 + line * 30, 580, 100 + line * 30), fill=170, width=2)
    draw.text((40, 520), f"Naam: {name}", fill=20)
    draw.text((40, 560), f"Datum: {day.isoformat()}", fill=20)
    draw.text((40, 600), "Handtekening:", fill=20)
    draw.line((160, 640, 360, 610, 420, 650, 520, 600), fill=30, width=3)
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()
