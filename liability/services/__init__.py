"""State changes of the liability domain: publish, accept, withdraw, and the claim check.

Services check permissions and rules, write through the session and flush;
the request or command commits. Objects outside the actor's corporation or
scope raise NotFound. Participation calls ``require_current_acceptance``
before a claim and ``acceptance_evidence`` to show staff what was accepted.
"""

from liability.services.acceptance import (
    accept_version,
    acceptance_evidence,
    names_match,
    record_paper_acceptance,
)
from liability.services.common import SCAN_FOLDER, Evidence, request_evidence
from liability.services.publication import (
    MAX_BODY_LENGTH,
    MAX_TITLE_LENGTH,
    VersionDraft,
    check_briefing_code,
    create_briefing,
    prepare_version,
    publish_version,
)
from liability.services.requirement import briefing_link, require_current_acceptance
from liability.services.withdrawal import record_paper_withdrawal, withdraw_acceptance

__all__ = [
    "MAX_BODY_LENGTH",
    "MAX_TITLE_LENGTH",
    "SCAN_FOLDER",
    "Evidence",
    "VersionDraft",
    "accept_version",
    "acceptance_evidence",
    "briefing_link",
    "check_briefing_code",
    "create_briefing",
    "names_match",
    "prepare_version",
    "publish_version",
    "record_paper_acceptance",
    "record_paper_withdrawal",
    "request_evidence",
    "require_current_acceptance",
    "withdraw_acceptance",
]
