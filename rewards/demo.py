"""Demo data of the rewards domain."""

from rewards.engine import demo as engine_demo
from rewards.statements import demo as statements_demo


def seed(context) -> None:
    """Add reward rules and payout choices before chores are approved."""
    engine_demo.seed(context)


def finish(context) -> None:
    """Close the previous month, then prepare its payout batch and statements."""
    engine_demo.finish(context)
    statements_demo.finish(context)
