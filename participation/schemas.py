"""Marshmallow schemas of the participation API, and strict JSON body parsing.

Input is strict: unknown fields raise (nested ones too), numbers must be JSON
numbers and booleans JSON booleans, every integer and string is bounded, and
datetimes must carry a UTC offset. Python's ``json`` module accepts NaN and
Infinity; the body parser reads them as a value no field accepts, so the
error names the field. It also rejects an object that repeats a key.
"""

import json
from decimal import Decimal
from typing import Any

from flask import request
from flask_babel import gettext as _
from marshmallow import RAISE, Schema, fields, validate

from klusbank.errors import InvalidInput
from participation import limits
from participation.models import (
    AWAITING_REVIEW,
    ClaimStatus,
    ProofKind,
    Recurrence,
    RewardMode,
)
from participation.queries import ChoreSort, ChoreState

MAX_ID = 2**31 - 1
# Enough for every field of every participation request, with room to spare.
MAX_JSON_BODY_BYTES = 64 * 1024


class StrictSchema(Schema):
    """A schema that rejects unknown fields."""

    class Meta:
        unknown = RAISE


class StrictDecimal(fields.Decimal):
    """A decimal that must arrive as a JSON number, never as a string or boolean."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """A boolean that must be JSON true or false, never 0, 1 or a string."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


def load_json(schema: Schema) -> dict[str, Any]:
    """Parse the request's JSON body with ``schema``; an empty body counts as ``{}``.

    Raises InvalidInput for a body that is not a JSON object, and marshmallow's
    ValidationError (a 422 with field messages) for invalid fields.
    """
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BODY_BYTES:
        raise InvalidInput(_("The request body is too large."))
    if not raw.strip():
        return schema.load({})
    if not request.is_json:
        raise InvalidInput(
            _("Send the body as JSON with the header Content-Type: application/json.")
        )
    try:
        data = json.loads(
            raw,
            parse_constant=NonFiniteNumber,
            parse_float=Decimal,
            object_pairs_hook=_object_without_duplicates,
        )
    except DuplicateKey as error:
        raise InvalidInput(
            _("Some fields are invalid."),
            errors={error.key: [_("Give this field once.")]},
        )
    except (ValueError, RecursionError):
        raise InvalidInput(_("The request body is not valid JSON."))
    if not isinstance(data, dict):
        raise InvalidInput(_("Send a JSON object as the request body."))
    return schema.load(data)


class NonFiniteNumber:
    """NaN, Infinity or -Infinity read from a request body.

    No field type accepts it, so schema validation names the field that held
    it, where a parse error could not.
    """

    def __init__(self, literal: str):
        self.literal = literal

    def __repr__(self) -> str:
        return self.literal


class DuplicateKey(ValueError):
    """A JSON object names the same key twice."""

    def __init__(self, key: str):
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise DuplicateKey(key)
        data[key] = value
    return data


def load_query(schema: Schema) -> dict[str, Any]:
    """Parse the query string with ``schema``; a repeated parameter is invalid."""
    args = request.args
    repeated = [key for key in args if len(args.getlist(key)) > 1]
    if repeated:
        raise InvalidInput(
            _("Some fields are invalid."),
            errors={key: [_("Give this parameter once.")] for key in repeated},
        )
    return schema.load(args.to_dict())


# --- Input ---------------------------------------------------------------


class ChoreQuerySchema(StrictSchema):
    """Filters and order of the tenant's list of chores (query string)."""

    category_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    cluster_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    available_only = fields.Boolean(
        truthy={"true", "1"}, falsy={"false", "0"}, load_default=False
    )
    sort = fields.Enum(ChoreSort, by_value=True, load_default=ChoreSort.CLOSING)


class RepeatSchema(StrictSchema):
    """How often a new chore repeats; one chore is created per occurrence."""

    every = fields.Enum(Recurrence, by_value=True, required=True)
    occurrences = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(1, max(limits.MAX_OCCURRENCES.values())),
        metadata={"description": "At most 52 weekly or 12 monthly occurrences."},
    )


class ChoreCreateSchema(StrictSchema):
    """A chore a caretaker posts to one of their clusters."""

    cluster_id = fields.Integer(
        strict=True, required=True, validate=validate.Range(1, MAX_ID)
    )
    category_id = fields.Integer(
        strict=True, required=True, validate=validate.Range(1, MAX_ID)
    )
    title = fields.String(
        required=True,
        validate=validate.Length(limits.TITLE_MIN_LENGTH, limits.TITLE_MAX_LENGTH),
    )
    description = fields.String(
        load_default="", validate=validate.Length(max=limits.DESCRIPTION_MAX_LENGTH)
    )
    reward_points = fields.Integer(
        strict=True,
        load_default=None,
        validate=validate.Range(1, limits.MAX_REWARD_POINTS),
        metadata={"description": "Leave out to use the category's default."},
    )
    reward_mode = fields.Enum(RewardMode, by_value=True, load_default=RewardMode.EACH)
    places = fields.Integer(
        strict=True,
        load_default=None,
        validate=validate.Range(1, limits.MAX_PLACES),
        metadata={"description": "Leave out to use the category's default."},
    )
    proof = fields.Enum(ProofKind, by_value=True, load_default=ProofKind.NOTE)
    claim_opens_at = fields.AwareDateTime(required=True)
    claim_closes_at = fields.AwareDateTime(required=True)
    deadline_at = fields.AwareDateTime(required=True)
    repeat = fields.Nested(RepeatSchema, load_default=None, allow_none=True)


class EmptySchema(StrictSchema):
    """A request body without fields (``{}`` or nothing)."""


