"""The PDF renderer reads nothing but the project's static files.

A local HTTP server on 127.0.0.1 counts every request it receives, and every
other outgoing connection is blocked and recorded, so these tests never
reach a metadata address even when the renderer is broken.
"""

import io
import secrets
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from pypdf import PdfReader
from pypdf.generic import IndirectObject, StreamObject
from weasyprint import HTML

from klusbank.paths import STATIC_DIR
from klusbank.pdf import BASE_URL, html_to_pdf, resolve_static_url
from rewards.statements.services import ensure_statement
from tests.rewards.statements.helpers import AFTER_CLOSE, MONTH, create_closed_month

PNG_PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class CountingHandler(BaseHTTPRequestHandler):
    """Serves an image, a stylesheet and a redirect, and counts every request."""

    hits: list[str]

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        self.server.hits.append(self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/image.png")
            self.end_headers()
            return
        body, content_type = PNG_PIXEL, "image/png"
        if self.path.endswith(".css"):
            body, content_type = b"body { color: red }", "text/css"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's name)
        pass


@pytest.fixture
def counting_server():
    """Serve on a free loopback port; yield (base URL, list of requested paths)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server.hits
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def blocked_connections(monkeypatch):
    """Refuse and record every connection to a host other than loopback."""
    attempts: list[str] = []
    original_connect = socket.socket.connect
    original_create = socket.create_connection

    def allowed(address) -> bool:
        host = address[0] if isinstance(address, tuple) else str(address)
        return host in LOOPBACK or not isinstance(address, tuple)

    def guarded_connect(sock, address):
        if not allowed(address):
            attempts.append(repr(address))
            raise OSError(f"test blocked a connection to {address!r}")
        return original_connect(sock, address)

    def guarded_create(address, *args, **kwargs):
        if not allowed(address):
            attempts.append(repr(address))
            raise OSError(f"test blocked a connection to {address!r}")
        return original_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "create_connection", guarded_create)
    return attempts


@pytest.fixture
def secret_file(tmp_path):
    """A local file whose content must never reach a PDF."""
    canary = f"KB-SECRET-{secrets.token_hex(8)}"
    path = tmp_path / "secret.txt"
    path.write_text(canary)
    return path, canary


def hostile_html(server_url: str, secret_path) -> str:
    """Return HTML that references local files, the network and a metadata address."""
    secret_url = secret_path.as_uri()
    return f"""<!doctype html><html><head>
    <link rel="stylesheet" href="{server_url}/style.css">
    <link rel="stylesheet" href="{secret_url}">
    <link rel="attachment" href="{secret_url}">
    <style>@import url("{server_url}/imported.css");
      body {{ background: url("{server_url}/background.png") }}</style>
    </head><body>
    <p>Chore note</p>
    <img src="file:///etc/passwd">
    <img src="{secret_url}">
    <img src="{server_url}/image.png">
    <img src="{server_url}/redirect">
    <img src="http://169.254.169.254/latest/meta-data/iam/">
    <img src="https://klusbank.invalid/static/../../etc/passwd">
    <img src="https://klusbank.invalid/static/%2e%2e/%2e%2e/etc/passwd">
    <img src="/static/..%2f..%2fklusbank%2fconfig.py">
    <object data="file:///etc/passwd"></object>
    <embed src="{secret_url}">
    <iframe src="{server_url}/frame.html"></iframe>
    <a rel="attachment" href="file:///etc/passwd">receipt</a>
    <a rel="attachment" href="{server_url}/attachment.txt">more</a>
    </body></html>"""


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def pdf_contains(pdf: bytes, needle: bytes) -> bool:
    """Tell whether the PDF contains ``needle`` anywhere, in compressed streams too.

    Attachments from ``<a rel=attachment>`` live in page annotations, not in the
    document's list of attachments, so every stream is decoded and searched.
    """
    if needle in pdf:
        return True
    reader = PdfReader(io.BytesIO(pdf))
    for number in range(1, int(reader.trailer["/Size"])):
        stream = reader.get_object(IndirectObject(number, 0, reader))
        if isinstance(stream, StreamObject) and needle in stream.get_data():
            return True
    return False


def test_default_weasyprint_would_fetch(counting_server, blocked_connections):
    # Control: without the static-only fetcher the same kind of HTML is fetched,
    # so the zero-hit checks below can fail.
    server_url, hits = counting_server

    HTML(string=f'<img src="{server_url}/image.png">').write_pdf()

    assert hits == ["/image.png"]


def test_default_weasyprint_would_attach_files(secret_file):
    secret_path, canary = secret_file
    html = f'<a rel="attachment" href="{secret_path.as_uri()}">x</a>'

    pdf = HTML(string=html).write_pdf()

    assert pdf_contains(pdf, canary.encode())


def test_renderer_fetches_nothing(counting_server, blocked_connections, secret_file):
    server_url, hits = counting_server
    secret_path, canary = secret_file

    pdf = html_to_pdf(hostile_html(server_url, secret_path))

    assert pdf.startswith(b"%PDF")
    assert hits == []
    assert blocked_connections == []
    assert "Chore note" in pdf_text(pdf)
    assert not pdf_contains(pdf, canary.encode())
    assert not pdf_contains(pdf, b"root:x:0:0")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file:///" + str(STATIC_DIR / "css" / "klusbank.css").lstrip("/"),
        "http://127.0.0.1/static/css/klusbank.css",
        "http://169.254.169.254/latest/meta-data/",
        "https://klusbank.invalid.evil.example/static/css/klusbank.css",
        "http://klusbank.invalid/static/css/klusbank.css",
        f"{BASE_URL}static/../klusbank/config.py",
        f"{BASE_URL}static/%2e%2e/klusbank/config.py",
        f"{BASE_URL}static/css/..%2f..%2fklusbank%2fconfig.py",
        f"{BASE_URL}static/%252e%252e/klusbank/config.py",
        f"{BASE_URL}static/css/klusbank.css?v=1",
        f"{BASE_URL}static/",
        f"{BASE_URL}static/css",
        f"{BASE_URL}static/no-such-file.css",
        f"{BASE_URL}etc/passwd",
        "data:text/plain,hello",
    ],
)
def test_static_resolver_rejects(url):
    assert resolve_static_url(url) is None


def test_static_resolver_serves_static_file():
    path = resolve_static_url(f"{BASE_URL}static/css/klusbank.css")

    assert path == (STATIC_DIR / "css" / "klusbank.css").resolve()


def test_statement_with_hostile_titles_fetches_nothing(
    app, counting_server, blocked_connections, secret_file
):
    # Chore titles reach the statement; markup in them must stay text.
    server_url, hits = counting_server
    secret_path, canary = secret_file
    titles = (
        f'<img src="{server_url}/title.png">',
        f'<img src="{secret_path.as_uri()}">',
        '<img src="http://169.254.169.254/latest/meta-data/">',
        f'<link rel="attachment" href="{secret_path.as_uri()}">',
    )
    month = create_closed_month(titles=titles)

    with time_machine.travel(AFTER_CLOSE, tick=False):
        record = ensure_statement(month.corporation.id, month.rent_tenant.id, MONTH)

    assert hits == []
    assert blocked_connections == []
    assert not pdf_contains(record.content, canary.encode())
    assert "<img" in pdf_text(record.content).replace(" ", "")
