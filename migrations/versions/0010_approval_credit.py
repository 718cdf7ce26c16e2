"""ledger: credit approved work in one statement on PostgreSQL

``ledger_credit_approved_work`` finds or creates the tenant's points account
and the corporation's points_issued account, takes the key's advisory lock,
replays a journal or rejection stored under the key, checks for a closed
period, then inserts the draft journal and its two postings and seals it. It
does what ``rewards.ledger.journals.record_journal`` does for an approval
credit, in one round trip. The triggers of 0003_ledger check every insert and
the seal as for any other journal. SQLite keeps the statement-by-statement
path, so this migration changes nothing there.

Revision ID: 0010_approval_credit
Revises: 0009_claim_approval_journal
"""

from alembic import op

revision = "0010_approval_credit"
down_revision = "0009_claim_approval_journal"
branch_labels = None
depends_on = None

FUNCTION_SIGNATURE = (
    "ledger_credit_approved_work(integer, integer, bigint, text, text, date, text,"
    " text, timestamptz)"
)

# Outcomes, read by rewards.ledger.approval_credits:
#   posted            the journal was recorded now
#   previous          a journal is stored under the key (its id and request hash)
#   rejected          a rejection is stored under the key (hash, code, message)
#   period_closed     the period or a later one is closed (message: latest closed)
#   tenant_not_found  the tenant is not a user of the corporation; nothing written
# Statement text avoids ":name" because op.execute() reads it as a bind parameter.
CREATE_FUNCTION = """
CREATE FUNCTION ledger_credit_approved_work(
    p_corporation_id integer,
    p_tenant_id integer,
    p_points bigint,
    p_idempotency_key text,
    p_request_hash text,
    p_effective_date date,
    p_memo text,
    p_source_id text,
    p_recorded_at timestamptz,
    OUT outcome text,
    OUT journal integer,
    OUT tenant_account integer,
    OUT previous_hash text,
    OUT rejection_code text,
    OUT rejection_message text
)
LANGUAGE plpgsql AS $$
DECLARE
    issued_account integer;
    journal_period text := to_char(p_effective_date, 'YYYY-MM');
    closed_period text;
BEGIN
    SELECT id INTO tenant_account FROM ledger_accounts
    WHERE corporation_id = p_corporation_id AND tenant_id = p_tenant_id
      AND kind = 'tenant_points';
    IF NOT FOUND THEN
        IF NOT EXISTS (
            SELECT 1 FROM users
            WHERE id = p_tenant_id AND corporation_id = p_corporation_id
        ) THEN
            outcome := 'tenant_not_found';
            RETURN;
        END IF;
        -- Two requests may create the account at once; the unique index keeps one.
        INSERT INTO ledger_accounts (corporation_id, tenant_id, kind, asset,
                                     cached_balance, held_amount, created_at)
        VALUES (p_corporation_id, p_tenant_id, 'tenant_points', 'points', 0, 0,
                p_recorded_at)
        ON CONFLICT DO NOTHING;
        SELECT id INTO STRICT tenant_account FROM ledger_accounts
        WHERE corporation_id = p_corporation_id AND tenant_id = p_tenant_id
          AND kind = 'tenant_points';
    END IF;

    SELECT id INTO issued_account FROM ledger_accounts
    WHERE corporation_id = p_corporation_id AND tenant_id IS NULL
      AND kind = 'points_issued';
    IF NOT FOUND THEN
        INSERT INTO ledger_accounts (corporation_id, tenant_id, kind, asset,
                                     cached_balance, held_amount, created_at)
        VALUES (p_corporation_id, NULL, 'points_issued', 'points', NULL, NULL,
                p_recorded_at)
        ON CONFLICT DO NOTHING;
        SELECT id INTO STRICT issued_account FROM ledger_accounts
        WHERE corporation_id = p_corporation_id AND tenant_id IS NULL
          AND kind = 'points_issued';
    END IF;

    -- The same lock as rewards.ledger.idempotency.claim_key, so this function
    -- and the general path serialize two requests with one key alike.
    PERFORM pg_advisory_xact_lock(hashtextextended(
        'ledger_key ' || p_corporation_id || ' journal ' || p_idempotency_key, 0
    ));

    -- A stored journal wins over a stored rejection: the key did take effect.
    SELECT id, request_hash INTO journal, previous_hash FROM ledger_journals
    WHERE corporation_id = p_corporation_id AND idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := 'previous';
        RETURN;
    END IF;
    SELECT request_hash, code, message
    INTO previous_hash, rejection_code, rejection_message
    FROM ledger_rejections
    WHERE corporation_id = p_corporation_id AND operation = 'journal'
      AND idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := 'rejected';
        RETURN;
    END IF;

    -- A closed period freezes every period before it too.
    SELECT max(period) INTO closed_period FROM ledger_periods
    WHERE corporation_id = p_corporation_id AND period >= journal_period
      AND status = 'closed';
    IF closed_period IS NOT NULL THEN
        outcome := 'period_closed';
        rejection_message := closed_period;
        RETURN;
    END IF;

    INSERT INTO ledger_journals (corporation_id, kind, status, effective_date,
                                 period, memo, source_type, source_id,
                                 idempotency_key, request_hash, recorded_at)
    VALUES (p_corporation_id, 'approval', 'draft', p_effective_date,
            journal_period, p_memo, 'approval', p_source_id,
            p_idempotency_key, p_request_hash, p_recorded_at)
    ON CONFLICT DO NOTHING
    RETURNING id INTO journal;
    IF journal IS NULL THEN
        -- A request that did not take the key lock committed the key first.
        SELECT id, request_hash INTO STRICT journal, previous_hash
        FROM ledger_journals
        WHERE corporation_id = p_corporation_id
          AND idempotency_key = p_idempotency_key;
        outcome := 'previous';
        RETURN;
    END IF;

    INSERT INTO ledger_postings (journal_id, account_id, asset, side, amount)
    VALUES (journal, issued_account, 'points', 'debit', p_points),
           (journal, tenant_account, 'points', 'credit', p_points);
    UPDATE ledger_journals SET status = 'posted' WHERE id = journal;
    outcome := 'posted';
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {FUNCTION_SIGNATURE}")
