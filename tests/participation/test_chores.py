"""Posting, repeating, editing and cancelling chores, and the nightly job."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from klusbank.db import utcnow
from klusbank.errors import InvalidInput, NotFound, RuleViolation
from klusbank.extensions import db
from klusbank.scheduler import build_scheduler
from klusbank.timeutil import AMSTERDAM
from participation import services
from participation.models import Recurrence, RewardMode
from participation.services.chores import shift
from tests.factories import create_cluster, create_corporation
from tests.participation.helpers import create_chore, create_neighbourhood, row_counts


def test_weekly_shift_keeps_local_time_across_dst():
    # 09:00 in Amsterdam on 2026-03-23 (UTC+1); a week later it is summer time.
    start = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)

    moved = shift(start, Recurrence.WEEKLY, 1)

    assert moved.astimezone(AMSTERDAM).hour == 9
    assert moved == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_monthly_shift_clamps_to_month_end():
    start = datetime(2027, 1, 31, 9, 0, tzinfo=AMSTERDAM)

    assert shift(start, Recurrence.MONTHLY, 1).day == 28
    assert shift(start, Recurrence.MONTHLY, 2).day == 31
    assert shift(start, Recurrence.MONTHLY, 12).year == 2028


@time_machine.travel(datetime(2026, 11, 2, 9, 0, tzinfo=AMSTERDAM), tick=False)
def test_monthly_repeat_posts_one_chore_per_month(app):
    place = create_neighbourhood(create_corporation())
    now = utcnow()
    terms = services.ChoreTerms(
        title="Containers buitenzetten",
        description="",
        category_id=place.category.id,
        reward_points=5,
        reward_mode=RewardMode.EACH,
        places=1,
        proof=place.chore.proof,
        claim_opens_at=now,
        claim_closes_at=now + timedelta(days=2),
        deadline_at=now + timedelta(days=3),
    )

    chores = services.post_chore(
        place.caretaker,
        place.cluster.id,
        terms,
        recurrence=Recurrence.MONTHLY,
        occurrences=12,
    )

    assert len(chores) == 12
    assert len({chore.series_id for chore in chores}) == 1
    assert chores[0].series.occurrences == 12
    months = [chore.claim_opens_at.astimezone(AMSTERDAM).month for chore in chores]
    assert months == [11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    hours = {chore.claim_opens_at.astimezone(AMSTERDAM).hour for chore in chores}
    assert hours == {9}


def test_repeat_count_is_bounded(app):
    place = create_neighbourhood(create_corporation())
    counts = row_counts()
    terms = _terms(place)

    with pytest.raises(InvalidInput) as weekly:
        services.post_chore(
            place.caretaker,
            place.cluster.id,
            terms,
            recurrence=Recurrence.WEEKLY,
            occurrences=53,
        )
    with pytest.raises(InvalidInput) as single:
        services.post_chore(place.caretaker, place.cluster.id, terms, occurrences=2)

    assert "occurrences" in weekly.value.errors
    assert "occurrences" in single.value.errors
    assert row_counts() == counts


def test_shared_pot_needs_a_point_per_place(app):
    place = create_neighbourhood(create_corporation())
    counts = row_counts()

    with pytest.raises(InvalidInput) as error:
        create_chore(
            place.caretaker,
            place.cluster,
            place.category,
            points=2,
            places=3,
            mode=RewardMode.SHARED,
        )

    assert "reward_points" in error.value.errors
    assert row_counts() == counts


def test_caretaker_cannot_post_to_unassigned_cluster(app):
    corporation = create_corporation()
    place = create_neighbourhood(corporation)
    elsewhere = create_cluster(corporation)
    counts = row_counts()

    with pytest.raises(NotFound):
        services.post_chore(place.caretaker, elsewhere.id, _terms(place))

    assert row_counts() == counts


def test_cancelling_twice_is_refused(app):
    place = create_neighbourhood(create_corporation())
    services.cancel_chore(place.caretaker, place.chore.id, "Dubbel geplaatst")
    db.session.commit()

    with pytest.raises(RuleViolation) as error:
        services.cancel_chore(place.caretaker, place.chore.id, "Nog eens")

    assert error.value.code == "chore_cancelled"
    assert place.chore.cancel_reason == "Dubbel geplaatst"


def test_nightly_job_is_scheduled(app):
    scheduler = build_scheduler(app)

    job = scheduler.get_job("participation.expire_overdue_claims")

    assert job is not None
    assert "hour='1'" in str(job.trigger)
    assert "minute='30'" in str(job.trigger)


def _terms(place) -> services.ChoreTerms:
    now = utcnow()
    return services.ChoreTerms(
        title="Bladeren harken",
        description="",
        category_id=place.category.id,
        reward_points=10,
        reward_mode=RewardMode.EACH,
        places=1,
        proof=place.chore.proof,
        claim_opens_at=now,
        claim_closes_at=now + timedelta(days=1),
        deadline_at=now + timedelta(days=2),
    )


def test_far_future_deadline_is_rejected(app):
    from participation.models import Chore

    place = create_neighbourhood(create_corporation())
    chores_before = db.session.query(Chore).count()

    with pytest.raises(InvalidInput) as raised:
        create_chore(
            place.caretaker,
            place.cluster,
            place.category,
            deadline_at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
        )

    assert "deadline_at" in raised.value.errors
    assert db.session.query(Chore).count() == chores_before
