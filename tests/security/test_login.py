"""Login: failures reveal nothing, attempts are rate limited per account and address."""

import json
import os
import re
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine
from sqlalchemy import select

from klusbank.accounts.models import AuditEvent
from klusbank.extensions import db
from klusbank.paths import PROJECT_ROOT
from tests.factories import PASSWORD

LIMIT = 3
CSRF_VALUE = re.compile(rb'(?<=name="csrf_token" value=")[^"]+')
REDIS_URL = "redis://127.0.0.1:6379"
# Flask-Limiter keeps the first key prefix it gets for the whole process, so
# every Redis test in this process shares one prefix and cleans up its keys.
REDIS_PREFIX = f"klusbank-test-{os.getpid()}-{secrets.token_hex(4)}"


@pytest.fixture
def app_config(app_config):
    app_config.update(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_LOGIN=f"{LIMIT} per 15 minutes",
    )
    return app_config


def attempt(
    client, email, password="wrong password", address="192.0.2.1", forwarded_for=None
):
    """Post one login from a client address, optionally through a proxy."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


def audited_addresses(action: str) -> list[str]:
    query = (
        select(AuditEvent.ip_address)
        .where(AuditEvent.action == action)
        .order_by(AuditEvent.id)
    )
    return list(db.session.scalars(query))


def without(body: bytes, *texts: str) -> bytes:
    """Remove the echoed e-mail address and the CSRF tokens, which carry a timestamp."""
    for text in texts:
        body = body.replace(text.encode(), b"")
    return CSRF_VALUE.sub(b"", body)


def test_failed_logins_look_alike(app, world, client):
    deactivated = world.users["tenant_b"]
    deactivated.is_active_account = False
    db.session.commit()
    unknown_email = "nobody@example.test"

    wrong_password = attempt(client, world.tenant_a.email)
    unknown_account = attempt(client, unknown_email)
    inactive_account = attempt(client, deactivated.email, password=PASSWORD)

    assert wrong_password.status_code == 401
    assert unknown_account.status_code == 401
    assert inactive_account.status_code == 401
    assert without(wrong_password.data, world.tenant_a.email) == without(
        unknown_account.data, unknown_email
    )
    assert without(inactive_account.data, deactivated.email) == without(
        unknown_account.data, unknown_email
    )


def test_address_limit_blocks_next_attempt(app, world, client):
    statuses = [
        attempt(client, f"guess{number}@example.test").status_code
        for number in range(LIMIT)
    ]

    blocked = attempt(client, "another@example.test")
    other_address = attempt(client, "another@example.test", address="192.0.2.2")

    assert statuses == [401] * LIMIT
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers
    assert other_address.status_code == 401


def test_login_page_views_not_counted(app, world, client):
    for _ in range(LIMIT + 2):
        client.get("/login", environ_base={"REMOTE_ADDR": "192.0.2.1"})

    assert attempt(client, world.tenant_a.email).status_code == 401


def test_successful_logins_not_counted(app, world):
    # An office behind one address: many people log in, and no one is locked out.
    tenant_a, tenant_b = world.tenant_a, world.users["tenant_b"]
    successes = [
        attempt(app.test_client(), user.email, PASSWORD).status_code
        for _ in range(LIMIT + 2)
        for user in (tenant_a, tenant_b)
    ]

    failures = [
        attempt(app.test_client(), tenant_a.email).status_code for _ in range(LIMIT)
    ]
    blocked = attempt(app.test_client(), tenant_b.email, PASSWORD)

    assert successes == [302] * (2 * (LIMIT + 2))
    assert failures == [401] * LIMIT
    assert blocked.status_code == 429


def test_invalid_form_not_counted(app, world, client):
    empty = [attempt(client, "", password="").status_code for _ in range(LIMIT + 1)]

    wrong_password = attempt(client, world.tenant_a.email)

    assert empty == [422] * (LIMIT + 1)
    assert wrong_password.status_code == 401


class TestDefaultLimit:
    @pytest.fixture
    def app_config(self, app_config):
        app_config["RATELIMIT_LOGIN"] = "10 per 15 minutes"
        return app_config

    def test_ten_failures_lock(self, app, world):
        email = world.tenant_a.email
        failures = [attempt(app.test_client(), email).status_code for _ in range(10)]

        right_password = attempt(app.test_client(), email, PASSWORD)
        other_account = attempt(app.test_client(), world.users["tenant_b"].email)

        assert failures == [401] * 10
        assert right_password.status_code == 429
        assert other_account.status_code == 429


def test_limit_ends_after_window(app, world, client):
    with time_machine.travel(datetime(2025, 3, 3, 9, 0, tzinfo=UTC)) as traveller:
        for number in range(LIMIT):
            attempt(client, f"guess{number}@example.test")
        blocked = attempt(client, "guess@example.test")
        traveller.shift(timedelta(minutes=16))
        later = attempt(client, "guess@example.test")

    assert blocked.status_code == 429
    assert later.status_code == 401


class TestBehindProxy:
    PROXY = "10.0.0.2"

    @pytest.fixture
    def app_config(self, app_config):
        app_config["TRUSTED_PROXY_COUNT"] = 1
        return app_config

    def test_account_limit_holds_across_addresses(self, app, world, client):
        email = world.tenant_a.email
        statuses = [
            attempt(
                client, email, address=self.PROXY, forwarded_for=f"192.0.2.{number}"
            ).status_code
            for number in range(LIMIT)
        ]

        right_password = attempt(
            client, email, PASSWORD, address=self.PROXY, forwarded_for="192.0.2.50"
        )
        other_account = attempt(
            client,
            world.users["tenant_b"].email,
            address=self.PROXY,
            forwarded_for="192.0.2.51",
        )

        assert statuses == [401] * LIMIT
        assert right_password.status_code == 429
        assert other_account.status_code == 401

    def test_account_limit_hides_existence(self, app, world, client):
        unknown_email = "nobody@example.test"
        for number in range(LIMIT):
            for email in (world.tenant_a.email, unknown_email):
                attempt(
                    client,
                    email,
                    address=self.PROXY,
                    forwarded_for=f"192.0.2.{number}",
                )

        existing = attempt(
            client,
            world.tenant_a.email,
            address=self.PROXY,
            forwarded_for="192.0.2.60",
        )
        unknown = attempt(
            client, unknown_email, address=self.PROXY, forwarded_for="192.0.2.61"
        )

        assert existing.status_code == 429
        assert unknown.status_code == 429
        assert without(existing.data, world.tenant_a.email) == without(
            unknown.data, unknown_email
        )

    def test_forwarded_address_counts(self, app, world, client):
        statuses = [
            attempt(
                client,
                f"guess{number}@example.test",
                address=self.PROXY,
                forwarded_for=f"192.0.2.{number}",
            ).status_code
            for number in range(LIMIT + 1)
        ]

        assert statuses == [401] * (LIMIT + 1)
        assert audited_addresses("login.failed") == [
            f"192.0.2.{number}" for number in range(LIMIT + 1)
        ]


def test_forwarded_for_ignored_without_proxy(app, world, client):
    statuses = [
        attempt(
            client,
            f"guess{number}@example.test",
            forwarded_for=f"198.51.100.{number}",
        ).status_code
        for number in range(LIMIT + 1)
    ]

    assert statuses == [401] * LIMIT + [429]
    assert audited_addresses("login.failed") == ["192.0.2.1"] * LIMIT


@pytest.fixture
def redis_keys():
    """Skip without a Redis server; delete this process's limiter keys afterwards."""
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        server.ping()
    except redis.ConnectionError:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable; start it to run this test")
    yield
    for key in server.scan_iter(f"*{REDIS_PREFIX}*", count=1000):
        server.delete(key)
    server.close()


