"""Core commands: ``flask housing``, ``flask demo``, ``flask scheduler``, ``flask users``.

Each command is one transaction: it commits once at the end, or rolls back and
exits non-zero on any error.
"""

import logging
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from klusbank.accounts.models import Role
from klusbank.extensions import db
from klusbank.housing import importing
from klusbank.housing.models import Corporation

logger = logging.getLogger(__name__)

housing = AppGroup(
    "housing", help="Housing registry: corporations, clusters, units, tenants."
)
importer = AppGroup(
    "import", help="Import CSV files; a file with any bad row imports nothing."
)
housing.add_command(importer)
demo = AppGroup("demo", help="The demo corporation.")
scheduler = AppGroup("scheduler", help="The scheduled jobs process.")


def register(app: Flask) -> None:
    for group in (housing, demo, scheduler):
        app.cli.add_command(group)


def corporation_by_code(code: str) -> Corporation:
    """Return the corporation with this code or stop the command with a clear error."""
    corporation = db.session.scalar(select(Corporation).where(Corporation.code == code))
    if corporation is None:
        raise click.BadParameter(
            f"no corporation has code {code!r}", param_hint="--corporation"
        )
    return corporation


corporation_option = click.option(
    "--corporation",
    "corporation_code",
    required=True,
    help="Short code of the corporation, e.g. demo.",
)


@housing.command("create-corporation")
@click.option("--code", required=True, help="Short code, lower case, e.g. demo.")
@click.option("--name", required=True, help="Full name of the corporation.")
def create_corporation(code: str, name: str) -> None:
    """Create a corporation."""
    if db.session.scalar(select(Corporation.id).where(Corporation.code == code)):
        raise click.BadParameter(
            f"a corporation with code {code!r} already exists", param_hint="--code"
        )
    db.session.add(Corporation(code=code, name=name))
    db.session.commit()
    click.echo(f"created corporation {code}")


def _run_import(kind: str, corporation_code: str, path: Path) -> None:
    corporation = corporation_by_code(corporation_code)
    text = path.read_text(encoding="utf-8-sig")
    function = {
        "clusters": importing.import_clusters,
        "units": importing.import_units,
        "tenants": importing.import_tenants,
    }[kind]
    report = function(corporation, text)
    if not report.ok:
        db.session.rollback()
        for problem in report.problems:
            click.echo(f"{path}: {problem}", err=True)
        raise click.ClickException(
            f"nothing imported: {len(report.problems)} bad row(s) in {path}"
        )
    db.session.commit()
    logger.info("imported %d %s into %s", report.created, kind, corporation.code)
    click.echo(f"imported {report.created} {kind}")


def _import_command(kind: str):
    @importer.command(
        kind,
        help=f"Import {kind} from a CSV file ({', '.join(getattr(importing, kind.upper()[:-1] + '_COLUMNS'))}).",
    )
    @corporation_option
    @click.argument(
        "path", type=click.Path(exists=True, dir_okay=False, path_type=Path)
    )
    def command(corporation_code: str, path: Path) -> None:
        _run_import(kind, corporation_code, path)

    return command


for _kind in ("clusters", "units", "tenants"):
    _import_command(_kind)


@demo.command("seed")
@click.option(
    "--force",
    is_flag=True,
    help="Seed even when the database already has a demo corporation.",
)
def seed_demo(force: bool) -> None:
    """Build the reproducible demo corporation and print its logins."""
    from klusbank.demo import DEMO_CODE, print_logins, seed

    exists = db.session.scalar(
        select(Corporation.id).where(Corporation.code == DEMO_CODE)
    )
    if exists and not force:
        click.echo("the demo corporation exists already; nothing seeded")
        print_logins()
        return
    if exists:
        raise click.ClickException(
            "--force cannot reseed over existing data; use an empty database"
        )
    seed()
    db.session.commit()
    print_logins()


@scheduler.command("run")
def run_scheduler() -> None:
    """Run the scheduled jobs in this process until stopped (Ctrl-C)."""
    from flask import current_app

    from klusbank.scheduler import build_scheduler

    blocking = build_scheduler(current_app._get_current_object())
    for job in blocking.get_jobs():
        click.echo(f"scheduled {job.id}: {job.trigger}")
    try:
        blocking.start()
    except (KeyboardInterrupt, SystemExit):
        logger.info("scheduler stopped")


@housing.command("create-user")
@corporation_option
@click.option("--email", required=True, help="E-mail address the user logs in with.")
@click.option("--name", "full_name", required=True, help="Full name of the user.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="A role of the user; repeat for several roles.",
)
@click.option(
    "--locale", default="nl", type=click.Choice(["nl", "en"]), help="Portal language."
)
def create_user_command(
    corporation_code: str,
    email: str,
    full_name: str,
    roles: tuple[str, ...],
    locale: str,
) -> None:
    """Create a user, such as a corporation's first administrator, and print the invitation link."""
    from flask import current_app, url_for

    from klusbank.accounts.services import create_user, make_invitation_token
    from klusbank.errors import InvalidInput

    corporation = corporation_by_code(corporation_code)
    try:
        user = create_user(
            corporation,
            email=email,
            full_name=full_name,
            roles=[Role(role) for role in roles],
            locale=locale,
        )
    except InvalidInput as error:
        db.session.rollback()
        fields = "; ".join(
            f"{name}: {' '.join(map(str, messages))}"
            for name, messages in error.errors.items()
        )
        raise click.ClickException(fields or error.message) from None
    db.session.commit()
    with current_app.test_request_context():
        path = url_for("accounts.accept_invitation", token=make_invitation_token(user))
    click.echo(
        f"created user {user.id}; send this invitation path on your portal's address: {path}"
    )
