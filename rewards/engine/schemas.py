"""Marshmallow schemas of the rewards engine's JSON API."""

from marshmallow import RAISE, Schema, fields, validate

from rewards.engine import limits
from rewards.engine.settlement import PERMILLE


class PayoutChoiceSchema(Schema):
    """A tenant's choice of rent credit or payout; bank details and BSN masked."""

    method = fields.String(
        metadata={
            "description": "rent_credit or payout.",
            "enum": ["rent_credit", "payout"],
        }
    )
    applies_from = fields.Date(
        allow_none=True,
        metadata={"description": "First day of the first month settled this way."},
    )
    account_holder = fields.String(allow_none=True)
    iban_masked = fields.String(allow_none=True)
    bsn_masked = fields.String(allow_none=True)
    next_close_period = fields.String(
        metadata={"description": "Month (YYYY-MM) that a change made now applies from."}
    )


class SettlementLineSchema(Schema):
    """One month's settlement of the tenant, with every figure of the computation."""

    id = fields.Integer()
    period = fields.String(metadata={"description": "YYYY-MM in Europe/Amsterdam."})
    kind = fields.Function(lambda line: line.kind.value)
    method = fields.Function(lambda line: line.method.value)
    rule_version_id = fields.Integer(allow_none=True)
    earned_points = fields.Integer()
    opening_points = fields.Integer()
    bonus_points = fields.Integer()
    available_points = fields.Integer()
    rate_cents = fields.Integer()
    rate_points = fields.Integer()
    uncapped_cents = fields.Integer()
    cap_month_cents = fields.Integer(allow_none=True)
    cap_year_cents = fields.Integer(allow_none=True)
    year_to_date_cents = fields.Integer()
    limited_by = fields.String(allow_none=True)
    capped_points = fields.Integer()
    minimum_payout_cents = fields.Integer()
    is_below_minimum = fields.Boolean()
    remainder_points = fields.Integer()
    converted_points = fields.Integer()
    amount_cents = fields.Integer()
    expired_points = fields.Integer()
    carried_points = fields.Integer()
    corrects_line_id = fields.Integer(allow_none=True)


class SettlementListSchema(Schema):
    settlements = fields.List(fields.Nested(SettlementLineSchema))


class StrictInteger(fields.Integer):
    """A whole number that must arrive as a JSON number, never as a string or boolean."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """A boolean that must be JSON true or false, never 0, 1 or a string."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _ranged(name: str, **options) -> StrictInteger:
    """Return an integer field limited to the range of ``name`` in limits.RULE_RANGES."""
    low, high = limits.RULE_RANGES[name]
    optional = name in limits.OPTIONAL_RULE_FIELDS
    message = f"Enter a whole number from {low} to {high}" + (
        ", or null." if optional else "."
    )
    return StrictInteger(
        validate=validate.Range(low, high, error=message),
        allow_none=optional,
        metadata={
            "description": f"{low} to {high}" + (", or null." if optional else ".")
        },
        **options,
    )


class RuleVersionCreateSchema(Schema):
    """A new rule version; the ranges are those of ``rewards.engine.limits``."""

    class Meta:
        unknown = RAISE

    effective_from = fields.Date(
        required=True,
        metadata={
            "description": "First day of the first month the version applies to."
        },
    )
    rent_credit_rate_cents = _ranged("rent_credit_rate_cents", required=True)
    rent_credit_rate_points = _ranged("rent_credit_rate_points", load_default=1)
    payout_rate_cents = _ranged("payout_rate_cents", required=True)
    payout_rate_points = _ranged("payout_rate_points", load_default=1)
    weekend_multiplier_permille = _ranged(
        "weekend_multiplier_permille", load_default=PERMILLE
    )
    category_multipliers = fields.Dict(
        keys=fields.String(
            validate=validate.Length(1, limits.CATEGORY_CODE_MAX_LENGTH)
        ),
        values=StrictInteger(
            validate=validate.Range(
                limits.MIN_MULTIPLIER_PERMILLE,
                limits.MAX_MULTIPLIER_PERMILLE,
                error="Enter a multiplier from {min} to {max} per mille.",
            )
        ),
        load_default=dict,
        metadata={"description": "Per-mille multiplier per chore category code."},
    )
    rent_credit_cap_month_cents = _ranged(
        "rent_credit_cap_month_cents", load_default=None
    )
    rent_credit_cap_year_cents = _ranged(
        "rent_credit_cap_year_cents", load_default=None
    )
    payout_cap_month_cents = _ranged("payout_cap_month_cents", load_default=None)
    payout_cap_year_cents = _ranged("payout_cap_year_cents", load_default=None)
    minimum_payout_cents = _ranged("minimum_payout_cents", load_default=0)
    expiry_months = _ranged("expiry_months", load_default=None)
    is_volunteer_allowance = StrictBoolean(load_default=False)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class RuleVersionSchema(Schema):
    """A stored rule version."""

    id = fields.Integer()
    effective_from = fields.Date()
    rent_credit_rate_cents = fields.Integer()
    rent_credit_rate_points = fields.Integer()
    payout_rate_cents = fields.Integer()
    payout_rate_points = fields.Integer()
    weekend_multiplier_permille = fields.Integer()
    category_multipliers = fields.Function(
        lambda version: {
            multiplier.category_code: multiplier.multiplier_permille
            for multiplier in version.category_multipliers
        }
    )
    rent_credit_cap_month_cents = fields.Integer(allow_none=True)
    rent_credit_cap_year_cents = fields.Integer(allow_none=True)
    payout_cap_month_cents = fields.Integer(allow_none=True)
    payout_cap_year_cents = fields.Integer(allow_none=True)
    minimum_payout_cents = fields.Integer()
    expiry_months = fields.Integer(allow_none=True)
    is_volunteer_allowance = fields.Boolean()
    note = fields.String()


class RuleVersionListSchema(Schema):
    rule_versions = fields.List(fields.Nested(RuleVersionSchema))
