"""Scheduled work of the participation domain: nightly expiry and pot sharing."""

import logging

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from klusbank.scheduler import run_in_app_context
from klusbank.timeutil import AMSTERDAM
from participation import services

logger = logging.getLogger(__name__)


def expire_overdue_claims() -> int:
    """Expire claims whose deadline passed unsubmitted, then share the due pots."""
    expired = services.expire_overdue_claims()
    shared = services.share_due_pots()
    logger.info("expired %d overdue claims; shared %d pots", expired, shared)
    return expired


def schedule(scheduler: BaseScheduler, app: Flask) -> None:
    """Run the expiry every night at 01:30 Amsterdam time."""
    scheduler.add_job(
        run_in_app_context,
        CronTrigger(hour=1, minute=30, timezone=AMSTERDAM),
        args=(app, expire_overdue_claims),
        id="participation.expire_overdue_claims",
        name="Expire overdue claims and share closed pots",
        replace_existing=True,
    )
