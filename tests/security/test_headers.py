"""Security headers on every response, and templates that the strict CSP allows."""

import re

import pytest

from klusbank.paths import TEMPLATES_DIR

HTTPS_BASE = "https://klusbank.test"
# An opening <script> tag and what follows up to its closing tag.
SCRIPT_ELEMENT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.I | re.S)
INLINE_STYLE = re.compile(r"\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)
# Filters and tags that switch autoescaping off. Each expression allowed to
# use them is listed with the reason it is safe.
UNESCAPED_OUTPUT = re.compile(r"\|\s*safe\b|autoescape\s+false", re.I)
ALLOWED_UNESCAPED = {
    # Briefing Markdown is rendered with raw HTML off and cleaned by nh3
    # (liability.rendering.render_markdown) before it is stored.
    "rendered_html|safe": "sanitised by liability.rendering",
}


def csp_directives(header: str) -> dict[str, str]:
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = value
    return directives


def test_csp_forbids_inline_script(bare_app):
    response = bare_app.test_client().get("/login")
    directives = csp_directives(response.headers["Content-Security-Policy"])

    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]


def test_security_headers_present(bare_app):
    response = bare_app.test_client().get("/login")

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/static/css/klusbank.css", "/no-such-page"])
def test_headers_on_static_and_errors(bare_app, path):
    response = bare_app.test_client().get(path)
    response.close()

    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_api_error_has_headers(bare_app):
    response = bare_app.test_client().get("/api/v1/no-such-route")

    assert response.status_code == 404
    assert response.is_json
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_over_https(bare_app):
    client = bare_app.test_client()

    secure = client.get("/login", base_url=HTTPS_BASE)
    plain = client.get("/login")

    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in plain.headers


class TestProduction:
    @pytest.fixture
    def app_config(self, app_config):
        app_config.update(ENV="production", SECRET_KEY="s" * 64)
        return app_config

    def test_plain_http_redirected(self, app):
        response = app.test_client().get("/login")

        assert response.status_code == 302
        assert response.location == f"{HTTPS_BASE}/login"

    def test_https_gets_hsts(self, app):
        response = app.test_client().get("/login", base_url=HTTPS_BASE)

        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def scan_templates(pattern: re.Pattern, *, allowed=()) -> list[str]:
    """Return "file:line: text" for every match of ``pattern`` in templates/.

    A match on a line that contains one of the ``allowed`` expressions is skipped.
    """
    found = []
    for path in sorted(TEMPLATES_DIR.rglob("*")):
        if not path.is_file():
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        relative = path.relative_to(TEMPLATES_DIR)
        for number, line in enumerate(lines, start=1):
            compact = line.replace(" ", "")
            if pattern.search(line) and not any(
                expression in compact for expression in allowed
            ):
                found.append(f"templates/{relative}:{number}: {line.strip()[:80]}")
    return found


def test_templates_have_no_inline_scripts():
    inline = []
    for path in sorted(TEMPLATES_DIR.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for match in SCRIPT_ELEMENT.finditer(text):
            attributes, body = match.groups()
            if body.strip() or "src=" not in attributes:
                line = text.count("\n", 0, match.start()) + 1
                inline.append(f"templates/{path.relative_to(TEMPLATES_DIR)}:{line}")

    assert not inline, (
        "Inline <script> blocks break the CSP; move them to static/js/:\n  "
        + "\n  ".join(inline)
    )


def test_templates_have_no_inline_styles():
    found = scan_templates(INLINE_STYLE) + scan_templates(STYLE_ELEMENT)

    assert not found, (
        "style attributes and <style> blocks break the CSP; use classes in "
        "static/css/:\n  " + "\n  ".join(found)
    )


def test_templates_have_no_event_handlers():
    found = scan_templates(EVENT_HANDLER) + scan_templates(JAVASCRIPT_URL)

    assert not found, (
        "Inline event handlers and javascript: URLs break the CSP; attach "
        "listeners in static/js/:\n  " + "\n  ".join(found)
    )


def test_templates_keep_autoescaping():
    found = scan_templates(UNESCAPED_OUTPUT, allowed=ALLOWED_UNESCAPED)

    assert not found, (
        "Output that bypasses autoescaping; sanitise it and list it in "
        "ALLOWED_UNESCAPED with the reason:\n  " + "\n  ".join(found)
    )


def test_templates_are_autoescaped_html():
    # Flask autoescapes only templates whose names end in .html, .htm, .xml,
    # .xhtml or .svg.
    others = [
        str(path.relative_to(TEMPLATES_DIR))
        for path in TEMPLATES_DIR.rglob("*")
        if path.is_file() and path.suffix not in (".html", ".xml")
    ]

    assert not others, "Templates Flask would not autoescape: " + ", ".join(others)
