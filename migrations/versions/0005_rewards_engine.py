"""rewards engine: rules, payout choices, periods, settlements

Revision ID: 0005_rewards_engine
Revises: 0004_participation
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_rewards_engine"
down_revision = "0004_participation"
branch_labels = None
depends_on = None

# Dutch volunteer-allowance (vrijwilligersvergoeding) limits in cents, per year:
# hourly 21 and over, hourly under 21, per month, per year.
VOLUNTEER_LIMITS = (
    (2024, 550, 325, 21000, 210000),
    (2025, 560, 330, 21000, 210000),
)

# Settlement lines, close runs and rule versions are records of what was paid
# and why; corrections are new rows, so the database refuses UPDATE and DELETE.
APPEND_ONLY_TABLES = (
    "reward_rule_versions",
    "reward_category_multipliers",
    "reward_settlement_lines",
    "reward_close_runs",
)

_METHOD = sa.Enum(
    "rent_credit", "payout", name="payoutmethod", native_enum=False, length=16
)


def upgrade():
    op.create_table(
        "reward_rule_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("rent_credit_rate_cents", sa.Integer(), nullable=False),
        sa.Column("rent_credit_rate_points", sa.Integer(), nullable=False),
        sa.Column("payout_rate_cents", sa.Integer(), nullable=False),
        sa.Column("payout_rate_points", sa.Integer(), nullable=False),
        sa.Column("weekend_multiplier_permille", sa.Integer(), nullable=False),
        sa.Column("rent_credit_cap_month_cents", sa.Integer(), nullable=True),
        sa.Column("rent_credit_cap_year_cents", sa.Integer(), nullable=True),
        sa.Column("payout_cap_month_cents", sa.Integer(), nullable=True),
        sa.Column("payout_cap_year_cents", sa.Integer(), nullable=True),
        sa.Column("minimum_payout_cents", sa.Integer(), nullable=False),
        sa.Column("expiry_months", sa.Integer(), nullable=True),
        sa.Column("is_volunteer_allowance", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "rent_credit_rate_cents >= 0 AND rent_credit_rate_points > 0",
            name=op.f("ck_reward_rule_versions_rent_credit_rate_valid"),
        ),
        sa.CheckConstraint(
            "payout_rate_cents >= 0 AND payout_rate_points > 0",
            name=op.f("ck_reward_rule_versions_payout_rate_valid"),
        ),
        sa.CheckConstraint(
            "weekend_multiplier_permille >= 1000",
            name=op.f("ck_reward_rule_versions_weekend_multiplier_valid"),
        ),
        sa.CheckConstraint(
            "minimum_payout_cents >= 0",
            name=op.f("ck_reward_rule_versions_minimum_payout_valid"),
        ),
        sa.CheckConstraint(
            "expiry_months IS NULL OR expiry_months > 0",
            name=op.f("ck_reward_rule_versions_expiry_months_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_reward_rule_versions_corporation_id_corporations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_reward_rule_versions_created_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_rule_versions")),
    )
    op.create_index(
        "ix_reward_rule_versions_corporation_effective",
        "reward_rule_versions",
        ["corporation_id", "effective_from"],
    )

    op.create_table(
        "reward_category_multipliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_version_id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=64), nullable=False),
        sa.Column("multiplier_permille", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "multiplier_permille >= 1000",
            name=op.f("ck_reward_category_multipliers_category_multiplier_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_version_id"],
            ["reward_rule_versions.id"],
            name=op.f("fk_reward_category_multipliers_rule_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_category_multipliers")),
        sa.UniqueConstraint(
            "rule_version_id",
            "category_code",
            name=op.f("uq_reward_category_multipliers_rule_version_id_category_code"),
        ),
    )

    limits = op.create_table(
        "volunteer_allowance_limits",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hourly_21_plus_cents", sa.Integer(), nullable=False),
        sa.Column("hourly_under_21_cents", sa.Integer(), nullable=False),
        sa.Column("month_cents", sa.Integer(), nullable=False),
        sa.Column("year_cents", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "hourly_21_plus_cents >= 0 AND hourly_under_21_cents >= 0 "
            "AND month_cents >= 0 AND year_cents >= 0",
            name=op.f("ck_volunteer_allowance_limits_limits_not_negative"),
        ),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_volunteer_allowance_limits")),
    )
    op.bulk_insert(
        limits,
        [
            {
                "year": year,
                "hourly_21_plus_cents": adult,
                "hourly_under_21_cents": young,
                "month_cents": month,
                "year_cents": whole_year,
            }
            for year, adult, young, month, whole_year in VOLUNTEER_LIMITS
        ],
    )

    op.create_table(
        "reward_payout_choices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("method", _METHOD, nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("account_holder", sa.String(length=70), nullable=True),
        sa.Column("bsn", sa.String(length=9), nullable=True),
        sa.Column("tax_acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applies_from", sa.Date(), nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "method = 'rent_credit' OR (iban IS NOT NULL AND account_holder IS NOT "
            "NULL AND bsn IS NOT NULL AND tax_acknowledged_at IS NOT NULL)",
            name=op.f("ck_reward_payout_choices_payout_details_present"),
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_reward_payout_choices_corporation_id_corporations"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["users.id"],
            name=op.f("fk_reward_payout_choices_tenant_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_reward_payout_choices_actor_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_payout_choices")),
    )
    op.create_index(
        "ix_reward_payout_choices_tenant_applies",
        "reward_payout_choices",
        ["tenant_id", "applies_from"],
    )

    op.create_table(
        "reward_settlement_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "settlement",
                "correction",
                name="settlementkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("method", _METHOD, nullable=False),
        sa.Column("rule_version_id", sa.Integer(), nullable=True),
        sa.Column("payout_choice_id", sa.Integer(), nullable=True),
        sa.Column("journal_id", sa.Integer(), nullable=True),
        sa.Column("earned_points", sa.Integer(), nullable=False),
        sa.Column("opening_points", sa.Integer(), nullable=False),
        sa.Column("bonus_points", sa.Integer(), nullable=False),
        sa.Column("available_points", sa.Integer(), nullable=False),
        sa.Column("rate_cents", sa.Integer(), nullable=False),
        sa.Column("rate_points", sa.Integer(), nullable=False),
        sa.Column("uncapped_cents", sa.Integer(), nullable=False),
        sa.Column("cap_month_cents", sa.Integer(), nullable=True),
        sa.Column("cap_year_cents", sa.Integer(), nullable=True),
        sa.Column("year_to_date_cents", sa.Integer(), nullable=False),
        sa.Column("limited_by", sa.String(length=32), nullable=True),
        sa.Column("capped_points", sa.Integer(), nullable=False),
        sa.Column("minimum_payout_cents", sa.Integer(), nullable=False),
        sa.Column("is_below_minimum", sa.Boolean(), nullable=False),
        sa.Column("remainder_points", sa.Integer(), nullable=False),
        sa.Column("converted_points", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("expired_points", sa.Integer(), nullable=False),
        sa.Column("carried_points", sa.Integer(), nullable=False),
        sa.Column("volunteer_limits_year", sa.Integer(), nullable=True),
        sa.Column("volunteer_minutes", sa.Integer(), nullable=True),
        sa.Column("volunteer_hourly_cents", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("corrects_line_id", sa.Integer(), nullable=True),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "available_points = converted_points + expired_points + carried_points",
            name=op.f("ck_reward_settlement_lines_points_add_up"),
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_reward_settlement_lines_corporation_id_corporations"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["users.id"],
            name=op.f("fk_reward_settlement_lines_tenant_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_version_id"],
            ["reward_rule_versions.id"],
            name=op.f(
                "fk_reward_settlement_lines_rule_version_id_reward_rule_versions"
            ),
        ),
        sa.ForeignKeyConstraint(
            ["payout_choice_id"],
            ["reward_payout_choices.id"],
            name=op.f("fk_reward_settlement_lines_payout_choice"),
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["ledger_journals.id"],
            name=op.f("fk_reward_settlement_lines_journal_id_ledger_journals"),
        ),
        sa.ForeignKeyConstraint(
            ["corrects_line_id"],
            ["reward_settlement_lines.id"],
            name=op.f("fk_reward_settlement_lines_corrects_line"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_settlement_lines")),
        sa.UniqueConstraint(
            "corporation_id",
            "idempotency_key",
            name=op.f("uq_reward_settlement_lines_corporation_id_idempotency_key"),
        ),
    )
    op.create_index(
        "ix_reward_settlement_lines_period",
        "reward_settlement_lines",
        ["corporation_id", "period"],
    )
    op.create_index(
        "ix_reward_settlement_lines_tenant",
        "reward_settlement_lines",
        ["tenant_id", "period"],
    )

    op.create_table(
        "reward_close_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("tenants_settled", sa.Integer(), nullable=False),
        sa.Column("rent_credit_cents", sa.Integer(), nullable=False),
        sa.Column("payout_cents", sa.Integer(), nullable=False),
        sa.Column("converted_points", sa.Integer(), nullable=False),
        sa.Column("expired_points", sa.Integer(), nullable=False),
        sa.Column("carried_points", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_reward_close_runs_corporation_id_corporations"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_reward_close_runs_actor_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_close_runs")),
        sa.UniqueConstraint(
            "corporation_id",
            "period",
            name=op.f("uq_reward_close_runs_corporation_id_period"),
        ),
    )

    _create_append_only_triggers()


def _create_append_only_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION reward_records_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'rewards: % on % is not allowed; add a new row instead',
                    TG_OP, TG_TABLE_NAME;
            END;
            $$
            """
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "
                f"{table} FOR EACH ROW EXECUTE FUNCTION reward_records_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION reward_records_append_only()"
            )
        return
    for table in APPEND_ONLY_TABLES:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} "
                f"ON {table} BEGIN SELECT RAISE(ABORT, 'rewards: {operation} on "
                f"{table} is not allowed; add a new row instead'); END"
            )


def _drop_append_only_triggers():
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS reward_records_append_only()")
        return
    for table in APPEND_ONLY_TABLES:
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")


def downgrade():
    _drop_append_only_triggers()
    op.drop_table("reward_close_runs")
    op.drop_index("ix_reward_settlement_lines_tenant", "reward_settlement_lines")
    op.drop_index("ix_reward_settlement_lines_period", "reward_settlement_lines")
    op.drop_table("reward_settlement_lines")
    op.drop_index("ix_reward_payout_choices_tenant_applies", "reward_payout_choices")
    op.drop_table("reward_payout_choices")
    op.drop_table("volunteer_allowance_limits")
    op.drop_table("reward_category_multipliers")
    op.drop_index(
        "ix_reward_rule_versions_corporation_effective", "reward_rule_versions"
    )
    op.drop_table("reward_rule_versions")
