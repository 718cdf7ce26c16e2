"""The few statements that differ between PostgreSQL and SQLite."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, scoped_session

Bind = Session | scoped_session | Connection


def dialect_name(bind: Bind) -> str:
    """Return ``postgresql`` or ``sqlite`` for a session or connection."""
    if isinstance(bind, Connection):
        return bind.dialect.name
    return bind.get_bind().dialect.name


def insert_ignoring_conflicts(bind: Bind, model: Any):
    """Return an INSERT that skips rows violating a unique constraint.

    On PostgreSQL, when a transaction still in flight inserted a conflicting
    row, the INSERT waits for it. Once that transaction commits, the row is
    skipped and ``RETURNING`` yields nothing.
    """
    if dialect_name(bind) == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    return sqlite.insert(model).on_conflict_do_nothing()


def period_lock_name(corporation_id: int, period: str) -> str:
    """Return the advisory lock name that the journal seal trigger also uses."""
    return f"ledger_period {corporation_id} {period}"


def lock_period_exclusively(session: Bind, corporation_id: int, period: str) -> None:
    """Wait for journals being sealed into a period and block new ones until commit.

    The seal trigger takes the same lock in shared mode on PostgreSQL. SQLite
    has one writer at a time, so the write transaction is the lock there.
    """
    if dialect_name(session) != "postgresql":
        return
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
        {"name": period_lock_name(corporation_id, period)},
    )
