"""Throwaway databases for tests: one migrated template per backend, a copy per test.

Every test gets its own database, so tests may commit, run concurrent
transactions and meet the append-only triggers, and still start from the same
migrated schema. PostgreSQL copies come from ``CREATE DATABASE ... TEMPLATE``,
SQLite copies from a file copy.
"""

import itertools
import os
import shutil
import tempfile
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_counter = itertools.count()


def postgres_admin_url() -> str:
    """Return the URL of the server database used to create test databases."""
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL)


def postgres_required() -> bool:
    return os.environ.get("REQUIRE_POSTGRES") == "1"


def postgres_reachable() -> bool:
    """Tell whether the test PostgreSQL server answers."""
    try:
        with _admin_connection():
            return True
    except psycopg.OperationalError:
        return False


def _admin_connection() -> psycopg.Connection:
    url = make_url(postgres_admin_url()).set(drivername="postgresql")
    return psycopg.connect(
        url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
    )


def _with_database(name: str) -> str:
    return (
        make_url(postgres_admin_url())
        .set(database=name)
        .render_as_string(hide_password=False)
    )


class DatabaseFactory:
    """Creates empty, migrated-template and copied databases for one backend."""

    def __init__(self, backend: str):
        self.backend = backend
        self.prefix = f"kbt_{os.getpid()}"
        self.workdir = Path(tempfile.mkdtemp(prefix="klusbank-tests-"))
        self.template_url: str | None = None
        self.created: list[str] = []

    def empty(self) -> str:
        """Return the URL of a new empty database."""
        name = f"{self.prefix}_{next(_counter)}"
        if self.backend == "sqlite":
            return f"sqlite:///{self.workdir / (name + '.sqlite')}"
        with _admin_connection() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return _with_database(name)

    def copy_of_template(self) -> str:
        """Return the URL of a new copy of the migrated template."""
        assert self.template_url is not None, "migrate the template first"
        name = f"{self.prefix}_{next(_counter)}"
        if self.backend == "sqlite":
            source = make_url(self.template_url).database
            target = self.workdir / (name + ".sqlite")
            shutil.copyfile(source, target)
            return f"sqlite:///{target}"
        template = make_url(self.template_url).database
        with _admin_connection() as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self.created.append(name)
        return _with_database(name)

    def drop(self, url: str) -> None:
        """Drop one database made by this factory."""
        if self.backend == "sqlite":
            Path(make_url(url).database).unlink(missing_ok=True)
            return
        name = make_url(url).database
        with _admin_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        """Drop every database this factory made and is still there."""
        if self.backend == "postgresql":
            with _admin_connection() as connection:
                for name in list(self.created):
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.created.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)
