"""JSON API of the rewards statements."""

from flask import Blueprint

bp = Blueprint("rewards_statements_api", __name__)
