"""State changes of the participation domain, named by verb.

Services check permissions and rules, write through the session and flush;
they never commit. The request, job or command commits once.
"""

from participation.services.categories import (
    CategoryFields,
    create_category,
    update_category,
    update_settings,
)
from participation.services.chores import (
    ChoreTerms,
    cancel_chore,
    post_chore,
    update_chore,
)
from participation.services.claims import (
    claim_chore,
    expire_overdue_claims,
    submit_claim,
    withdraw_claim,
)
from participation.services.credits import share_due_pots
from participation.services.reviews import approve_claim, reject_claim

__all__ = [
    "CategoryFields",
    "ChoreTerms",
    "approve_claim",
    "cancel_chore",
    "claim_chore",
    "create_category",
    "expire_overdue_claims",
    "post_chore",
    "reject_claim",
    "share_due_pots",
    "submit_claim",
    "update_category",
    "update_chore",
    "update_settings",
    "withdraw_claim",
]
