"""Marshmallow schemas of the liability API.

Input is strict: unknown fields raise, booleans must be JSON true or false,
and strings are bounded.
"""

from typing import Any

from flask import request
from flask_babel import gettext as _
from marshmallow import RAISE, Schema, fields, validate

from klusbank.errors import InvalidInput

# Far more than any acceptance or withdrawal body needs.
MAX_JSON_BODY_BYTES = 16 * 1024


class StrictSchema(Schema):
    """A schema that rejects unknown fields."""

    class Meta:
        unknown = RAISE


class StrictBoolean(fields.Boolean):
    """A boolean that must be JSON true or false, never 0, 1 or a string."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class AcceptanceRequestSchema(StrictSchema):
    """The tenant's acceptance of the version they were shown."""

    version_id = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1)
    )
    shown_html_sha256 = fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9a-f]{64}$"),
        metadata={"description": "The `html_sha256` of the text the tenant read."},
    )
    confirm_read = StrictBoolean(required=True)
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class WithdrawalRequestSchema(StrictSchema):
    """The tenant's withdrawal, with an optional reason."""

    reason = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=2000)
    )


class VersionSchema(Schema):
    """A published briefing version in one language."""

    id = fields.Integer()
    version_number = fields.Integer()
    locale = fields.String()
    title = fields.String()
    body_markdown = fields.String()
    rendered_html = fields.String(
        metadata={"description": "Sanitised HTML, exactly as the portal shows it."}
    )
    text_sha256 = fields.String()
    html_sha256 = fields.String()
    effective_from = fields.Date()
    is_material = fields.Boolean()
    change_summary = fields.String()


class BriefingSchema(Schema):
    """A briefing with the caller's standing and the version to read."""

    id = fields.Integer()
    code = fields.String()
    standing = fields.String(
        metadata={
            "description": "covered, not_accepted, withdrawn, outdated or unavailable."
        }
    )
    current_version_number = fields.Integer(allow_none=True)
    required_version_number = fields.Integer(allow_none=True)
    latest_acceptance_id = fields.Integer(allow_none=True)
    version = fields.Nested(VersionSchema, allow_none=True)
    upcoming_version = fields.Nested(VersionSchema, allow_none=True)


class BriefingListSchema(Schema):
    briefings = fields.List(fields.Nested(BriefingSchema))


class AcceptanceSchema(Schema):
    """The evidence of one acceptance."""

    acceptance_id = fields.Integer()
    briefing_id = fields.Integer()
    briefing_code = fields.String()
    version_id = fields.Integer()
    version_number = fields.Integer()
    title = fields.String()
    is_material = fields.Boolean()
    effective_from = fields.Date()
    text_sha256 = fields.String()
    rendered_sha256 = fields.String()
    accepted_at = fields.DateTime()
    locale = fields.String()
    channel = fields.String()
    typed_name = fields.String()
    tenant_id = fields.Integer()
    recorded_by_id = fields.Integer()
    withdrawn_at = fields.DateTime(allow_none=True)
    receipt_url = fields.String()


class WithdrawalSchema(Schema):
    id = fields.Integer()
    acceptance_id = fields.Integer()
    briefing_id = fields.Integer()
    withdrawn_at = fields.DateTime()
    reason = fields.String(allow_none=True)


def load_json(schema: Schema) -> dict[str, Any]:
    """Parse the request's JSON object body with ``schema``; an empty body is ``{}``."""
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BODY_BYTES:
        raise InvalidInput(_("The request body is too large."))
    if not raw.strip():
        return schema.load({})
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput(
            _("Send a JSON object with the header Content-Type: application/json.")
        )
    return schema.load(data)
