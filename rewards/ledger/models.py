"""Double-entry ledger: accounts, journals, postings, holds, periods and snapshots.

Amounts are positive integers in the asset's smallest unit (points, euro cents).
The database itself enforces the rules that keep the ledger whole (triggers
and constraints in migration ``0003_ledger``). Posted journals and postings are
append-only. A journal is inserted as a draft and can only be sealed as posted
when its debits equal its credits per asset. A posting's asset equals its
account's asset, and nothing is posted into a closed period. See docs/ledger.md.
"""

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from klusbank.db import Base, utcnow


def _values(enum_class: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_class]


def _enum_column(enum_class: type[enum.Enum], length: int = 32) -> Enum:
    return Enum(enum_class, native_enum=False, length=length, values_callable=_values)


class Asset(enum.StrEnum):
    POINTS = "points"  # scale 0
    EUR = "eur"  # integer cents, scale 2


class Side(enum.StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class AccountKind(enum.StrEnum):
    # One account per tenant and kind; each is owed to the tenant (credit-normal).
    TENANT_POINTS = "tenant_points"
    TENANT_RENT_CREDIT = "tenant_rent_credit"
    TENANT_PAYOUT = "tenant_payout"
    # Counter-accounts, one per corporation and kind.
    POINTS_ISSUED = "points_issued"
    POINTS_SETTLED = "points_settled"
    POINTS_EXPIRED = "points_expired"
    REWARD_EXPENSE = "reward_expense"
    RENT_CREDIT_CLEARING = "rent_credit_clearing"
    PAYOUT_CLEARING = "payout_clearing"

    @property
    def asset(self) -> Asset:
        """Asset that every account of this kind holds."""
        return _ACCOUNT_ASSETS[self]

    @property
    def is_tenant(self) -> bool:
        return self in TENANT_ACCOUNT_KINDS

    @property
    def normal_side(self) -> Side:
        """Side that increases the balance as ``balance()`` reports it."""
        return _NORMAL_SIDES[self]


TENANT_ACCOUNT_KINDS = frozenset(
    {
        AccountKind.TENANT_POINTS,
        AccountKind.TENANT_RENT_CREDIT,
        AccountKind.TENANT_PAYOUT,
    }
)
_ACCOUNT_ASSETS = {
    AccountKind.TENANT_POINTS: Asset.POINTS,
    AccountKind.TENANT_RENT_CREDIT: Asset.EUR,
    AccountKind.TENANT_PAYOUT: Asset.EUR,
    AccountKind.POINTS_ISSUED: Asset.POINTS,
    AccountKind.POINTS_SETTLED: Asset.POINTS,
    AccountKind.POINTS_EXPIRED: Asset.POINTS,
    AccountKind.REWARD_EXPENSE: Asset.EUR,
    AccountKind.RENT_CREDIT_CLEARING: Asset.EUR,
    AccountKind.PAYOUT_CLEARING: Asset.EUR,
}
# Issuing points and spending euros are debits on the corporation's side. Amounts
# owed to tenants, settled, expired or waiting to be paid are credits.
_NORMAL_SIDES = {
    AccountKind.TENANT_POINTS: Side.CREDIT,
    AccountKind.TENANT_RENT_CREDIT: Side.CREDIT,
    AccountKind.TENANT_PAYOUT: Side.CREDIT,
    AccountKind.POINTS_ISSUED: Side.DEBIT,
    AccountKind.POINTS_SETTLED: Side.CREDIT,
    AccountKind.POINTS_EXPIRED: Side.CREDIT,
    AccountKind.REWARD_EXPENSE: Side.DEBIT,
    AccountKind.RENT_CREDIT_CLEARING: Side.CREDIT,
    AccountKind.PAYOUT_CLEARING: Side.CREDIT,
}


class JournalKind(enum.StrEnum):
    APPROVAL = "approval"  # points credited for approved work
    SETTLEMENT = "settlement"  # points converted to rent credit or payout
    PAYOUT = "payout"  # payout payable moved to the SEPA clearing account
    RENT_CREDIT = "rent_credit"  # rent credit exported to the rent administration
    EXPIRY = "expiry"  # points that expired unsettled
    CORRECTION = "correction"  # a manual correction by finance
    REVERSAL = "reversal"  # mirror image of an earlier journal


class JournalStatus(enum.StrEnum):
    DRAFT = "draft"
    POSTED = "posted"


class PeriodStatus(enum.StrEnum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class HoldStatus(enum.StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


class ResolutionKind(enum.StrEnum):
    POSTED = "posted"
    VOIDED = "voided"


class Account(Base):
    """An account of one asset: a tenant's account of one kind or a counter-account.

    ``cached_balance`` and ``held_amount`` exist only on tenant accounts (NULL on
    counter-accounts, so the busy counter-accounts are never updated). Database
    triggers maintain both in the transaction that seals a journal or places or
    resolves a hold; ``rewards verify`` compares them with the postings.
    """

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        Index(
            "uq_ledger_accounts_tenant_kind",
            "corporation_id",
            "tenant_id",
            "kind",
            unique=True,
            sqlite_where=text("tenant_id IS NOT NULL"),
            postgresql_where=text("tenant_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_accounts_corporation_kind",
            "corporation_id",
            "kind",
            unique=True,
            sqlite_where=text("tenant_id IS NULL"),
            postgresql_where=text("tenant_id IS NULL"),
        ),
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind.value}'" for kind in AccountKind) + ")",
            name="kind",
        ),
        CheckConstraint(
            "(tenant_id IS NOT NULL) = (kind IN "
            "('tenant_points', 'tenant_rent_credit', 'tenant_payout'))",
            name="tenant_kind",
        ),
        CheckConstraint(
            "(asset = 'points') = (kind IN "
            "('tenant_points', 'points_issued', 'points_settled', 'points_expired'))",
            name="kind_asset",
        ),
        CheckConstraint(
            "(tenant_id IS NULL) = (cached_balance IS NULL)"
            " AND (tenant_id IS NULL) = (held_amount IS NULL)",
            name="cache_on_tenant_accounts",
        ),
        CheckConstraint("held_amount >= 0", name="held_not_negative"),
        CheckConstraint(
            "kind <> 'tenant_payout' OR cached_balance - held_amount >= 0",
            name="payout_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id", ondelete="RESTRICT")
    )
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[AccountKind] = mapped_column(_enum_column(AccountKind))
    asset: Mapped[Asset] = mapped_column(_enum_column(Asset, 8))
    cached_balance: Mapped[int | None] = mapped_column(BigInteger)
    held_amount: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def normal_side(self) -> Side:
        return self.kind.normal_side

    def __repr__(self) -> str:
        owner = f"tenant={self.tenant_id}" if self.tenant_id else "corporation"
        return f"<Account {self.id} {self.kind.value} {owner}>"


class Journal(Base):
    """A balanced group of postings with its reason, source and idempotency key."""

    __tablename__ = "ledger_journals"
    __table_args__ = (
        UniqueConstraint("corporation_id", "idempotency_key"),
        UniqueConstraint("reverses_journal_id"),
        CheckConstraint("status IN ('draft', 'posted')", name="status"),
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind.value}'" for kind in JournalKind) + ")",
            name="kind",
        ),
        CheckConstraint(
            "(kind = 'reversal') = (reverses_journal_id IS NOT NULL)",
            name="reversal_has_original",
        ),
        Index("ix_ledger_journals_corporation_period", "corporation_id", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id", ondelete="RESTRICT")
    )
    kind: Mapped[JournalKind] = mapped_column(_enum_column(JournalKind))
    status: Mapped[JournalStatus] = mapped_column(
        _enum_column(JournalStatus, 8), default=JournalStatus.DRAFT
    )
    # Business date in Europe/Amsterdam and its month, YYYY-MM.
    effective_date: Mapped[date]
    period: Mapped[str] = mapped_column(String(7))
    memo: Mapped[str] = mapped_column(Text)
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(64))
    # The engine's reward rule version; its table comes in a later migration.
    rule_version_id: Mapped[int | None]
    idempotency_key: Mapped[str] = mapped_column(String(200))
    # SHA-256 of the canonical JSON of the request; see services.request_hash.
    request_hash: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reverses_journal_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_journals.id", ondelete="RESTRICT")
    )
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    postings: Mapped[list["Posting"]] = relationship(
        back_populates="journal", order_by="Posting.id"
    )
    reverses: Mapped["Journal | None"] = relationship(
        remote_side=[id], back_populates="reversal"
    )
    reversal: Mapped["Journal | None"] = relationship(back_populates="reverses")

    def __repr__(self) -> str:
        return (
            f"<Journal {self.id} {self.kind.value} {self.status.value}"
            f" key={self.idempotency_key!r}>"
        )


