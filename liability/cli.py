"""``flask liability`` commands."""

from flask import Flask
from flask.cli import AppGroup

group = AppGroup("liability", help="Liability commands.")


def register(app: Flask) -> None:
    app.cli.add_command(group)
