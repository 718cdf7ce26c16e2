"""``flask rewards`` commands of the engine."""

import click


def add_commands(group: click.Group) -> None:
    """Add this part's commands to the rewards group (none yet)."""
