import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from pypdf import PdfReader

from klusbank.errors import RuleViolation
from klusbank.formatting import format_cents, format_points
from klusbank.pdf import html_to_pdf, resolve_static_url
from rewards.ledger import queries as ledger_queries
from rewards.ledger import services as ledger
from rewards.ledger.models import AccountKind
from rewards.statements.data import build_statement
from rewards.statements.pdf import render_statement
from rewards.statements.services import ensure_statement
from tests.rewards.statements.helpers import (
    AFTER_CLOSE,
    MONTH,
    account_movement,
    create_closed_month,
    pdf_text,
)


def tenant_figures(corporation_id: int, tenant_id: int) -> dict[str, int]:
    """Return a tenant's month as the ledger has it."""
    points = ledger.tenant_account(corporation_id, tenant_id, AccountKind.TENANT_POINTS)
    return {
        "closing_points": ledger_queries.balance(points.id, MONTH.last_day),
        "rent_credit": account_movement(
            corporation_id, tenant_id, AccountKind.TENANT_RENT_CREDIT, MONTH
        ),
        "payout": account_movement(
            corporation_id, tenant_id, AccountKind.TENANT_PAYOUT, MONTH
        ),
    }


@pytest.fixture
def world(app):
    world = create_closed_month()
    with time_machine.travel(AFTER_CLOSE, tick=False):
        yield world


def test_statement_totals_equal_ledger(world):
    corporation_id = world.corporation.id
    for tenant in (world.rent_tenant, world.payout_tenant, world.second_payout_tenant):
        figures = tenant_figures(corporation_id, tenant.id)
        text = pdf_text(ensure_statement(corporation_id, tenant.id, MONTH).content)
        locale = tenant.locale

        closing = format_points(figures["closing_points"], locale)
        assert f"Closing balance {closing}" in text or f"Slotsaldo {closing}" in text
        assert format_cents(figures["rent_credit"], locale).replace("\xa0", " ") in text
        assert format_cents(figures["payout"], locale).replace("\xa0", " ") in text
        assert tenant.full_name in text


def test_statement_figures_from_ledger_months(world):
    document = build_statement(world.corporation.id, world.rent_tenant.id, MONTH)

    assert document.opening_points == 0
    assert document.earned_points == 42
    assert [chore.points for chore in document.chores] == [30, 12]
    assert document.rent_credit_cents == 420
    assert document.payout_cents == 0
    assert document.closing_points == 0
    assert document.conversions[0].rule_version_id is not None


def test_payout_statement_shows_rate_and_carry(world):
    document = build_statement(world.corporation.id, world.payout_tenant.id, MONTH)
    [conversion] = document.conversions

    assert conversion.method == "payout"
    assert (conversion.rate_cents, conversion.rate_points) == (25, 2)
    assert conversion.converted_points == 46
    assert document.payout_cents == 575
    assert document.closing_points == 1


def test_statement_shows_checksum_and_pages(world):
    document = build_statement(world.corporation.id, world.payout_tenant.id, MONTH)
    reader = PdfReader(io.BytesIO(render_statement(document).content))
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]

    assert len(document.checksum) == 64
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert document.checksum in text


def test_same_statement_twice_same_text(world):
    first = build_statement(world.corporation.id, world.payout_tenant.id, MONTH)
    second = build_statement(world.corporation.id, world.payout_tenant.id, MONTH)

    assert first == second
    assert pdf_text(render_statement(first).content) == pdf_text(
        render_statement(second).content
    )


def test_statement_of_open_month_refused(world):
    with pytest.raises(RuleViolation, match="not closed"):
        build_statement(world.corporation.id, world.rent_tenant.id, MONTH.next())


def test_stored_statement_reused(world):
    first = ensure_statement(world.corporation.id, world.rent_tenant.id, MONTH)
    second = ensure_statement(world.corporation.id, world.rent_tenant.id, MONTH)

    assert first.id == second.id
    assert len(first.sha256) == 64


class RecordingHandler(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - the name http.server calls
        RecordingHandler.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    RecordingHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_hostile_chore_title_fetches_nothing(app, loopback_server):
    titles = (
        '<img src="file:///etc/passwd">',
        f'<img src="{loopback_server}/pixel.png">',
        '<link rel="stylesheet" href="http://169.254.169.254/latest/meta-data/">',
    )
    world = create_closed_month(titles=titles)

    with time_machine.travel(AFTER_CLOSE, tick=False):
        record = ensure_statement(world.corporation.id, world.rent_tenant.id, MONTH)
    text = pdf_text(record.content)

    assert RecordingHandler.requests == []
    assert '<img src="file:///etc/passwd">' in text
    assert "root:" not in text


def test_renderer_refuses_urls_outside_static(app, loopback_server):
    html = (
        '<html lang="en"><head><title>t</title>'
        f'<link rel="stylesheet" href="{loopback_server}/style.css"></head><body>'
        '<img src="file:///etc/passwd">'
        f'<img src="{loopback_server}/pixel.png"><p>text</p></body></html>'
    )

    text = pdf_text(html_to_pdf(html))

    assert RecordingHandler.requests == []
    assert "root:" not in text
    assert resolve_static_url("http://169.254.169.254/latest/meta-data/") is None
    assert resolve_static_url("file:///etc/passwd") is None


def test_statement_describes_settlement_in_words(world):
    record = ensure_statement(world.corporation.id, world.payout_tenant.id, MONTH)

    text = " ".join(pdf_text(record.content).split())

    assert "per 2 points" in text
    assert "Settlement 20" not in text
    assert " cents " not in text
