"""Logging, configured once per process with ``dictConfig``."""

import logging.config

_configured = False


def configure_logging(level: str) -> None:
    """Send every module's logger to stderr with time, level and logger name."""
    global _configured
    if _configured:
        return
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
            },
            "handlers": {
                "stderr": {"class": "logging.StreamHandler", "formatter": "plain"}
            },
            "root": {"level": level, "handlers": ["stderr"]},
            "loggers": {
                "werkzeug": {"level": "WARNING"},
                "alembic.runtime.plugins": {"level": "WARNING"},
                # WeasyPrint logs every rendering step at INFO.
                "weasyprint.progress": {"level": "WARNING"},
            },
        }
    )
    _configured = True
