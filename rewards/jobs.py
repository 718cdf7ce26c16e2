"""Scheduled work of the rewards domain."""

from apscheduler.schedulers.base import BaseScheduler
from flask import Flask


def schedule(scheduler: BaseScheduler, app: Flask) -> None:
    """Add this domain's jobs to the scheduler (none yet)."""
