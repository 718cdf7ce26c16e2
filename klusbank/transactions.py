"""Write locks that SQLite needs where PostgreSQL uses row and advisory locks."""

import logging

from sqlalchemy.exc import OperationalError

from klusbank.errors import database_busy, is_sqlite_busy
from klusbank.extensions import db

logger = logging.getLogger(__name__)


def take_sqlite_write_lock(subject: str) -> None:
    """On SQLite, start the transaction with the write lock unless it holds it.

    SQLite ignores ``SELECT ... FOR UPDATE`` and lets one writer in at a time,
    so a read-check-write must hold the write lock before it reads.
    Python's sqlite3 module (3.11, default transaction control) starts a
    transaction only before the first INSERT, UPDATE or DELETE, so a request
    that has only read is not in one yet. ``BEGIN IMMEDIATE`` starts one
    with the lock. A transaction that has written holds the lock already.
    ``subject`` names what is being locked, for the log. Raise DatabaseBusy
    when the lock is still taken after the driver's busy timeout (5 seconds
    by default). On other databases this does nothing.
    """
    connection = db.session.connection()
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
