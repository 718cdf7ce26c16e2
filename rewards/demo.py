"""Demo data of the rewards domain."""

from rewards.engine import demo as engine_demo


def seed(context) -> None:
    """Add reward rules and payout choices before chores are approved."""
    engine_demo.seed(context)


def finish(context) -> None:
    """Close the previous month and prepare statements and exports."""
    engine_demo.finish(context)
