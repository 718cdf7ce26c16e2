"""Rendered statement files, payout batches and the corporation's paying account.

Statement PDFs are stored in the database with their SHA-256, so every web
process can serve them and a rerun of the renderer finds what exists. A payout
batch keeps a copy of every figure and bank detail it was created with, so
exporting it again gives the same SEPA file even after a tenant changes IBAN.
"""

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from klusbank.db import Base, utcnow


def _enum_column(enum_class: type[enum.Enum], length: int = 16) -> Enum:
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


class StatementKind(enum.StrEnum):
    MONTHLY = "monthly"  # period YYYY-MM
    YEARLY = "yearly"  # period YYYY


class BatchStatus(enum.StrEnum):
    CREATED = "created"  # holds placed, file ready for the bank
    PAID = "paid"  # the bank executed it; holds posted
    FAILED = "failed"  # the bank rejected it; holds voided


class StatementFile(Base):
    """One rendered statement or yearly overview PDF of a tenant."""

    __tablename__ = "statement_files"
    __table_args__ = (
        UniqueConstraint("corporation_id", "tenant_id", "kind", "period", "locale"),
        Index("ix_statement_files_corporation_period", "corporation_id", "period"),
        CheckConstraint("size_bytes = length(content)", name="size_matches"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(ForeignKey("corporations.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[StatementKind] = mapped_column(_enum_column(StatementKind))
    period: Mapped[str] = mapped_column(String(7))
    locale: Mapped[str] = mapped_column(String(5))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    # Deferred so that listing statements does not load every PDF.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return (
            f"<StatementFile {self.id} tenant={self.tenant_id} "
            f"{self.kind.value} {self.period} {self.locale}>"
        )


class DebtorAccount(Base):
    """The corporation's bank account that payouts are paid from."""

    __tablename__ = "sepa_debtor_accounts"

    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id"), primary_key=True, autoincrement=False
    )
    account_holder: Mapped[str] = mapped_column(String(70))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def __repr__(self) -> str:
        return f"<DebtorAccount corporation={self.corporation_id}>"


class PayoutBatch(Base):
    """A SEPA credit transfer batch paying one month's payouts of a corporation.

    At most one batch per corporation and month is not failed; after a failure
    finance may create a new one for the same month.
    """

    __tablename__ = "payout_batches"
    __table_args__ = (
        Index(
            "uq_payout_batches_live_period",
            "corporation_id",
            "period",
            unique=True,
            sqlite_where=text("status <> 'failed'"),
            postgresql_where=text("status <> 'failed'"),
        ),
        UniqueConstraint("message_id"),
        CheckConstraint("payment_count > 0", name="payment_count_positive"),
        CheckConstraint("control_sum_cents > 0", name="control_sum_positive"),
        CheckConstraint(
            "(status = 'created') = (resolved_at IS NULL)", name="resolved_when_done"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(ForeignKey("corporations.id"))
    period: Mapped[str] = mapped_column(String(7))
    status: Mapped[BatchStatus] = mapped_column(
        _enum_column(BatchStatus), default=BatchStatus.CREATED
    )
    message_id: Mapped[str] = mapped_column(String(35))
    payment_information_id: Mapped[str] = mapped_column(String(35))
    execution_date: Mapped[date]
    debtor_name: Mapped[str] = mapped_column(String(70))
    debtor_iban: Mapped[str] = mapped_column(String(34))
    debtor_bic: Mapped[str | None] = mapped_column(String(11))
    payment_count: Mapped[int]
    control_sum_cents: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resolved_on: Mapped[date | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution_note: Mapped[str | None] = mapped_column(String(500))

    items: Mapped[list["PayoutBatchItem"]] = relationship(
        back_populates="batch", order_by="PayoutBatchItem.id"
    )

    def __repr__(self) -> str:
        return (
            f"<PayoutBatch {self.id} corporation={self.corporation_id} "
            f"{self.period} {self.status.value}>"
        )


class PayoutBatchItem(Base):
    """One tenant's transfer in a batch, with the ledger hold that reserves it."""

    __tablename__ = "payout_batch_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "tenant_id"),
        UniqueConstraint("end_to_end_id"),
        UniqueConstraint("hold_id"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("ledger_holds.id"))
    amount_cents: Mapped[int]
    account_holder: Mapped[str] = mapped_column(String(70))
    iban: Mapped[str] = mapped_column(String(34))
    end_to_end_id: Mapped[str] = mapped_column(String(35))
    remittance: Mapped[str] = mapped_column(String(140))

    batch: Mapped[PayoutBatch] = relationship(back_populates="items")

    def __repr__(self) -> str:
        return (
            f"<PayoutBatchItem {self.id} batch={self.batch_id} "
            f"tenant={self.tenant_id} {self.amount_cents}c>"
        )
