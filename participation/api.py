"""JSON API of the participation domain, mounted under /api/v1.

Handlers parse the input with a schema, call one service, commit once and
return the resulting object. Every view is documented for the OpenAPI document
with ``klusbank.openapi.operation``.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.errors import InvalidInput
from klusbank.extensions import db
from klusbank.openapi import ErrorSchema, operation
from participation import queries, services
from participation.models import Claim, ClaimStatus
from participation.queries import ChoreFilter, ChoreListing
from participation.schemas import (
    ApproveSchema,
    ChoreCreateSchema,
    ChoreListSchema,
    ChoreQuerySchema,
    ChoreSchema,
    ClaimListSchema,
    ClaimRequestSchema,
    ClaimSchema,
    EmptySchema,
    RejectSchema,
    SubmitFormSchema,
    SubmitSchema,
    load_json,
    load_query,
)
from participation.views.common import REVIEWERS, STAFF, locale, send_claim_photo

bp = Blueprint("participation_api", __name__)
TAGS = ["participation"]
_RULE_RESPONSE = ("Rejected by a rule; `code` names it.", ErrorSchema)


def register(api: Blueprint) -> None:
    api.register_blueprint(bp)


@bp.get("/chores")
@roles_required(Role.TENANT)
@operation(
    summary="List the open chores of the tenant's clusters",
    tags=TAGS,
    query_schema=ChoreQuerySchema,
    responses={200: ("Open chores, filtered and sorted.", ChoreListSchema)},
)
def list_chores():
    """Return the open chores of the tenant's current clusters."""
    args = load_query(ChoreQuerySchema())
    listings = queries.open_chores_for_tenant(
        current_user,
        ChoreFilter(
            category_id=args.get("category_id"),
            cluster_id=args.get("cluster_id"),
            available_only=args["available_only"],
            sort=args["sort"],
        ),
    )
    return ChoreListSchema().dump(
        {"chores": [_chore_data(listing) for listing in listings]}
    )


@bp.post("/chores")
@roles_required(Role.CARETAKER)
@operation(
    summary="Post a chore to one of the caretaker's clusters",
    description="With `repeat`, one chore is created per weekly or monthly occurrence.",
    tags=TAGS,
    request_schema=ChoreCreateSchema,
    responses={201: ("The chores created, first occurrence first.", ChoreListSchema)},
)
def post_chore():
    """Post a chore, or one per occurrence of a repeat."""
    data = load_json(ChoreCreateSchema())
    repeat = data["repeat"]
    terms = services.ChoreTerms(
        title=data["title"],
        description=data["description"],
        category_id=data["category_id"],
        reward_points=data["reward_points"],
        reward_mode=data["reward_mode"],
        places=data["places"],
        proof=data["proof"],
        claim_opens_at=data["claim_opens_at"],
        claim_closes_at=data["claim_closes_at"],
        deadline_at=data["deadline_at"],
    )
    chores = services.post_chore(
        current_user,
        data["cluster_id"],
        terms,
        recurrence=repeat["every"] if repeat else None,
        occurrences=repeat["occurrences"] if repeat else 1,
    )
    db.session.commit()
    listings = [queries.listing_for(chore) for chore in chores]
    body = ChoreListSchema().dump(
        {"chores": [_chore_data(listing) for listing in listings]}
    )
    return body, 201


@bp.get("/chores/<int:chore_id>")
@roles_required(Role.TENANT, *STAFF)
@operation(
    summary="Read one chore",
    tags=TAGS,
    responses={200: ("The chore.", ChoreSchema)},
)
def get_chore(chore_id: int):
    """Return a chore the tenant may claim or the staff member looks after."""
    chore = queries.chore_for_viewer(current_user, chore_id)
    listing = queries.listing_for(chore, viewer=current_user)
    return ChoreSchema().dump(_chore_data(listing))


@bp.post("/chores/<int:chore_id>/claims")
@roles_required(Role.TENANT)
@operation(
    summary="Claim a place on a chore",
    tags=TAGS,
    request_schema=ClaimRequestSchema,
    responses={201: ("The new claim.", ClaimSchema), 409: _RULE_RESPONSE},
)
def claim_chore(chore_id: int):
    """Claim a place; a missing briefing acceptance returns 409 with a link."""
    data = load_json(ClaimRequestSchema())
    claim = services.claim_chore(
        current_user,
        chore_id,
        briefing_return_url=url_for("participation.chore", chore_id=chore_id),
        terms_digest=data["terms_digest"],
    )
    db.session.commit()
    return _claim_response(claim), 201


