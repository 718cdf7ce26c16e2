"""``flask participation`` commands; each commits once or rolls back."""

import click
from flask import Flask
from flask.cli import AppGroup

from klusbank.extensions import db
from participation import jobs

group = AppGroup("participation", help="Participation: chores and claims.")


def register(app: Flask) -> None:
    app.cli.add_command(group)


@group.command("expire-claims")
def expire_claims() -> None:
    """Expire overdue unsubmitted claims and share the pots of closed chores."""
    expired = jobs.expire_overdue_claims()
    db.session.commit()
    click.echo(f"expired {expired} claims")