def attempts_in_other_process(
    app_config, email: str, count: int, password: str | None = None
) -> list[int]:
    """Post logins from a second process with the same configuration.

    They fail unless ``password`` is given.
    """
    config = json.dumps(app_config, default=str)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.security.login_attempts",
            config,
            email,
            str(count),
            *([password] if password else []),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.usefixtures("redis_keys")
class TestSharedStorage:
    @pytest.fixture
    def app_config(self, app_config, request):
        app_config.update(
            RATELIMIT_STORAGE_URI=request.param, RATELIMIT_KEY_PREFIX=REDIS_PREFIX
        )
        return app_config

    @pytest.mark.parametrize("app_config", [REDIS_URL], indirect=True)
    def test_redis_limit_holds_across_processes(self, app_config, app, world):
        email = world.tenant_a.email

        elsewhere = attempts_in_other_process(app_config, email, LIMIT)
        here = attempt(app.test_client(), email, address="127.0.0.1")

        assert elsewhere == [401] * LIMIT
        assert here.status_code == 429

    @pytest.mark.parametrize("app_config", [REDIS_URL], indirect=True)
    def test_redis_successes_not_counted(self, app_config, app, world):
        email = world.tenant_a.email

        elsewhere = attempts_in_other_process(app_config, email, LIMIT + 1, PASSWORD)
        failures = [
            attempt(app.test_client(), email, address="127.0.0.1").status_code
            for _ in range(LIMIT)
        ]
        blocked = attempt(app.test_client(), email, address="127.0.0.1")

        assert elsewhere == [302] * (LIMIT + 1)
        assert failures == [401] * LIMIT
        assert blocked.status_code == 429

    @pytest.mark.parametrize("app_config", ["memory://"], indirect=True)
    def test_memory_limit_is_per_process(self, app_config, app, world):
        email = world.tenant_a.email

        elsewhere = attempts_in_other_process(app_config, email, LIMIT)
        here = attempt(app.test_client(), email, address="127.0.0.1")

        assert elsewhere == [401] * LIMIT
        assert here.status_code == 401
