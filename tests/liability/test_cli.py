from sqlalchemy import select

from klusbank.extensions import db
from liability.models import BriefingVersion
from tests.factories import create_corporation


def _publish(runner, path, *extra):
    return runner.invoke(
        args=[
            "liability",
            "publish",
            "--corporation",
            "acme",
            "--briefing",
            "tuin",
            "--locale",
            "nl",
            "--title",
            "Werken in de tuin",
            "--file",
            str(path),
            *extra,
        ]
    )


def test_publish_first_version(app, runner, tmp_path):
    create_corporation(code="acme")
    db.session.commit()
    path = tmp_path / "tuin.md"
    path.write_text("Geen ladders hoger dan 1,5 meter.\r\n", encoding="utf-8")

    result = _publish(runner, path, "--new-briefing")

    assert result.exit_code == 0, result.output
    version = db.session.scalar(select(BriefingVersion))
    assert version.version_number == 1
    assert version.is_material is True
    assert version.body_markdown == "Geen ladders hoger dan 1,5 meter.\n"
    assert version.text_sha256 in result.output


def test_publish_unknown_briefing_rejected(app, runner, tmp_path):
    create_corporation(code="acme")
    db.session.commit()
    path = tmp_path / "tuin.md"
    path.write_text("Tekst.", encoding="utf-8")

    result = _publish(runner, path)

    assert result.exit_code != 0
    assert "--new-briefing" in result.output


def test_second_version_needs_material_choice(app, runner, tmp_path):
    create_corporation(code="acme")
    db.session.commit()
    path = tmp_path / "tuin.md"
    path.write_text("Tekst.", encoding="utf-8")
    _publish(runner, path, "--new-briefing")

    missing = _publish(runner, path, "--summary", "Spelling")
    cosmetic = _publish(runner, path, "--cosmetic", "--summary", "Spelling")

    assert missing.exit_code != 0
    assert "--material/--cosmetic" in missing.output
    assert cosmetic.exit_code == 0, cosmetic.output
    numbers = db.session.scalars(select(BriefingVersion.version_number)).all()
    assert sorted(numbers) == [1, 2]


def test_publish_translation_of_version(app, runner, tmp_path):
    create_corporation(code="acme")
    db.session.commit()
    path = tmp_path / "tuin.md"
    path.write_text("Tekst.", encoding="utf-8")
    _publish(runner, path, "--new-briefing")

    result = runner.invoke(
        args=[
            "liability",
            "publish",
            "--corporation",
            "acme",
            "--briefing",
            "tuin",
            "--locale",
            "en",
            "--title",
            "Working in the garden",
            "--file",
            str(path),
            "--version",
            "1",
        ]
    )

    assert result.exit_code == 0, result.output
    locales = db.session.scalars(
        select(BriefingVersion.locale).where(BriefingVersion.version_number == 1)
    ).all()
    assert sorted(locales) == ["en", "nl"]


def test_past_effective_date_rejected(app, runner, tmp_path):
    create_corporation(code="acme")
    db.session.commit()
    path = tmp_path / "tuin.md"
    path.write_text("Tekst.", encoding="utf-8")

    result = _publish(runner, path, "--new-briefing", "--effective-from", "2001-01-01")

    assert result.exit_code != 0
    assert "--effective-from" in result.output
    assert db.session.scalar(select(BriefingVersion)) is None
