"""``flask participation`` commands."""

from flask import Flask
from flask.cli import AppGroup

group = AppGroup("participation", help="Participation commands.")


def register(app: Flask) -> None:
    app.cli.add_command(group)
