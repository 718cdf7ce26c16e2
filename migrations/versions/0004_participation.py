"""participation: categories, chores, claims, approvals

Places are enforced in the database. A claim that holds a place carries a
slot from 1 up to its chore's places: (chore_id, slot) is unique, a partial
unique index allows one place per tenant per chore, and a CHECK compares the
slot with chore_places, which a composite foreign key ties to chores.places
(ON UPDATE CASCADE). SQLite does not enforce foreign keys without a pragma,
so triggers there keep chore_places equal to the chore's places. Claim
events are append-only on both databases.

Revision ID: 0004_participation
Revises: 0003_ledger
"""

from alembic import op
import sqlalchemy as sa

revision = "0004_participation"
down_revision = "0003_ledger"
branch_labels = None
depends_on = None

CLAIM_STATUSES = (
    "claimed",
    "submitted",
    "awaiting_second_approval",
    "approved",
    "rejected",
    "withdrawn",
    "expired",
    "cancelled",
)
PLACE_HOLDING = "'approved', 'awaiting_second_approval', 'claimed', 'submitted'"


def _status_column(name: str, nullable: bool) -> sa.Column:
    return sa.Column(
        name,
        sa.Enum(*CLAIM_STATUSES, name="claimstatus", native_enum=False, length=32),
        nullable=nullable,
    )


