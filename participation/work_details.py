"""Work details of approved claims, for the rewards engine's multipliers and limits.

The engine may not import participation, so participation registers this
lookup with the engine when the app starts. A category's code in the reward
rules is its Dutch name, as finance sees it in the portal.
"""

from flask import Flask
from sqlalchemy import select

from klusbank.extensions import db
from klusbank.timeutil import business_date
from participation.models import Chore, ChoreCategory, Claim, ClaimApproval
from rewards.engine.rules import WorkDetails, register_work_details_provider


def work_details_for_journals(journal_ids: list[int]) -> dict[int, WorkDetails]:
    """Return category, day of the work and minutes spent per approval journal."""
    if not journal_ids:
        return {}
    query = (
        select(
            ClaimApproval.journal_id,
            ChoreCategory.name_nl,
            Claim.submitted_at,
            ClaimApproval.approved_at,
            Claim.minutes_spent,
        )
        .join(Claim, Claim.id == ClaimApproval.claim_id)
        .join(Chore, Chore.id == Claim.chore_id)
        .join(ChoreCategory, ChoreCategory.id == Chore.category_id)
        .where(ClaimApproval.journal_id.in_(journal_ids))
    )
    details = {}
    for journal_id, category, submitted_at, approved_at, minutes in db.session.execute(
        query
    ):
        # The work was done by the time it was submitted; approval may come later.
        worked_at = submitted_at or approved_at
        details[journal_id] = WorkDetails(
            journal_id=journal_id,
            category_code=category,
            work_date=business_date(worked_at),
            minutes=minutes,
        )
    return details


def register(app: Flask) -> None:
    """Let the rewards engine look up the work behind approval journals."""
    register_work_details_provider(app, work_details_for_journals)