@bp.get("/claims/mine")
@roles_required(Role.TENANT)
@operation(
    summary="List the caller's own claims, newest first",
    tags=TAGS,
    responses={200: ("The caller's claims with their history.", ClaimListSchema)},
)
def my_claims():
    """Return the tenant's own claims."""
    claims = queries.claims_of_tenant(current_user)
    return ClaimListSchema().dump({"claims": [_claim_data(claim) for claim in claims]})


@bp.get("/claims/review-queue")
@roles_required(*REVIEWERS)
@operation(
    summary="List the work waiting for the caller's review",
    tags=TAGS,
    responses={200: ("Submitted work and pending second approvals.", ClaimListSchema)},
)
def review_queue():
    """Return the claims the reviewer can approve or reject now."""
    claims = queries.review_queue(current_user)
    return ClaimListSchema().dump(
        {"claims": [_claim_data(claim, for_staff=True) for claim in claims]}
    )


@bp.get("/claims/<int:claim_id>")
@roles_required(Role.TENANT, *STAFF)
@operation(
    summary="Read one claim with its history",
    tags=TAGS,
    responses={200: ("The claim.", ClaimSchema)},
)
def get_claim(claim_id: int):
    """Return a claim to its tenant or to the staff of its cluster."""
    claim = queries.claim_for_viewer(current_user, claim_id)
    return ClaimSchema().dump(
        _claim_data(claim, for_staff=claim.tenant_id != current_user.id)
    )


@bp.get("/claims/<int:claim_id>/photo")
@roles_required(Role.TENANT, *STAFF)
@operation(
    summary="Download the photo of a claim",
    tags=TAGS,
    responses={200: ("The JPEG or PNG photo.", None)},
)
def claim_photo(claim_id: int):
    """Send a claim's photo to its tenant or the staff of its cluster."""
    return send_claim_photo(queries.claim_for_viewer(current_user, claim_id))


@bp.post("/claims/<int:claim_id>/withdraw")
@roles_required(Role.TENANT)
@operation(
    summary="Withdraw a claim that is not yet submitted",
    tags=TAGS,
    request_schema=EmptySchema,
    responses={200: ("The withdrawn claim.", ClaimSchema), 409: _RULE_RESPONSE},
)
def withdraw_claim(claim_id: int):
    """Withdraw the caller's claim and free its place."""
    load_json(EmptySchema())
    claim = services.withdraw_claim(current_user, claim_id)
    db.session.commit()
    return _claim_response(claim)


@bp.post("/claims/<int:claim_id>/submit")
@roles_required(Role.TENANT)
@operation(
    summary="Submit the work of a claim",
    description=(
        "Send JSON without a photo, or multipart/form-data with the fields and "
        "a `photo` file (JPEG or PNG, at most 10 MB)."
    ),
    tags=TAGS,
    request_schema=SubmitSchema,
    request_content={"multipart/form-data": SubmitFormSchema},
    responses={200: ("The submitted claim.", ClaimSchema), 409: _RULE_RESPONSE},
)
def submit_claim(claim_id: int):
    """Submit the caller's work with a note, a photo where required, and hours."""
    note, photo, hours = _submission()
    claim = services.submit_claim(
        current_user, claim_id, note=note, photo=photo, hours_spent=hours
    )
    db.session.commit()
    return _claim_response(claim)


@bp.post("/claims/<int:claim_id>/approve")
@roles_required(*REVIEWERS)
@operation(
    summary="Approve submitted work, or give the second approval",
    description=(
        "Points are credited at once, unless the chore's points are above the "
        "corporation's threshold (then a second approver is needed) or the "
        "chore shares one pot (then it is split when the last claim is "
        "reviewed). Approving an approved claim changes nothing, and so does "
        "approving with an `expected_status` whose approval another reviewer "
        "has given already."
    ),
    tags=TAGS,
    request_schema=ApproveSchema,
    responses={200: ("The approved claim.", ClaimSchema), 409: _RULE_RESPONSE},
)
def approve_claim(claim_id: int):
    """Approve a claim of the reviewer's clusters."""
    data = load_json(ApproveSchema())
    claim = services.approve_claim(
        current_user, claim_id, expected_status=_status(data["expected_status"])
    )
    db.session.commit()
    return _claim_response(claim)


