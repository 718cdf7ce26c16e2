"""JSON API of the rewards domain, mounted under /api/v1."""

from flask import Blueprint

from rewards.engine import api as engine_api
from rewards.ledger import api as ledger_api
from rewards.statements import api as statements_api


def register(api: Blueprint) -> None:
    for module in (ledger_api, engine_api, statements_api):
        api.register_blueprint(module.bp)
