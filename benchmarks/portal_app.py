"""WSGI app of the portal benchmark: Klusbank with a bare Flask route beside it.

gunicorn loads ``create_portal_app(...)`` with the benchmark database's URL.
Requests under ``/bare`` go to the baseline: a Flask app with one route and no
extensions, sessions, database or templates. Every other path goes to the
Klusbank app, built by ``create_app`` as ``wsgi.py`` builds it.
"""

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from klusbank import create_app

BARE_PREFIX = "/bare"
BARE_BODY = "<!doctype html><title>bare</title><p>ok</p>"


def create_bare_app() -> Flask:
    """Return a Flask app with a single route that returns a fixed page."""
    bare = Flask("klusbank_bench_bare")

    @bare.get("/ping")
    def ping() -> str:
        return BARE_BODY

    return bare


def create_portal_app(database_url: str, instance_dir: str, secret_key: str):
    """Return Klusbank on the given database with the bare app under /bare."""
    klusbank = create_app(
        {
            "ENV": "development",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_DIR": instance_dir,
            "SECRET_KEY": secret_key,
            "LOG_LEVEL": "WARNING",
        }
    )
    return DispatcherMiddleware(klusbank, {BARE_PREFIX: create_bare_app()})
