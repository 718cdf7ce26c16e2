"""Write locks that SQLite needs where PostgreSQL uses row and advisory locks."""

import logging

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import ORMExecuteState, Session

from klusbank.errors import database_busy, is_sqlite_busy
from klusbank.extensions import db

logger = logging.getLogger(__name__)


def take_sqlite_write_lock(subject: str, session: Session | None = None) -> None:
    """On SQLite, start the transaction with the write lock unless it holds it.

    SQLite ignores ``SELECT ... FOR UPDATE`` and lets one writer in at a time,
    so a read-check-write must hold the write lock before it reads.
    Python's sqlite3 module (3.11, default transaction control) starts a
    transaction only before the first INSERT, UPDATE or DELETE, so a request
    that has only read is not in one yet. ``BEGIN IMMEDIATE`` starts one
    with the lock. A transaction that has written holds the lock already.
    ``subject`` names what is being locked, for the log, and ``session``
    defaults to the request's session. Raise DatabaseBusy
    when the lock is still taken after the driver's busy timeout (5 seconds
    by default). On other databases this does nothing.
    """
    connection = (session or db.session).connection()
    if connection.dialect.name != "sqlite":
        return
    if connection.connection.driver_connection.in_transaction:
        return
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except OperationalError as error:
        if not is_sqlite_busy(error):
            raise
        logger.warning(
            "SQLite write lock for %s still taken after the busy timeout", subject
        )
        raise database_busy() from error


def register(app: Flask) -> None:
    """Make every ``SELECT ... FOR UPDATE`` take SQLite's write lock first."""
    if not event.contains(Session, "do_orm_execute", _lock_before_for_update):
        event.listen(Session, "do_orm_execute", _lock_before_for_update)


def _lock_before_for_update(state: ORMExecuteState) -> None:
    # SQLAlchemy leaves FOR UPDATE out on SQLite, where a locked read is an
    # ordinary read that another writer may overtake between the check and
    # the write. Taking the write lock before such a read gives SQLite the
    # same serialisation as the row lock gives PostgreSQL, for every service.
    if not state.is_select:
        return
    if getattr(state.statement, "_for_update_arg", None) is None:
        return
    if state.session.get_bind().dialect.name != "sqlite":
        return
    take_sqlite_write_lock("a locked read", state.session)
