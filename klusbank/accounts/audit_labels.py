"""Readable names of audit actions and subjects for the administrator's audit page.

The stored action keys and ``kind:id`` subjects stay as they are, because
exports and investigations search for them; the page shows these names
beside them. A key without a name here is shown as it is stored.
"""

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "api_token.created": _l("API token created"),
    "api_token.revoked": _l("API token revoked"),
    "api_token.revoked_all": _l("All API tokens revoked"),
    "briefing.accepted": _l("Safety briefing accepted"),
    "briefing.created": _l("Safety briefing created"),
    "briefing.history_exported": _l("Briefing evidence exported"),
    "briefing.receipt_downloaded": _l("Briefing receipt downloaded"),
    "briefing.scan_downloaded": _l("Scan of a paper form downloaded"),
    "briefing.version_published": _l("Briefing version published"),
    "briefing.withdrawn": _l("Briefing acceptance withdrawn"),
    "caretaker.clusters_assigned": _l("Clusters of a caretaker changed"),
    "chore_category.created": _l("Chore category created"),
    "chore_category.updated": _l("Chore category changed"),
    "export.ledger": _l("Ledger exported"),
    "export.payees": _l("Payee report exported"),
    "export.rent_credit": _l("Rent credit exported"),
    "export.sepa": _l("SEPA file exported"),
    "login.failed": _l("Login failed"),
    "login.succeeded": _l("Logged in"),
    "participation.settings_changed": _l("Participation settings changed"),
    "payout_account.updated": _l("Payout account changed"),
    "payout_batch.created": _l("Payout batch created"),
    "payout_batch.failed": _l("Payout batch marked failed"),
    "payout_batch.paid": _l("Payout batch marked paid"),
    "payout_choice.changed": _l("Payout choice changed"),
    "period.closed": _l("Month closed"),
    "reward_rules.created": _l("Reward rule version created"),
    "settlement.corrected": _l("Settlement corrected"),
    "statement.downloaded": _l("Statement downloaded"),
    "statements.zip_downloaded": _l("Statements downloaded as ZIP"),
    "user.created": _l("User created"),
    "user.deactivated": _l("User deactivated"),
    "user.invitation_accepted": _l("Invitation accepted"),
    "user.password_changed": _l("Password changed"),
    "user.password_reset": _l("Password reset"),
    "user.roles_changed": _l("Roles changed"),
}

SUBJECT_LABELS = {
    "acceptance": _l("acceptance"),
    "api_token": _l("API token"),
    "briefing": _l("briefing"),
    "briefing_acceptance": _l("acceptance"),
    "briefing_version": _l("briefing version"),
    "briefing_withdrawal": _l("withdrawal"),
    "chore_category": _l("chore category"),
    "corporation": _l("corporation"),
    "payout_batch": _l("payout batch"),
    "period": _l("month"),
    "reward_rule_version": _l("reward rule version"),
    "settlement_line": _l("settlement"),
    "statement_file": _l("statement"),
    "user": _l("user"),
}


def describe_subject(subject: str | None) -> str:
    """Return a stored ``kind:id`` subject as readable text."""
    if not subject:
        return ""
    kind, separator, identifier = subject.partition(":")
    label = SUBJECT_LABELS.get(kind)
    if label is None or not separator:
        return subject
    return f"{label} {identifier}"
