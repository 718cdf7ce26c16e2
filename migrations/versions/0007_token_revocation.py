"""api tokens: the reason a token was revoked

Revision ID: 0007_token_revocation
Revises: 0006_statements
"""

from alembic import op
import sqlalchemy as sa

revision = "0007_token_revocation"
down_revision = "0006_statements"
branch_labels = None
depends_on = None


def upgrade():
    # batch_alter_table adds the column in place on PostgreSQL and copies the
    # table on SQLite, so one path serves both dialects.
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revoked_reason", sa.String(length=32), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_reason")
