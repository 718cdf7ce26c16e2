"""Fixtures of the security tests: the actors, their clients and an app without a database."""

import pytest

from klusbank import create_app
from tests.conftest import build_test_config
from tests.security.helpers import (
    ActorClients,
    add_liability,
    add_participation,
    add_rewards,
    create_security_world,
)


@pytest.fixture
def world(app):
    """Corporations, clusters and one committed user per actor."""
    return create_security_world()


@pytest.fixture
def full_world(world):
    """The world with chores and claims, a briefing, and a closed month with a batch."""
    add_participation(world)
    add_liability(world)
    add_rewards(world)
    return world


@pytest.fixture
def actors(app, world):
    """A logged-in client per actor."""
    return ActorClients(app, world)


@pytest.fixture
def bare_app(tmp_path):
    """An app whose tests never touch a database (PDF, uploads, templates)."""
    application = create_app(
        build_test_config(f"sqlite:///{tmp_path / 'unused.sqlite'}", tmp_path)
    )
    with application.app_context():
        yield application
