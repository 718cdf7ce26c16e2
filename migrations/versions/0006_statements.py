"""statements and exports: statement files, payout batches

Revision ID: 0006_statements
Revises: 0005_rewards_engine
"""

from alembic import op
import sqlalchemy as sa

revision = "0006_statements"
down_revision = "0005_rewards_engine"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
