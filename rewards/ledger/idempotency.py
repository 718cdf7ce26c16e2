"""Idempotency keys: request hashes, replays of earlier results and stored rejections.

A keyed request that a business rule rejects is remembered in
``ledger_rejections``, so that a retry with the same key gets the same
rejection even if the rule would pass by then. The caller's transaction
usually rolls back on the error, so the rejection is written in a short
transaction of its own on a second connection:

- On PostgreSQL it is written at once, while the request still holds the
  advisory lock on its key (see ``claim_key``). A copy of the request sent at
  the same moment waits for that lock and then finds the rejection, so both
  copies get the same result.
- On SQLite the caller's transaction may hold the database's only write lock,
  and a second connection writing before it ends would wait for itself. The
  rejection is kept in the session and written as soon as the caller's
  transaction ends, committed or rolled back. A crash in between loses the
  record, and a retry is then judged again.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ScalarSelect, event, null, select, union_all
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from klusbank.db import utcnow
from klusbank.errors import IdempotencyConflict, RuleViolation
from klusbank.extensions import db
from rewards.ledger.dialect import dialect_name, insert_ignoring_conflicts, lock_name
from rewards.ledger.models import Hold, Journal, Rejection

logger = logging.getLogger(__name__)

JOURNAL = "journal"
HOLD = "hold"
_PENDING = "ledger_pending_rejections"


def request_hash(request: dict[str, Any]) -> str:
    """Return the SHA-256 of a request's canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(
        request, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Previous:
    """The outcome of an earlier request with the same key: a record id or a rejection."""

    record_id: int | None
    request_hash: str
    code: str | None = None
    message: str | None = None

    @property
    def is_rejection(self) -> bool:
        return self.record_id is None


def claim_key(
    corporation_id: int,
    operation: str,
    idempotency_key: str,
    *,
    along_with: ScalarSelect | None = None,
) -> tuple[Previous | None, Any]:
    """Lock a key until the transaction ends, then return what is stored under it.

    Two requests with the same key run one after the other on PostgreSQL, so
    the second finds the first one's journal, hold or rejection. SQLite lets
    one writer in at a time and needs no lock. ``along_with`` is a scalar
    subquery evaluated in the locking statement, saving a round trip; its
    value is returned second.
    """
    name = f"ledger_key {corporation_id} {operation} {idempotency_key}"
    value = lock_name(db.session, name, along_with=along_with)
    return find_previous(corporation_id, operation, idempotency_key), value


def find_previous(
    corporation_id: int, operation: str, idempotency_key: str
) -> Previous | None:
    """Return the journal or hold, or the rejection, stored under a key."""
    pending = _pending_rejections(db.session).get(
        (corporation_id, operation, idempotency_key)
    )
    if pending is not None:
        return Previous(
            None, pending["request_hash"], pending["code"], pending["message"]
        )

    model = Journal if operation == JOURNAL else Hold
    records = select(
        model.id,
        model.request_hash,
        null().label("code"),
        null().label("message"),
    ).where(
        model.corporation_id == corporation_id,
        model.idempotency_key == idempotency_key,
    )
    rejections = select(
        null().label("id"),
        Rejection.request_hash,
        Rejection.code,
        Rejection.message,
    ).where(
        Rejection.corporation_id == corporation_id,
        Rejection.operation == operation,
        Rejection.idempotency_key == idempotency_key,
    )
    rows = db.session.execute(union_all(records, rejections)).all()
    if not rows:
        return None
    # A stored record wins over a rejection: the key did take effect.
    row = min(rows, key=lambda found: found[0] is None)
    return Previous(row[0], row[1], row[2], row[3])


def replay(previous: Previous, digest: str, idempotency_key: str) -> int:
    """Return the id stored under the key, or raise what the first request got."""
    if previous.request_hash != digest:
        raise IdempotencyConflict(
            f"Idempotency key {idempotency_key!r} was used for a different request;"
            " use a new key for a new request.",
            code="idempotency_conflict",
        )
    if previous.is_rejection:
        raise RuleViolation(previous.message or "", code=previous.code or "rejected")
    assert previous.record_id is not None
    return previous.record_id


def remember_rejection(
    corporation_id: int,
    operation: str,
    idempotency_key: str,
    digest: str,
    rejection: RuleViolation,
) -> None:
    """Store a rejection under its key, outside the caller's transaction."""
    row = {
        "corporation_id": corporation_id,
        "operation": operation,
        "idempotency_key": idempotency_key,
        "request_hash": digest,
        "code": rejection.code,
        "message": rejection.message,
        "recorded_at": utcnow(),
    }
    if dialect_name(db.session) == "postgresql":
        _write(db.session.get_bind(), [row])
    else:
        _install_writer()
        _pending_rejections(db.session)[
            (corporation_id, operation, idempotency_key)
        ] = row
    logger.info(
        "ledger %s %r of corporation %s rejected: %s",
        operation,
        idempotency_key,
        corporation_id,
        rejection.code,
    )


def _pending_rejections(session: Session) -> dict[tuple[int, str, str], dict]:
    return session.info.setdefault(_PENDING, {})


def _install_writer() -> None:
    if not event.contains(Session, "after_transaction_end", _write_rejections):
        event.listen(Session, "after_transaction_end", _write_rejections)


def _write_rejections(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        _write(session.get_bind(), list(pending.values()))


def _write(engine, rows: list[dict[str, Any]]) -> None:
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # The caller's transaction is still open on PostgreSQL; should
                # this write ever wait for it, give up instead of waiting forever.
                connection.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
            for row in rows:
                connection.execute(
                    insert_ignoring_conflicts(connection, Rejection), row
                )
    except SQLAlchemyError:
        logger.exception(
            "could not store %d ledger rejection(s); retries will be judged again",
            len(rows),
        )
