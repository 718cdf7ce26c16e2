"""Reward rule input: ranges, month caps within year caps, one version per month.

Each bound is checked on three paths (service, portal form, JSON API) and in the
database itself, so a value outside it is never stored.
"""

from datetime import UTC, date, datetime

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from klusbank.accounts.services import create_api_token
from klusbank.errors import InvalidInput, RuleViolation
from klusbank.extensions import db
from rewards.engine import limits, services
from rewards.engine.models import (
    CategoryMultiplier,
    RuleVersion,
    VolunteerAllowanceLimit,
)
from tests.factories import create_corporation, create_finance, login
from tests.rewards.engine.helpers import create_rules

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
FORM = {
    "effective_from": "2027-01-01",
    "rent_credit_rate_cents": "12",
    "rent_credit_rate_points": "1",
    "payout_rate_cents": "25",
    "payout_rate_points": "1",
    "weekend_multiplier_permille": "1000",
    "minimum_payout_cents": "0",
}
BODY = {
    "effective_from": "2027-01-01",
    "rent_credit_rate_cents": 12,
    "payout_rate_cents": 25,
}
# A version that is valid in every column; tests change one column at a time.
VALID_ROW = {
    "effective_from": date(2027, 1, 1),
    "rent_credit_rate_cents": 10,
    "rent_credit_rate_points": 1,
    "payout_rate_cents": 10,
    "payout_rate_points": 1,
    "weekend_multiplier_permille": 1000,
    "minimum_payout_cents": 0,
    "is_volunteer_allowance": False,
    "note": "",
    "created_at": NOW,
}
TOO_HIGH = {name: high + 1 for name, (_, high) in limits.RULE_RANGES.items()}
TOO_LOW = {name: low - 1 for name, (low, _) in limits.RULE_RANGES.items()}


@pytest.fixture
def finance(app):
    corporation = create_corporation(code="rules")
    user = create_finance(corporation)
    # Pages and API messages in English, so the tests can read them.
    user.locale = "en"
    db.session.commit()
    return user


def version_count() -> int:
    return db.session.scalar(select(func.count()).select_from(RuleVersion))


def api_client(app, user):
    client = app.test_client()
    _, plain = create_api_token(user, "tests")
    db.session.commit()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {plain}"
    return client


@pytest.mark.parametrize("name", sorted(limits.RULE_RANGES))
@pytest.mark.parametrize("values", [TOO_HIGH, TOO_LOW], ids=["above", "below"])
def test_service_rejects_out_of_range(app, finance, name, values):
    with force_locale("en"), pytest.raises(InvalidInput) as error:
        create_rules(finance, effective_from=date(2027, 1, 1), **{name: values[name]})

    low, high = limits.RULE_RANGES[name]
    assert list(error.value.errors) == [name]
    assert f"from {low} to {high}" in error.value.errors[name][0]
    assert version_count() == 0


def test_service_accepts_every_maximum(app, finance):
    maxima = {name: high for name, (_, high) in limits.RULE_RANGES.items()}

    version = create_rules(
        finance,
        effective_from=date(2027, 1, 1),
        category_multipliers={"trappenhuis": limits.MAX_MULTIPLIER_PERMILLE},
        **maxima,
    )

    assert version.payout_rate_cents == limits.MAX_RATE_CENTS
    assert version.payout_cap_year_cents == limits.MAX_CAP_YEAR_CENTS
    assert version.multiplier_for("trappenhuis") == limits.MAX_MULTIPLIER_PERMILLE


@pytest.mark.parametrize("value", [999, 10_001])
def test_service_rejects_category_multiplier(app, finance, value):
    with pytest.raises(InvalidInput) as error:
        create_rules(finance, category_multipliers={"tuin": value})

    assert list(error.value.errors) == ["category_multipliers"]
    assert version_count() == 0


def test_service_rejects_long_category_code(app, finance):
    with pytest.raises(InvalidInput) as error:
        create_rules(finance, category_multipliers={"x" * 65: 1500})

    assert list(error.value.errors) == ["category_multipliers"]


@pytest.mark.parametrize("kind", ["rent_credit", "payout"])
def test_month_cap_above_year_cap_rejected(app, finance, kind):
    month, year = f"{kind}_cap_month_cents", f"{kind}_cap_year_cents"

    with force_locale("en"), pytest.raises(InvalidInput) as error:
        create_rules(finance, **{month: 5_000, year: 4_999})

    label = kind.replace("_", " ")
    assert sorted(error.value.errors) == sorted([month, year])
    assert f"{label} cap per month" in error.value.errors[month][0]
    assert f"{label} cap per year" in error.value.errors[month][0]
    assert error.value.errors[year] == error.value.errors[month]
    assert version_count() == 0


