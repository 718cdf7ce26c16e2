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


def _status(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def upgrade():
    op.create_table(
        "statement_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", _status("statementkind", "monthly", "yearly"), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "size_bytes = length(content)", name=op.f("ck_statement_files_size_matches")
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_statement_files_corporation_id_corporations"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["users.id"], name=op.f("fk_statement_files_tenant_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_files")),
        sa.UniqueConstraint(
            "corporation_id",
            "tenant_id",
            "kind",
            "period",
            "locale",
            name=op.f("uq_statement_files_corporation_id_tenant_id_kind_period_locale"),
        ),
    )
    op.create_index(
        "ix_statement_files_corporation_period",
        "statement_files",
        ["corporation_id", "period"],
    )
    op.create_index(
        op.f("ix_statement_files_tenant_id"), "statement_files", ["tenant_id"]
    )

    op.create_table(
        "sepa_debtor_accounts",
        sa.Column("corporation_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account_holder", sa.String(length=70), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_sepa_debtor_accounts_corporation_id_corporations"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_sepa_debtor_accounts_updated_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("corporation_id", name=op.f("pk_sepa_debtor_accounts")),
    )

    op.create_table(
        "payout_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column(
            "status", _status("batchstatus", "created", "paid", "failed"), nullable=False
        ),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("payment_information_id", sa.String(length=35), nullable=False),
        sa.Column("execution_date", sa.Date(), nullable=False),
        sa.Column("debtor_name", sa.String(length=70), nullable=False),
        sa.Column("debtor_iban", sa.String(length=34), nullable=False),
        sa.Column("debtor_bic", sa.String(length=11), nullable=True),
        sa.Column("payment_count", sa.Integer(), nullable=False),
        sa.Column("control_sum_cents", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution_note", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "payment_count > 0", name=op.f("ck_payout_batches_payment_count_positive")
        ),
        sa.CheckConstraint(
            "control_sum_cents > 0", name=op.f("ck_payout_batches_control_sum_positive")
        ),
        sa.CheckConstraint(
            "(status = 'created') = (resolved_at IS NULL)",
            name=op.f("ck_payout_batches_resolved_when_done"),
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_payout_batches_corporation_id_corporations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_payout_batches_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["users.id"],
            name=op.f("fk_payout_batches_resolved_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_batches")),
        sa.UniqueConstraint("message_id", name=op.f("uq_payout_batches_message_id")),
    )
    op.create_index(
        "uq_payout_batches_live_period",
        "payout_batches",
        ["corporation_id", "period"],
        unique=True,
        sqlite_where=sa.text("status <> 'failed'"),
        postgresql_where=sa.text("status <> 'failed'"),
    )

    op.create_table(
        "payout_batch_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("account_holder", sa.String(length=70), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("remittance", sa.String(length=140), nullable=False),
        sa.CheckConstraint(
            "amount_cents > 0", name=op.f("ck_payout_batch_items_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["payout_batches.id"],
            name=op.f("fk_payout_batch_items_batch_id_payout_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["users.id"], name=op.f("fk_payout_batch_items_tenant_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["ledger_holds.id"],
            name=op.f("fk_payout_batch_items_hold_id_ledger_holds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_batch_items")),
        sa.UniqueConstraint(
            "batch_id", "tenant_id", name=op.f("uq_payout_batch_items_batch_id_tenant_id")
        ),
        sa.UniqueConstraint(
            "end_to_end_id", name=op.f("uq_payout_batch_items_end_to_end_id")
        ),
        sa.UniqueConstraint("hold_id", name=op.f("uq_payout_batch_items_hold_id")),
    )
    op.create_index(
        op.f("ix_payout_batch_items_tenant_id"), "payout_batch_items", ["tenant_id"]
    )


def downgrade():
    op.drop_index(op.f("ix_payout_batch_items_tenant_id"), table_name="payout_batch_items")
    op.drop_table("payout_batch_items")
    op.drop_index("uq_payout_batches_live_period", table_name="payout_batches")
    op.drop_table("payout_batches")
    op.drop_table("sepa_debtor_accounts")
    op.drop_index(op.f("ix_statement_files_tenant_id"), table_name="statement_files")
    op.drop_index("ix_statement_files_corporation_period", table_name="statement_files")
    op.drop_table("statement_files")
