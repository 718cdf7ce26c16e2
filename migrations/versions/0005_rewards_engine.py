"""rewards engine: rules, payout choices, periods, settlements

Revision ID: 0005_rewards_engine
Revises: 0004_participation
"""

from alembic import op
import sqlalchemy as sa

revision = "0005_rewards_engine"
down_revision = "0004_participation"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
