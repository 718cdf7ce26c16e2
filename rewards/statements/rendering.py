"""Render every statement of a month on all CPU cores and store each once.

The parent process renders too, so ``workers`` processes render in all: the
parent and ``workers - 1`` worker processes. The parent has its app and
WeasyPrint loaded already and starts at once, while each worker still starts
Python, imports the app and builds it. A parent that only waited for the
workers would also leave one of the cores it counted idle.

Worker processes are started with ``spawn``, never ``fork``, so none inherits
the parent's database connections. Each builds its own app and connection in
its initializer, reads one tenant's closed month and returns the PDF bytes.
The parent alone writes: it stores each file with its SHA-256 and copies it
into the output folder. Statements already stored are not rendered again, so
a rerun after an interruption only renders what is missing.
"""

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from tqdm import tqdm

from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.statements import queries, services
from rewards.statements.data import build_statement
from rewards.statements.models import StatementFile, StatementKind
from rewards.statements.pdf import RenderedFile, render_statement

logger = logging.getLogger(__name__)

# Commit after this many new statements, so an interrupted run of a large
# corporation keeps what it rendered; a rerun then renders only the rest.
COMMIT_EVERY = 50
# Configuration that a worker's own app needs to reach the same database.
WORKER_CONFIG_KEYS = (
    "ENV",
    "SQLALCHEMY_DATABASE_URI",
    "INSTANCE_DIR",
    "SECRET_KEY",
    "LOG_LEVEL",
    "SERVER_NAME",
)
CHECKSUM_FILE = "SHA256SUMS"
# Tasks queued per worker process: one running and one more, so a worker has
# its next tenant while the parent renders a statement of its own. A deeper
# queue leaves the parent waiting longer for the last queued tenants.
TASKS_QUEUED_PER_WORKER = 2

_worker_app: Flask | None = None


@dataclass(frozen=True)
class RenderReport:
    """Counts of a run: statements rendered now and statements found stored."""

    rendered: int
    reused: int
    files: tuple[Path, ...]


def render_month(
    corporation_id: int,
    period: Period,
    out_dir: Path,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> RenderReport:
    """Render, store and write every statement of a closed month; commit as it goes."""
    tenant_ids = queries.statement_tenant_ids(corporation_id, period)
    out_dir.mkdir(parents=True, exist_ok=True)
    missing, stored = _split_stored(corporation_id, period, tenant_ids)
    files = [_write(out_dir, record) for record in stored]
    workers = max(1, workers or os.cpu_count() or 1)
    logger.info(
        "rendering %d statements of corporation %s %s on %d workers (%d stored)",
        len(missing),
        corporation_id,
        period,
        workers,
        len(stored),
    )

    bar = tqdm(
        total=len(tenant_ids),
        initial=len(stored),
        unit="statement",
        desc=f"statements {period}",
        disable=not progress,
    )
    with bar:
        for count, (tenant_id, locale, rendered) in enumerate(
            _render_all(corporation_id, period, missing, workers), start=1
        ):
            record = services.store_statement_file(
                corporation_id,
                tenant_id,
                StatementKind.MONTHLY,
                str(period),
                locale,
                rendered,
            )
            files.append(_write(out_dir, record))
            if count % COMMIT_EVERY == 0:
                db.session.commit()
            bar.update(1)
    db.session.commit()
    _write_checksums(out_dir, corporation_id, period, tenant_ids)
    return RenderReport(len(missing), len(stored), tuple(sorted(files)))


def _split_stored(
    corporation_id: int, period: Period, tenant_ids: list[int]
) -> tuple[list[int], list[StatementFile]]:
    """Split tenants into those still to render and the files stored already."""
    missing, stored = [], []
    for tenant_id in tenant_ids:
        tenant = queries.tenant_user(corporation_id, tenant_id)
        record = services.find_statement_file(
            corporation_id, tenant_id, StatementKind.MONTHLY, str(period), tenant.locale
        )
        if record is None:
            missing.append(tenant_id)
        else:
            stored.append(record)
    return missing, stored


def _render_all(corporation_id: int, period: Period, tenant_ids: list[int], workers):
    """Yield (tenant id, locale, rendered file) for each tenant, in any order.

    The parent takes tenants from the same queue as the worker processes and
    renders one whenever it has topped up their tasks.
    """
    if workers == 1 or len(tenant_ids) < 2:
        for tenant_id in tenant_ids:
            yield _render_one(corporation_id, tenant_id, str(period))
        return
    config = _worker_config(current_app.config)
    context = multiprocessing.get_context("spawn")
    pool_size = min(workers, len(tenant_ids)) - 1
    pending = deque(tenant_ids)
    running: set = set()
    with ProcessPoolExecutor(
        max_workers=pool_size,
        mp_context=context,
        initializer=_start_worker,
        initargs=(config,),
    ) as pool:
        while pending or running:
            while pending and len(running) < pool_size * TASKS_QUEUED_PER_WORKER:
                tenant_id = pending.popleft()
                running.add(
                    pool.submit(
                        _render_in_worker, corporation_id, tenant_id, str(period)
                    )
                )
            if pending:
                yield _render_one(corporation_id, pending.popleft(), str(period))
                finished = {future for future in running if future.done()}
            else:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
            running -= finished
            for future in finished:
                yield future.result()


def _worker_config(config: Mapping[str, Any]) -> dict[str, Any]:
    return {key: config[key] for key in WORKER_CONFIG_KEYS if key in config}


def _start_worker(config: dict[str, Any]) -> None:
    """Create this worker's own app and keep its app context for the process's life."""
    global _worker_app
    from klusbank.app import create_app

    _worker_app = create_app(config)
    _worker_app.app_context().push()


def _render_in_worker(corporation_id: int, tenant_id: int, period: str):
    try:
        return _render_one(corporation_id, tenant_id, period)
    finally:
        # Give the connection back between tasks; workers only read.
        db.session.remove()


def _render_one(
    corporation_id: int, tenant_id: int, period: str
) -> tuple[int, str, RenderedFile]:
    document = build_statement(corporation_id, tenant_id, Period.parse(period))
    return tenant_id, document.locale, render_statement(document)


def _write(out_dir: Path, record: StatementFile) -> Path:
    path = out_dir / record.filename
    path.write_bytes(record.content)
    return path


def _write_checksums(
    out_dir: Path, corporation_id: int, period: Period, tenant_ids: list[int]
) -> None:
    """Write a SHA256SUMS file (``sha256sum -c`` format) of the month's statements."""
    records = _split_stored(corporation_id, period, tenant_ids)[1]
    lines = sorted(f"{record.sha256}  {record.filename}\n" for record in records)
    (out_dir / CHECKSUM_FILE).write_text("".join(lines), encoding="utf-8")
