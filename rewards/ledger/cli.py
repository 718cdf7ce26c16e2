"""``flask rewards`` commands of the ledger."""

import logging

import click
from sqlalchemy import select

from klusbank.extensions import db
from klusbank.housing.models import Corporation
from rewards.ledger.verify import verify_ledger

logger = logging.getLogger(__name__)


def add_commands(group: click.Group) -> None:
    """Add this part's commands to the rewards group."""
    group.add_command(verify)


@click.command("verify")
@click.option(
    "--corporation",
    "corporation_code",
    default=None,
    help="Short code of one corporation to check, e.g. demo; default: all.",
)
def verify(corporation_code: str | None) -> None:
    """Recompute every ledger invariant; exit 1 and name each violation found."""
    corporation_id = None
    if corporation_code is not None:
        corporation_id = db.session.scalar(
            select(Corporation.id).where(Corporation.code == corporation_code)
        )
        if corporation_id is None:
            raise click.BadParameter(
                f"no corporation has code {corporation_code!r}",
                param_hint="--corporation",
            )
    violations = verify_ledger(corporation_id)
    db.session.rollback()
    if violations:
        for violation in violations:
            click.echo(f"violation: {violation}", err=True)
        logger.error("ledger verify found %d violation(s)", len(violations))
        raise SystemExit(1)
    click.echo("ledger verified: no violations")
