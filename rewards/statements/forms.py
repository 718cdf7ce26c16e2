"""Portal forms of the finance exports: payout batches and the paying account."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from klusbank.forms import PortalForm


class CreateBatchForm(PortalForm):
    execution_date = DateField(
        _l("Requested execution date"),
        validators=[Optional()],
        description=_l("Leave empty for the next working day."),
    )


class BatchPaidForm(PortalForm):
    paid_on = DateField(
        _l("Date the bank paid"),
        validators=[Optional()],
        description=_l("Leave empty for today."),
    )


class BatchFailedForm(PortalForm):
    reason = TextAreaField(
        _l("Why did the bank reject the batch?"),
        validators=[DataRequired(), Length(max=500)],
    )


class PayoutAccountForm(PortalForm):
    account_holder = StringField(
        _l("Account holder"), validators=[DataRequired(), Length(max=70)]
    )
    iban = StringField(_l("IBAN"), validators=[DataRequired(), Length(max=42)])
    bic = StringField(_l("BIC (optional)"), validators=[Optional(), Length(max=11)])
