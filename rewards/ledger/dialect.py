"""The few statements that differ between PostgreSQL and SQLite."""

from typing import Any

from sqlalchemy import ScalarSelect, func, literal, select
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


def lock_name_shared(session: Bind, name: str) -> None:
    """Take a PostgreSQL advisory lock on a name in shared mode until the transaction ends.

    Shared holders do not wait for each other, only for an exclusive holder
    of the same name. SQLite lets one writer in at a time and takes no lock.
    """
    if dialect_name(session) == "postgresql":
        session.execute(
            select(
                func.pg_advisory_xact_lock_shared(
                    func.hashtextextended(literal(name), 0)
                )
            )
        )


def lock_name(session: Bind, name: str, *, along_with: ScalarSelect | None = None):
    """Take a PostgreSQL advisory lock on a name until the transaction ends.

    Names are hashed to 64 bits, so two names may share a lock; that only
    makes one wait for the other. SQLite lets one writer in at a time, so
    there it takes no lock. ``along_with`` is a scalar subquery run in the
    same statement; its value is returned (None without one). It reads the
    database as it was before the lock was granted.
    """
    columns = [] if along_with is None else [along_with.label("value")]
    if dialect_name(session) == "postgresql":
        lock = func.pg_advisory_xact_lock(func.hashtextextended(literal(name), 0))
        columns.insert(0, lock.label("locked"))
    if not columns:
        return None
    row = session.execute(select(*columns)).one()
    return row.value if along_with is not None else None


def close_lock_name(corporation_id: int) -> str:
    """Return the advisory lock name that the journal seal trigger also uses."""
    return f"ledger_close {corporation_id}"


def lock_ledger_for_close(session: Bind, corporation_id: int) -> None:
    """Wait for journals being sealed and block new ones until the transaction ends.

    The seal trigger takes the same lock in shared mode on PostgreSQL, so this
    pauses the corporation's postings from the snapshot to the commit of a
    close. SQLite has one writer at a time: the write transaction is the lock.
    """
    lock_name(session, close_lock_name(corporation_id))


def share_ledger_with_close(session: Bind, corporation_id: int) -> None:
    """Wait for a running close and keep the next one out until the transaction ends.

    The seal trigger takes this lock in shared mode anyway. A journal that
    locks tenant account rows takes it before those row locks: otherwise it
    could hold a row that the close's settlement updates while it waits for
    the close, and the close would wait for the row.
    """
    lock_name_shared(session, close_lock_name(corporation_id))
