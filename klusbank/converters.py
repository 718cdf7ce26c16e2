"""URL converters shared by every blueprint."""

from werkzeug.routing import IntegerConverter

# The largest id of the tables: primary keys are ``Integer`` columns, which
# PostgreSQL stores as signed 32-bit ``integer`` (SQLite would take more).
MAX_DATABASE_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` that matches only ids a database column can hold.

    A larger number in a URL then returns 404 like any unknown id, instead of
    an overflow error from the database driver.
    """

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(map, *args, **kwargs)
