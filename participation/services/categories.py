"""Administrator changes: chore categories and the participation settings."""

import logging
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from klusbank.accounts.models import Role, User
from klusbank.accounts.services import record_audit
from klusbank.db import utcnow
from klusbank.errors import InvalidInput, NotFound
from klusbank.extensions import db
from liability.models import Briefing
from participation import limits
from participation.models import ChoreCategory, ParticipationSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CategoryFields:
    """The fields an administrator sets on a chore category."""

    name_nl: str
    name_en: str
    description: str
    briefing_id: int | None
    default_points: int
    default_places: int
    is_active: bool = True


def create_category(actor: User, fields: CategoryFields) -> ChoreCategory:
    """Create a chore category in the administrator's corporation."""
    _require_admin(actor)
    _check_category_fields(actor, fields, category_id=None)
    category = ChoreCategory(corporation_id=actor.corporation_id)
    _apply(category, fields)
    db.session.add(category)
    db.session.flush()
    record_audit(
        "chore_category.created", actor=actor, subject=f"chore_category:{category.id}"
    )
    logger.info("chore category %s created by user %s", category.id, actor.id)
    return category


def update_category(
    actor: User, category_id: int, fields: CategoryFields
) -> ChoreCategory:
    """Change a chore category; chores already posted keep their own terms."""
    _require_admin(actor)
    category = db.session.get(ChoreCategory, category_id)
    if category is None or category.corporation_id != actor.corporation_id:
        raise NotFound(_("Category not found."))
    _check_category_fields(actor, fields, category_id=category.id)
    _apply(category, fields)
    db.session.flush()
    record_audit(
        "chore_category.updated", actor=actor, subject=f"chore_category:{category.id}"
    )
    logger.info("chore category %s updated by user %s", category.id, actor.id)
    return category


def update_settings(
    actor: User, *, second_approval_above_points: int | None
) -> ParticipationSettings:
    """Set the points above which an approval needs a second approver."""
    if not actor.has_role(Role.ADMIN, Role.FINANCE):
        raise NotFound(_("Page not found."))
    if second_approval_above_points is not None and not (
        0 <= second_approval_above_points <= limits.MAX_REWARD_POINTS
    ):
        message = _(
            "Enter a number of points from 0 to %(max)d, or leave it empty.",
            max=limits.MAX_REWARD_POINTS,
        )
        raise InvalidInput(message, errors={"second_approval_above_points": [message]})
    settings = db.session.get(ParticipationSettings, actor.corporation_id)
    if settings is None:
        settings = ParticipationSettings(corporation_id=actor.corporation_id)
        db.session.add(settings)
    before = settings.second_approval_above_points
    settings.second_approval_above_points = second_approval_above_points
    settings.updated_at = utcnow()
    settings.updated_by_id = actor.id
    db.session.flush()
    record_audit(
        "participation.settings_changed",
        actor=actor,
        subject=f"corporation:{actor.corporation_id}",
        before=before,
        after=second_approval_above_points,
    )
    return settings


def _require_admin(actor: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise NotFound(_("Page not found."))


def _check_category_fields(
    actor: User, fields: CategoryFields, *, category_id: int | None
) -> None:
    errors: dict[str, list[str]] = {}
    for name, value in (("name_nl", fields.name_nl), ("name_en", fields.name_en)):
        text = value.strip()
        if not 2 <= len(text) <= limits.CATEGORY_NAME_MAX_LENGTH:
            errors[name] = [
                _(
                    "Enter a name of 2 to %(max)d characters.",
                    max=limits.CATEGORY_NAME_MAX_LENGTH,
                )
            ]
    if len(fields.description) > limits.DESCRIPTION_MAX_LENGTH:
        errors["description"] = [
            _(
                "Shorten the description to %(max)d characters.",
                max=limits.DESCRIPTION_MAX_LENGTH,
            )
        ]
    if not 1 <= fields.default_points <= limits.MAX_REWARD_POINTS:
        errors["default_points"] = [
            _("Enter 1 to %(max)d points.", max=limits.MAX_REWARD_POINTS)
        ]
    if not 1 <= fields.default_places <= limits.MAX_PLACES:
        errors["default_places"] = [
            _("Enter 1 to %(max)d places.", max=limits.MAX_PLACES)
        ]
    if fields.briefing_id is not None:
        briefing = db.session.get(Briefing, fields.briefing_id)
        if briefing is None or briefing.corporation_id != actor.corporation_id:
            errors["briefing_id"] = [_("Choose a briefing of your corporation.")]
    duplicate = db.session.scalar(
        select(ChoreCategory.id).where(
            ChoreCategory.corporation_id == actor.corporation_id,
            ChoreCategory.name_nl == fields.name_nl.strip(),
            ChoreCategory.id != (category_id or 0),
        )
    )
    if duplicate is not None and "name_nl" not in errors:
        errors["name_nl"] = [_("Another category already has this name.")]
    if errors:
        raise InvalidInput(_("Some fields are invalid."), errors=errors)


def _apply(category: ChoreCategory, fields: CategoryFields) -> None:
    category.name_nl = fields.name_nl.strip()
    category.name_en = fields.name_en.strip()
    category.description = fields.description.strip()
    category.briefing_id = fields.briefing_id
    category.default_points = fields.default_points
    category.default_places = fields.default_places
    category.is_active = fields.is_active
