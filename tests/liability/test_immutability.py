import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from klusbank.extensions import db
from liability import services as liability
from tests.factories import create_corporation, create_tenant
from tests.liability.helpers import accept, create_briefing, evidence, publish


def _run_raw(sql: str, **params) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(sql), params)


@pytest.fixture
def records(app):
    corporation = create_corporation()
    tenant = create_tenant(corporation)
    briefing = create_briefing(corporation)
    version = publish(briefing)
    acceptance = accept(tenant, version)
    withdrawal = liability.withdraw_acceptance(
        tenant, briefing.id, reason="Moving out", evidence=evidence()
    )
    ids = {
        "briefing_versions": version.id,
        "briefing_acceptances": acceptance.id,
        "briefing_withdrawals": withdrawal.id,
    }
    # Commit and read nothing more, so this session holds no table locks that
    # would make the raw statements on PostgreSQL wait.
    db.session.commit()
    return ids


@pytest.mark.parametrize(
    "table, assignment",
    [
        ("briefing_versions", "body_markdown = 'Ladders are fine.'"),
        ("briefing_versions", "is_material = false"),
        ("briefing_acceptances", "typed_name = 'Someone Else'"),
        ("briefing_acceptances", "rendered_sha256 = text_sha256"),
        ("briefing_withdrawals", "reason = 'changed later'"),
    ],
)
def test_raw_update_rejected(records, table, assignment):
    with pytest.raises(DBAPIError) as raised:
        _run_raw(f"UPDATE {table} SET {assignment} WHERE id = :id", id=records[table])

    assert "append-only" in str(raised.value)


@pytest.mark.parametrize(
    "table", ["briefing_withdrawals", "briefing_acceptances", "briefing_versions"]
)
def test_raw_delete_rejected(records, table):
    with pytest.raises(DBAPIError) as raised:
        _run_raw(f"DELETE FROM {table} WHERE id = :id", id=records[table])

    assert "append-only" in str(raised.value)


def test_rows_unchanged_after_rejections(records):
    for table, row_id in records.items():
        with pytest.raises(DBAPIError):
            _run_raw(f"DELETE FROM {table} WHERE id = :id", id=row_id)

    with db.engine.connect() as connection:
        counts = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in records
        }
    assert counts == {table: 1 for table in records}


def test_truncate_rejected_on_postgresql(records, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")

    with pytest.raises(DBAPIError) as raised:
        _run_raw("TRUNCATE briefing_versions CASCADE")

    assert "append-only" in str(raised.value)
