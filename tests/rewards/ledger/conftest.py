"""Fixtures of the ledger tests: a corporation and one of its tenants."""

import pytest

from klusbank.extensions import db
from tests.factories import create_corporation, create_tenant


@pytest.fixture
def corporation(app):
    return create_corporation()


@pytest.fixture
def tenant(corporation):
    tenant = create_tenant(corporation)
    db.session.commit()
    return tenant
