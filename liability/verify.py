"""Recompute every stored hash of briefings, acceptances and paper scans.

Triggers stop changes through SQL, but not someone who disables them or edits
the database files. This check finds such changes afterwards:

- a version's ``text_sha256`` must match its title and body, its body must be
  in canonical form, and ``html_sha256`` must match its rendered HTML;
- an acceptance's copies of the text hash and the shown-text hash must equal
  those of its version;
- a paper acceptance's scan file must exist and match ``scan_sha256``.
"""

import hashlib
import logging
from collections.abc import Iterator

from sqlalchemy import select

from klusbank.extensions import db
from klusbank.uploads import upload_path
from liability.models import Acceptance, Briefing, BriefingVersion
from liability.rendering import canonical_text, html_sha256, text_sha256
from liability.services import SCAN_FOLDER

logger = logging.getLogger(__name__)
BATCH_SIZE = 500


def verify_liability(corporation_id: int | None = None) -> list[str]:
    """Return one message per stored hash that does not match its recomputation."""
    problems = list(_version_problems(corporation_id))
    problems.extend(_acceptance_problems(corporation_id))
    logger.info("liability verification found %d problem(s)", len(problems))
    return problems


def _version_problems(corporation_id: int | None) -> Iterator[str]:
    query = select(BriefingVersion).join(Briefing).order_by(BriefingVersion.id)
    if corporation_id is not None:
        query = query.where(Briefing.corporation_id == corporation_id)
    for version in db.session.scalars(query.execution_options(yield_per=BATCH_SIZE)):
        label = (
            f"briefing version {version.id} ({version.briefing.code}"
            f" v{version.version_number} {version.locale})"
        )
        computed = text_sha256(version.title, version.body_markdown)
        if computed != version.text_sha256:
            yield _mismatch(label, "text_sha256", version.text_sha256, computed)
        if canonical_text(version.body_markdown) != version.body_markdown:
            yield f"{label}: body_markdown is not in canonical form"
        computed = html_sha256(version.rendered_html)
        if computed != version.html_sha256:
            yield _mismatch(label, "html_sha256", version.html_sha256, computed)


def _acceptance_problems(corporation_id: int | None) -> Iterator[str]:
    query = select(Acceptance).join(Briefing).order_by(Acceptance.id)
    if corporation_id is not None:
        query = query.where(Briefing.corporation_id == corporation_id)
    for acceptance in db.session.scalars(query.execution_options(yield_per=BATCH_SIZE)):
        label = f"acceptance {acceptance.id} (tenant {acceptance.tenant_id})"
        version = acceptance.version
        if acceptance.text_sha256 != version.text_sha256:
            yield _mismatch(
                label,
                "text_sha256",
                acceptance.text_sha256,
                version.text_sha256,
                source=f"version {version.id} has",
            )
        if acceptance.rendered_sha256 != version.html_sha256:
            yield _mismatch(
                label,
                "rendered_sha256",
                acceptance.rendered_sha256,
                version.html_sha256,
                source=f"version {version.id} has",
            )
        if acceptance.scan_name is not None:
            problem = _scan_problem(acceptance)
            if problem:
                yield f"{label}: {problem}"


def _scan_problem(acceptance: Acceptance) -> str | None:
    path = upload_path(SCAN_FOLDER, acceptance.scan_name)
    if not path.is_file():
        return f"scan {acceptance.scan_name} is missing"
    computed = hashlib.sha256(path.read_bytes()).hexdigest()
    if computed != acceptance.scan_sha256:
        return f"scan_sha256 stored {acceptance.scan_sha256}, computed {computed}"
    return None


def _mismatch(
    label: str, column: str, stored: str, expected: str, source: str = "computed"
) -> str:
    return f"{label}: {column} stored {stored}, {source} {expected}"
