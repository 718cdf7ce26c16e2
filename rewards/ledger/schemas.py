"""Marshmallow schemas of the ledger's JSON API."""

from marshmallow import Schema, fields


class LedgerMovementSchema(Schema):
    """One posting on one of the tenant's accounts."""

    journal_id = fields.Integer()
    effective_date = fields.Date()
    recorded_at = fields.DateTime()
    kind = fields.String(attribute="journal_kind")
    account = fields.String(attribute="account_kind")
    asset = fields.String(metadata={"description": "points, or eur in cents"})
    amount = fields.Integer(
        metadata={"description": "Signed: positive adds to what the tenant is owed."}
    )
    memo = fields.String(metadata={"description": "The reason, e.g. the chore title."})
    source_type = fields.String()
    source_id = fields.String(allow_none=True)
    rule_version_id = fields.Integer(allow_none=True)
    reverses_journal_id = fields.Integer(allow_none=True)
    reversed_by_journal_id = fields.Integer(allow_none=True)


class LedgerHoldSchema(Schema):
    """An amount reserved for a payout that is not paid or voided yet."""

    id = fields.Integer()
    account = fields.String()
    asset = fields.String()
    amount = fields.Integer()
    memo = fields.String()
    source_type = fields.String()
    source_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


class LedgerBalanceSchema(Schema):
    """The tenant's balances, lifetime points, pending holds and movements."""

    points = fields.Integer(metadata={"description": "Points not yet settled."})
    lifetime_earned_points = fields.Integer(
        metadata={"description": "Points credited for approved work, net of reversals."}
    )
    rent_credit_cents = fields.Integer()
    payout_cents = fields.Integer()
    payout_available_cents = fields.Integer(
        metadata={"description": "Payout payable minus pending holds."}
    )
    pending_holds = fields.List(fields.Nested(LedgerHoldSchema))
    movements = fields.List(fields.Nested(LedgerMovementSchema))
