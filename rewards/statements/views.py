"""Portal pages of the rewards statements."""

from flask import Blueprint

bp = Blueprint("rewards_statements", __name__, url_prefix="/rewards")
