"""Run two requests in a fixed interleaving, each in its own thread and connection.

``run_interleaved`` starts the first request and stops it before its first write
to a participation table. Then it starts the second request and lets the first
go on once the second has executed one of the statements that wait for another
writer: ``SELECT ... FOR UPDATE`` or ``BEGIN IMMEDIATE``, or any INSERT, UPDATE
or DELETE. The second request has read what it checks before that point. So a
service that checks before it locks sees the state before the first request
wrote, and the race always happens. A service that locks before it checks waits
for the first request to commit and sees its outcome.
"""

import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from klusbank.extensions import db

PARTICIPATION_WRITE = re.compile(
    r"^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+\"?(chores|claims|claim_approvals|claim_events)\b",
    re.IGNORECASE,
)
WAITING_STATEMENT = re.compile(
    r"(\bFOR UPDATE\b|^\s*BEGIN IMMEDIATE|^\s*(INSERT|UPDATE|DELETE)\b)",
    re.IGNORECASE,
)
# Upper bound for one step, so a broken service fails the test and never hangs it.
STEP_TIMEOUT_SECONDS = 60


@dataclass
class Outcome:
    """The response one racing request got."""

    status: int
    body: str
    json: dict | None


Request = Callable[[FlaskClient], object]


def run_interleaved(
    app: Flask,
    first: tuple[FlaskClient, Request],
    second: tuple[FlaskClient, Request],
) -> tuple[Outcome, Outcome]:
    """Run ``first`` up to its first write, then ``second`` until it waits, then both."""
    first_thread_id: list[int] = []
    second_thread_id: list[int] = []
    first_paused = threading.Event()
    second_waiting = threading.Event()
    release_first = threading.Event()

    def watch(_conn, _cursor, statement, _parameters, _context, _executemany):
        thread_id = threading.get_ident()
        if thread_id in first_thread_id and not first_paused.is_set():
            if PARTICIPATION_WRITE.search(statement):
                first_paused.set()
                release_first.wait(STEP_TIMEOUT_SECONDS)
        elif thread_id in second_thread_id and WAITING_STATEMENT.search(statement):
            second_waiting.set()

    def send(ids: list[int], client: FlaskClient, request: Request) -> Outcome:
        ids.append(threading.get_ident())
        response = request(client)
        return Outcome(
            response.status_code,
            response.get_data(as_text=True),
            response.get_json(silent=True),
        )

    engine = db.engine
    event.listen(engine, "before_cursor_execute", watch)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            first_done = pool.submit(send, first_thread_id, *first)
            _wait_for(first_paused, first_done)
            second_done = pool.submit(send, second_thread_id, *second)
            _wait_for(second_waiting, second_done)
            release_first.set()
            outcomes = (
                first_done.result(STEP_TIMEOUT_SECONDS),
                second_done.result(STEP_TIMEOUT_SECONDS),
            )
    finally:
        release_first.set()
        event.remove(engine, "before_cursor_execute", watch)
    db.session.expire_all()
    return outcomes


def _wait_for(signal: threading.Event, request: Future) -> None:
    """Wait until ``signal`` is set or ``request`` has ended, whichever comes first."""
    for _step in range(STEP_TIMEOUT_SECONDS * 20):
        if signal.wait(0.05) or request.done():
            return
    raise AssertionError("a racing request neither finished nor reached its lock")
