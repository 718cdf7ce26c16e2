"""Portal pages of the rewards domain: one blueprint per part."""

from flask import Flask

from rewards.engine import views as engine_views
from rewards.ledger import views as ledger_views
from rewards.statements import views as statements_views


def register(app: Flask) -> None:
    for module in (ledger_views, engine_views, statements_views):
        app.register_blueprint(module.bp)
        if hasattr(module, "register_nav"):
            module.register_nav(app)
