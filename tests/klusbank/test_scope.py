"""Staff see only their own clusters and corporation; anything else is 404."""

from klusbank.extensions import db
from tests.factories import (
    create_admin,
    create_caretaker,
    create_cluster,
    create_corporation,
    create_finance,
    create_tenant,
    create_unit,
    login,
)


def _world():
    first, second = create_corporation(), create_corporation()
    cluster_x, cluster_y = create_cluster(first), create_cluster(first)
    foreign_cluster = create_cluster(second)
    unit_x, unit_y = create_unit(first, cluster_x), create_unit(first, cluster_y)
    foreign_unit = create_unit(second, foreign_cluster)
    world = {
        "cluster_x": cluster_x,
        "cluster_y": cluster_y,
        "foreign_cluster": foreign_cluster,
        "unit_x": unit_x,
        "unit_y": unit_y,
        "foreign_unit": foreign_unit,
        "tenant_x": create_tenant(first, unit_x),
        "tenant_y": create_tenant(first, unit_y),
        "foreign_tenant": create_tenant(second, foreign_unit),
        "caretaker_x": create_caretaker(first, cluster_x),
        "finance": create_finance(first),
        "admin": create_admin(first),
    }
    db.session.commit()
    return world


def test_caretaker_sees_own_cluster_only(app, client):
    world = _world()
    login(client, world["caretaker_x"])

    own = client.get(f"/housing/clusters/{world['cluster_x'].id}")
    other = client.get(f"/housing/clusters/{world['cluster_y'].id}")
    foreign = client.get(f"/housing/clusters/{world['foreign_cluster'].id}")

    assert own.status_code == 200
    assert other.status_code == 404
    assert foreign.status_code == 404


def test_caretaker_units_outside_clusters_are_not_found(app, client):
    world = _world()
    login(client, world["caretaker_x"])

    assert client.get(f"/housing/units/{world['unit_x'].id}").status_code == 200
    assert client.get(f"/housing/units/{world['unit_y'].id}").status_code == 404
    assert client.get(f"/housing/units/{world['foreign_unit'].id}").status_code == 404


def test_finance_sees_own_corporation_only(app, client):
    world = _world()
    login(client, world["finance"])

    assert client.get(f"/housing/clusters/{world['cluster_y'].id}").status_code == 200
    assert (
        client.get(f"/housing/clusters/{world['foreign_cluster'].id}").status_code
        == 404
    )
    assert client.get(f"/housing/units/{world['foreign_unit'].id}").status_code == 404


def test_admin_cannot_read_users_of_another_corporation(app, client):
    world = _world()
    login(client, world["admin"])

    assert client.get(f"/admin/users/{world['tenant_x'].id}").status_code == 200
    assert client.get(f"/admin/users/{world['foreign_tenant'].id}").status_code == 404


def test_cluster_list_shows_only_assigned_clusters(app, client):
    world = _world()
    login(client, world["caretaker_x"])

    page = client.get("/housing/clusters").get_data(as_text=True)

    assert world["cluster_x"].name in page
    assert world["cluster_y"].name not in page
    assert world["foreign_cluster"].name not in page


def test_tenant_gets_not_found_on_staff_pages(app, client):
    world = _world()
    login(client, world["tenant_x"])

    assert client.get("/housing/clusters").status_code == 404
    assert client.get("/admin/users").status_code == 404


def test_id_beyond_database_range_is_not_found(app, client):
    world = _world()
    login(client, world["finance"])

    response = client.get(f"/housing/clusters/{2**63}")
    api_response = client.get(f"/api/v1/chores/{2**64}")

    assert response.status_code == 404
    assert api_response.status_code == 404
