"""Alembic environment, run through Flask-Migrate with the app's database."""

import logging

from alembic import context
from flask import current_app

config = context.config
logger = logging.getLogger("alembic.env")
# Logging is configured by the application (dictConfig), so the ini file's
# logging sections are deliberately not applied here.

migrate_extension = current_app.extensions["migrate"]
target_metadata = migrate_extension.db.metadata


def run_migrations_offline() -> None:
    """Emit SQL for the migrations without a database connection."""
    url = migrate_extension.db.engine.url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def skip_empty_autogenerate(migration_context, revision, directives) -> None:
    """Write no revision file when autogenerate finds no change."""
    if (
        getattr(config.cmd_opts, "autogenerate", False)
        and directives[0].upgrade_ops.is_empty()
    ):
        directives[:] = []
        logger.info("no changes in schema detected")


def run_migrations_online() -> None:
    """Run the migrations on the app's database."""
    engine = migrate_extension.db.engine
    options = dict(migrate_extension.configure_args)
    options.setdefault("process_revision_directives", skip_empty_autogenerate)
    with engine.connect() as connection:
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        options["render_as_batch"] = connection.dialect.name == "sqlite"
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