def test_month_cap_equal_to_year_cap_accepted(app, finance):
    version = create_rules(
        finance, payout_cap_month_cents=5_000, payout_cap_year_cents=5_000
    )

    assert version.payout_cap_month_cents == 5_000


def test_second_version_same_month_rejected(app, finance):
    create_rules(finance, effective_from=date(2027, 1, 1))
    db.session.commit()

    with pytest.raises(RuleViolation) as error:
        create_rules(finance, effective_from=date(2027, 1, 1), payout_rate_cents=20)

    assert error.value.code == "rule_version_exists"
    assert "2027-01-01" in error.value.errors["effective_from"][0]
    assert version_count() == 1


def test_other_corporation_may_share_month(app, finance):
    create_rules(finance, effective_from=date(2027, 1, 1))
    other = create_finance(create_corporation(code="other"))

    create_rules(other, effective_from=date(2027, 1, 1))

    assert version_count() == 2


def test_form_rejects_huge_rate_keeping_input(app, client, finance):
    huge = str(2**63)

    with time_machine.travel(NOW, tick=False):
        login(client, finance)
        response = client.post(
            "/rewards/finance/rules", data={**FORM, "payout_rate_cents": huge}
        )
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert 'id="payout_rate_cents-error"' in page
    assert "from 1 to 1000" in page
    assert f'value="{huge}"' in page
    assert 'value="12"' in page
    assert version_count() == 0


def test_form_names_both_caps(app, client, finance):
    with time_machine.travel(NOW, tick=False):
        login(client, finance)
        response = client.post(
            "/rewards/finance/rules",
            data={
                **FORM,
                "rent_credit_cap_month_cents": "3000",
                "rent_credit_cap_year_cents": "2000",
            },
        )
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert 'id="rent_credit_cap_month_cents-error"' in page
    assert 'id="rent_credit_cap_year_cents-error"' in page
    assert 'value="3000"' in page
    assert version_count() == 0


def test_form_rejects_second_version_same_month(app, client, finance):
    create_rules(finance, effective_from=date(2027, 1, 1))
    db.session.commit()

    with time_machine.travel(NOW, tick=False):
        login(client, finance)
        response = client.post("/rewards/finance/rules", data=FORM)
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert 'id="effective_from-error"' in page
    assert "exists already" in page
    assert 'value="25"' in page
    assert version_count() == 1


def test_form_rejects_missing_date(app, client, finance):
    with time_machine.travel(NOW, tick=False):
        login(client, finance)
        response = client.post(
            "/rewards/finance/rules", data={**FORM, "effective_from": ""}
        )

    assert response.status_code == 422
    assert 'id="effective_from-error"' in response.get_data(as_text=True)
    assert version_count() == 0


def test_api_rejects_huge_rate(app, finance):
    client = api_client(app, finance)

    with time_machine.travel(NOW, tick=False):
        response = client.post(
            "/api/v1/rewards/rules", json={**BODY, "payout_rate_cents": 2**63}
        )
    body = response.get_json()

    assert response.status_code == 422
    assert list(body["errors"]) == ["payout_rate_cents"]
    assert "from 1 to 1000" in body["errors"]["payout_rate_cents"][0]
    assert version_count() == 0


def test_api_rejects_month_cap_above_year_cap(app, finance):
    client = api_client(app, finance)

    with time_machine.travel(NOW, tick=False):
        response = client.post(
            "/api/v1/rewards/rules",
            json={**BODY, "payout_cap_month_cents": 900, "payout_cap_year_cents": 800},
        )
    body = response.get_json()

    assert response.status_code == 422
    assert sorted(body["errors"]) == ["payout_cap_month_cents", "payout_cap_year_cents"]
    assert version_count() == 0


def test_api_creates_then_rejects_same_month(app, finance):
    client = api_client(app, finance)

    with time_machine.travel(NOW, tick=False):
        created = client.post("/api/v1/rewards/rules", json=BODY)
        repeated = client.post("/api/v1/rewards/rules", json=BODY)
        listed = client.get("/api/v1/rewards/rules")

    assert created.status_code == 201
    assert created.get_json()["payout_rate_cents"] == 25
    assert repeated.status_code == 409
    assert "effective_from" in repeated.get_json()["errors"]
    assert len(listed.get_json()["rule_versions"]) == 1
    assert version_count() == 1


def test_api_rejects_string_number(app, finance):
    client = api_client(app, finance)

    with time_machine.travel(NOW, tick=False):
        response = client.post(
            "/api/v1/rewards/rules", json={**BODY, "payout_rate_cents": "25"}
        )

    assert response.status_code == 422
    assert "payout_rate_cents" in response.get_json()["errors"]
    assert version_count() == 0


def insert_version(finance, **changes):
    row = {**VALID_ROW, "corporation_id": finance.corporation_id, **changes}
    db.session.execute(insert(RuleVersion).values(**row))
    db.session.flush()


