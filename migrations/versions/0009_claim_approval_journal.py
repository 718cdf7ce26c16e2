"""index claim approvals by ledger journal

The monthly close asks participation for the category, day and minutes of
each approval journal of the month (participation/work_details.py), with
``claim_approvals.journal_id IN (...)``. Without an index each such query
scans every claim approval ever made.

Revision ID: 0009_claim_approval_journal
Revises: 0008_rule_bounds
"""

from alembic import op

revision = "0009_claim_approval_journal"
down_revision = "0008_rule_bounds"
branch_labels = None
depends_on = None


def upgrade():
    # The same statement on PostgreSQL and SQLite.
    op.create_index("ix_claim_approvals_journal_id", "claim_approvals", ["journal_id"])


def downgrade():
    op.drop_index("ix_claim_approvals_journal_id", table_name="claim_approvals")
