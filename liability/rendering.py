"""Canonical briefing text, its SHA-256, and Markdown rendered to safe HTML.

Canonical form, used for every stored text and every hash: Unicode NFC, line
endings LF, no byte order mark, no leading or trailing blank lines, exactly one
final newline, encoded as UTF-8. The hashed document of a version is its title,
a blank line and its body. Trailing spaces inside lines are kept, because two
of them make a hard line break in Markdown.

Rendering uses markdown-it-py with raw HTML disabled, then nh3 (ammonia) keeps
only a short list of text tags. Images, scripts, styles, iframes and every
attribute but a link's ``href`` are dropped, so a briefing can neither run
script nor make a browser or the PDF renderer load a remote resource. Links
keep only https, http, mailto and tel targets.
"""

import hashlib
import unicodedata
from html import escape

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "hr",
        "h3",
        "h4",
        "h5",
        "h6",
        "strong",
        "em",
        "s",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
)
LINK_SCHEMES = frozenset({"https", "http", "mailto", "tel"})
# The title is rendered as h2 inside a page whose h1 names the briefing, so
# body headings start at h3.
HEADING_OFFSET = 2


def canonical_text(text: str) -> str:
    """Return ``text`` in canonical form: NFC, LF, one final newline."""
    text = text.removeprefix("\ufeff")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    return text.strip("\n") + "\n"


def canonical_title(title: str) -> str:
    """Return a title in canonical form: NFC, single spaces, no line breaks."""
    return " ".join(unicodedata.normalize("NFC", title).split())


def document_bytes(title: str, body: str) -> bytes:
    """Return the canonical UTF-8 bytes of a version's title and body."""
    return canonical_text(f"{canonical_title(title)}\n\n{canonical_text(body)}").encode(
        "utf-8"
    )


def text_sha256(title: str, body: str) -> str:
    """Return the hex SHA-256 of a version's canonical document."""
    return hashlib.sha256(document_bytes(title, body)).hexdigest()


def html_sha256(html: str) -> str:
    """Return the hex SHA-256 of rendered HTML in canonical form."""
    return hashlib.sha256(canonical_text(html).encode("utf-8")).hexdigest()


def _markdown() -> MarkdownIt:
    return MarkdownIt(
        "commonmark", {"html": False, "linkify": False, "typographer": False}
    ).enable(["table", "strikethrough"])


def _keep_safe_link(tag: str, attribute: str, value: str) -> str | None:
    # nh3 already drops unknown schemes. Relative and fragment links are
    # dropped too, because a briefing has no page of its own to point into.
    if tag == "a" and attribute == "href":
        scheme, separator, _ = value.partition(":")
        if not separator or scheme.lower() not in LINK_SCHEMES:
            return None
    return value


def render_markdown(body: str) -> str:
    """Render Markdown to sanitised HTML with headings shifted to start at h3."""
    parser = _markdown()
    tokens = parser.parse(canonical_text(body))
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = int(token.tag[1]) + HEADING_OFFSET
            token.tag = f"h{min(level, 6)}"
    html = parser.renderer.render(tokens, parser.options, {})
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style", "iframe", "object", "svg", "math"},
        attributes={"a": {"href"}},
        attribute_filter=_keep_safe_link,
        url_schemes=set(LINK_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_document(title: str, body: str) -> str:
    """Render a version as shown to tenants: the title as h2, then the body."""
    heading = f"<h2>{escape(canonical_title(title))}</h2>\n"
    return canonical_text(heading + render_markdown(body))
