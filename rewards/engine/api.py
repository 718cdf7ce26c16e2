"""JSON API of the rewards engine."""

from flask import Blueprint

bp = Blueprint("rewards_engine_api", __name__)
