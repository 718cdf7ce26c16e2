"""liability: briefings, acceptances, withdrawals

Revision ID: 0002_liability
Revises: 0001_core
"""

from alembic import op
import sqlalchemy as sa

revision = "0002_liability"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
