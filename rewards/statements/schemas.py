"""Marshmallow schemas of the statements' JSON API."""

from marshmallow import Schema, fields


class StatementLinkSchema(Schema):
    """A closed month with a statement, and where to download its PDF."""

    period = fields.String(metadata={"description": "The month, YYYY-MM."})
    download_url = fields.String()


class YearlyOverviewLinkSchema(Schema):
    """An ended year with payouts, and where to download its overview PDF."""

    year = fields.Integer()
    download_url = fields.String()


class StatementListSchema(Schema):
    """The tenant's statements and yearly overviews, newest first."""

    statements = fields.List(fields.Nested(StatementLinkSchema))
    yearly_overviews = fields.List(fields.Nested(YearlyOverviewLinkSchema))


class ChoreLineSchema(Schema):
    approved_on = fields.Date()
    title = fields.String()
    points = fields.Integer()


class PointsMovementSchema(Schema):
    effective_date = fields.Date()
    kind = fields.String()
    description = fields.String()
    points = fields.Integer(metadata={"description": "Signed change of the balance."})


class ConversionSchema(Schema):
    """One settlement line: the rule version, rate, caps and what carried over."""

    kind = fields.String()
    method = fields.String(metadata={"description": "rent_credit or payout"})
    rule_version_id = fields.Integer(allow_none=True)
    rule_effective_from = fields.Date(allow_none=True)
    rate_cents = fields.Integer()
    rate_points = fields.Integer()
    opening_points = fields.Integer()
    bonus_points = fields.Integer()
    available_points = fields.Integer()
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


class MoneyAccountSchema(Schema):
    opening_cents = fields.Integer()
    credited_cents = fields.Integer()
    paid_cents = fields.Integer()
    closing_cents = fields.Integer()


class StatementSchema(Schema):
    """The figures of one monthly statement, as the PDF shows them."""

    period = fields.String()
    checksum = fields.String(
        metadata={"description": "SHA-256 of the month's snapshot."}
    )
    unit_external_id = fields.String()
    tenancy_reference = fields.String()
    opening_points = fields.Integer()
    earned_points = fields.Integer()
    closing_points = fields.Integer()
    chores = fields.List(fields.Nested(ChoreLineSchema))
    movements = fields.List(fields.Nested(PointsMovementSchema))
    conversions = fields.List(fields.Nested(ConversionSchema))
    rent_credit = fields.Nested(MoneyAccountSchema)
    payout = fields.Nested(MoneyAccountSchema)
    paid_this_year_cents = fields.Integer()
    download_url = fields.String()
