"""Reads behind the chore list and the review queue: scope, counts, statements."""

from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import event

from klusbank.accounts.access import tenant_cluster_ids
from klusbank.extensions import db
from klusbank.housing.models import Tenancy
from participation import queries, services
from participation.queries import ChoreFilter
from tests.factories import create_cluster, create_corporation, create_unit, login
from tests.participation.helpers import (
    create_chore,
    create_neighbourhood,
    submitted_claim,
)


@contextmanager
def counted_statements():
    """Collect the SQL statements sent while the block runs."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def add_tenancy(tenant, unit, starts_on: date, ends_on: date | None = None) -> None:
    db.session.add(
        Tenancy(
            user_id=tenant.id,
            unit_id=unit.id,
            reference=f"HC-{tenant.id}-{unit.id}",
            starts_on=starts_on,
            ends_on=ends_on,
        )
    )
    db.session.flush()


def test_tenant_clusters_are_current_ones(app):
    corporation = create_corporation()
    place = create_neighbourhood(corporation)
    tenant = place.add_tenant()
    second, ended, future = (create_cluster(corporation) for _ in range(3))
    today = date.today()
    add_tenancy(tenant, create_unit(corporation, second, place.cluster), today)
    add_tenancy(
        tenant,
        create_unit(corporation, ended),
        today - timedelta(days=100),
        today - timedelta(days=1),
    )
    add_tenancy(tenant, create_unit(corporation, future), today + timedelta(days=1))

    clusters = queries.tenant_clusters(tenant)

    assert [cluster.id for cluster in clusters] == sorted([place.cluster.id, second.id])
    assert {cluster.id for cluster in clusters} == tenant_cluster_ids(tenant)


def test_tenant_clusters_on_a_past_day(app):
    corporation = create_corporation()
    place = create_neighbourhood(corporation)
    tenant = place.add_tenant()
    ended = create_cluster(corporation)
    today = date.today()
    add_tenancy(
        tenant,
        create_unit(corporation, ended),
        today - timedelta(days=100),
        today - timedelta(days=1),
    )

    clusters = queries.tenant_clusters(tenant, today - timedelta(days=2))

    assert ended.id in {cluster.id for cluster in clusters}


def test_open_chores_count_places_and_own_claim(app):
    place = create_neighbourhood(create_corporation(), places=3)
    first, second, withdrawn, onlooker = (place.add_tenant() for _ in range(4))
    own = services.claim_chore(first, place.chore.id)
    services.claim_chore(second, place.chore.id)
    dropped = services.claim_chore(withdrawn, place.chore.id)
    services.withdraw_claim(withdrawn, dropped.id)
    db.session.commit()

    mine = queries.open_chores_for_tenant(first, ChoreFilter())
    theirs = queries.open_chores_for_tenant(onlooker, ChoreFilter())
    left = queries.open_chores_for_tenant(withdrawn, ChoreFilter())

    assert [listing.chore.id for listing in mine] == [place.chore.id]
    assert mine[0].places_taken == 2
    assert mine[0].places_left == 1
    assert mine[0].own_claim.id == own.id
    assert theirs[0].places_taken == 2
    assert theirs[0].own_claim is None
    assert left[0].own_claim is None


def test_full_chore_stays_for_its_claimant(app):
    place = create_neighbourhood(create_corporation(), places=1)
    holder, other = place.add_tenant(), place.add_tenant()
    services.claim_chore(holder, place.chore.id)
    db.session.commit()
    available = ChoreFilter(available_only=True)

    assert len(queries.open_chores_for_tenant(holder, available)) == 1
    assert queries.open_chores_for_tenant(other, available) == []


def test_open_chores_of_other_clusters_hidden(app):
    corporation = create_corporation()
    home = create_neighbourhood(corporation)
    elsewhere = create_neighbourhood(corporation)
    tenant = home.add_tenant()
    db.session.commit()

    listings = queries.open_chores_for_tenant(tenant, ChoreFilter())

    assert [listing.chore.id for listing in listings] == [home.chore.id]
    assert elsewhere.chore.id not in {listing.chore.id for listing in listings}


def test_chore_list_statements_do_not_grow(app, client):
    place = create_neighbourhood(create_corporation(), places=2)
    tenant = place.add_tenant()
    db.session.commit()
    login(client, tenant)
    with counted_statements() as one_chore:
        assert client.get("/participation/chores").status_code == 200
    for _ in range(4):
        chore = create_chore(place.caretaker, place.cluster, place.category, places=2)
        services.claim_chore(place.add_tenant(), chore.id)
        services.claim_chore(tenant, chore.id)
    db.session.commit()

    with counted_statements() as five_chores:
        page = client.get("/participation/chores")

    assert page.status_code == 200
    assert page.get_data(as_text=True).count('class="card"') == 5
    assert len(five_chores) == len(one_chore) + 1  # the tenant's own claims


def test_review_queue_statements_do_not_grow(app, client):
    place = create_neighbourhood(create_corporation(), places=5)
    submitted_claim(place.add_tenant(), place.chore)
    db.session.commit()
    login(client, place.caretaker)
    with counted_statements() as one_claim:
        assert client.get("/participation/review").status_code == 200
    for _ in range(3):
        submitted_claim(place.add_tenant(), place.chore)
    db.session.commit()

    with counted_statements() as four_claims:
        page = client.get("/participation/review")

    assert page.status_code == 200
    assert page.get_data(as_text=True).count('data-testid="review-') == 4
    assert len(four_claims) == len(one_claim)
