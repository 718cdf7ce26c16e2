"""A request that cannot get SQLite's write lock in time gets a 503, not a 500."""

import sqlite3

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from klusbank.extensions import db
from participation.models import Claim
from tests.factories import create_corporation, login
from tests.participation.helpers import create_neighbourhood, use_token


@pytest.fixture
def backend():
    """Run on SQLite only: PostgreSQL waits for a row lock without a timeout."""
    return "sqlite"


@pytest.fixture
def app_config(app_config):
    """Give up waiting for the write lock after 0.2 seconds instead of 5."""
    app_config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 0.2}}
    return app_config


def test_claim_while_database_is_locked_gets_503(app, client, app_config):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant(locale="en")
    db.session.commit()
    login(client, tenant)
    path = make_url(app_config["SQLALCHEMY_DATABASE_URI"]).database
    other_writer = sqlite3.connect(path, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")

    try:
        response = client.post(f"/participation/chores/{place.chore.id}/claim")
    finally:
        other_writer.execute("ROLLBACK")
        other_writer.close()

    assert response.status_code == 503
    assert "The database is busy" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 0


def test_api_write_before_any_lock_gets_503(app, client, app_config):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant(locale="en")
    use_token(client, tenant)
    path = make_url(app_config["SQLALCHEMY_DATABASE_URI"]).database
    other_writer = sqlite3.connect(path, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")

    try:
        response = client.post(f"/api/v1/chores/{place.chore.id}/claims")
    finally:
        other_writer.execute("ROLLBACK")
        other_writer.close()

    assert response.status_code == 503
    assert response.get_json()["message"].startswith("The database is busy")
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 0
