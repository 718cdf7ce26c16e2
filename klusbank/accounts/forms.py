"""Portal forms for logging in, passwords, invitations and users."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from klusbank.accounts.models import Role
from klusbank.forms import PortalForm

LANGUAGE_CHOICES = [SelectChoice("nl", "Nederlands"), SelectChoice("en", "English")]


class LoginForm(PortalForm):
    email = EmailField(
        _l("E-mail address"), validators=[DataRequired(), Length(max=254)]
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=512)]
    )
    remember = BooleanField(_l("Keep me logged in on this device"))


class ChangePasswordForm(PortalForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired()]
    )
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=12, max=512)]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[EqualTo("new_password", message=_l("The passwords differ."))],
    )


class SetPasswordForm(PortalForm):
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(min=12, max=512)]
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[EqualTo("password", message=_l("The passwords differ."))],
    )


class LanguageForm(PortalForm):
    locale = SelectField(choices=LANGUAGE_CHOICES)


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class AtLeastOne:
    """Require one ticked box or more in a CheckboxListField.

    DataRequired would mark every checkbox ``required``, and a browser then
    refuses to send the form unless every box is ticked.
    """

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if not field.data:
            raise ValidationError(self.message)


class EmailAddress(Email):
    """An e-mail address; outside production the reserved ``.test`` domain too.

    The demo and the tests use addresses under ``.test`` (RFC 2606), which
    email_validator rejects as a special-use name unless its
    ``test_environment`` option is set.
    """

    def __call__(self, form, field):
        self.test_environment = current_app.config["ENV"] != "production"
        super().__call__(form, field)


ROLE_CHOICES = [
    SelectChoice(Role.TENANT.value, _l("Tenant")),
    SelectChoice(Role.CARETAKER.value, _l("Caretaker")),
    SelectChoice(Role.FINANCE.value, _l("Finance")),
    SelectChoice(Role.ADMIN.value, _l("Administrator")),
]


class UserForm(PortalForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(), EmailAddress(), Length(max=254)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    full_name = StringField(
        _l("Full name"), validators=[DataRequired(), Length(max=200)]
    )
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    roles = CheckboxListField(
        _l("Roles"),
        choices=ROLE_CHOICES,
        validators=[AtLeastOne(_l("Choose at least one role."))],
    )


class RolesForm(PortalForm):
    roles = CheckboxListField(
        _l("Roles"),
        choices=ROLE_CHOICES,
        validators=[AtLeastOne(_l("Choose at least one role."))],
    )


class ApiTokenForm(PortalForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])


class ClustersForm(PortalForm):
    cluster_id = CheckboxListField(_l("Clusters"), coerce=int, choices=[])


class ConfirmForm(PortalForm):
    confirm = BooleanField(
        _l("Yes, I am sure"),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
