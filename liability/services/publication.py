"""Create briefings, and prepare and publish their versions."""

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from klusbank.accounts.models import Role, User
from klusbank.accounts.services import record_audit
from klusbank.db import utcnow
from klusbank.errors import InvalidInput, NotFound, RuleViolation, field_error
from klusbank.extensions import db
from klusbank.housing.models import Corporation
from klusbank.timeutil import business_date
from liability import queries
from liability.models import (
    LOCALES,
    Briefing,
    BriefingVersion,
)
from liability.rendering import (
    canonical_text,
    canonical_title,
    html_sha256,
    render_document,
    text_sha256,
)

logger = logging.getLogger(__name__)

CODE_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_TITLE_LENGTH = 200
MAX_BODY_LENGTH = 50_000


@dataclass(frozen=True)
class VersionDraft:
    """A validated version, rendered and hashed, ready to preview or publish."""

    briefing_id: int | None
    version_number: int
    locale: str
    title: str
    body_markdown: str
    rendered_html: str
    text_sha256: str
    html_sha256: str
    effective_from: date
    is_material: bool
    change_summary: str

    @property
    def fingerprint(self) -> str:
        """Return a SHA-256 of everything a preview shows, to compare at publication."""
        parts = (
            self.text_sha256,
            self.html_sha256,
            str(self.version_number),
            self.locale,
            self.effective_from.isoformat(),
            str(self.is_material),
            self.change_summary,
        )
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def create_briefing(
    corporation: Corporation, code: str, *, actor: User | None
) -> Briefing:
    """Create an empty briefing with a stable code."""
    _check_admin(actor, corporation.id)
    code = code.strip()
    check_briefing_code(corporation.id, code)

    briefing = Briefing(corporation_id=corporation.id, code=code)
    db.session.add(briefing)
    db.session.flush()
    record_audit(
        "briefing.created",
        actor=actor,
        corporation_id=corporation.id,
        subject=f"briefing:{briefing.id}",
        code=code,
    )
    logger.info(
        "briefing %s (%s) created in corporation %s", briefing.id, code, corporation.id
    )
    return briefing


def check_briefing_code(corporation_id: int, code: str) -> None:
    """Raise InvalidInput unless ``code`` is a well-formed code not yet in use."""
    if not CODE_PATTERN.fullmatch(code):
        raise field_error(
            "code",
            _(
                "Use 1 to 64 lower-case letters, digits and hyphens for the code, "
                "such as tuin or trappenhuis."
            ),
        )
    if queries.briefing_by_code(corporation_id, code) is not None:
        raise field_error("code", _("A briefing with code %(code)s exists.", code=code))


def prepare_version(
    briefing: Briefing,
    *,
    locale: str,
    title: str,
    body: str,
    is_material: bool | None,
    change_summary: str,
    effective_from: date | None,
    version_number: int | None = None,
    today: date | None = None,
) -> VersionDraft:
    """Validate, render and hash a new version's text without saving it.

    Without ``version_number`` the draft is the next version. With it, the
    draft adds this locale's text to that existing version, and takes over
    its effective date and material flag.
    """
    today = today or business_date(utcnow())
    errors: dict[str, list[str]] = {}
    if locale not in LOCALES:
        errors["locale"] = [_("Choose Dutch (nl) or English (en).")]
    title = canonical_title(title or "")
    if not title:
        errors["title"] = [_("Enter a title.")]
    elif len(title) > MAX_TITLE_LENGTH:
        errors["title"] = [
            _("Use at most %(count)d characters for the title.", count=MAX_TITLE_LENGTH)
        ]
    body = canonical_text(body or "")
    if not body.strip():
        errors["body"] = [_("Enter the text of the briefing.")]
    elif len(body) > MAX_BODY_LENGTH:
        errors["body"] = [
            _("Use at most %(count)d characters for the text.", count=MAX_BODY_LENGTH)
        ]
    summary = " ".join((change_summary or "").split())

    if version_number is None:
        number, material, effective = _next_version_terms(
            briefing, is_material, effective_from, today, errors
        )
    else:
        number, material, effective = _translation_terms(
            briefing, version_number, locale, is_material, effective_from, errors
        )
    if number > 1 and not summary:
        errors["change_summary"] = [
            _("Summarise what changed since the previous version.")
        ]
    if errors:
        raise InvalidInput(_("The version cannot be published yet."), errors=errors)

    rendered = render_document(title, body)
    return VersionDraft(
        briefing_id=briefing.id,
        version_number=number,
        locale=locale,
        title=title,
        body_markdown=body,
        rendered_html=rendered,
        text_sha256=text_sha256(title, body),
        html_sha256=html_sha256(rendered),
        effective_from=effective,
        is_material=material,
        change_summary=summary,
    )


