"""participation: categories, chores, claims, approvals

Revision ID: 0004_participation
Revises: 0003_ledger
"""

from alembic import op
import sqlalchemy as sa

revision = "0004_participation"
down_revision = "0003_ledger"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
