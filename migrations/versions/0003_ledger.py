"""rewards ledger: accounts, journals, postings, holds, periods, snapshots

The ledger's rules live in the database, so no code path can break them:
posted journals, postings, holds and hold resolutions are append-only; a
journal is inserted as a draft and a trigger seals it as posted only when its
debits equal its credits per asset; a posting's asset and corporation match
its account's; nothing is inserted into or sealed in a closed period; the
snapshots of a closed period are frozen. Triggers also keep the cached balance
and held amount of tenant accounts, and a CHECK keeps a tenant's payout
payable minus held amounts at zero or above.

Revision ID: 0003_ledger
Revises: 0002_liability
"""

from alembic import op
import sqlalchemy as sa

revision = "0003_ledger"
down_revision = "0002_liability"
branch_labels = None
depends_on = None

TENANT_KINDS = "('tenant_points', 'tenant_rent_credit', 'tenant_payout')"
POINTS_KINDS = "('tenant_points', 'points_issued', 'points_settled', 'points_expired')"
ACCOUNT_KINDS = (
    "('tenant_points', 'tenant_rent_credit', 'tenant_payout', 'points_issued',"
    " 'points_settled', 'points_expired', 'reward_expense', 'rent_credit_clearing',"
    " 'payout_clearing')"
)
JOURNAL_KINDS = (
    "('approval', 'settlement', 'payout', 'rent_credit', 'expiry', 'correction',"
    " 'reversal')"
)
APPEND_ONLY_TABLES = (
    "ledger_accounts",
    "ledger_journals",
    "ledger_postings",
    "ledger_holds",
    "ledger_hold_resolutions",
    "ledger_periods",
    "ledger_period_snapshots",
)


def upgrade():
    create_tables()
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TABLE {table} CASCADE")
        op.execute("DROP TABLE ledger_rejections")
        for function in POSTGRESQL_FUNCTIONS:
            op.execute(f"DROP FUNCTION {function}()")
        return
    # Dropping a table drops its triggers on SQLite.
    for table in (
        "ledger_rejections",
        "ledger_period_snapshots",
        "ledger_periods",
        "ledger_hold_resolutions",
        "ledger_holds",
        "ledger_postings",
        "ledger_journals",
        "ledger_accounts",
    ):
        op.drop_table(table)


