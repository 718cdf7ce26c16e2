"""Demo data of the liability domain."""


def seed(context) -> None:
    """Add this domain's demo data (nothing yet)."""