class Posting(Base):
    """A positive amount on the debit or credit side of one account."""

    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("side IN ('debit', 'credit')", name="side"),
        CheckConstraint("asset IN ('points', 'eur')", name="asset"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    journal_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_journals.id", ondelete="RESTRICT"), index=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), index=True
    )
    asset: Mapped[Asset] = mapped_column(_enum_column(Asset, 8))
    side: Mapped[Side] = mapped_column(_enum_column(Side, 8))
    amount: Mapped[int] = mapped_column(BigInteger)

    journal: Mapped[Journal] = relationship(back_populates="postings")
    account: Mapped[Account] = relationship()

    @property
    def signed_amount(self) -> int:
        """Amount with the sign it has on its account's normal side."""
        if self.side == self.account.normal_side:
            return self.amount
        return -self.amount

    def __repr__(self) -> str:
        return (
            f"<Posting {self.id} journal={self.journal_id} account={self.account_id}"
            f" {self.side.value} {self.amount} {self.asset.value}>"
        )


class Hold(Base):
    """An amount reserved on a tenant account until it is posted or voided."""

    __tablename__ = "ledger_holds"
    __table_args__ = (
        UniqueConstraint("corporation_id", "idempotency_key"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("asset IN ('points', 'eur')", name="asset"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id", ondelete="RESTRICT")
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), index=True
    )
    asset: Mapped[Asset] = mapped_column(_enum_column(Asset, 8))
    amount: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(Text)
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[Account] = relationship()
    resolution: Mapped["HoldResolution | None"] = relationship(
        back_populates="hold", lazy="joined"
    )

    @property
    def status(self) -> HoldStatus:
        if self.resolution is None:
            return HoldStatus.PENDING
        return HoldStatus(self.resolution.kind.value)

    def __repr__(self) -> str:
        return f"<Hold {self.id} account={self.account_id} {self.amount}>"


class HoldResolution(Base):
    """The end of a hold: posted as a journal or voided; at most one per hold."""

    __tablename__ = "ledger_hold_resolutions"
    __table_args__ = (
        UniqueConstraint("hold_id"),
        UniqueConstraint("journal_id"),
        CheckConstraint("kind IN ('posted', 'voided')", name="kind"),
        CheckConstraint(
            "(kind = 'posted') = (journal_id IS NOT NULL)", name="posted_has_journal"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hold_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_holds.id", ondelete="RESTRICT")
    )
    kind: Mapped[ResolutionKind] = mapped_column(_enum_column(ResolutionKind, 8))
    journal_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_journals.id", ondelete="RESTRICT")
    )
    reason: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime] = mapped_column(default=utcnow)

    hold: Mapped[Hold] = relationship(back_populates="resolution")
    journal: Mapped[Journal | None] = relationship()

    def __repr__(self) -> str:
        return f"<HoldResolution {self.id} hold={self.hold_id} {self.kind.value}>"


