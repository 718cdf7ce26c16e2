"""The scheduler process: APScheduler in its own process, never in web workers.

Jobs run with ``coalesce=True`` and a misfire grace time of hours, in
Europe/Amsterdam. The jobs themselves take locks and use idempotency keys, so
two scheduler processes started by mistake still do each piece of work once.
"""

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from klusbank.timeutil import AMSTERDAM


def build_scheduler(app: Flask) -> BlockingScheduler:
    """Create the scheduler with every domain's jobs, not yet started."""
    from participation import jobs as participation_jobs
    from rewards import jobs as rewards_jobs

    scheduler = BlockingScheduler(
        timezone=AMSTERDAM,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": app.config["SCHEDULER_MISFIRE_GRACE_SECONDS"],
        },
    )
    participation_jobs.schedule(scheduler, app)
    rewards_jobs.schedule(scheduler, app)
    return scheduler


def run_in_app_context(app: Flask, job, *args, **kwargs):
    """Run a job body inside an app context, as one transaction."""
    from klusbank.extensions import db

    with app.app_context():
        try:
            result = job(*args, **kwargs)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
