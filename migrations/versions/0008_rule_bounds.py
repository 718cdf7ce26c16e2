"""reward rule bounds: value ranges, one version per month, 64-bit settlement figures

Revision ID: 0008_rule_bounds
Revises: 0007_token_revocation

PostgreSQL gets CHECK constraints. SQLite cannot add a CHECK to an existing
table without copying it, and copying a table that other tables reference
would run their ON DELETE rules, so SQLite gets BEFORE INSERT and BEFORE UPDATE
triggers with the same conditions. The ranges are those of
``rewards.engine.limits`` when this migration was written.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_rule_bounds"
down_revision = "0007_token_revocation"
branch_labels = None
depends_on = None

# (column, minimum, maximum, may be NULL)
RULE_RANGES = (
    ("rent_credit_rate_cents", 1, 1_000, False),
    ("rent_credit_rate_points", 1, 1_000, False),
    ("payout_rate_cents", 1, 1_000, False),
    ("payout_rate_points", 1, 1_000, False),
    ("weekend_multiplier_permille", 1_000, 10_000, False),
    ("rent_credit_cap_month_cents", 0, 500_000, True),
    ("rent_credit_cap_year_cents", 0, 6_000_000, True),
    ("payout_cap_month_cents", 0, 500_000, True),
    ("payout_cap_year_cents", 0, 6_000_000, True),
    ("minimum_payout_cents", 0, 100_000, False),
    ("expiry_months", 1, 120, True),
)
MONTH_YEAR_CAPS = (
    ("rent_credit", "rent_credit_cap_month_cents", "rent_credit_cap_year_cents"),
    ("payout", "payout_cap_month_cents", "payout_cap_year_cents"),
)
MULTIPLIER_RANGE = ("multiplier_permille", 1_000, 10_000, False)
VOLUNTEER_RANGES = (
    ("year", 2000, 2100, False),
    ("hourly_21_plus_cents", 0, 10_000, False),
    ("hourly_under_21_cents", 0, 10_000, False),
    ("month_cents", 0, 500_000, False),
    ("year_cents", 0, 6_000_000, False),
)

# Figures that a close can sum past 2**31 - 1 (EUR 21 million, or 2.1 billion
# points); SQLite integers have 64 bits already.
BIGINT_COLUMNS = {
    "reward_settlement_lines": (
        "earned_points",
        "opening_points",
        "bonus_points",
        "available_points",
        "uncapped_cents",
        "cap_month_cents",
        "cap_year_cents",
        "year_to_date_cents",
        "capped_points",
        "minimum_payout_cents",
        "remainder_points",
        "converted_points",
        "amount_cents",
        "expired_points",
        "carried_points",
    ),
    "reward_close_runs": (
        "rent_credit_cents",
        "payout_cents",
        "converted_points",
        "expired_points",
        "carried_points",
    ),
}


def _between(prefix, column, low, high, optional):
    condition = f"{prefix}{column} BETWEEN {low} AND {high}"
    if optional:
        return f"({prefix}{column} IS NULL OR {condition})"
    return condition


def _checks(prefix=""):
    """Return {table: [(constraint name, condition)]}; prefix is NEW. in triggers."""
    rules = [
        (f"{column}_in_range", _between(prefix, column, low, high, optional))
        for column, low, high, optional in RULE_RANGES
    ]
    rules += [
        (
            f"{kind}_caps_month_within_year",
            f"{prefix}{month} IS NULL OR {prefix}{year} IS NULL "
            f"OR {prefix}{month} <= {prefix}{year}",
        )
        for kind, month, year in MONTH_YEAR_CAPS
    ]
    volunteer = [
        (f"{column}_in_range", _between(prefix, column, low, high, optional))
        for column, low, high, optional in VOLUNTEER_RANGES
    ]
    volunteer.append(
        ("month_within_year", f"{prefix}month_cents <= {prefix}year_cents")
    )
    return {
        "reward_rule_versions": rules,
        "reward_category_multipliers": [
            ("multiplier_in_range", _between(prefix, *MULTIPLIER_RANGE))
        ],
        "volunteer_allowance_limits": volunteer,
    }


def _refuse_duplicate_versions(bind):
    duplicates = bind.execute(
        sa.text(
            "SELECT corporation_id, effective_from FROM reward_rule_versions "
            "GROUP BY corporation_id, effective_from HAVING count(*) > 1"
        )
    ).all()
    if duplicates:
        listed = ", ".join(f"corporation {row[0]} from {row[1]}" for row in duplicates)
        raise RuntimeError(
            "reward_rule_versions has several versions for one month "
            f"({listed}); rule versions are append-only and settlements refer to "
            "them, so decide with finance which one applies before upgrading"
        )


def upgrade():
    bind = op.get_bind()
    _refuse_duplicate_versions(bind)
    if bind.dialect.name == "postgresql":
        for table, checks in _checks().items():
            for name, condition in checks:
                op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, condition)
        op.create_unique_constraint(
            op.f("uq_reward_rule_versions_corporation_id_effective_from"),
            "reward_rule_versions",
            ["corporation_id", "effective_from"],
        )
        for table, columns in BIGINT_COLUMNS.items():
            for column in columns:
                op.alter_column(
                    table, column, type_=sa.BigInteger(), existing_type=sa.Integer()
                )
        return

    for table, checks in _checks("NEW.").items():
        for name, condition in checks:
            for operation in ("insert", "update"):
                op.execute(
                    f"CREATE TRIGGER ck_{table}_{name}_{operation} BEFORE "
                    f"{operation.upper()} ON {table} WHEN NOT ({condition}) BEGIN "
                    f"SELECT RAISE(ABORT, 'CHECK constraint failed: {table} {name}'); "
                    "END"
                )
    op.execute(
        "CREATE UNIQUE INDEX uq_reward_rule_versions_corporation_id_effective_from "
        "ON reward_rule_versions (corporation_id, effective_from)"
    )


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table, columns in BIGINT_COLUMNS.items():
            for column in columns:
                op.alter_column(
                    table, column, type_=sa.Integer(), existing_type=sa.BigInteger()
                )
        op.drop_constraint(
            op.f("uq_reward_rule_versions_corporation_id_effective_from"),
            "reward_rule_versions",
            type_="unique",
        )
        for table, checks in _checks().items():
            for name, _condition in checks:
                op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
        return

    op.execute("DROP INDEX IF EXISTS uq_reward_rule_versions_corporation_id_effective_from")
    for table, checks in _checks("NEW.").items():
        for name, _condition in checks:
            for operation in ("insert", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS ck_{table}_{name}_{operation}")