class LedgerPeriod(Base):
    """A month of one corporation's ledger; a missing row means the month is open."""

    __tablename__ = "ledger_periods"
    __table_args__ = (
        UniqueConstraint("corporation_id", "period"),
        CheckConstraint("status IN ('open', 'closing', 'closed')", name="status"),
        CheckConstraint(
            "status <> 'closed' OR checksum IS NOT NULL", name="closed_has_checksum"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id", ondelete="RESTRICT")
    )
    period: Mapped[str] = mapped_column(String(7))
    status: Mapped[PeriodStatus] = mapped_column(_enum_column(PeriodStatus, 8))
    # SHA-256 of the snapshot rows; see periods.snapshot_checksum.
    checksum: Mapped[str | None] = mapped_column(String(64))
    closing_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    snapshots: Mapped[list["PeriodSnapshot"]] = relationship(
        back_populates="ledger_period", order_by="PeriodSnapshot.account_id"
    )

    def __repr__(self) -> str:
        return (
            f"<LedgerPeriod {self.id} corporation={self.corporation_id}"
            f" {self.period} {self.status.value}>"
        )


class PeriodSnapshot(Base):
    """One account's movements in a period and its balance at the period's end."""

    __tablename__ = "ledger_period_snapshots"
    __table_args__ = (
        UniqueConstraint("ledger_period_id", "account_id"),
        CheckConstraint("period_debits >= 0", name="debits_not_negative"),
        CheckConstraint("period_credits >= 0", name="credits_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ledger_period_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_periods.id", ondelete="RESTRICT")
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), index=True
    )
    asset: Mapped[Asset] = mapped_column(_enum_column(Asset, 8))
    period_debits: Mapped[int] = mapped_column(BigInteger)
    period_credits: Mapped[int] = mapped_column(BigInteger)
    # Balance on the account's normal side at the end of the period's last day.
    closing_balance: Mapped[int] = mapped_column(BigInteger)

    ledger_period: Mapped[LedgerPeriod] = relationship(back_populates="snapshots")
    account: Mapped[Account] = relationship()

    def __repr__(self) -> str:
        return (
            f"<PeriodSnapshot period={self.ledger_period_id}"
            f" account={self.account_id} {self.closing_balance}>"
        )


class Rejection(Base):
    """A business rejection of a keyed request, replayed when the request is retried."""

    __tablename__ = "ledger_rejections"
    __table_args__ = (
        UniqueConstraint("corporation_id", "operation", "idempotency_key"),
        CheckConstraint("operation IN ('journal', 'hold')", name="operation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: the row is written on a second connection while the
    # request's transaction may still lock the corporation (see idempotency).
    corporation_id: Mapped[int]
    operation: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return (
            f"<Rejection {self.id} {self.operation} key={self.idempotency_key!r}"
            f" {self.code}>"
        )