def _next_version_terms(
    briefing: Briefing,
    is_material: bool | None,
    effective_from: date | None,
    today: date,
    errors: dict[str, list[str]],
) -> tuple[int, bool, date]:
    latest = queries.latest_version_number(briefing.id) or 0
    number = latest + 1
    effective = effective_from or today
    if effective < today:
        errors["effective_from"] = [
            _("The date is in the past. Choose today or a later date.")
        ]
    if latest:
        previous = next(iter(queries.version_texts(briefing.id, latest).values()))
        if effective < previous.effective_from:
            errors["effective_from"] = [
                _(
                    "Version %(number)d takes effect on %(day)s. Choose that date or "
                    "a later one.",
                    number=latest,
                    day=previous.effective_from.isoformat(),
                )
            ]
    if number == 1:
        if is_material is False:
            errors["is_material"] = [
                _("The first version is always material: every tenant must accept it.")
            ]
        return number, True, effective
    if is_material is None:
        errors["is_material"] = [
            _("Choose material (tenants must accept again) or cosmetic.")
        ]
    return number, bool(is_material), effective


def _translation_terms(
    briefing: Briefing,
    version_number: int,
    locale: str,
    is_material: bool | None,
    effective_from: date | None,
    errors: dict[str, list[str]],
) -> tuple[int, bool, date]:
    texts = queries.version_texts(briefing.id, version_number)
    if not texts:
        errors["version_number"] = [
            _("Version %(number)d does not exist.", number=version_number)
        ]
        return version_number, bool(is_material), effective_from or date.min
    if locale in texts:
        errors["locale"] = [
            _(
                "Version %(number)d already has a text in this language; publish a "
                "new version instead.",
                number=version_number,
            )
        ]
    existing = next(iter(texts.values()))
    if is_material is not None and is_material != existing.is_material:
        errors["is_material"] = [
            _("A translation keeps the material or cosmetic choice of its version.")
        ]
    if effective_from is not None and effective_from != existing.effective_from:
        errors["effective_from"] = [
            _(
                "A translation takes effect with its version, on %(day)s.",
                day=existing.effective_from.isoformat(),
            )
        ]
    return version_number, existing.is_material, existing.effective_from


def publish_version(
    briefing: Briefing,
    draft: VersionDraft,
    *,
    actor: User | None,
    published_at: datetime | None = None,
) -> BriefingVersion:
    """Publish a prepared version; from then on its row can never change.

    ``published_at`` defaults to now; the demo passes earlier moments to build
    a history.
    """
    _check_admin(actor, briefing.corporation_id)
    if draft.briefing_id != briefing.id:
        raise NotFound(_("Briefing not found."))

    version = BriefingVersion(
        briefing_id=briefing.id,
        version_number=draft.version_number,
        locale=draft.locale,
        title=draft.title,
        body_markdown=draft.body_markdown,
        rendered_html=draft.rendered_html,
        text_sha256=draft.text_sha256,
        html_sha256=draft.html_sha256,
        effective_from=draft.effective_from,
        is_material=draft.is_material,
        change_summary=draft.change_summary,
        published_at=published_at or utcnow(),
        published_by_id=actor.id if actor else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(version)
    except IntegrityError:
        # Another publication took the same number in the meantime.
        logger.warning(
            "version %d/%s of briefing %s was published concurrently",
            draft.version_number,
            draft.locale,
            briefing.id,
        )
        raise RuleViolation(
            _("Someone else published this version just now. Reload and try again."),
            code="version_taken",
        )
    record_audit(
        "briefing.version_published",
        actor=actor,
        corporation_id=briefing.corporation_id,
        subject=f"briefing_version:{version.id}",
        briefing=briefing.code,
        version_number=version.version_number,
        locale=version.locale,
        is_material=version.is_material,
        text_sha256=version.text_sha256,
    )
    logger.info(
        "briefing %s version %d (%s) published as %s",
        briefing.id,
        version.version_number,
        version.locale,
        version.id,
    )
    return version


def _check_admin(actor: User | None, corporation_id: int) -> None:
    # Commands run without an actor. In the portal only the corporation's
    # administrators may manage briefings.
    if actor is None:
        return
    if not actor.has_role(Role.ADMIN) or actor.corporation_id != corporation_id:
        raise NotFound(_("Briefing not found."))
