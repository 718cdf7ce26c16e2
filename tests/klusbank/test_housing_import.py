from sqlalchemy import func, select

from klusbank.accounts.models import User
from klusbank.extensions import db
from klusbank.housing.models import Cluster, Tenancy, Unit
from tests.factories import create_corporation

CLUSTERS_CSV = (
    "code;name;kind\nZON;Zonnehof;service_costs\nBRW;Brouwerswijk;neighbourhood\n"
)
UNITS_CSV = (
    "external_id,bag_id,street,house_number,postcode,city,clusters\n"
    "VHE-1,0599010000000001,Zonnehof,1,3021 AB,Rotterdam,ZON|BRW\n"
    "VHE-2,,Zonnehof,2,3021AB,Rotterdam,ZON\n"
)
TENANTS_CSV = (
    "\ufeffemail;full_name;unit_external_id;reference;starts_on;ends_on;locale\n"
    "a@example.test;Anna de Wit;VHE-1;HC-1;2024-01-01;;nl\n"
    "b@example.test;Bram Jansen;VHE-2;HC-2;2024-02-01;;en\n"
)


def _import(runner, tmp_path, kind, text, corporation="demo"):
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(
        args=["housing", "import", kind, "--corporation", corporation, str(path)]
    )


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_import_clusters_units_tenants(app, runner, tmp_path):
    create_corporation(code="demo")
    db.session.commit()

    results = [
        _import(runner, tmp_path, "clusters", CLUSTERS_CSV),
        _import(runner, tmp_path, "units", UNITS_CSV),
        _import(runner, tmp_path, "tenants", TENANTS_CSV),
    ]

    assert [result.exit_code for result in results] == [0, 0, 0], [
        r.output for r in results
    ]
    assert _count(Cluster) == 2
    assert _count(Unit) == 2
    assert _count(Tenancy) == 2
    unit = db.session.scalar(select(Unit).where(Unit.external_id == "VHE-1"))
    assert unit.postcode == "3021AB"
    assert len(unit.memberships) == 2


def test_tenant_file_with_one_bad_row_imports_nothing(app, runner, tmp_path):
    create_corporation(code="demo")
    db.session.commit()
    _import(runner, tmp_path, "clusters", CLUSTERS_CSV)
    _import(runner, tmp_path, "units", UNITS_CSV)
    users_before = _count(User)
    bad = TENANTS_CSV + "c@example.test;Cor Bakker;VHE-99;HC-3;2024-03-01;;nl\n"

    result = _import(runner, tmp_path, "tenants", bad)

    assert result.exit_code != 0
    assert "line 4" in result.output
    assert "unit_external_id 'VHE-99' is unknown" in result.output
    assert "nothing imported" in result.output
    assert _count(User) == users_before
    assert _count(Tenancy) == 0


def test_import_reports_every_bad_row(app, runner, tmp_path):
    create_corporation(code="demo")
    db.session.commit()
    _import(runner, tmp_path, "clusters", CLUSTERS_CSV)
    bad_units = (
        "external_id,bag_id,street,house_number,postcode,city,clusters\n"
        "VHE-1,123,Zonnehof,1,3021AB,Rotterdam,ZON\n"
        "VHE-2,,Zonnehof,2,30AB,Rotterdam,ZON\n"
        "VHE-3,,Zonnehof,3,3021AB,Rotterdam,NOPE\n"
        "VHE-3,,Zonnehof,3,3021AB,Rotterdam,ZON\n"
    )

    result = _import(runner, tmp_path, "units", bad_units)

    assert result.exit_code != 0
    assert "line 2: bag_id '123' is invalid" in result.output
    assert "line 3: postcode '30AB' is invalid" in result.output
    assert "line 4: unknown cluster(s) NOPE" in result.output
    assert _count(Unit) == 0


def test_import_rejects_missing_columns(app, runner, tmp_path):
    create_corporation(code="demo")
    db.session.commit()

    result = _import(runner, tmp_path, "clusters", "code,name\nA,B\n")

    assert result.exit_code != 0
    assert "missing column(s) kind" in result.output


def test_import_rejects_unknown_corporation(app, runner, tmp_path):
    result = _import(runner, tmp_path, "clusters", CLUSTERS_CSV, corporation="nope")

    assert result.exit_code != 0
    assert "no corporation has code 'nope'" in result.output
