"""JSON API of the rewards ledger."""

from flask import Blueprint

bp = Blueprint("rewards_ledger_api", __name__)
