"""Portal forms of the rewards engine: payout choice, rule version, close."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from klusbank.forms import PortalForm
from rewards.engine import limits
from rewards.engine.models import PayoutMethod


class PayoutChoiceForm(PortalForm):
    method = RadioField(
        _l("How do you want to receive your reward?"),
        choices=[
            SelectChoice(
                PayoutMethod.RENT_CREDIT.value, _l("Rent credit (huurkorting)")
            ),
            SelectChoice(PayoutMethod.PAYOUT.value, _l("Payout to my bank account")),
        ],
        default=PayoutMethod.RENT_CREDIT.value,
        validators=[InputRequired()],
    )
    iban = StringField(_l("IBAN"), validators=[Optional(), Length(max=42)])
    account_holder = StringField(
        _l("Account holder's name"), validators=[Optional(), Length(max=70)]
    )
    bsn = StringField(
        _l("Citizen service number (BSN)"), validators=[Optional(), Length(max=12)]
    )
    acknowledge_tax = BooleanField(
        _l(
            "I have read that a payout is most likely taxable income and may "
            "lower a benefit I receive."
        )
    )


RANGE_MESSAGE = _l("Enter a whole number from %(min)d to %(max)d.")
OPTIONAL_RANGE_MESSAGE = _l(
    "Enter a whole number from %(min)d to %(max)d, or leave it empty."
)


def _bounded(label, name: str, **options) -> IntegerField:
    """Return an integer field limited to the range of ``name`` in limits.RULE_RANGES."""
    low, high = limits.RULE_RANGES[name]
    if name in limits.OPTIONAL_RULE_FIELDS:
        required, message = Optional(), OPTIONAL_RANGE_MESSAGE
    else:
        required, message = InputRequired(), RANGE_MESSAGE
    return IntegerField(
        label,
        validators=[required, NumberRange(min=low, max=high, message=message)],
        description=_l("Allowed: %(min)d to %(max)d.", min=low, max=high),
        **options,
    )


class RuleVersionForm(PortalForm):
    effective_from = DateField(
        _l("In force from (first day of a month)"), validators=[InputRequired()]
    )
    rent_credit_rate_cents = _bounded(
        _l("Rent credit: cents"), "rent_credit_rate_cents"
    )
    rent_credit_rate_points = _bounded(
        _l("per number of points"), "rent_credit_rate_points", default=1
    )
    payout_rate_cents = _bounded(_l("Payout: cents"), "payout_rate_cents")
    payout_rate_points = _bounded(
        _l("per number of points"), "payout_rate_points", default=1
    )
    weekend_multiplier_permille = _bounded(
        _l("Weekend multiplier (per mille, 1000 = x1)"),
        "weekend_multiplier_permille",
        default=1000,
    )
    category_multipliers = TextAreaField(
        _l("Category multipliers: one 'category code = per mille' a line"),
        validators=[Optional(), Length(max=4000)],
    )
    rent_credit_cap_month_cents = _bounded(
        _l("Rent credit cap per month (cents)"), "rent_credit_cap_month_cents"
    )
    rent_credit_cap_year_cents = _bounded(
        _l("Rent credit cap per year (cents)"), "rent_credit_cap_year_cents"
    )
    payout_cap_month_cents = _bounded(
        _l("Payout cap per month (cents)"), "payout_cap_month_cents"
    )
    payout_cap_year_cents = _bounded(
        _l("Payout cap per year (cents)"), "payout_cap_year_cents"
    )
    minimum_payout_cents = _bounded(
        _l("Minimum payout (cents)"), "minimum_payout_cents", default=0
    )
    expiry_months = _bounded(
        _l("Unsettled points expire after (months; empty: never)"), "expiry_months"
    )
    is_volunteer_allowance = BooleanField(
        _l("Payouts are a volunteer allowance paid by a tenants' association")
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class CloseForm(PortalForm):
    period = HiddenField(validators=[DataRequired()])
    confirm = BooleanField(
        _l("I have checked the preview and want to close this month now."),
        validators=[DataRequired(message=_l("Tick the box to confirm the close."))],
    )
