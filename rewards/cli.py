"""``flask rewards`` commands."""

from flask import Flask
from flask.cli import AppGroup

group = AppGroup("rewards", help="Rewards commands.")


def register(app: Flask) -> None:
    app.cli.add_command(group)
