"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi``."""

from klusbank import create_app

app = create_app()
