"""Fixtures of the ledger tests: a corporation and one of its tenants."""

import pytest

from klusbank.extensions import db
from tests.factories import create_corporation, create_tenant


@pytest.fixture
def postgresql_only(backend):
    """Skip the test on SQLite before any database is made for it."""
    if backend != "postgresql":
        pytest.skip("this test needs PostgreSQL")


@pytest.fixture
def corporation(app):
    return create_corporation()


@pytest.fixture
def tenant(corporation):
    tenant = create_tenant(corporation)
    db.session.commit()
    return tenant
