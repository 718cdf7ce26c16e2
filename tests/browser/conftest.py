"""Browser fixtures: the app served on a free loopback port, driven by Debian's chromium.

Playwright drives ``/usr/bin/chromium`` (Debian's package); no browser is
downloaded. The server runs in a thread with werkzeug's WSGI server, on its
own fresh migrated database, so the test body can add data with the app
context that the ``app`` fixture pushes and commit it before the browser reads.
"""

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from klusbank.accounts.models import Role
from tests.factories import PASSWORD

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def app_config(app_config):
    """Serve under the browser's host name and keep CSRF protection on."""
    app_config.pop("SERVER_NAME", None)
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


@pytest.fixture
def live_server(app):
    """Serve the app on 127.0.0.1 and a free port; return its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the test session."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing; install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser, live_server):
    """A new browser page whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server, locale="nl-NL")
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


def log_in(page, email: str, password: str = PASSWORD) -> None:
    """Log in through the login form and wait for the home page."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


ROLE_NAMES = {role: role.value for role in Role}
