"""Demo data of the participation domain."""


def seed(context) -> None:
    """Add this domain's demo data (nothing yet)."""