REVIEWABLE_STATUSES = [status.value for status in AWAITING_REVIEW]


def _terms_digest_field() -> fields.String:
    return fields.String(
        load_default=None,
        validate=validate.Length(1, 64),
        metadata={
            "description": (
                "The chore's `terms_digest` as the client showed it. When given, "
                "the claim is rejected with `chore_terms_changed` if the terms "
                "changed since."
            )
        },
    )


def _expected_status_field() -> fields.String:
    return fields.String(
        load_default=None,
        validate=validate.OneOf(REVIEWABLE_STATUSES),
        metadata={
            "description": (
                "The claim's status as the reviewer saw it. When the claim has "
                "moved on since, nothing changes: the claim is returned if the "
                "requested outcome holds, and 409 is returned otherwise."
            )
        },
    )


class ClaimRequestSchema(StrictSchema):
    """A claim of a place, optionally bound to the terms the client showed."""

    terms_digest = _terms_digest_field()


class ApproveSchema(StrictSchema):
    """An approval, optionally bound to the status the reviewer saw."""

    expected_status = _expected_status_field()


class SubmitSchema(StrictSchema):
    """Submitted work as JSON; send multipart/form-data to include a photo."""

    note = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=limits.NOTE_MAX_LENGTH),
    )
    hours_spent = StrictDecimal(
        load_default=None,
        allow_none=True,
        allow_nan=False,
        places=2,
        validate=validate.Range(min=0, max=limits.MAX_HOURS_SPENT, min_inclusive=False),
        # apispec would print the Decimal bounds as strings; give them as numbers.
        metadata={
            "description": "Hours spent, above 0 and at most 24, e.g. 1.5.",
            "minimum": 0,
            "exclusiveMinimum": True,
            "maximum": limits.MAX_HOURS_SPENT,
        },
    )


class SubmitFormSchema(StrictSchema):
    """Submitted work as multipart/form-data fields, beside the ``photo`` file."""

    note = fields.String(
        load_default=None, validate=validate.Length(max=limits.NOTE_MAX_LENGTH)
    )
    hours_spent = fields.String(
        load_default=None,
        validate=validate.Regexp(
            r"^\d{1,2}([.,]\d{1,2})?$",
            error="Enter hours as a number such as 1.5.",
        ),
    )
    photo = fields.Raw(
        load_default=None,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "JPEG or PNG, at most 10 MB.",
        },
    )


class RejectSchema(StrictSchema):
    """Why the work is rejected; the tenant sees the reason."""

    reason = fields.String(
        required=True,
        validate=validate.Length(
            min=limits.REASON_MIN_LENGTH, max=limits.REASON_MAX_LENGTH
        ),
    )
    expected_status = _expected_status_field()


# --- Output --------------------------------------------------------------


class NamedRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class ChoreSchema(Schema):
    """A chore as a tenant or a member of staff sees it."""

    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    cluster = fields.Nested(NamedRefSchema)
    category = fields.Nested(NamedRefSchema)
    briefing_required = fields.Boolean()
    reward_points = fields.Integer()
    reward_mode = fields.Enum(RewardMode, by_value=True)
    places = fields.Integer()
    places_left = fields.Integer()
    proof = fields.Enum(ProofKind, by_value=True)
    state = fields.Enum(ChoreState, by_value=True)
    claim_opens_at = fields.AwareDateTime()
    claim_closes_at = fields.AwareDateTime()
    deadline_at = fields.AwareDateTime()
    cancel_reason = fields.String(allow_none=True)
    own_claim_id = fields.Integer(allow_none=True)
    terms_digest = fields.String(
        metadata={"description": "Send it with a claim to claim these terms only."}
    )


class ChoreListSchema(Schema):
    chores = fields.List(fields.Nested(ChoreSchema))


class ClaimEventSchema(Schema):
    """One state change of a claim."""

    at = fields.AwareDateTime()
    from_status = fields.Enum(ClaimStatus, by_value=True, allow_none=True)
    to_status = fields.Enum(ClaimStatus, by_value=True)
    actor = fields.String(
        allow_none=True, metadata={"description": "Name; null for the system."}
    )
    reason = fields.String(allow_none=True)


class AcceptanceEvidenceSchema(Schema):
    """The briefing acceptance a claim was made under, as staff see it."""

    acceptance_id = fields.Integer()
    briefing_code = fields.String()
    version_number = fields.Integer()
    title = fields.String()
    text_sha256 = fields.String()
    accepted_at = fields.AwareDateTime()
    locale = fields.String()
    channel = fields.String()
    typed_name = fields.String()
    withdrawn_at = fields.AwareDateTime(allow_none=True)


class ClaimSchema(Schema):
    """A claim with its submission, decision, credit and history."""

    id = fields.Integer()
    chore_id = fields.Integer()
    chore_title = fields.String()
    tenant = fields.Nested(NamedRefSchema)
    status = fields.Enum(ClaimStatus, by_value=True)
    claimed_at = fields.AwareDateTime()
    submitted_at = fields.AwareDateTime(allow_none=True)
    deadline_at = fields.AwareDateTime()
    note = fields.String(allow_none=True)
    hours_spent = fields.Float(allow_none=True)
    photo_url = fields.String(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    points_credited = fields.Integer(allow_none=True)
    needs_second_approval = fields.Boolean()
    events = fields.List(fields.Nested(ClaimEventSchema))
    briefing_acceptance = fields.Nested(
        AcceptanceEvidenceSchema,
        allow_none=True,
        metadata={"description": "Staff only; null for tenants and without briefing."},
    )


class ClaimListSchema(Schema):
    claims = fields.List(fields.Nested(ClaimSchema))
