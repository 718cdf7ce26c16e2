"""Portal pages of the rewards ledger."""

from flask import Blueprint

bp = Blueprint("rewards_ledger", __name__, url_prefix="/rewards")
