"""Portal forms for logging in, passwords, invitations and users."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
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
from wtforms.validators import DataRequired, Email, EqualTo, Length

from klusbank.accounts.models import Role

LANGUAGE_CHOICES = [SelectChoice("nl", "Nederlands"), SelectChoice("en", "English")]


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"), validators=[DataRequired(), Length(max=254)]
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=512)]
    )
    remember = BooleanField(_l("Keep me logged in on this device"))


class ChangePasswordForm(FlaskForm):
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


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(min=12, max=512)]
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[EqualTo("password", message=_l("The passwords differ."))],
    )


class LanguageForm(FlaskForm):
    locale = SelectField(choices=LANGUAGE_CHOICES)


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


ROLE_CHOICES = [
    SelectChoice(Role.TENANT.value, _l("Tenant")),
    SelectChoice(Role.CARETAKER.value, _l("Caretaker")),
    SelectChoice(Role.FINANCE.value, _l("Finance")),
    SelectChoice(Role.ADMIN.value, _l("Administrator")),
]


class UserForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    full_name = StringField(
        _l("Full name"), validators=[DataRequired(), Length(max=200)]
    )
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    roles = CheckboxListField(
        _l("Roles"), choices=ROLE_CHOICES, validators=[DataRequired()]
    )


class RolesForm(FlaskForm):
    roles = CheckboxListField(
        _l("Roles"), choices=ROLE_CHOICES, validators=[DataRequired()]
    )


class ApiTokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])


class ClustersForm(FlaskForm):
    cluster_id = CheckboxListField(_l("Clusters"), coerce=int, choices=[])


class ConfirmForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, I am sure"),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
