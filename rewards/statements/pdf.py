"""Statement and yearly overview PDFs, rendered from plain data.

Rendering goes through ``klusbank.pdf.render_pdf``: WeasyPrint with a URL
fetcher that serves only the project's static files, writing a tagged PDF
(PDF/UA-1) in the tenant's language. Templates autoescape, so a chore title
is always text and never markup the renderer could act on.
"""

import hashlib
from dataclasses import dataclass

from klusbank.pdf import render_pdf
from rewards.statements.data import StatementData, YearlyOverviewData

STATEMENT_TEMPLATE = "rewards/statements/statement_pdf.html"
YEARLY_TEMPLATE = "rewards/statements/yearly_pdf.html"


@dataclass(frozen=True)
class RenderedFile:
    """PDF bytes with their SHA-256."""

    content: bytes
    sha256: str

    @classmethod
    def of(cls, content: bytes) -> "RenderedFile":
        return cls(content, hashlib.sha256(content).hexdigest())


def render_statement(document: StatementData) -> RenderedFile:
    """Render one monthly statement in the tenant's language."""
    return RenderedFile.of(
        render_pdf(STATEMENT_TEMPLATE, document.locale, document=document)
    )


def render_yearly_overview(document: YearlyOverviewData) -> RenderedFile:
    """Render one yearly overview of payouts in the tenant's language."""
    return RenderedFile.of(
        render_pdf(YEARLY_TEMPLATE, document.locale, document=document)
    )
