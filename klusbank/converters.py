"""URL converters shared by every blueprint."""

from werkzeug.routing import IntegerConverter

# The largest value of a signed 64-bit integer column on PostgreSQL and SQLite.
MAX_DATABASE_ID = 2**63 - 1


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` that matches only ids a database column can hold.

    A larger number in a URL then answers 404 like any unknown id, instead of
    an overflow error from the database driver.
    """

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(map, *args, **kwargs)
