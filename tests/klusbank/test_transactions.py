"""Locked reads on SQLite take the write lock, as row locks do on PostgreSQL."""

import sqlite3

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from klusbank.accounts.models import User
from klusbank.extensions import db
from tests.factories import create_corporation, create_tenant


@pytest.fixture
def backend():
    """Run on SQLite only: PostgreSQL has real row locks."""
    return "sqlite"


def _other_writer_can_start(app_config) -> bool:
    path = make_url(app_config["SQLALCHEMY_DATABASE_URI"]).database
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()
    return True


def test_for_update_read_takes_write_lock(app, app_config):
    tenant = create_tenant(create_corporation())
    db.session.commit()

    db.session.execute(select(User).where(User.id == tenant.id).with_for_update())

    assert not _other_writer_can_start(app_config)
    db.session.rollback()
    assert _other_writer_can_start(app_config)


def test_get_with_for_update_takes_write_lock(app, app_config):
    tenant = create_tenant(create_corporation())
    db.session.commit()

    db.session.get(User, tenant.id, with_for_update=True, populate_existing=True)

    assert not _other_writer_can_start(app_config)


def test_plain_read_takes_no_lock(app, app_config):
    tenant = create_tenant(create_corporation())
    db.session.commit()

    db.session.execute(select(User).where(User.id == tenant.id))

    assert _other_writer_can_start(app_config)
