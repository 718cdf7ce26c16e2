"""liability: briefings, acceptances, withdrawals

Revision ID: 0002_liability
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_liability"
down_revision = "0001_core"
branch_labels = None
depends_on = None

# Published versions, acceptances and withdrawals are evidence: once written,
# no row may change or disappear. Triggers enforce that below the ORM.
APPEND_ONLY_TABLES = (
    "briefing_versions",
    "briefing_acceptances",
    "briefing_withdrawals",
)


def upgrade():
    op.create_table(
        "briefings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(code) >= 1", name=op.f("ck_briefings_code_not_empty")
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_briefings_corporation_id_corporations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefings")),
        sa.UniqueConstraint(
            "corporation_id", "code", name=op.f("uq_briefings_corporation_id_code")
        ),
    )
    op.create_index(
        op.f("ix_briefings_corporation_id"), "briefings", ["corporation_id"]
    )

    op.create_table(
        "briefing_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("briefing_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=False),
        sa.Column("rendered_html", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("html_sha256", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("is_material", sa.Boolean(), nullable=False),
        sa.Column("change_summary", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "version_number >= 1",
            name=op.f("ck_briefing_versions_version_number_positive"),
        ),
        sa.CheckConstraint(
            "locale IN ('nl', 'en')", name=op.f("ck_briefing_versions_locale_known")
        ),
        sa.CheckConstraint(
            "version_number > 1 OR is_material",
            name=op.f("ck_briefing_versions_first_version_material"),
        ),
        sa.CheckConstraint(
            "length(text_sha256) = 64",
            name=op.f("ck_briefing_versions_text_sha256_length"),
        ),
        sa.CheckConstraint(
            "length(html_sha256) = 64",
            name=op.f("ck_briefing_versions_html_sha256_length"),
        ),
        sa.ForeignKeyConstraint(
            ["briefing_id"],
            ["briefings.id"],
            name=op.f("fk_briefing_versions_briefing_id_briefings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["users.id"],
            name=op.f("fk_briefing_versions_published_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefing_versions")),
        sa.UniqueConstraint(
            "briefing_id",
            "version_number",
            "locale",
            name=op.f("uq_briefing_versions_briefing_id_version_number_locale"),
        ),
        sa.UniqueConstraint(
            "id", "briefing_id", name=op.f("uq_briefing_versions_id_briefing_id")
        ),
    )
    op.create_index(
        "ix_briefing_versions_briefing_effective",
        "briefing_versions",
        ["briefing_id", "effective_from"],
    )

    op.create_table(
        "briefing_acceptances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("briefing_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("tenancy_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("rendered_sha256", sa.String(length=64), nullable=False),
        sa.Column("typed_name", sa.String(length=200), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("login_method", sa.String(length=32), nullable=True),
        sa.Column("session_sha256", sa.String(length=64), nullable=True),
        sa.Column(
            "channel",
            sa.Enum("portal", "paper", name="channel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("paper_signed_on", sa.Date(), nullable=True),
        sa.Column("scan_name", sa.String(length=64), nullable=True),
        sa.Column("scan_mime_type", sa.String(length=32), nullable=True),
        sa.Column("scan_sha256", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "locale IN ('nl', 'en')", name=op.f("ck_briefing_acceptances_locale_known")
        ),
        sa.CheckConstraint(
            "length(text_sha256) = 64",
            name=op.f("ck_briefing_acceptances_text_sha256_length"),
        ),
        sa.CheckConstraint(
            "length(rendered_sha256) = 64",
            name=op.f("ck_briefing_acceptances_rendered_sha256_length"),
        ),
        sa.CheckConstraint(
            "channel <> 'portal' OR recorded_by_id = tenant_id",
            name=op.f("ck_briefing_acceptances_portal_recorded_by_tenant"),
        ),
        sa.CheckConstraint(
            "channel <> 'paper' OR (scan_name IS NOT NULL AND scan_sha256 IS NOT NULL)",
            name=op.f("ck_briefing_acceptances_paper_has_scan"),
        ),
        sa.ForeignKeyConstraint(
            ["briefing_id"],
            ["briefings.id"],
            name=op.f("fk_briefing_acceptances_briefing_id_briefings"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id", "briefing_id"],
            ["briefing_versions.id", "briefing_versions.briefing_id"],
            name="fk_briefing_acceptances_version_briefing",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["users.id"],
            name=op.f("fk_briefing_acceptances_tenant_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_briefing_acceptances_recorded_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenancy_id"],
            ["tenancies.id"],
            name=op.f("fk_briefing_acceptances_tenancy_id_tenancies"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_briefing_acceptances_unit_id_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefing_acceptances")),
        sa.UniqueConstraint(
            "id",
            "tenant_id",
            "briefing_id",
            name=op.f("uq_briefing_acceptances_id_tenant_id_briefing_id"),
        ),
    )
    op.create_index(
        "ix_briefing_acceptances_tenant_briefing",
        "briefing_acceptances",
        ["tenant_id", "briefing_id"],
    )
    op.create_index(
        "ix_briefing_acceptances_briefing_accepted",
        "briefing_acceptances",
        ["briefing_id", "accepted_at"],
    )

    op.create_table(
        "briefing_withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("acceptance_id", sa.Integer(), nullable=False),
        sa.Column("briefing_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("login_method", sa.String(length=32), nullable=True),
        sa.Column("session_sha256", sa.String(length=64), nullable=True),
        sa.Column(
            "channel",
            sa.Enum("portal", "paper", name="channel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "channel <> 'portal' OR recorded_by_id = tenant_id",
            name=op.f("ck_briefing_withdrawals_portal_recorded_by_tenant"),
        ),
        sa.ForeignKeyConstraint(
            ["acceptance_id", "tenant_id", "briefing_id"],
            [
                "briefing_acceptances.id",
                "briefing_acceptances.tenant_id",
                "briefing_acceptances.briefing_id",
            ],
            name="fk_briefing_withdrawals_acceptance",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["briefing_id"],
            ["briefings.id"],
            name=op.f("fk_briefing_withdrawals_briefing_id_briefings"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["users.id"],
            name=op.f("fk_briefing_withdrawals_tenant_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_briefing_withdrawals_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefing_withdrawals")),
        sa.UniqueConstraint(
            "acceptance_id", name=op.f("uq_briefing_withdrawals_acceptance_id")
        ),
    )
    op.create_index(
        "ix_briefing_withdrawals_tenant_briefing",
        "briefing_withdrawals",
        ["tenant_id", "briefing_id"],
    )

    _create_append_only_triggers()


def _create_append_only_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION liability_reject_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % rejected',
                    TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'raise_exception';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only"
                f" BEFORE UPDATE OR DELETE ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION liability_reject_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate"
                f" BEFORE TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION liability_reject_change()"
            )
        return
    for table in APPEND_ONLY_TABLES:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()}"
                f" BEFORE {operation} ON {table}"
                f" BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation}"
                " rejected'); END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS liability_reject_change()")
    else:
        for table in APPEND_ONLY_TABLES:
            for operation in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")
    op.drop_index(
        "ix_briefing_withdrawals_tenant_briefing", table_name="briefing_withdrawals"
    )
    op.drop_table("briefing_withdrawals")
    op.drop_index(
        "ix_briefing_acceptances_briefing_accepted", table_name="briefing_acceptances"
    )
    op.drop_index(
        "ix_briefing_acceptances_tenant_briefing", table_name="briefing_acceptances"
    )
    op.drop_table("briefing_acceptances")
    op.drop_index(
        "ix_briefing_versions_briefing_effective", table_name="briefing_versions"
    )
    op.drop_table("briefing_versions")
    op.drop_index(op.f("ix_briefings_corporation_id"), table_name="briefings")
    op.drop_table("briefings")
