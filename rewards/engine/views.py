"""Portal pages of the rewards engine."""

from flask import Blueprint

bp = Blueprint("rewards_engine", __name__, url_prefix="/rewards")
