"""Portal forms of the liability domain."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from klusbank.forms import PortalForm
from liability.models import LOCALES
from liability.services import MAX_BODY_LENGTH, MAX_TITLE_LENGTH, names_match

LOCALE_NAMES = {"nl": "Nederlands", "en": "English"}
LOCALE_CHOICES = [SelectChoice(code, LOCALE_NAMES[code]) for code in LOCALES]


class AcceptForm(PortalForm):
    """The tenant's acceptance: a read confirmation and their typed full name."""

    version_id = HiddenField(validators=[DataRequired()])
    shown_sha256 = HiddenField(validators=[DataRequired(), Length(min=64, max=64)])
    next = HiddenField()
    confirm_read = BooleanField(
        _l("I have read this safety briefing and I will follow it.")
    )
    full_name = StringField(
        _l("Your full name"), validators=[DataRequired(), Length(max=200)]
    )

    def __init__(self, *args, account_name: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.account_name = account_name

    def validate_confirm_read(self, field) -> None:
        if not field.data:
            raise ValidationError(
                _l("Tick the box to confirm that you have read the briefing.")
            )

    def validate_full_name(self, field) -> None:
        if not names_match(field.data or "", self.account_name):
            raise ValidationError(
                _l(
                    "The name you typed does not match the name on your account, "
                    "%(name)s. Type your full name as shown.",
                    name=self.account_name,
                )
            )


class WithdrawForm(PortalForm):
    """The tenant's withdrawal of their acceptance, with an optional reason."""

    reason = TextAreaField(
        _l("Reason (optional)"), validators=[Optional(), Length(max=2000)]
    )


class VersionForm(PortalForm):
    """A new version of a briefing, or a translation of an existing one."""

    code = StringField(
        _l("Code of the new briefing"),
        validators=[Optional(), Length(max=64)],
        description=_l("Lower-case letters, digits and hyphens, such as tuin."),
    )
    version_number = IntegerField(_l("Translation of version"), validators=[Optional()])
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES)
    title = StringField(
        _l("Title"), validators=[DataRequired(), Length(max=MAX_TITLE_LENGTH)]
    )
    body = TextAreaField(
        _l("Text (Markdown)"),
        validators=[DataRequired(), Length(max=MAX_BODY_LENGTH)],
        render_kw={"rows": 20},
    )
    change = RadioField(
        _l("Kind of change"),
        choices=[
            SelectChoice(
                "material", _l("Material: tenants must accept this version again")
            ),
            SelectChoice("cosmetic", _l("Cosmetic: earlier acceptances stay valid")),
        ],
        validators=[Optional()],
    )
    change_summary = TextAreaField(
        _l("What changed"), validators=[Optional(), Length(max=2000)]
    )
    effective_from = DateField(_l("Takes effect on"), validators=[Optional()])
    previewed_sha256 = HiddenField()

    @property
    def is_material(self) -> bool | None:
        return {"material": True, "cosmetic": False}.get(self.change.data or "")


class PaperAcceptanceForm(PortalForm):
    """A signed paper briefing form that a caretaker records with its scan."""

    tenant_id = SelectField(_l("Tenant"), coerce=int, validators=[DataRequired()])
    version_id = SelectField(
        _l("Version on the form"), coerce=int, validators=[DataRequired()]
    )
    typed_name = StringField(
        _l("Name as signed"), validators=[DataRequired(), Length(max=200)]
    )
    signed_on = DateField(_l("Signed on"), validators=[DataRequired()])
    scan = FileField(
        _l("Scan or photo of the signed form (JPEG or PNG)"),
        validators=[FileRequired()],
    )
    checked = BooleanField(
        _l("I checked that the form is complete and signed by this tenant.")
    )

    def validate_checked(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Confirm that you checked the form."))


class PaperWithdrawalForm(PortalForm):
    """A withdrawal that a tenant handed in on paper."""

    tenant_id = SelectField(_l("Tenant"), coerce=int, validators=[DataRequired()])
    reason = TextAreaField(
        _l("Reason given"), validators=[Optional(), Length(max=2000)]
    )
