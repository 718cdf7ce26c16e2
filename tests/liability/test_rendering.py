import hashlib
import unicodedata

from liability.rendering import (
    canonical_text,
    document_bytes,
    render_document,
    render_markdown,
    text_sha256,
)


def test_script_and_raw_html_are_escaped():
    html = render_markdown("Hi <script>alert(1)</script> <b onclick=x>bold</b>")

    assert "<script" not in html
    assert "<b" not in html
    assert "&lt;script&gt;" in html


def test_images_are_dropped():
    html = render_markdown("![tracker](https://evil.example/pixel.png)")

    assert "<img" not in html
    assert "evil.example" not in html


def test_unsafe_and_relative_links_lose_href():
    html = render_markdown(
        "[a](javascript:alert(1)) [b](/logout) [c](data:text/html,hi) "
        "[d](https://example.nl) [e](tel:+31101234567)"
    )

    assert 'href="javascript' not in html
    assert 'href="/logout"' not in html
    assert 'href="data' not in html
    assert 'href="https://example.nl"' in html
    assert 'href="tel:+31101234567"' in html


def test_headings_start_at_h3():
    html = render_document("Tuin", "# Wat mag wel\n\n## Details")

    assert html.startswith("<h2>Tuin</h2>")
    assert "<h3>Wat mag wel</h3>" in html
    assert "<h4>Details</h4>" in html


def test_canonical_form_ignores_line_endings_and_composition():
    composed = "Café\nLadder\n"
    decomposed = unicodedata.normalize("NFD", "Café") + "\r\nLadder\r\n\r\n"

    assert canonical_text(decomposed) == composed
    assert text_sha256("Tuin", decomposed) == text_sha256("Tuin", composed)


def test_hash_is_sha256_of_title_blank_line_body():
    expected = hashlib.sha256(b"Tuin\n\nGeen ladders.\n").hexdigest()

    assert document_bytes("Tuin", "Geen ladders.") == b"Tuin\n\nGeen ladders.\n"
    assert text_sha256(" Tuin ", "Geen ladders.\n") == expected


def test_hash_changes_with_the_text():
    assert text_sha256("Tuin", "Geen ladders.") != text_sha256("Tuin", "Ladders.")
    assert text_sha256("Tuin", "Geen ladders.") != text_sha256("Trap", "Geen ladders.")
