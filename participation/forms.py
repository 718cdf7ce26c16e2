"""Portal forms of the participation domain (WTForms with CSRF)."""

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from klusbank.forms import PortalForm
from klusbank.timeutil import AMSTERDAM
from participation import limits
from participation.models import AWAITING_REVIEW, ProofKind, RewardMode
from participation.queries import ChoreSort

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
REVIEWABLE_STATUSES = [status.value for status in AWAITING_REVIEW]


def amsterdam_to_utc(local: datetime | None) -> datetime | None:
    """Read a naive form datetime as Amsterdam wall-clock time; return it in UTC."""
    if local is None:
        return None
    return local.replace(tzinfo=AMSTERDAM).astimezone(UTC)


def utc_to_amsterdam(moment: datetime) -> datetime:
    """Return an aware moment as naive Amsterdam wall-clock time, for a form field."""
    return moment.astimezone(AMSTERDAM).replace(tzinfo=None)


def _optional_int(value: str | int | None) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


class ActionForm(PortalForm):
    """A button that only needs the CSRF token: withdraw."""


class ClaimForm(PortalForm):
    """The claim button, with the digest of the terms the page showed."""

    terms_digest = HiddenField(validators=[Optional(), Length(max=64)])


class ReasonForm(PortalForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(),
            Length(min=limits.REASON_MIN_LENGTH, max=limits.REASON_MAX_LENGTH),
        ],
    )


class ApproveForm(PortalForm):
    """The approve button, with the claim status the page showed."""

    expected_status = HiddenField(validators=[Optional(), AnyOf(REVIEWABLE_STATUSES)])


class RejectForm(ReasonForm):
    """The rejection reason, with the claim status the page showed."""

    expected_status = HiddenField(validators=[Optional(), AnyOf(REVIEWABLE_STATUSES)])


HOURS_MESSAGE = _l("Enter the hours as a number from 0.01 to 24, such as 1.5.")


class HoursField(DecimalField):
    """A number of hours; a decimal comma, as Dutch writes it, is read too."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [value.strip().replace(",", ".") for value in valuelist]
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(str(HOURS_MESSAGE)) from error


class SubmitForm(PortalForm):
    note = TextAreaField(
        _l("What did you do?"),
        validators=[Optional(), Length(max=limits.NOTE_MAX_LENGTH)],
    )
    photo = FileField(_l("Photo (JPEG or PNG, at most 10 MB)"))
    hours_spent = HoursField(
        _l("Hours spent (optional)"),
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0.01, max=limits.MAX_HOURS_SPENT, message=HOURS_MESSAGE),
        ],
    )


class ChoreFilterForm(PortalForm):
    """Filters of the tenant's chore list; read from the query string."""

    class Meta:
        csrf = False

    category_id = SelectField(
        _l("Category"), coerce=_optional_int, validators=[Optional()]
    )
    cluster_id = SelectField(_l("Where"), coerce=_optional_int, validators=[Optional()])
    available_only = BooleanField(_l("Only chores with a free place"))
    sort = SelectField(
        _l("Sort by"),
        choices=[
            SelectChoice(ChoreSort.CLOSING.value, _l("Closing soonest")),
            SelectChoice(ChoreSort.NEWEST.value, _l("Newest")),
            SelectChoice(ChoreSort.POINTS.value, _l("Most points")),
        ],
        default=ChoreSort.CLOSING.value,
    )


class ChoreForm(PortalForm):
    # Set when the edit form is opened, and empty when a chore is posted.
    terms_digest = HiddenField(validators=[Optional(), Length(max=64)])
    cluster_id = SelectField(_l("Cluster"), coerce=int, validators=[InputRequired()])
    category_id = SelectField(_l("Category"), coerce=int, validators=[InputRequired()])
    title = StringField(
        _l("Title"),
        validators=[
            DataRequired(),
            Length(min=limits.TITLE_MIN_LENGTH, max=limits.TITLE_MAX_LENGTH),
        ],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=limits.DESCRIPTION_MAX_LENGTH)],
    )
    reward_points = IntegerField(
        _l("Reward in points"),
        validators=[Optional(), NumberRange(1, limits.MAX_REWARD_POINTS)],
    )
    reward_mode = RadioField(
        _l("Reward"),
        choices=[
            SelectChoice(RewardMode.EACH.value, _l("Each participant gets the reward")),
            SelectChoice(
                RewardMode.SHARED.value,
                _l("One pot shared among the approved participants"),
            ),
        ],
        default=RewardMode.EACH.value,
    )
    places = IntegerField(
        _l("Places"), validators=[Optional(), NumberRange(1, limits.MAX_PLACES)]
    )
    proof = RadioField(
        _l("Proof required"),
        choices=[
            SelectChoice(ProofKind.NOTE.value, _l("A note")),
            SelectChoice(ProofKind.PHOTO.value, _l("A photo")),
            SelectChoice(ProofKind.NONE.value, _l("None")),
        ],
        default=ProofKind.NOTE.value,
    )
    claim_opens_at = DateTimeLocalField(
        _l("Claims open"), format=DATETIME_FORMAT, validators=[InputRequired()]
    )
    claim_closes_at = DateTimeLocalField(
        _l("Claims close"), format=DATETIME_FORMAT, validators=[InputRequired()]
    )
    deadline_at = DateTimeLocalField(
        _l("Deadline to finish"), format=DATETIME_FORMAT, validators=[InputRequired()]
    )
    recurrence = SelectField(
        _l("Repeat"),
        choices=[
            SelectChoice("", _l("Do not repeat")),
            SelectChoice("weekly", _l("Every week")),
            SelectChoice("monthly", _l("Every month")),
        ],
        default="",
    )
    occurrences = IntegerField(
        _l("Number of occurrences"),
        default=1,
        validators=[
            Optional(),
            NumberRange(1, max(limits.MAX_OCCURRENCES.values())),
        ],
    )


class CategoryForm(PortalForm):
    name_nl = StringField(
        _l("Name in Dutch"),
        validators=[DataRequired(), Length(max=limits.CATEGORY_NAME_MAX_LENGTH)],
    )
    name_en = StringField(
        _l("Name in English"),
        validators=[DataRequired(), Length(max=limits.CATEGORY_NAME_MAX_LENGTH)],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=limits.DESCRIPTION_MAX_LENGTH)],
    )
    briefing_id = SelectField(
        _l("Safety briefing required"), coerce=_optional_int, validators=[Optional()]
    )
    default_points = IntegerField(
        _l("Default reward in points"),
        validators=[InputRequired(), NumberRange(1, limits.MAX_REWARD_POINTS)],
    )
    default_places = IntegerField(
        _l("Default number of places"),
        default=1,
        validators=[InputRequired(), NumberRange(1, limits.MAX_PLACES)],
    )
    is_active = BooleanField(
        _l("Active (caretakers can post chores in it)"), default=True
    )


class SettingsForm(PortalForm):
    second_approval_above_points = IntegerField(
        _l("Second approver needed above this many points"),
        validators=[Optional(), NumberRange(0, limits.MAX_REWARD_POINTS)],
    )
