from datetime import UTC, date, datetime

import pytest

from klusbank.config import ConfigError, load_config
from klusbank.formatting import format_cents, format_moment, format_points
from klusbank.timeutil import Period, business_date


def test_production_requires_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)

    with pytest.raises(ConfigError, match="SECRET_KEY is missing"):
        load_config({"ENV": "production", "INSTANCE_DIR": tmp_path})


def test_development_keeps_generated_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)

    first = load_config({"ENV": "development", "INSTANCE_DIR": tmp_path})["SECRET_KEY"]
    second = load_config({"ENV": "development", "INSTANCE_DIR": tmp_path})["SECRET_KEY"]

    assert len(first) == 64
    assert first == second


def test_default_database_is_sqlite_in_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)

    config = load_config({"ENV": "testing", "INSTANCE_DIR": tmp_path})

    assert (
        config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'klusbank.sqlite'}"
    )
    assert config["TIMEZONE"] == "Europe/Amsterdam"


def test_unknown_environment_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="KLUSBANK_ENV='staging' is invalid"):
        load_config({"ENV": "staging", "INSTANCE_DIR": tmp_path})


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("nl", "€\xa01.234,56"), ("en", "€1,234.56")],
)
def test_format_cents_per_locale(locale, expected):
    assert format_cents(123456, locale) == expected


def test_format_negative_cents_in_dutch():
    assert format_cents(-5, "nl") == "€\xa0-0,05"


def test_format_points_groups_digits():
    assert format_points(12345, "nl") == "12.345"


def test_format_moment_uses_amsterdam_time():
    moment = datetime(2026, 7, 1, 21, 30, tzinfo=UTC)

    assert "23:30" in format_moment(moment, "nl")


def test_business_date_follows_amsterdam_across_midnight():
    late_evening_utc = datetime(2026, 3, 31, 21, 30, tzinfo=UTC)  # 23:30 CEST

    assert business_date(late_evening_utc) == date(2026, 3, 31)
    assert Period.of_moment(late_evening_utc) == Period(2026, 3)


def test_period_bounds_cross_daylight_saving():
    october = Period.parse("2026-10")

    assert october.starts_at == datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    assert october.ends_at == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-13", "26-01", "2026-1", "", "2026-01-01"])
def test_period_parse_rejects_bad_input(text):
    with pytest.raises(ValueError, match="use YYYY-MM"):
        Period.parse(text)


@pytest.mark.parametrize("text", ["9999-12", "1999-12", "0000-01"])
def test_period_parse_rejects_far_years(text):
    with pytest.raises(ValueError, match="use YYYY-MM"):
        Period.parse(text)
