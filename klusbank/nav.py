"""Portal navigation: each domain registers its entries per role."""

from dataclasses import dataclass

from flask import Flask
from flask_babel import lazy_gettext

from klusbank.accounts.models import Role


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: object  # a lazy translated string
    roles: frozenset[Role]
    order: int = 100


def add_nav_entry(
    app: Flask, endpoint: str, label: str, *roles: Role, order: int = 100
) -> None:
    """Show a link to ``endpoint`` in the portal menu for users with one of the roles."""
    entries = app.extensions.setdefault("klusbank_nav", [])
    entries.append(NavEntry(endpoint, lazy_gettext(label), frozenset(roles), order))
    entries.sort(key=lambda entry: entry.order)


def nav_entries_for(app: Flask, roles: frozenset[Role]) -> list[NavEntry]:
    """Return the menu entries visible to a user with these roles."""
    return [
        entry for entry in app.extensions.get("klusbank_nav", []) if entry.roles & roles
    ]