@pytest.mark.parametrize("name", sorted(limits.RULE_RANGES))
@pytest.mark.parametrize("values", [TOO_HIGH, TOO_LOW], ids=["above", "below"])
def test_database_rejects_out_of_range(app, finance, name, values):
    with pytest.raises(IntegrityError):
        insert_version(finance, **{name: values[name]})
    db.session.rollback()

    assert version_count() == 0


def test_database_rejects_month_cap_above_year(app, finance):
    with pytest.raises(IntegrityError):
        insert_version(
            finance, rent_credit_cap_month_cents=200, rent_credit_cap_year_cents=100
        )
    db.session.rollback()

    assert version_count() == 0


def test_database_rejects_same_month_twice(app, finance):
    insert_version(finance)
    db.session.commit()

    with pytest.raises(IntegrityError):
        insert_version(finance, payout_rate_cents=20)
    db.session.rollback()

    assert version_count() == 1


def test_database_accepts_maximum_row(app, finance):
    maxima = {name: high for name, (_, high) in limits.RULE_RANGES.items()}

    insert_version(finance, **maxima)
    db.session.commit()

    assert version_count() == 1


def test_database_rejects_category_multiplier(app, finance):
    version = create_rules(finance)
    db.session.commit()

    with pytest.raises(IntegrityError):
        db.session.execute(
            insert(CategoryMultiplier).values(
                rule_version_id=version.id,
                category_code="tuin",
                multiplier_permille=limits.MAX_MULTIPLIER_PERMILLE + 1,
            )
        )
    db.session.rollback()

    assert db.session.scalar(select(func.count()).select_from(CategoryMultiplier)) == 0


VOLUNTEER = {
    "hourly_21_plus_cents": 600,
    "hourly_under_21_cents": 350,
    "month_cents": 22_000,
    "year_cents": 220_000,
}


@pytest.mark.parametrize("name", sorted(limits.VOLUNTEER_RANGES))
def test_volunteer_limits_reject_out_of_range(app, name):
    values = {"year": 2026, **VOLUNTEER}
    values[name] = limits.VOLUNTEER_RANGES[name][1] + 1

    with pytest.raises(InvalidInput) as error:
        services.add_volunteer_limits(values.pop("year"), **values)

    assert name in error.value.errors
    assert db.session.get(VolunteerAllowanceLimit, 2026) is None


def test_volunteer_month_above_year_rejected(app):
    values = {**VOLUNTEER, "month_cents": 230_000}

    with force_locale("en"), pytest.raises(InvalidInput) as error:
        services.add_volunteer_limits(2026, **values)

    assert sorted(error.value.errors) == ["month_cents", "year_cents"]
    assert "month limit" in error.value.errors["month_cents"][0]
    assert "year limit" in error.value.errors["month_cents"][0]
    assert db.session.get(VolunteerAllowanceLimit, 2026) is None


def test_cli_volunteer_month_above_year_fails(app, runner):
    result = runner.invoke(
        args=[
            "rewards",
            "volunteer-limits",
            "--year",
            "2026",
            "--hourly-21-plus-cents",
            "600",
            "--hourly-under-21-cents",
            "350",
            "--month-cents",
            "230000",
            "--year-cents",
            "220000",
        ]
    )

    assert result.exit_code != 0
    assert "month_cents" in result.output
    assert "year_cents" in result.output
    assert db.session.get(VolunteerAllowanceLimit, 2026) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"month_cents": limits.MAX_VOLUNTEER_MONTH_CENTS + 1},
        {"month_cents": 300_000, "year_cents": 200_000},
        {"year": 1999},
    ],
    ids=["month-too-high", "month-above-year", "year-too-early"],
)
def test_database_rejects_volunteer_limits(app, changes):
    row = {"year": 2026, **VOLUNTEER, **changes}

    with pytest.raises(IntegrityError):
        db.session.execute(insert(VolunteerAllowanceLimit).values(**row))
    db.session.rollback()

    assert db.session.get(VolunteerAllowanceLimit, row["year"]) is None


@pytest.mark.parametrize(
    "lines", ["trappenhuis = 1500\ntrappenhuis = 2000", "tuin = 1500\nTUIN = 1200"]
)
def test_form_rejects_repeated_category(app, client, finance, lines):
    with time_machine.travel(NOW, tick=False):
        login(client, finance)
        response = client.post(
            "/rewards/finance/rules", data={**FORM, "category_multipliers": lines}
        )
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert 'id="category_multipliers-error"' in page
    assert "Line 2 repeats the category" in page
    assert version_count() == 0


def test_start_far_ahead_rejected(app, finance):
    with (
        time_machine.travel(NOW, tick=False),
        pytest.raises(InvalidInput) as raised,
    ):
        create_rules(finance, effective_from=date(9999, 12, 1))

    assert list(raised.value.errors) == ["effective_from"]
    assert version_count() == 0
