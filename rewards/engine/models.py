"""Reward rules, tenants' payout choices, settlement lines and close runs.

Money is in integer cents and points in whole points. Rates are rational:
``rate_cents`` cents for every ``rate_points`` points. Multipliers are integer
per-mille (1000 = x1.0).
"""

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from klusbank.db import Base, utcnow
from rewards.engine import limits


class PayoutMethod(enum.StrEnum):
    RENT_CREDIT = "rent_credit"
    PAYOUT = "payout"


class SettlementKind(enum.StrEnum):
    SETTLEMENT = "settlement"
    CORRECTION = "correction"


def _enum_column(enum_class: type[enum.Enum], length: int = 16) -> Enum:
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


class RuleVersion(Base):
    """One version of a corporation's reward rules, in force from a month's first day.

    Versions are never edited: finance adds a new one, at most one per
    corporation and month. The version in force for a month is the one with
    the latest ``effective_from`` on or before the first day of that month.
    The ranges of the numeric fields are in ``rewards.engine.limits``.
    """

    __tablename__ = "reward_rule_versions"
    __table_args__ = (
        CheckConstraint(
            "rent_credit_rate_cents >= 0 AND rent_credit_rate_points > 0",
            name="rent_credit_rate_valid",
        ),
        CheckConstraint(
            "payout_rate_cents >= 0 AND payout_rate_points > 0",
            name="payout_rate_valid",
        ),
        CheckConstraint(
            "weekend_multiplier_permille >= 1000", name="weekend_multiplier_valid"
        ),
        CheckConstraint("minimum_payout_cents >= 0", name="minimum_payout_valid"),
        CheckConstraint(
            "expiry_months IS NULL OR expiry_months > 0", name="expiry_months_valid"
        ),
        Index(
            "ix_reward_rule_versions_corporation_effective",
            "corporation_id",
            "effective_from",
        ),
        # One version per corporation and month, so the version in force is
        # never a tie.
        UniqueConstraint("corporation_id", "effective_from"),
        *(
            CheckConstraint(condition, name=name)
            for name, condition in limits.rule_version_checks()
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(ForeignKey("corporations.id"))
    effective_from: Mapped[date]
    rent_credit_rate_cents: Mapped[int]
    rent_credit_rate_points: Mapped[int] = mapped_column(default=1)
    payout_rate_cents: Mapped[int]
    payout_rate_points: Mapped[int] = mapped_column(default=1)
    weekend_multiplier_permille: Mapped[int] = mapped_column(default=1000)
    # Caps per tenant; NULL means no cap.
    rent_credit_cap_month_cents: Mapped[int | None]
    rent_credit_cap_year_cents: Mapped[int | None]
    payout_cap_month_cents: Mapped[int | None]
    payout_cap_year_cents: Mapped[int | None]
    minimum_payout_cents: Mapped[int] = mapped_column(default=0)
    # Points still unsettled this many months after the month they were earned in
    # expire at that month's close; NULL means points never expire.
    expiry_months: Mapped[int | None]
    # Payouts are a volunteer allowance paid by a tenants' association, bounded by
    # the yearly limits in VolunteerAllowanceLimit.
    is_volunteer_allowance: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    category_multipliers: Mapped[list["CategoryMultiplier"]] = relationship(
        back_populates="rule_version",
        cascade="all, delete-orphan",
        order_by="CategoryMultiplier.category_code",
    )

    def multiplier_for(self, category_code: str | None) -> int:
        """Return the per-mille multiplier of a chore category (1000 when none)."""
        for multiplier in self.category_multipliers:
            if multiplier.category_code == category_code:
                return multiplier.multiplier_permille
        return 1000

    def __repr__(self) -> str:
        return (
            f"<RuleVersion {self.id} corporation={self.corporation_id} "
            f"from={self.effective_from}>"
        )


class CategoryMultiplier(Base):
    """A per-mille multiplier for the points of one chore category."""

    __tablename__ = "reward_category_multipliers"
    __table_args__ = (
        UniqueConstraint("rule_version_id", "category_code"),
        CheckConstraint(
            "multiplier_permille >= 1000", name="category_multiplier_valid"
        ),
        CheckConstraint(limits.category_multiplier_check(), name="multiplier_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_version_id: Mapped[int] = mapped_column(
        ForeignKey(
            "reward_rule_versions.id",
            ondelete="CASCADE",
            name="fk_reward_category_multipliers_rule_version",
        )
    )
    category_code: Mapped[str] = mapped_column(String(64))
    multiplier_permille: Mapped[int]

    rule_version: Mapped[RuleVersion] = relationship(
        back_populates="category_multipliers"
    )

    def __repr__(self) -> str:
        return (
            f"<CategoryMultiplier rules={self.rule_version_id} "
            f"{self.category_code}={self.multiplier_permille}>"
        )


class VolunteerAllowanceLimit(Base):
    """The Dutch volunteer-allowance limits of one calendar year, in cents."""

    __tablename__ = "volunteer_allowance_limits"
    __table_args__ = (
        CheckConstraint(
            "hourly_21_plus_cents >= 0 AND hourly_under_21_cents >= 0 "
            "AND month_cents >= 0 AND year_cents >= 0",
            name="limits_not_negative",
        ),
        *(
            CheckConstraint(condition, name=name)
            for name, condition in limits.volunteer_limit_checks()
        ),
    )

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hourly_21_plus_cents: Mapped[int]
    hourly_under_21_cents: Mapped[int]
    month_cents: Mapped[int]
    year_cents: Mapped[int]

    def __repr__(self) -> str:
        return f"<VolunteerAllowanceLimit {self.year}>"


class PayoutChoice(Base):
    """A tenant's choice between rent credit and payout; rows are only added.

    The choice in force for a month is the latest row whose ``applies_from`` is
    on or before the month's first day. Bank details and BSN are kept only for
    payouts, because the payer reports payouts with the payee's BSN.
    """

    __tablename__ = "reward_payout_choices"
    __table_args__ = (
        Index(
            "ix_reward_payout_choices_tenant_applies",
            "tenant_id",
            "applies_from",
        ),
        CheckConstraint(
            "method = 'rent_credit' OR (iban IS NOT NULL AND account_holder IS NOT "
            "NULL AND bsn IS NOT NULL AND tax_acknowledged_at IS NOT NULL)",
            name="payout_details_present",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(ForeignKey("corporations.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    method: Mapped[PayoutMethod] = mapped_column(_enum_column(PayoutMethod))
    iban: Mapped[str | None] = mapped_column(String(34))
    account_holder: Mapped[str | None] = mapped_column(String(70))
    bsn: Mapped[str | None] = mapped_column(String(9))
    tax_acknowledged_at: Mapped[datetime | None]
    applies_from: Mapped[date]
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def masked_iban(self) -> str:
        """Return the IBAN with all but the country code and last four digits hidden."""
        return mask_iban(self.iban)

    @property
    def masked_bsn(self) -> str:
        """Return the BSN with all but the last three digits hidden."""
        return mask_bsn(self.bsn)

    def __repr__(self) -> str:
        return (
            f"<PayoutChoice {self.id} tenant={self.tenant_id} {self.method.value} "
            f"from={self.applies_from}>"
        )


def mask_iban(iban: str | None) -> str:
    """Hide an IBAN except its country code and last four characters."""
    if not iban:
        return ""
    return f"{iban[:2]}** **** **** {iban[-4:]}"


def mask_bsn(bsn: str | None) -> str:
    """Hide a BSN except its last three digits."""
    if not bsn:
        return ""
    return f"******{bsn[-3:]}"


class SettlementLine(Base):
    """The settlement of one tenant for one month, with every figure of the computation.

    Points: ``opening_points`` (unsettled at the end of the month, before
    multipliers) + ``bonus_points`` = ``available_points`` =
    ``converted_points`` + ``expired_points`` + ``carried_points``.
    Money: ``amount_cents`` * ``rate_points`` = ``converted_points`` * ``rate_cents``.
    A correction line (kind ``correction``) is booked in a later open month and
    points at the line it corrects.
    """

    __tablename__ = "reward_settlement_lines"
    __table_args__ = (
        UniqueConstraint("corporation_id", "idempotency_key"),
        Index("ix_reward_settlement_lines_period", "corporation_id", "period"),
        Index("ix_reward_settlement_lines_tenant", "tenant_id", "period"),
        CheckConstraint(
            "available_points = converted_points + expired_points + carried_points",
            name="points_add_up",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(ForeignKey("corporations.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Month settled, as YYYY-MM in Europe/Amsterdam.
    period: Mapped[str] = mapped_column(String(7))
    kind: Mapped[SettlementKind] = mapped_column(
        _enum_column(SettlementKind), default=SettlementKind.SETTLEMENT
    )
    idempotency_key: Mapped[str] = mapped_column(String(200))
    method: Mapped[PayoutMethod] = mapped_column(_enum_column(PayoutMethod))
    rule_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("reward_rule_versions.id")
    )
    payout_choice_id: Mapped[int | None] = mapped_column(
        ForeignKey(
            "reward_payout_choices.id", name="fk_reward_settlement_lines_payout_choice"
        )
    )
    # The ledger journal that books this line; NULL when nothing moved.
    journal_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_journals.id"))

    earned_points: Mapped[int] = mapped_column(BigInteger, default=0)
    opening_points: Mapped[int] = mapped_column(BigInteger, default=0)
    bonus_points: Mapped[int] = mapped_column(BigInteger, default=0)
    available_points: Mapped[int] = mapped_column(BigInteger, default=0)
    rate_cents: Mapped[int] = mapped_column(default=0)
    rate_points: Mapped[int] = mapped_column(default=1)
    # Value of every whole conversion step of the available points, before caps.
    uncapped_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    cap_month_cents: Mapped[int | None] = mapped_column(BigInteger)
    cap_year_cents: Mapped[int | None] = mapped_column(BigInteger)
    year_to_date_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Which limit bound the amount: month_cap, year_cap, volunteer_hourly,
    # volunteer_month, volunteer_year; NULL when none did.
    limited_by: Mapped[str | None] = mapped_column(String(32))
    capped_points: Mapped[int] = mapped_column(BigInteger, default=0)
    minimum_payout_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    is_below_minimum: Mapped[bool] = mapped_column(default=False)
    # Points too few for one more whole cent at the rate.
    remainder_points: Mapped[int] = mapped_column(BigInteger, default=0)
    converted_points: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    expired_points: Mapped[int] = mapped_column(BigInteger, default=0)
    carried_points: Mapped[int] = mapped_column(BigInteger, default=0)
    volunteer_limits_year: Mapped[int | None]
    volunteer_minutes: Mapped[int | None]
    volunteer_hourly_cents: Mapped[int | None]
    # Per approval: journal id, points, category, multiplier, bonus points.
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    corrects_line_id: Mapped[int | None] = mapped_column(
        ForeignKey(
            "reward_settlement_lines.id",
            name="fk_reward_settlement_lines_corrects_line",
        )
    )
    memo: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    rule_version: Mapped[RuleVersion | None] = relationship()
    payout_choice: Mapped[PayoutChoice | None] = relationship()

    def __repr__(self) -> str:
        return (
            f"<SettlementLine {self.id} {self.period} tenant={self.tenant_id} "
            f"{self.method.value} {self.amount_cents}c>"
        )


class CloseRun(Base):
    """A completed monthly close of one corporation, with its counts and totals."""

    __tablename__ = "reward_close_runs"
    __table_args__ = (UniqueConstraint("corporation_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(ForeignKey("corporations.id"))
    period: Mapped[str] = mapped_column(String(7))
    trigger: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tenants_settled: Mapped[int] = mapped_column(default=0)
    rent_credit_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    payout_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    converted_points: Mapped[int] = mapped_column(BigInteger, default=0)
    expired_points: Mapped[int] = mapped_column(BigInteger, default=0)
    carried_points: Mapped[int] = mapped_column(BigInteger, default=0)
    checksum: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<CloseRun {self.id} corporation={self.corporation_id} {self.period}>"