def create_tables():
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("asset", sa.String(length=8), nullable=False),
        sa.Column("cached_balance", sa.BigInteger(), nullable=True),
        sa.Column("held_amount", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"kind IN {ACCOUNT_KINDS}", name=op.f("ck_ledger_accounts_kind")
        ),
        sa.CheckConstraint(
            f"(tenant_id IS NOT NULL) = (kind IN {TENANT_KINDS})",
            name=op.f("ck_ledger_accounts_tenant_kind"),
        ),
        sa.CheckConstraint(
            f"(asset = 'points') = (kind IN {POINTS_KINDS})",
            name=op.f("ck_ledger_accounts_kind_asset"),
        ),
        sa.CheckConstraint(
            "(tenant_id IS NULL) = (cached_balance IS NULL)"
            " AND (tenant_id IS NULL) = (held_amount IS NULL)",
            name=op.f("ck_ledger_accounts_cache_on_tenant_accounts"),
        ),
        sa.CheckConstraint(
            "held_amount >= 0", name=op.f("ck_ledger_accounts_held_not_negative")
        ),
        sa.CheckConstraint(
            "kind <> 'tenant_payout' OR cached_balance - held_amount >= 0",
            name=op.f("ck_ledger_accounts_payout_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_ledger_accounts_corporation_id_corporations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["users.id"],
            name=op.f("fk_ledger_accounts_tenant_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
    )
    op.create_index(
        "uq_ledger_accounts_tenant_kind",
        "ledger_accounts",
        ["corporation_id", "tenant_id", "kind"],
        unique=True,
        sqlite_where=sa.text("tenant_id IS NOT NULL"),
        postgresql_where=sa.text("tenant_id IS NOT NULL"),
    )
    op.create_index(
        "uq_ledger_accounts_corporation_kind",
        "ledger_accounts",
        ["corporation_id", "kind"],
        unique=True,
        sqlite_where=sa.text("tenant_id IS NULL"),
        postgresql_where=sa.text("tenant_id IS NULL"),
    )
    op.create_index(
        op.f("ix_ledger_accounts_tenant_id"), "ledger_accounts", ["tenant_id"]
    )

    op.create_table(
        "ledger_journals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("source_type", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.Column("rule_version_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("reverses_journal_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'posted')", name=op.f("ck_ledger_journals_status")
        ),
        sa.CheckConstraint(
            f"kind IN {JOURNAL_KINDS}", name=op.f("ck_ledger_journals_kind")
        ),
        sa.CheckConstraint(
            "(kind = 'reversal') = (reverses_journal_id IS NOT NULL)",
            name=op.f("ck_ledger_journals_reversal_has_original"),
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_ledger_journals_corporation_id_corporations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_ledger_journals_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_journal_id"],
            ["ledger_journals.id"],
            name=op.f("fk_ledger_journals_reverses_journal_id_ledger_journals"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_journals")),
        sa.UniqueConstraint(
            "corporation_id",
            "idempotency_key",
            name=op.f("uq_ledger_journals_corporation_id_idempotency_key"),
        ),
        sa.UniqueConstraint(
            "reverses_journal_id", name=op.f("uq_ledger_journals_reverses_journal_id")
        ),
    )
    op.create_index(
        "ix_ledger_journals_corporation_period",
        "ledger_journals",
        ["corporation_id", "period"],
    )

    op.create_table(
        "ledger_postings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("asset", sa.String(length=8), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "amount > 0", name=op.f("ck_ledger_postings_amount_positive")
        ),
        sa.CheckConstraint(
            "side IN ('debit', 'credit')", name=op.f("ck_ledger_postings_side")
        ),
        sa.CheckConstraint(
            "asset IN ('points', 'eur')", name=op.f("ck_ledger_postings_asset")
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["ledger_journals.id"],
            name=op.f("fk_ledger_postings_journal_id_ledger_journals"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_postings_account_id_ledger_accounts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
    )
    op.create_index(
        op.f("ix_ledger_postings_journal_id"), "ledger_postings", ["journal_id"]
    )
    op.create_index(
        op.f("ix_ledger_postings_account_id"), "ledger_postings", ["account_id"]
    )

    op.create_table(
        "ledger_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("asset", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("source_type", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_holds_amount_positive")),
        sa.CheckConstraint(
            "asset IN ('points', 'eur')", name=op.f("ck_ledger_holds_asset")
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_ledger_holds_corporation_id_corporations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_holds_account_id_ledger_accounts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_holds")),
        sa.UniqueConstraint(
            "corporation_id",
            "idempotency_key",
            name=op.f("uq_ledger_holds_corporation_id_idempotency_key"),
        ),
    )
    op.create_index(op.f("ix_ledger_holds_account_id"), "ledger_holds", ["account_id"])

    op.create_table(
        "ledger_hold_resolutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('posted', 'voided')", name=op.f("ck_ledger_hold_resolutions_kind")
        ),
        sa.CheckConstraint(
            "(kind = 'posted') = (journal_id IS NOT NULL)",
            name=op.f("ck_ledger_hold_resolutions_posted_has_journal"),
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["ledger_holds.id"],
            name=op.f("fk_ledger_hold_resolutions_hold_id_ledger_holds"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["ledger_journals.id"],
            name=op.f("fk_ledger_hold_resolutions_journal_id_ledger_journals"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_hold_resolutions")),
        sa.UniqueConstraint("hold_id", name=op.f("uq_ledger_hold_resolutions_hold_id")),
        sa.UniqueConstraint(
            "journal_id", name=op.f("uq_ledger_hold_resolutions_journal_id")
        ),
    )

    op.create_table(
        "ledger_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=True),
        sa.Column("closing_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'closing', 'closed')",
            name=op.f("ck_ledger_periods_status"),
        ),
        sa.CheckConstraint(
            "status <> 'closed' OR checksum IS NOT NULL",
            name=op.f("ck_ledger_periods_closed_has_checksum"),
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["corporations.id"],
            name=op.f("fk_ledger_periods_corporation_id_corporations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_periods")),
        sa.UniqueConstraint(
            "corporation_id",
            "period",
            name=op.f("uq_ledger_periods_corporation_id_period"),
        ),
    )

    op.create_table(
        "ledger_period_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ledger_period_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("asset", sa.String(length=8), nullable=False),
        sa.Column("period_debits", sa.BigInteger(), nullable=False),
        sa.Column("period_credits", sa.BigInteger(), nullable=False),
        sa.Column("closing_balance", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "period_debits >= 0",
            name=op.f("ck_ledger_period_snapshots_debits_not_negative"),
        ),
        sa.CheckConstraint(
            "period_credits >= 0",
            name=op.f("ck_ledger_period_snapshots_credits_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["ledger_period_id"],
            ["ledger_periods.id"],
            name=op.f("fk_ledger_period_snapshots_ledger_period_id_ledger_periods"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_period_snapshots_account_id_ledger_accounts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_period_snapshots")),
        sa.UniqueConstraint(
            "ledger_period_id",
            "account_id",
            name=op.f("uq_ledger_period_snapshots_ledger_period_id_account_id"),
        ),
    )
    op.create_index(
        op.f("ix_ledger_period_snapshots_account_id"),
        "ledger_period_snapshots",
        ["account_id"],
    )

    op.create_table(
        "ledger_rejections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "operation IN ('journal', 'hold')",
            name=op.f("ck_ledger_rejections_operation"),
        ),
        # No foreign key: rejections are written on a second connection while
        # the request's transaction is open, and a key-share lock on the
        # corporation row could then wait for that very transaction.
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_rejections")),
        sa.UniqueConstraint(
            "corporation_id",
            "operation",
            "idempotency_key",
            name=op.f("uq_ledger_rejections_corporation_id_operation_idempotency_key"),
        ),
    )


# PostgreSQL: one PL/pgSQL function per rule. Errors use SQLSTATE class 23
# (integrity constraint violation), so drivers report them like a failed CHECK.
# Statement text avoids ":name" because op.execute() reads it as a bind parameter.
POSTGRESQL_FUNCTIONS = (
    "ledger_reject_change",
    "ledger_accounts_before_update",
    "ledger_journals_before_insert",
    "ledger_journals_before_update",
    "ledger_journals_after_seal",
    "ledger_journals_before_delete",
    "ledger_postings_before_insert",
    "ledger_holds_before_insert",
    "ledger_holds_after_insert",
    "ledger_hold_resolutions_before_insert",
    "ledger_hold_resolutions_after_insert",
    "ledger_periods_guard",
    "ledger_period_snapshots_guard",
)

# A closed period freezes every earlier period too: a posting dated before it
# would change the closing balances in its snapshot.
_PG_PERIOD_CLOSED = """
    EXISTS (
        SELECT 1 FROM ledger_periods AS p
        WHERE p.corporation_id = {corporation} AND p.period >= {period}
          AND p.status = 'closed'
    )
"""

POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION ledger_reject_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger: % on % is not allowed; the ledger is append-only',
            TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE FUNCTION ledger_accounts_before_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF (NEW.id, NEW.corporation_id, NEW.tenant_id, NEW.kind, NEW.asset,
            NEW.created_at)
           IS DISTINCT FROM
           (OLD.id, OLD.corporation_id, OLD.tenant_id, OLD.kind, OLD.asset,
            OLD.created_at) THEN
            RAISE EXCEPTION 'ledger: account % may change only its cached amounts',
                OLD.id USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    f"""
    CREATE FUNCTION ledger_journals_before_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status <> 'draft' THEN
            RAISE EXCEPTION 'ledger: insert journal % as draft, then seal it as posted',
                NEW.idempotency_key USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.period <> to_char(NEW.effective_date, 'YYYY-MM') THEN
            RAISE EXCEPTION 'ledger: period % does not contain effective date %',
                NEW.period, NEW.effective_date USING ERRCODE = 'check_violation';
        END IF;
        IF {_PG_PERIOD_CLOSED.format(corporation="NEW.corporation_id", period="NEW.period")} THEN
            RAISE EXCEPTION 'ledger: period % or a later one is closed; journal % was not recorded',
                NEW.period, NEW.idempotency_key USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    # Sealing takes the corporation's close lock in shared mode. The close holds
    # it exclusively from its snapshot to its commit, so no journal is sealed
    # between the snapshot and the closing.
    f"""
    CREATE FUNCTION ledger_journals_before_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        unbalanced text;
    BEGIN
        IF OLD.status = 'posted' THEN
            RAISE EXCEPTION 'ledger: posted journal % (key %) cannot be changed',
                OLD.id, OLD.idempotency_key USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.status <> 'posted'
           OR (to_jsonb(NEW) - 'status') <> (to_jsonb(OLD) - 'status') THEN
            RAISE EXCEPTION 'ledger: draft journal % can only be sealed as posted',
                OLD.id USING ERRCODE = 'restrict_violation';
        END IF;
        PERFORM pg_advisory_xact_lock_shared(
            hashtextextended('ledger_close ' || NEW.corporation_id, 0)
        );
        IF {_PG_PERIOD_CLOSED.format(corporation="NEW.corporation_id", period="NEW.period")} THEN
            RAISE EXCEPTION 'ledger: period % or a later one is closed; journal % was not posted',
                NEW.period, NEW.id USING ERRCODE = 'check_violation';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM ledger_postings WHERE journal_id = NEW.id) THEN
            RAISE EXCEPTION 'ledger: journal % (key %) has no postings',
                NEW.id, NEW.idempotency_key USING ERRCODE = 'check_violation';
        END IF;
        SELECT string_agg(asset, ', ') INTO unbalanced FROM (
            SELECT asset FROM ledger_postings WHERE journal_id = NEW.id
            GROUP BY asset
            HAVING sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END) <> 0
        ) AS totals;
        IF unbalanced IS NOT NULL THEN
            RAISE EXCEPTION 'ledger: journal % (key %) does not balance in %',
                NEW.id, NEW.idempotency_key, unbalanced
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    # Tenant accounts are credit-normal. Counter-accounts have no cache, so the
    # busy corporation rows are never updated by a posting.
    """
    CREATE FUNCTION ledger_journals_after_seal() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE ledger_accounts AS a
        SET cached_balance = a.cached_balance + movement.delta
        FROM (
            SELECT account_id,
                   sum(CASE WHEN side = 'credit' THEN amount ELSE -amount END) AS delta
            FROM ledger_postings WHERE journal_id = NEW.id
            GROUP BY account_id
        ) AS movement
        WHERE a.id = movement.account_id AND a.tenant_id IS NOT NULL;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION ledger_journals_before_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.status = 'posted' THEN
            RAISE EXCEPTION 'ledger: posted journal % (key %) cannot be deleted',
                OLD.id, OLD.idempotency_key USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END
    $$
    """,
    f"""
    CREATE FUNCTION ledger_postings_before_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        journal record;
        account record;
    BEGIN
        SELECT status, corporation_id, period INTO journal
        FROM ledger_journals WHERE id = NEW.journal_id;
        IF NOT FOUND OR journal.status <> 'draft' THEN
            RAISE EXCEPTION 'ledger: journal % is not a draft; postings cannot be added',
                NEW.journal_id USING ERRCODE = 'check_violation';
        END IF;
        SELECT asset, corporation_id INTO account
        FROM ledger_accounts WHERE id = NEW.account_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'ledger: account % does not exist', NEW.account_id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF account.asset <> NEW.asset THEN
            RAISE EXCEPTION 'ledger: posting asset % differs from asset % of account %',
                NEW.asset, account.asset, NEW.account_id
                USING ERRCODE = 'check_violation';
        END IF;
        IF account.corporation_id <> journal.corporation_id THEN
            RAISE EXCEPTION 'ledger: account % belongs to another corporation than journal %',
                NEW.account_id, NEW.journal_id USING ERRCODE = 'check_violation';
        END IF;
        IF {_PG_PERIOD_CLOSED.format(corporation="journal.corporation_id", period="journal.period")} THEN
            RAISE EXCEPTION 'ledger: period % or a later one is closed; no postings can be added',
                journal.period USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE FUNCTION ledger_holds_before_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        account record;
    BEGIN
        SELECT asset, corporation_id, tenant_id INTO account
        FROM ledger_accounts WHERE id = NEW.account_id;
        IF NOT FOUND OR account.tenant_id IS NULL THEN
            RAISE EXCEPTION 'ledger: holds are placed on tenant accounts only, not on %',
                NEW.account_id USING ERRCODE = 'check_violation';
        END IF;
        IF account.asset <> NEW.asset OR account.corporation_id <> NEW.corporation_id THEN
            RAISE EXCEPTION 'ledger: hold asset or corporation differs from account %',
                NEW.account_id USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE FUNCTION ledger_holds_after_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE ledger_accounts SET held_amount = held_amount + NEW.amount
        WHERE id = NEW.account_id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION ledger_hold_resolutions_before_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        hold record;
    BEGIN
        SELECT account_id, amount INTO hold FROM ledger_holds WHERE id = NEW.hold_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'ledger: hold % does not exist', NEW.hold_id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF NEW.kind = 'posted' AND NOT EXISTS (
            SELECT 1 FROM ledger_postings
            WHERE journal_id = NEW.journal_id AND account_id = hold.account_id
              AND side = 'debit' AND amount = hold.amount
        ) THEN
            RAISE EXCEPTION 'ledger: journal % does not debit hold % from its account',
                NEW.journal_id, NEW.hold_id USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE FUNCTION ledger_hold_resolutions_after_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE ledger_accounts AS a SET held_amount = a.held_amount - h.amount
        FROM ledger_holds AS h
        WHERE h.id = NEW.hold_id AND a.id = h.account_id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION ledger_periods_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NEW.status = 'closed' THEN
                RAISE EXCEPTION 'ledger: mark period % closing before closing it',
                    NEW.period USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END IF;
        IF OLD.status = 'closed' THEN
            RAISE EXCEPTION 'ledger: period % of corporation % is closed and frozen',
                OLD.period, OLD.corporation_id USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN
            IF OLD.status <> 'open' THEN
                RAISE EXCEPTION 'ledger: period % is closing and cannot be deleted',
                    OLD.period USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN OLD;
        END IF;
        IF (NEW.corporation_id, NEW.period) IS DISTINCT FROM
           (OLD.corporation_id, OLD.period)
           OR (OLD.status = 'closing' AND NEW.status = 'open') THEN
            RAISE EXCEPTION 'ledger: period % can only move from open to closing to closed',
                OLD.period USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE FUNCTION ledger_period_snapshots_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM ledger_periods
            WHERE status = 'closed' AND id IN (
                CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.ledger_period_id END,
                CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.ledger_period_id END
            )
        ) THEN
            RAISE EXCEPTION 'ledger: snapshots of a closed period cannot change'
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER ledger_accounts_before_update BEFORE UPDATE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_before_update()
    """,
    """
    CREATE TRIGGER ledger_accounts_before_delete BEFORE DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()
    """,
    """
    CREATE TRIGGER ledger_journals_before_insert BEFORE INSERT ON ledger_journals
    FOR EACH ROW EXECUTE FUNCTION ledger_journals_before_insert()
    """,
    """
    CREATE TRIGGER ledger_journals_before_update BEFORE UPDATE ON ledger_journals
    FOR EACH ROW EXECUTE FUNCTION ledger_journals_before_update()
    """,
    """
    CREATE TRIGGER ledger_journals_after_seal AFTER UPDATE OF status ON ledger_journals
    FOR EACH ROW WHEN (OLD.status = 'draft' AND NEW.status = 'posted')
    EXECUTE FUNCTION ledger_journals_after_seal()
    """,
    """
    CREATE TRIGGER ledger_journals_before_delete BEFORE DELETE ON ledger_journals
    FOR EACH ROW EXECUTE FUNCTION ledger_journals_before_delete()
    """,
    """
    CREATE TRIGGER ledger_postings_before_insert BEFORE INSERT ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION ledger_postings_before_insert()
    """,
    """
    CREATE TRIGGER ledger_postings_before_change BEFORE UPDATE OR DELETE
    ON ledger_postings FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()
    """,
    """
    CREATE TRIGGER ledger_holds_before_insert BEFORE INSERT ON ledger_holds
    FOR EACH ROW EXECUTE FUNCTION ledger_holds_before_insert()
    """,
    """
    CREATE TRIGGER ledger_holds_after_insert AFTER INSERT ON ledger_holds
    FOR EACH ROW EXECUTE FUNCTION ledger_holds_after_insert()
    """,
    """
    CREATE TRIGGER ledger_holds_before_change BEFORE UPDATE OR DELETE ON ledger_holds
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()
    """,
    """
    CREATE TRIGGER ledger_hold_resolutions_before_insert
    BEFORE INSERT ON ledger_hold_resolutions
    FOR EACH ROW EXECUTE FUNCTION ledger_hold_resolutions_before_insert()
    """,
    """
    CREATE TRIGGER ledger_hold_resolutions_after_insert
    AFTER INSERT ON ledger_hold_resolutions
    FOR EACH ROW EXECUTE FUNCTION ledger_hold_resolutions_after_insert()
    """,
    """
    CREATE TRIGGER ledger_hold_resolutions_before_change
    BEFORE UPDATE OR DELETE ON ledger_hold_resolutions
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()
    """,
    """
    CREATE TRIGGER ledger_periods_guard BEFORE INSERT OR UPDATE OR DELETE
    ON ledger_periods FOR EACH ROW EXECUTE FUNCTION ledger_periods_guard()
    """,
    """
    CREATE TRIGGER ledger_period_snapshots_guard BEFORE INSERT OR UPDATE OR DELETE
    ON ledger_period_snapshots
    FOR EACH ROW EXECUTE FUNCTION ledger_period_snapshots_guard()
    """,
) + tuple(
    f"""
    CREATE TRIGGER {table}_before_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change()
    """
    for table in APPEND_ONLY_TABLES
)

# SQLite: RAISE(ABORT, ...) undoes the statement and reports SQLITE_CONSTRAINT.
# Its messages must be constants, so they name the rule, not the row.
_SQLITE_PERIOD_CLOSED = """
    EXISTS (
        SELECT 1 FROM ledger_periods AS p
        WHERE p.corporation_id = {corporation} AND p.period >= {period}
          AND p.status = 'closed'
    )
"""
_JOURNAL_COLUMNS = (
    "id",
    "corporation_id",
    "kind",
    "effective_date",
    "period",
    "memo",
    "source_type",
    "source_id",
    "rule_version_id",
    "idempotency_key",
    "request_hash",
    "actor_id",
    "reverses_journal_id",
    "recorded_at",
)
_JOURNAL_COLUMNS_CHANGED = " OR ".join(
    f"NEW.{column} IS NOT OLD.{column}" for column in _JOURNAL_COLUMNS
)

SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER ledger_accounts_before_update BEFORE UPDATE ON ledger_accounts
    WHEN NEW.id IS NOT OLD.id OR NEW.corporation_id IS NOT OLD.corporation_id
      OR NEW.tenant_id IS NOT OLD.tenant_id OR NEW.kind IS NOT OLD.kind
      OR NEW.asset IS NOT OLD.asset OR NEW.created_at IS NOT OLD.created_at
    BEGIN
        SELECT RAISE(ABORT, 'ledger: an account may change only its cached amounts');
    END
    """,
    """
    CREATE TRIGGER ledger_accounts_before_delete BEFORE DELETE ON ledger_accounts
    BEGIN
        SELECT RAISE(ABORT, 'ledger: accounts cannot be deleted');
    END
    """,
    f"""
    CREATE TRIGGER ledger_journals_before_insert BEFORE INSERT ON ledger_journals
    BEGIN
        SELECT RAISE(ABORT, 'ledger: insert a journal as draft, then seal it as posted')
        WHERE NEW.status <> 'draft';
        SELECT RAISE(ABORT, 'ledger: the period does not contain the effective date')
        WHERE NEW.period IS NOT substr(NEW.effective_date, 1, 7);
        SELECT RAISE(ABORT, 'ledger: the period or a later one is closed; the journal was not recorded')
        WHERE {_SQLITE_PERIOD_CLOSED.format(corporation="NEW.corporation_id", period="NEW.period")};
    END
    """,
    """
    CREATE TRIGGER ledger_journals_before_update_posted
    BEFORE UPDATE ON ledger_journals WHEN OLD.status = 'posted'
    BEGIN
        SELECT RAISE(ABORT, 'ledger: a posted journal cannot be changed');
    END
    """,
    f"""
    CREATE TRIGGER ledger_journals_before_seal
    BEFORE UPDATE ON ledger_journals WHEN OLD.status = 'draft'
    BEGIN
        SELECT RAISE(ABORT, 'ledger: a draft journal can only be sealed as posted')
        WHERE NEW.status IS NOT 'posted' OR {_JOURNAL_COLUMNS_CHANGED};
        SELECT RAISE(ABORT, 'ledger: the period or a later one is closed; the journal was not posted')
        WHERE {_SQLITE_PERIOD_CLOSED.format(corporation="NEW.corporation_id", period="NEW.period")};
        SELECT RAISE(ABORT, 'ledger: a journal without postings cannot be posted')
        WHERE NOT EXISTS (SELECT 1 FROM ledger_postings WHERE journal_id = NEW.id);
        SELECT RAISE(ABORT, 'ledger: the journal does not balance: debits differ from credits')
        WHERE EXISTS (
            SELECT asset FROM ledger_postings WHERE journal_id = NEW.id
            GROUP BY asset
            HAVING sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END) <> 0
        );
    END
    """,
    """
    CREATE TRIGGER ledger_journals_after_seal
    AFTER UPDATE OF status ON ledger_journals
    WHEN OLD.status = 'draft' AND NEW.status = 'posted'
    BEGIN
        UPDATE ledger_accounts
        SET cached_balance = cached_balance + (
            SELECT sum(CASE WHEN p.side = 'credit' THEN p.amount ELSE -p.amount END)
            FROM ledger_postings AS p
            WHERE p.journal_id = NEW.id AND p.account_id = ledger_accounts.id
        )
        WHERE tenant_id IS NOT NULL
          AND id IN (SELECT account_id FROM ledger_postings WHERE journal_id = NEW.id);
    END
    """,
    """
    CREATE TRIGGER ledger_journals_before_delete BEFORE DELETE ON ledger_journals
    WHEN OLD.status = 'posted'
    BEGIN
        SELECT RAISE(ABORT, 'ledger: a posted journal cannot be deleted');
    END
    """,
    f"""
    CREATE TRIGGER ledger_postings_before_insert BEFORE INSERT ON ledger_postings
    BEGIN
        SELECT RAISE(ABORT, 'ledger: postings can only be added to a draft journal')
        WHERE (SELECT status FROM ledger_journals WHERE id = NEW.journal_id)
              IS NOT 'draft';
        SELECT RAISE(ABORT, 'ledger: the posting asset differs from its account asset')
        WHERE (SELECT asset FROM ledger_accounts WHERE id = NEW.account_id)
              IS NOT NEW.asset;
        SELECT RAISE(ABORT, 'ledger: the account belongs to another corporation')
        WHERE (SELECT corporation_id FROM ledger_accounts WHERE id = NEW.account_id)
              IS NOT (SELECT corporation_id FROM ledger_journals WHERE id = NEW.journal_id);
        SELECT RAISE(ABORT, 'ledger: the period or a later one is closed; no postings can be added')
        WHERE EXISTS (
            SELECT 1 FROM ledger_journals AS j
            WHERE j.id = NEW.journal_id
              AND {_SQLITE_PERIOD_CLOSED.format(corporation="j.corporation_id", period="j.period")}
        );
    END
    """,
    """
    CREATE TRIGGER ledger_postings_before_update BEFORE UPDATE ON ledger_postings
    BEGIN
        SELECT RAISE(ABORT, 'ledger: postings cannot be changed');
    END
    """,
    """
    CREATE TRIGGER ledger_postings_before_delete BEFORE DELETE ON ledger_postings
    BEGIN
        SELECT RAISE(ABORT, 'ledger: postings cannot be deleted');
    END
    """,
    """
    CREATE TRIGGER ledger_holds_before_insert BEFORE INSERT ON ledger_holds
    BEGIN
        SELECT RAISE(ABORT, 'ledger: holds are placed on tenant accounts only')
        WHERE (SELECT tenant_id FROM ledger_accounts WHERE id = NEW.account_id) IS NULL;
        SELECT RAISE(ABORT, 'ledger: the hold asset or corporation differs from its account')
        WHERE NOT EXISTS (
            SELECT 1 FROM ledger_accounts
            WHERE id = NEW.account_id AND asset = NEW.asset
              AND corporation_id = NEW.corporation_id
        );
    END
    """,
    """
    CREATE TRIGGER ledger_holds_after_insert AFTER INSERT ON ledger_holds
    BEGIN
        UPDATE ledger_accounts SET held_amount = held_amount + NEW.amount
        WHERE id = NEW.account_id;
    END
    """,
    """
    CREATE TRIGGER ledger_holds_before_update BEFORE UPDATE ON ledger_holds
    BEGIN
        SELECT RAISE(ABORT, 'ledger: holds cannot be changed; resolve them instead');
    END
    """,
    """
    CREATE TRIGGER ledger_holds_before_delete BEFORE DELETE ON ledger_holds
    BEGIN
        SELECT RAISE(ABORT, 'ledger: holds cannot be deleted; void them instead');
    END
    """,
    """
    CREATE TRIGGER ledger_hold_resolutions_before_insert
    BEFORE INSERT ON ledger_hold_resolutions
    BEGIN
        SELECT RAISE(ABORT, 'ledger: the hold does not exist')
        WHERE NOT EXISTS (SELECT 1 FROM ledger_holds WHERE id = NEW.hold_id);
        SELECT RAISE(ABORT, 'ledger: the journal does not debit the held amount')
        WHERE NEW.kind = 'posted' AND NOT EXISTS (
            SELECT 1 FROM ledger_postings AS p JOIN ledger_holds AS h
              ON h.id = NEW.hold_id AND p.account_id = h.account_id
             AND p.amount = h.amount
            WHERE p.journal_id = NEW.journal_id AND p.side = 'debit'
        );
    END
    """,
    """
    CREATE TRIGGER ledger_hold_resolutions_after_insert
    AFTER INSERT ON ledger_hold_resolutions
    BEGIN
        UPDATE ledger_accounts
        SET held_amount = held_amount
            - (SELECT amount FROM ledger_holds WHERE id = NEW.hold_id)
        WHERE id = (SELECT account_id FROM ledger_holds WHERE id = NEW.hold_id);
    END
    """,
    """
    CREATE TRIGGER ledger_hold_resolutions_before_update
    BEFORE UPDATE ON ledger_hold_resolutions
    BEGIN
        SELECT RAISE(ABORT, 'ledger: hold resolutions cannot be changed');
    END
    """,
    """
    CREATE TRIGGER ledger_hold_resolutions_before_delete
    BEFORE DELETE ON ledger_hold_resolutions
    BEGIN
        SELECT RAISE(ABORT, 'ledger: hold resolutions cannot be deleted');
    END
    """,
    """
    CREATE TRIGGER ledger_periods_before_insert BEFORE INSERT ON ledger_periods
    WHEN NEW.status = 'closed'
    BEGIN
        SELECT RAISE(ABORT, 'ledger: mark a period closing before closing it');
    END
    """,
    """
    CREATE TRIGGER ledger_periods_before_update BEFORE UPDATE ON ledger_periods
    BEGIN
        SELECT RAISE(ABORT, 'ledger: a closed period is frozen')
        WHERE OLD.status = 'closed';
        SELECT RAISE(ABORT, 'ledger: a period only moves from open to closing to closed')
        WHERE NEW.corporation_id IS NOT OLD.corporation_id
           OR NEW.period IS NOT OLD.period
           OR (OLD.status = 'closing' AND NEW.status = 'open');
    END
    """,
    """
    CREATE TRIGGER ledger_periods_before_delete BEFORE DELETE ON ledger_periods
    WHEN OLD.status <> 'open'
    BEGIN
        SELECT RAISE(ABORT, 'ledger: a closing or closed period cannot be deleted');
    END
    """,
    """
    CREATE TRIGGER ledger_period_snapshots_before_insert
    BEFORE INSERT ON ledger_period_snapshots
    WHEN (SELECT status FROM ledger_periods WHERE id = NEW.ledger_period_id) = 'closed'
    BEGIN
        SELECT RAISE(ABORT, 'ledger: snapshots of a closed period cannot change');
    END
    """,
    """
    CREATE TRIGGER ledger_period_snapshots_before_update
    BEFORE UPDATE ON ledger_period_snapshots
    WHEN EXISTS (
        SELECT 1 FROM ledger_periods
        WHERE id IN (OLD.ledger_period_id, NEW.ledger_period_id) AND status = 'closed'
    )
    BEGIN
        SELECT RAISE(ABORT, 'ledger: snapshots of a closed period cannot change');
    END
    """,
    """
    CREATE TRIGGER ledger_period_snapshots_before_delete
    BEFORE DELETE ON ledger_period_snapshots
    WHEN (SELECT status FROM ledger_periods WHERE id = OLD.ledger_period_id) = 'closed'
    BEGIN
        SELECT RAISE(ABORT, 'ledger: snapshots of a closed period cannot change');
    END
    """,
)
