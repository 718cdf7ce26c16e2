"""Application factory: a table of contents of named set-up steps."""

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from klusbank import paths
from klusbank.config import load_config
from klusbank.logs import configure_logging


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure one Klusbank application."""
    app = Flask(
        "klusbank",
        root_path=str(paths.PROJECT_ROOT),
        template_folder=str(paths.TEMPLATES_DIR),
        static_folder=str(paths.STATIC_DIR),
        instance_path=str(paths.DEFAULT_INSTANCE_DIR),
    )
    app.config.update(load_config(config))
    configure_logging(app.config["LOG_LEVEL"])
    configure_proxy(app)
    configure_routing(app)
    init_extensions(app)
    protect_database(app)
    register_blueprints(app)
    register_errors(app)
    register_cli(app)
    register_templates(app)
    return app


def configure_proxy(app: Flask) -> None:
    """Trust X-Forwarded-* headers only from the configured number of proxies."""
    count = app.config["TRUSTED_PROXY_COUNT"]
    if count > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=count, x_host=count
        )


def configure_routing(app: Flask) -> None:
    """Bound ``<int:...>`` URL parts to what an id column can hold."""
    from klusbank.converters import DatabaseIdConverter

    app.url_map.converters["int"] = DatabaseIdConverter


def init_extensions(app: Flask) -> None:
    """Bind the extensions to the app."""
    from klusbank.extensions import babel, csrf, db, limiter, migrate
    from klusbank.i18n import select_locale
    from klusbank.security import init_security

    db.init_app(app)
    migrate.init_app(app, db, directory=str(paths.MIGRATIONS_DIR))
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(paths.TRANSLATIONS_DIR),
    )
    limiter.init_app(app)
    init_security(app)


def protect_database(app: Flask) -> None:
    """Reject text the database cannot store; lock SQLite where PostgreSQL locks rows."""
    from klusbank import input_guard, transactions

    input_guard.register(app)
    transactions.register(app)


def register_blueprints(app: Flask) -> None:
    """Register the portal blueprints and the JSON API of every domain."""
    from klusbank import openapi
    from klusbank import views as core_views
    from klusbank.accounts import admin_views
    from klusbank.accounts import views as account_views
    from klusbank.api import create_api_blueprint
    from klusbank.housing import views as housing_views
    from liability import api as liability_api
    from liability import views as liability_views
    from participation import api as participation_api
    from participation import views as participation_views
    from rewards import api as rewards_api
    from rewards import views as rewards_views

    for module in (
        core_views,
        account_views,
        admin_views,
        housing_views,
        liability_views,
        participation_views,
        rewards_views,
    ):
        module.register(app)
    api_v1 = create_api_blueprint()
    for module in (liability_api, participation_api, rewards_api):
        module.register(api_v1)
    openapi.register(api_v1)
    app.register_blueprint(api_v1)


def register_errors(app: Flask) -> None:
    """Turn domain, validation and HTTP errors into pages or JSON."""
    from klusbank.errors import register_error_handlers

    register_error_handlers(app)


def register_cli(app: Flask) -> None:
    """Add the command groups of every domain to ``flask``."""
    from klusbank import cli as core_cli
    from liability import cli as liability_cli
    from participation import cli as participation_cli
    from rewards import cli as rewards_cli

    for module in (core_cli, liability_cli, participation_cli, rewards_cli):
        module.register(app)


def register_templates(app: Flask) -> None:
    """Add the filters and globals that templates use."""
    from klusbank.formatting import register_template_helpers

    register_template_helpers(app)
