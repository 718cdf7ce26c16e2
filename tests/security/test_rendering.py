"""User text renders escaped on pages, and Markdown renders through a sanitiser."""

from html.parser import HTMLParser

import pytest

from klusbank.extensions import db
from liability.rendering import ALLOWED_TAGS, render_markdown
from tests.participation.helpers import create_category, create_chore

HOSTILE = '<script>alert("kb")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&#34;kb&#34;)&lt;/script&gt;"


def assert_escaped(body: str) -> None:
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert ESCAPED in body


def test_user_name_escaped_on_pages(app, world, actors):
    world.tenant_a.full_name = HOSTILE
    db.session.commit()

    own_home = actors.client("tenant_a").get("/").get_data(as_text=True)
    user_list = actors.client("admin").get("/admin/users").get_data(as_text=True)
    unit_page = actors.client("admin").get(f"/housing/units/{world.unit_a.id}")

    assert_escaped(own_home)
    assert_escaped(user_list)
    assert_escaped(unit_page.get_data(as_text=True))


def test_cluster_name_escaped_on_pages(app, world, actors):
    world.cluster_x.name = HOSTILE
    db.session.commit()

    caretaker = actors.client("caretaker_x")
    listing = caretaker.get("/housing/clusters").get_data(as_text=True)
    page = caretaker.get(f"/housing/clusters/{world.cluster_x.id}")

    assert_escaped(listing)
    assert_escaped(page.get_data(as_text=True))


SAFE_SCHEMES = ("https:", "http:", "mailto:", "tel:")
HOSTILE_MARKDOWN = [
    "<script>alert(1)</script>",
    '<img src="file:///etc/passwd">',
    "![x](http://169.254.169.254/latest/meta-data/)",
    "![x](file:///etc/passwd)",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java&#x73;cript:alert(1))",
    "<javascript:alert(1)>",
    "[data](data:text/html;base64,PHNjcmlwdD4=)",
    '<a href="https://example.test" onclick="alert(1)">x</a>',
    "<iframe src=https://example.test></iframe>",
    '<svg onload="alert(1)"></svg>',
    "<style>body{display:none}</style>",
    '<p style="position:fixed">x</p>',
    "<!-- <script>alert(1)</script> -->",
    '<object data="file:///etc/passwd"></object>',
    '[x](https://example.test "title" onmouseover=alert(1))',
]


class ElementCollector(HTMLParser):
    """Collects every start tag with its attributes."""

    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))


def active_content(html: str) -> list[str]:
    """Return the tags and attributes in ``html`` that could run script or load a resource."""
    collector = ElementCollector()
    collector.feed(html)
    found = []
    for tag, attributes in collector.elements:
        if tag not in ALLOWED_TAGS:
            found.append(f"<{tag}>")
        for name, value in attributes:
            if tag != "a" or name not in ("href", "rel"):
                found.append(f"<{tag} {name}>")
            elif name == "href" and not (value or "").lower().startswith(SAFE_SCHEMES):
                found.append(f"<a href={value!r}>")
    return found


@pytest.mark.parametrize("markdown", HOSTILE_MARKDOWN)
def test_markdown_drops_active_content(markdown):
    html = render_markdown(markdown)

    assert active_content(html) == []


def test_active_content_check_finds_script():
    assert active_content('<p onclick="x"><script></script></p>') == [
        "<p onclick>",
        "<script>",
    ]


def test_markdown_keeps_safe_links():
    html = render_markdown("[Bel ons](tel:0301234567) of [lees](https://example.test)")

    assert 'href="tel:0301234567"' in html
    assert 'href="https://example.test"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_chore_title_escaped_on_pages(app, world, actors):
    category = create_category(world.corporation_1)
    chore = create_chore(
        world.users["caretaker_x"], world.cluster_x, category, title=HOSTILE
    )
    db.session.commit()
    tenant, caretaker = actors.client("tenant_a"), actors.client("caretaker_x")

    listing = tenant.get("/participation/chores").get_data(as_text=True)
    page = tenant.get(f"/participation/chores/{chore.id}").get_data(as_text=True)
    staff_page = caretaker.get(f"/participation/manage/chores/{chore.id}")
    api = app.test_client().get(
        f"/api/v1/chores/{chore.id}", headers=actors.bearer_headers("tenant_a")
    )

    assert_escaped(listing)
    assert_escaped(page)
    assert_escaped(staff_page.get_data(as_text=True))
    assert api.mimetype == "application/json"
    assert api.get_json()["title"] == HOSTILE
