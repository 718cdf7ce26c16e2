"""``flask liability`` commands: publish a briefing version and verify stored hashes.

Each command is one transaction: it commits once at the end, or rolls back
and exits non-zero on any error.
"""

import logging
from datetime import date
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from klusbank.cli import corporation_by_code, corporation_option
from klusbank.errors import KlusbankError
from klusbank.extensions import db
from liability import queries, services
from liability.models import LOCALES
from liability.verify import verify_liability

logger = logging.getLogger(__name__)
group = AppGroup("liability", help="Safety briefings: publish versions, verify hashes.")


def register(app: Flask) -> None:
    app.cli.add_command(group)


@group.command("publish")
@corporation_option
@click.option(
    "--briefing",
    "code",
    required=True,
    help="Stable code of the briefing, such as tuin or trappenhuis.",
)
@click.option(
    "--new-briefing",
    is_flag=True,
    help="Create the briefing first; without this flag an unknown code is an error.",
)
@click.option(
    "--locale",
    type=click.Choice(LOCALES),
    required=True,
    help="Language of this text: nl or en.",
)
@click.option(
    "--title", required=True, help="Title of the version, at most 200 characters."
)
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="UTF-8 Markdown file with the body of the briefing.",
)
@click.option(
    "--material/--cosmetic",
    "is_material",
    default=None,
    help="Material: tenants must accept this version again. Cosmetic: earlier "
    "acceptances stay valid. Required from version 2 on; version 1 is material.",
)
@click.option(
    "--summary",
    default="",
    help="What changed since the previous version; required from version 2 on.",
)
@click.option(
    "--effective-from",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="First business day (YYYY-MM-DD) on which the version applies; default today.",
)
@click.option(
    "--version",
    "version_number",
    type=click.IntRange(min=1),
    default=None,
    help="Add this text as the translation of an existing version number instead "
    "of publishing a new version.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the rendered HTML and the hash, and publish nothing.",
)
def publish(
    corporation_code: str,
    code: str,
    new_briefing: bool,
    locale: str,
    title: str,
    path: Path,
    is_material: bool | None,
    summary: str,
    effective_from,
    version_number: int | None,
    dry_run: bool,
) -> None:
    """Publish a briefing version from a Markdown file; published text never changes."""
    corporation = corporation_by_code(corporation_code)
    body = path.read_text(encoding="utf-8-sig")
    effective: date | None = effective_from.date() if effective_from else None
    try:
        briefing = queries.briefing_by_code(corporation.id, code)
        if briefing is None and not new_briefing:
            raise click.BadParameter(
                f"no briefing {code!r} in corporation {corporation.code}; "
                "pass --new-briefing to create it",
                param_hint="--briefing",
            )
        if briefing is None:
            briefing = services.create_briefing(corporation, code, actor=None)
        draft = services.prepare_version(
            briefing,
            locale=locale,
            title=title,
            body=body,
            is_material=is_material,
            change_summary=summary,
            effective_from=effective,
            version_number=version_number,
        )
        if dry_run:
            db.session.rollback()
            click.echo(draft.rendered_html)
            click.echo(f"version {draft.version_number} ({draft.locale}) not published")
            click.echo(f"text sha256 {draft.text_sha256}")
            return
        version = services.publish_version(briefing, draft, actor=None)
    except KlusbankError as error:
        db.session.rollback()
        raise click.ClickException(_describe(error)) from error
    db.session.commit()
    click.echo(
        f"published {briefing.code} version {version.version_number} ({version.locale})"
        f" as id {version.id}, in effect from {version.effective_from.isoformat()},"
        f" {'material' if version.is_material else 'cosmetic'}"
    )
    click.echo(f"text sha256 {version.text_sha256}")


@group.command("verify")
@click.option(
    "--corporation",
    "corporation_code",
    default=None,
    help="Check only this corporation's briefings (its short code); default all.",
)
def verify(corporation_code: str | None) -> None:
    """Recompute every stored hash and exit non-zero, naming each mismatch."""
    corporation_id = None
    if corporation_code:
        corporation_id = corporation_by_code(corporation_code).id
    problems = verify_liability(corporation_id)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} stored hash(es) do not match")
    click.echo("all briefing versions and acceptances match their hashes")


# Service field names as the options of ``publish`` call them.
OPTION_NAMES = {
    "code": "--briefing",
    "locale": "--locale",
    "title": "--title",
    "body": "--file",
    "is_material": "--material/--cosmetic",
    "change_summary": "--summary",
    "effective_from": "--effective-from",
    "version_number": "--version",
}


def _describe(error: KlusbankError) -> str:
    details = [
        f"{OPTION_NAMES.get(field, field)}: {message}"
        for field, messages in error.errors.items()
        for message in (messages if isinstance(messages, list) else [messages])
    ]
    return "; ".join([error.message, *details])
