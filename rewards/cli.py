"""``flask rewards`` commands."""

from flask import Flask
from flask.cli import AppGroup

from rewards.engine import cli as engine_cli
from rewards.ledger import cli as ledger_cli
from rewards.statements import cli as statements_cli

group = AppGroup("rewards", help="Ledger, monthly close, statements and exports.")
for _module in (ledger_cli, engine_cli, statements_cli):
    _module.add_commands(group)


def register(app: Flask) -> None:
    app.cli.add_command(group)
