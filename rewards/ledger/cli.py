"""``flask rewards`` commands of the ledger."""

import click


def add_commands(group: click.Group) -> None:
    """Add this part's commands to the rewards group (none yet)."""
