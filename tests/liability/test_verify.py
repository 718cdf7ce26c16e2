from sqlalchemy import text

from klusbank.extensions import db
from tests.factories import create_corporation, create_tenant
from tests.liability.helpers import accept, create_briefing, publish


def _tamper_with_version(backend: str, version_id: int) -> None:
    """Change a stored text behind the triggers' back, as an intruder could."""
    with db.engine.begin() as connection:
        if backend == "postgresql":
            connection.execute(
                text("ALTER TABLE briefing_versions DISABLE TRIGGER USER")
            )
        else:
            connection.execute(text("DROP TRIGGER briefing_versions_no_update"))
        connection.execute(
            text("UPDATE briefing_versions SET body_markdown = :body WHERE id = :id"),
            {"body": "Ladders of any height are fine.\n", "id": version_id},
        )


def _seed():
    corporation = create_corporation()
    briefing = create_briefing(corporation)
    version = publish(briefing)
    acceptance = accept(create_tenant(corporation), version)
    ids = (version.id, acceptance.id)
    db.session.commit()
    return ids


def test_verify_passes_on_untouched_records(app, runner):
    _seed()

    result = runner.invoke(args=["liability", "verify"])

    assert result.exit_code == 0, result.output
    assert "match" in result.output


def test_verify_names_altered_version(app, runner, backend):
    version_id, _acceptance_id = _seed()
    _tamper_with_version(backend, version_id)
    db.session.expire_all()

    result = runner.invoke(args=["liability", "verify"])

    assert result.exit_code != 0
    assert f"briefing version {version_id} (tuin v1 nl): text_sha256" in result.output


def test_verify_names_acceptance_of_rehashed_version(app, runner, backend):
    version_id, acceptance_id = _seed()
    _tamper_with_version(backend, version_id)
    # An intruder who also fixes the version's hash is caught by the copy
    # of that hash in every acceptance made under it.
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE briefing_versions SET text_sha256 = :digest WHERE id = :id"),
            {"digest": "f" * 64, "id": version_id},
        )
    db.session.expire_all()

    result = runner.invoke(args=["liability", "verify"])

    assert result.exit_code != 0
    assert f"acceptance {acceptance_id} " in result.output
