"""Marshmallow schemas of the rewards engine's JSON API."""

from marshmallow import Schema, fields


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
