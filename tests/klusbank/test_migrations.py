"""The schema comes only from migrations: one head, up, down and up again."""

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from klusbank import create_app
from klusbank.extensions import db
from klusbank.paths import MIGRATIONS_DIR
from tests.conftest import build_test_config


@pytest.fixture
def empty_app(database_factory, tmp_path):
    url = database_factory.empty()
    application = create_app(build_test_config(url, tmp_path))
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()
    database_factory.drop(url)


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_single_head(empty_app):
    config = empty_app.extensions["migrate"].migrate.get_config(str(MIGRATIONS_DIR))

    heads = ScriptDirectory.from_config(config).get_heads()

    assert len(heads) == 1, f"several migration heads: {heads}; merge them"


def test_upgrade_downgrade_upgrade(empty_app):
    upgrade()
    tables_at_head = _tables()
    downgrade(revision="base")
    tables_at_base = _tables()
    upgrade()

    assert "users" in tables_at_head
    assert tables_at_base == set()
    assert _tables() == tables_at_head


def test_models_match_migrations(empty_app):
    """Autogenerate finds nothing to add: every model change has a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, db.metadata)

    missing = [diff for diff in differences if diff[0] in ("add_table", "add_column")]
    assert missing == [], f"models without a migration: {missing}"


def test_upgrade_keeps_existing_rows(empty_app):
    upgrade(revision="0001_core")
    db.session.execute(
        text(
            "INSERT INTO corporations (code, name, created_at) VALUES ('old', 'Old', CURRENT_TIMESTAMP)"
        )
    )
    db.session.commit()

    upgrade()

    assert (
        db.session.scalar(text("SELECT name FROM corporations WHERE code = 'old'"))
        == "Old"
    )