@bp.post("/claims/<int:claim_id>/reject")
@roles_required(*REVIEWERS)
@operation(
    summary="Reject submitted work with a reason",
    description="Rejecting a rejected claim changes nothing.",
    tags=TAGS,
    request_schema=RejectSchema,
    responses={200: ("The rejected claim.", ClaimSchema), 409: _RULE_RESPONSE},
)
def reject_claim(claim_id: int):
    """Reject a claim of the reviewer's clusters; the tenant sees the reason."""
    data = load_json(RejectSchema())
    claim = services.reject_claim(
        current_user,
        claim_id,
        data["reason"],
        expected_status=_status(data["expected_status"]),
    )
    db.session.commit()
    return _claim_response(claim)


def _status(value: str | None) -> ClaimStatus | None:
    return ClaimStatus(value) if value is not None else None


def _submission() -> tuple[str | None, bytes | None, Decimal | None]:
    """Read a submission from JSON, or from multipart/form-data with a photo."""
    if request.mimetype != "multipart/form-data":
        data = load_json(SubmitSchema())
        return data["note"], None, data["hours_spent"]
    form: dict[str, Any] = request.form.to_dict()
    repeated = [key for key in request.form if len(request.form.getlist(key)) > 1]
    if repeated or set(request.files) - {"photo"}:
        raise InvalidInput(
            _("Some fields are invalid."),
            errors={key: [_("Give this field once.")] for key in repeated}
            or {"photo": [_("Send at most one file, named photo.")]},
        )
    data = SubmitFormSchema().load(form)
    upload = request.files.get("photo")
    photo = upload.read() if upload else None
    hours = None
    if data["hours_spent"]:
        try:
            hours = Decimal(data["hours_spent"].replace(",", "."))
        except InvalidOperation:
            raise InvalidInput(
                _("Some fields are invalid."),
                errors={"hours_spent": [_("Enter hours as a number such as 1.5.")]},
            )
    return data["note"], photo or None, hours


def _chore_data(listing: ChoreListing) -> dict[str, Any]:
    chore = listing.chore
    return {
        "id": chore.id,
        "title": chore.title,
        "description": chore.description,
        "cluster": {"id": chore.cluster.id, "name": chore.cluster.name},
        "category": {
            "id": chore.category.id,
            "name": chore.category.name_for(locale()),
        },
        "briefing_required": chore.category.requires_briefing,
        "reward_points": chore.reward_points,
        "reward_mode": chore.reward_mode,
        "places": chore.places,
        "places_left": listing.places_left,
        "proof": chore.proof,
        "state": listing.state,
        "claim_opens_at": chore.claim_opens_at,
        "claim_closes_at": chore.claim_closes_at,
        "deadline_at": chore.deadline_at,
        "cancel_reason": chore.cancel_reason,
        "own_claim_id": listing.own_claim.id if listing.own_claim else None,
        "terms_digest": chore.terms_digest,
    }


def _claim_data(claim: Claim, *, for_staff: bool = False) -> dict[str, Any]:
    """Return a claim as plain data; staff also get the briefing evidence."""
    approval = claim.approval
    credited = approval is not None and approval.credited_at is not None
    evidence = queries.acceptance_evidence(claim) if for_staff else None
    return {
        "briefing_acceptance": evidence,
        "id": claim.id,
        "chore_id": claim.chore_id,
        "chore_title": claim.chore.title,
        "tenant": {"id": claim.tenant.id, "name": claim.tenant.full_name},
        "status": claim.status,
        "claimed_at": claim.claimed_at,
        "submitted_at": claim.submitted_at,
        "deadline_at": claim.chore.deadline_at,
        "note": claim.note,
        "hours_spent": claim.minutes_spent / 60 if claim.minutes_spent else None,
        "photo_url": (
            url_for("api_v1.participation_api.claim_photo", claim_id=claim.id)
            if claim.photo_name
            else None
        ),
        "rejection_reason": claim.rejection_reason,
        "cancel_reason": claim.chore.cancel_reason,
        "points_credited": approval.points if credited else None,
        "needs_second_approval": bool(approval and not approval.is_complete),
        "events": [
            {
                "at": event.at,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "actor": event.actor.full_name if event.actor else None,
                "reason": event.reason,
            }
            for event in queries.timeline(claim)
        ],
    }


def _claim_response(claim: Claim) -> dict[str, Any]:
    return ClaimSchema().dump(_claim_data(claim))
