"""Demo data of the rewards domain."""


def seed(context) -> None:
    """Add this domain's demo data (nothing yet)."""