def upgrade():
    create_settings_and_categories()
    create_chores()
    create_claims()
    create_approvals_and_events()
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def create_settings_and_categories():
    op.create_table(
        "participation_settings",
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("second_approval_above_points", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "second_approval_above_points IS NULL OR second_approval_above_points >= 0",
            name=op.f("ck_participation_settings_threshold_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_participation_settings_corporation_id_corporations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_participation_settings_updated_by_id_users"),
        ),
        sa.PrimaryKeyConstraint(
            "corporation_id", name=op.f("pk_participation_settings")
        ),
    )
    op.create_table(
        "chore_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("name_nl", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("briefing_id", sa.Integer(), nullable=True),
        sa.Column("default_points", sa.Integer(), nullable=False),
        sa.Column("default_places", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "default_points >= 1",
            name=op.f("ck_chore_categories_default_points_positive"),
        ),
        sa.CheckConstraint(
            "default_places >= 1",
            name=op.f("ck_chore_categories_default_places_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["briefing_id"],
            ["briefings.id"],
            name=op.f("fk_chore_categories_briefing_id_briefings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_chore_categories_corporation_id_corporations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chore_categories")),
        sa.UniqueConstraint(
            "corporation_id",
            "name_nl",
            name=op.f("uq_chore_categories_corporation_id_name_nl"),
        ),
    )
    op.create_index(
        op.f("ix_chore_categories_corporation_id"),
        "chore_categories",
        ["corporation_id"],
    )
    op.create_index(
        op.f("ix_chore_categories_briefing_id"), "chore_categories", ["briefing_id"]
    )


def create_chores():
    op.create_table(
        "chore_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column(
            "recurrence",
            sa.Enum(
                "weekly", "monthly", name="recurrence", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "occurrences >= 1", name=op.f("ck_chore_series_occurrences_positive")
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_chore_series_corporation_id_corporations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_chore_series_created_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chore_series")),
    )
    op.create_index(
        op.f("ix_chore_series_corporation_id"), "chore_series", ["corporation_id"]
    )
    op.create_table(
        "chores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reward_points", sa.Integer(), nullable=False),
        sa.Column(
            "reward_mode",
            sa.Enum("each", "shared", name="rewardmode", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column(
            "proof",
            sa.Enum(
                "none", "note", "photo", name="proofkind", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("claim_opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by_id", sa.Integer(), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("pot_shared_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("places >= 1", name=op.f("ck_chores_places_positive")),
        sa.CheckConstraint(
            "reward_points >= 1", name=op.f("ck_chores_reward_points_positive")
        ),
        sa.CheckConstraint(
            "claim_opens_at < claim_closes_at", name=op.f("ck_chores_window_ordered")
        ),
        sa.CheckConstraint(
            "claim_closes_at <= deadline_at",
            name=op.f("ck_chores_deadline_after_window"),
        ),
        sa.CheckConstraint(
            "(cancelled_at IS NULL AND cancel_reason IS NULL)"
            " OR (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL)",
            name=op.f("ck_chores_cancel_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_chores_corporation_id_corporations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_chores_cluster_id_clusters"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["chore_categories.id"],
            name=op.f("fk_chores_category_id_chore_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["chore_series.id"],
            name=op.f("fk_chores_series_id_chore_series"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_chores_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["cancelled_by_id"],
            ["users.id"],
            name=op.f("fk_chores_cancelled_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chores")),
        sa.UniqueConstraint("id", "places", name="uq_chores_id_places"),
    )
    op.create_index(op.f("ix_chores_corporation_id"), "chores", ["corporation_id"])
    op.create_index(op.f("ix_chores_category_id"), "chores", ["category_id"])
    op.create_index(op.f("ix_chores_series_id"), "chores", ["series_id"])
    op.create_index(
        "ix_chores_cluster_window", "chores", ["cluster_id", "claim_closes_at"]
    )


def create_claims():
    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chore_id", sa.Integer(), nullable=False),
        sa.Column("chore_places", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _status_column("status", nullable=False),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("acceptance_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("minutes_spent", sa.Integer(), nullable=True),
        sa.Column("photo_name", sa.String(length=64), nullable=True),
        sa.Column("photo_mime_type", sa.String(length=32), nullable=True),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("rejection_reason", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "slot IS NULL OR (slot >= 1 AND slot <= chore_places)",
            name=op.f("ck_claims_slot_within_places"),
        ),
        sa.CheckConstraint(
            f"(status IN ({PLACE_HOLDING}) AND slot IS NOT NULL)"
            f" OR (status NOT IN ({PLACE_HOLDING}) AND slot IS NULL)",
            name=op.f("ck_claims_slot_matches_status"),
        ),
        sa.CheckConstraint(
            "minutes_spent IS NULL OR (minutes_spent >= 1 AND minutes_spent <= 1440)",
            name=op.f("ck_claims_minutes_spent_range"),
        ),
        sa.ForeignKeyConstraint(
            ["chore_id", "chore_places"],
            ["chores.id", "chores.places"],
            name="fk_claims_chore_places_chores",
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["users.id"],
            name=op.f("fk_claims_tenant_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["acceptance_id"],
            ["briefing_acceptances.id"],
            name=op.f("fk_claims_acceptance_id_briefing_acceptances"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("chore_id", "slot", name="uq_claims_chore_id_slot"),
    )
    op.create_index(
        "uq_claims_chore_tenant_holding",
        "claims",
        ["chore_id", "tenant_id"],
        unique=True,
        postgresql_where=sa.text("slot IS NOT NULL"),
        sqlite_where=sa.text("slot IS NOT NULL"),
    )
    op.create_index("ix_claims_tenant_status", "claims", ["tenant_id", "status"])
    op.create_index("ix_claims_status_chore", "claims", ["status", "chore_id"])


def create_approvals_and_events():
    op.create_table(
        "claim_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("needs_second_approval", sa.Boolean(), nullable=False),
        sa.Column("second_approver_id", sa.Integer(), nullable=True),
        sa.Column("second_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("credited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("journal_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "points >= 0", name=op.f("ck_claim_approvals_points_not_negative")
        ),
        sa.CheckConstraint(
            "second_approver_id IS NULL OR second_approver_id <> approved_by_id",
            name=op.f("ck_claim_approvals_second_approver_differs"),
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_claim_approvals_claim_id_claims"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
            name=op.f("fk_claim_approvals_approved_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["second_approver_id"],
            ["users.id"],
            name=op.f("fk_claim_approvals_second_approver_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["ledger_journals.id"],
            name=op.f("fk_claim_approvals_journal_id_ledger_journals"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_approvals")),
        sa.UniqueConstraint("claim_id", name=op.f("uq_claim_approvals_claim_id")),
    )
    op.create_table(
        "claim_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _status_column("from_status", nullable=True),
        _status_column("to_status", nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_claim_events_claim_id_claims"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_claim_events_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_events")),
    )
    op.create_index("ix_claim_events_claim_id", "claim_events", ["claim_id", "id"])


POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION participation_reject_event_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'claim_events is append-only: % rejected', TG_OP
            USING ERRCODE = 'restrict_violation';
    END;
    $$
    """,
    """
    CREATE TRIGGER claim_events_append_only BEFORE UPDATE OR DELETE ON claim_events
    FOR EACH ROW EXECUTE FUNCTION participation_reject_event_change()
    """,
    """
    CREATE TRIGGER claim_events_no_truncate BEFORE TRUNCATE ON claim_events
    FOR EACH STATEMENT EXECUTE FUNCTION participation_reject_event_change()
    """,
)

SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER claim_events_no_update BEFORE UPDATE ON claim_events
    BEGIN SELECT RAISE(ABORT, 'claim_events is append-only: UPDATE rejected'); END
    """,
    """
    CREATE TRIGGER claim_events_no_delete BEFORE DELETE ON claim_events
    BEGIN SELECT RAISE(ABORT, 'claim_events is append-only: DELETE rejected'); END
    """,
    # Without PRAGMA foreign_keys the composite key is not checked, so these
    # keep claims.chore_places equal to the chore's places.
    """
    CREATE TRIGGER claims_places_on_insert BEFORE INSERT ON claims
    WHEN NEW.chore_places IS NOT
        (SELECT places FROM chores WHERE chores.id = NEW.chore_id)
    BEGIN SELECT RAISE(ABORT, 'claims.chore_places differs from chores.places'); END
    """,
    """
    CREATE TRIGGER claims_places_on_update BEFORE UPDATE OF chore_id, chore_places
    ON claims
    WHEN NEW.chore_places IS NOT
        (SELECT places FROM chores WHERE chores.id = NEW.chore_id)
    BEGIN SELECT RAISE(ABORT, 'claims.chore_places differs from chores.places'); END
    """,
    """
    CREATE TRIGGER chores_places_cascade AFTER UPDATE OF places ON chores
    BEGIN
        UPDATE claims SET chore_places = NEW.places WHERE chore_id = NEW.id;
    END
    """,
)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS claim_events_append_only ON claim_events")
        op.execute("DROP TRIGGER IF EXISTS claim_events_no_truncate ON claim_events")
        op.execute("DROP FUNCTION IF EXISTS participation_reject_event_change()")
    else:
        for name in (
            "claim_events_no_update",
            "claim_events_no_delete",
            "claims_places_on_insert",
            "claims_places_on_update",
            "chores_places_cascade",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_claim_events_claim_id", table_name="claim_events")
    op.drop_table("claim_events")
    op.drop_table("claim_approvals")
    op.drop_index("ix_claims_status_chore", table_name="claims")
    op.drop_index("ix_claims_tenant_status", table_name="claims")
    op.drop_index("uq_claims_chore_tenant_holding", table_name="claims")
    op.drop_table("claims")
    op.drop_index("ix_chores_cluster_window", table_name="chores")
    op.drop_index(op.f("ix_chores_series_id"), table_name="chores")
    op.drop_index(op.f("ix_chores_category_id"), table_name="chores")
    op.drop_index(op.f("ix_chores_corporation_id"), table_name="chores")
    op.drop_table("chores")
    op.drop_index(op.f("ix_chore_series_corporation_id"), table_name="chore_series")
    op.drop_table("chore_series")
    op.drop_index(op.f("ix_chore_categories_briefing_id"), table_name="chore_categories")
    op.drop_index(
        op.f("ix_chore_categories_corporation_id"), table_name="chore_categories"
    )
    op.drop_table("chore_categories")
    op.drop_table("participation_settings")
