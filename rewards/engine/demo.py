"""Demo data of the rewards engine."""


def seed(context) -> None:
    """Add reward rules and payout choices (nothing yet)."""


def finish(context) -> None:
    """Close the previous month (nothing yet)."""
