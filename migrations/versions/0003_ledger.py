"""rewards ledger: accounts, journals, postings, holds

Revision ID: 0003_ledger
Revises: 0002_liability
"""

from alembic import op
import sqlalchemy as sa

revision = "0003_ledger"
down_revision = "0002_liability"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
