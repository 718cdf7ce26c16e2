"""HTML to PDF with WeasyPrint, reading nothing but the project's own static files.

Templates are fed plain data (dicts, strings, integers), never ORM objects.
The URL fetcher serves only ``/static/...`` paths that resolve inside
``static/``; every other URL (``file:``, ``http:``, ``data:``, a metadata
address, a redirect) raises, so WeasyPrint skips the resource and no user text
can make the renderer read a file or reach the network.
"""

import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import render_template
from flask_babel import force_locale
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from klusbank.paths import STATIC_DIR

logger = logging.getLogger(__name__)
# Relative URLs in templates resolve against this base; the host is reserved
# (RFC 2606) and never contacted, because the fetcher serves its paths from disk.
BASE_URL = "https://klusbank.invalid/"
_MIME_TYPES = {
    ".css": "text/css",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".ttf": "font/ttf",
    ".woff2": "font/woff2",
}


class StaticOnlyFetcher(URLFetcher):
    """Serve ``<BASE_URL>static/<path>`` from the static folder; reject every other URL."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        target = resolve_static_url(url)
        if target is None:
            logger.warning("PDF renderer rejected a URL outside the static files")
            raise ValueError(f"URL {url[:80]!r} rejected: only static files are served")
        mime_type = _MIME_TYPES.get(target.suffix, "application/octet-stream")
        return URLFetcherResponse(
            url, target.read_bytes(), headers={"Content-Type": mime_type}
        )


def resolve_static_url(url: str) -> Path | None:
    """Return the static file a URL names, or None when it names anything else."""
    if not url.startswith(BASE_URL + "static/"):
        return None
    parts = urlsplit(url)
    if parts.query:
        return None
    relative = unquote(parts.path).removeprefix("/static/")
    root = STATIC_DIR.resolve()
    target = (root / relative).resolve()
    if root not in target.parents or not target.is_file():
        return None
    return target


def html_to_pdf(html: str) -> bytes:
    """Render an HTML string to tagged PDF bytes through the static-only fetcher."""
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher())
    # pdf/ua-1 makes WeasyPrint write a tagged PDF that screen readers can follow.
    return document.write_pdf(pdf_variant="pdf/ua-1", uncompressed_pdf=False)


def render_pdf(template: str, locale: str, **context: Any) -> bytes:
    """Render a Jinja template in a locale and return the PDF bytes."""
    with force_locale(locale):
        html = render_template(template, **context)
    return html_to_pdf(html)
