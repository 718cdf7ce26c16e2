"""Fixtures shared by every test: both databases, the app, clients and helpers."""

import contextvars

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade

from klusbank import create_app
from klusbank.extensions import db
from tests.databases import DatabaseFactory, postgres_reachable, postgres_required

BACKENDS = ("sqlite", "postgresql")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "browser" in item.nodeid.split("::")[0]:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def database_factories():
    """One database factory per backend, each with a migrated template."""
    factories: dict[str, DatabaseFactory] = {}
    yield factories
    for factory in factories.values():
        factory.drop_all()


def _factory_for(
    backend: str, factories: dict[str, DatabaseFactory], tmp_root
) -> DatabaseFactory:
    if backend in factories:
        return factories[backend]
    if backend == "postgresql" and not postgres_reachable():
        if postgres_required():
            pytest.fail(
                "PostgreSQL is unreachable and REQUIRE_POSTGRES=1; start it or set TEST_DATABASE_URL"
            )
        pytest.skip(
            "PostgreSQL is unreachable; set TEST_DATABASE_URL or start the server"
        )
    factory = DatabaseFactory(backend)
    factory.template_url = factory.empty()
    app = create_app(build_test_config(factory.template_url, tmp_root))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    factories[backend] = factory
    return factory


def build_test_config(database_url: str, instance_dir, **overrides) -> dict:
    """Return the configuration of a test app on the given database."""
    config = {
        "ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_DIR": instance_dir,
        "UPLOAD_DIR": instance_dir / "uploads",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "klusbank.test",
        "LOG_LEVEL": "WARNING",
    }
    config.update(overrides)
    return config


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """Name of the database backend the test runs on."""
    return request.param


@pytest.fixture
def database_factory(backend, database_factories, tmp_path_factory) -> DatabaseFactory:
    return _factory_for(
        backend, database_factories, tmp_path_factory.mktemp("template")
    )


@pytest.fixture
def database_url(database_factory):
    """URL of a fresh copy of the migrated schema, dropped after the test."""
    url = database_factory.copy_of_template()
    yield url
    database_factory.drop(url)


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    """Configuration of the test app; tests may change it before using ``app``."""
    return build_test_config(database_url, tmp_path)


class IsolatedClient(FlaskClient):
    """Test client whose requests each run in their own app context.

    Flask reuses an app context that is already pushed, which would share
    ``g``, the logged-in user and the database session between the test and
    every request. Running each request in an empty ``contextvars.Context``
    makes it start clean, as in production.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(app_config):
    """The app on a fresh database, with an app context pushed for the test body."""
    application = create_app(app_config)
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
