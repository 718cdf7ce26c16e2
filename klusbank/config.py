"""Configuration: the only module that reads the environment.

Precedence, lowest first: the defaults below, environment variables, then the
mapping passed to ``create_app`` (tests use that one).
"""

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from klusbank.paths import DEFAULT_INSTANCE_DIR

BUSINESS_TIMEZONE = "Europe/Amsterdam"
ENVIRONMENTS = ("development", "testing", "production")


class ConfigError(RuntimeError):
    """Raised when the configuration cannot start the application."""


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the configuration mapping for one application instance."""
    overrides = dict(overrides or {})
    environment = overrides.get("ENV") or os.environ.get("KLUSBANK_ENV", "development")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"KLUSBANK_ENV={environment!r} is invalid; use one of {', '.join(ENVIRONMENTS)}"
        )
    instance_dir = Path(
        overrides.get("INSTANCE_DIR")
        or os.environ.get("KLUSBANK_INSTANCE_DIR", DEFAULT_INSTANCE_DIR)
    )
    config: dict[str, Any] = {
        "ENV": environment,
        "INSTANCE_DIR": instance_dir,
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{instance_dir / 'klusbank.sqlite'}"
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "TIMEZONE": BUSINESS_TIMEZONE,
        "BABEL_DEFAULT_LOCALE": "nl",
        "BABEL_DEFAULT_TIMEZONE": BUSINESS_TIMEZONE,
        "LANGUAGES": ("nl", "en"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        # Sessions end after this much inactivity: klusbank.security signs a
        # logged-in session again on every request.
        "PERMANENT_SESSION_LIFETIME": timedelta(
            minutes=int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
        ),
        "SESSION_REFRESH_EACH_REQUEST": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": environment == "production",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": environment == "production",
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "WTF_CSRF_TIME_LIMIT": None,
        # klusbank.security checks CSRF on portal routes and klusbank.api on API
        # routes, because Flask-WTF's blueprint exemption misses nested blueprints.
        "WTF_CSRF_CHECK_DEFAULT": False,
        # Flask-Limiter keeps counters here; use redis:// when several worker
        # processes serve the portal, so the limits hold across them.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_LOGIN": os.environ.get("RATELIMIT_LOGIN", "10 per 15 minutes"),
        # Adds Retry-After (and X-RateLimit-*) to responses of limited routes.
        "RATELIMIT_HEADERS_ENABLED": True,
        # Number of reverse proxies in front of the app whose X-Forwarded-For
        # header is trusted; 0 means the socket address is the client address.
        "TRUSTED_PROXY_COUNT": int(os.environ.get("TRUSTED_PROXY_COUNT", "0")),
        "FORCE_HTTPS": environment == "production",
        "INVITATION_MAX_AGE_SECONDS": int(
            os.environ.get("INVITATION_MAX_AGE_SECONDS", str(7 * 24 * 3600))
        ),
        "UPLOAD_DIR": Path(os.environ.get("UPLOAD_DIR", instance_dir / "uploads")),
        "MAX_UPLOAD_BYTES": 10 * 1024 * 1024,
        # Werkzeug rejects larger request bodies with 413 before any view runs.
        "MAX_CONTENT_LENGTH": 11 * 1024 * 1024,
        "SCHEDULER_MISFIRE_GRACE_SECONDS": 6 * 3600,
        # Tenants that the monthly close plans and books together: fewer
        # statements with larger batches, less memory with smaller ones.
        "REWARDS_CLOSE_BATCH_TENANTS": int(
            os.environ.get("REWARDS_CLOSE_BATCH_TENANTS", "500")
        ),
    }
    secret = os.environ.get("SECRET_KEY")
    if secret:
        config["SECRET_KEY"] = secret
    config.update(overrides)
    if environment == "testing":
        config.setdefault("TESTING", True)
    _ensure_secret_key(config)
    _ensure_shared_rate_limit_storage(config)
    return config


def _ensure_shared_rate_limit_storage(config: dict[str, Any]) -> None:
    """Require rate-limit storage shared by all worker processes in production."""
    if config["ENV"] != "production" or not config.get("RATELIMIT_ENABLED", True):
        return
    if str(config["RATELIMIT_STORAGE_URI"]).startswith("memory://"):
        raise ConfigError(
            "RATELIMIT_STORAGE_URI is memory://, which each worker process counts "
            "on its own; set it to a shared store such as redis://host:6379"
        )


def _ensure_secret_key(config: dict[str, Any]) -> None:
    """Require SECRET_KEY in production; elsewhere keep a generated one on disk."""
    if config.get("SECRET_KEY"):
        return
    if config["ENV"] == "production":
        raise ConfigError(
            "SECRET_KEY is missing; set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    if config["ENV"] == "testing":
        config["SECRET_KEY"] = secrets.token_hex(32)
        return
    key_file = Path(config["INSTANCE_DIR"]) / "secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    config["SECRET_KEY"] = key_file.read_text().strip()
