"""Chore categories, chores, claims, approvals and the claim history.

Places are enforced by the database: a claim that holds a place has a slot
number from 1 up to the chore's places, a chore has each slot at most once and
a tenant holds at most one slot per chore. Claims that end without holding a
place (withdrawn, rejected, expired, cancelled) have no slot, which frees it.
"""

import enum
import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from klusbank.accounts.models import User
from klusbank.db import Base, utcnow
from klusbank.housing.models import Cluster


def _values(enum_class: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_class]


def _enum_column(enum_class: type[enum.Enum], length: int = 32) -> Enum:
    return Enum(enum_class, native_enum=False, length=length, values_callable=_values)


class ProofKind(enum.StrEnum):
    NONE = "none"
    NOTE = "note"
    PHOTO = "photo"


class RewardMode(enum.StrEnum):
    EACH = "each"  # every approved participant gets reward_points
    SHARED = "shared"  # reward_points is one pot split among the approved


class Recurrence(enum.StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class ClaimStatus(enum.StrEnum):
    CLAIMED = "claimed"
    SUBMITTED = "submitted"
    AWAITING_SECOND_APPROVAL = "awaiting_second_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


# Claims in these states hold a place (a slot) on their chore.
PLACE_HOLDING = frozenset(
    {
        ClaimStatus.CLAIMED,
        ClaimStatus.SUBMITTED,
        ClaimStatus.AWAITING_SECOND_APPROVAL,
        ClaimStatus.APPROVED,
    }
)
# Claims in these states still wait for the tenant or a reviewer.
UNFINISHED = frozenset(
    {
        ClaimStatus.CLAIMED,
        ClaimStatus.SUBMITTED,
        ClaimStatus.AWAITING_SECOND_APPROVAL,
    }
)
# Claims in these states wait for a reviewer's decision.
AWAITING_REVIEW = (ClaimStatus.SUBMITTED, ClaimStatus.AWAITING_SECOND_APPROVAL)
_PLACE_HOLDING_SQL = ", ".join(f"'{status.value}'" for status in sorted(PLACE_HOLDING))


class ParticipationSettings(Base):
    """Corporation-wide participation settings."""

    __tablename__ = "participation_settings"
    __table_args__ = (
        CheckConstraint(
            "second_approval_above_points IS NULL OR second_approval_above_points >= 0",
            name="threshold_not_negative",
        ),
    )

    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id", ondelete="CASCADE"), primary_key=True
    )
    # An approval of more points than this needs a second approver. None turns
    # second approval off.
    second_approval_above_points: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def __repr__(self) -> str:
        return (
            f"<ParticipationSettings corporation={self.corporation_id} "
            f"above={self.second_approval_above_points}>"
        )


class ChoreCategory(Base):
    """A kind of chore, with its safety briefing and defaults for new chores."""

    __tablename__ = "chore_categories"
    __table_args__ = (
        UniqueConstraint("corporation_id", "name_nl"),
        CheckConstraint("default_points >= 1", name="default_points_positive"),
        CheckConstraint("default_places >= 1", name="default_places_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id", ondelete="RESTRICT"), index=True
    )
    name_nl: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    # The safety briefing a tenant must have accepted before claiming; None
    # means no briefing is required.
    briefing_id: Mapped[int | None] = mapped_column(
        ForeignKey("briefings.id", ondelete="RESTRICT"), index=True
    )
    default_points: Mapped[int]
    default_places: Mapped[int] = mapped_column(default=1)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def requires_briefing(self) -> bool:
        return self.briefing_id is not None

    def name_for(self, locale: str) -> str:
        """Return the category name in a locale, Dutch when it is not English."""
        return self.name_en if locale == "en" else self.name_nl

    def __repr__(self) -> str:
        return f"<ChoreCategory {self.id} {self.name_nl!r}>"


class ChoreSeries(Base):
    """A repeating chore: one chore per weekly or monthly occurrence."""

    __tablename__ = "chore_series"
    __table_args__ = (CheckConstraint("occurrences >= 1", name="occurrences_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id", ondelete="RESTRICT"), index=True
    )
    recurrence: Mapped[Recurrence] = mapped_column(_enum_column(Recurrence, 16))
    occurrences: Mapped[int]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    chores: Mapped[list["Chore"]] = relationship(
        back_populates="series", order_by="Chore.claim_opens_at"
    )

    def __repr__(self) -> str:
        return f"<ChoreSeries {self.id} {self.recurrence.value} x{self.occurrences}>"


class Chore(Base):
    """A chore posted to a cluster, with its places, claim window and deadline."""

    __tablename__ = "chores"
    __table_args__ = (
        # Referenced by claims together with places, so a claim's slot can be
        # checked against the places of its chore.
        UniqueConstraint("id", "places", name="uq_chores_id_places"),
        CheckConstraint("places >= 1", name="places_positive"),
        CheckConstraint("reward_points >= 1", name="reward_points_positive"),
        CheckConstraint("claim_opens_at < claim_closes_at", name="window_ordered"),
        CheckConstraint("claim_closes_at <= deadline_at", name="deadline_after_window"),
        CheckConstraint(
            "(cancelled_at IS NULL AND cancel_reason IS NULL)"
            " OR (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL)",
            name="cancel_has_reason",
        ),
        Index("ix_chores_cluster_window", "cluster_id", "claim_closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id", ondelete="RESTRICT"), index=True
    )
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("clusters.id", ondelete="RESTRICT")
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("chore_categories.id", ondelete="RESTRICT"), index=True
    )
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("chore_series.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    reward_points: Mapped[int]
    reward_mode: Mapped[RewardMode] = mapped_column(
        _enum_column(RewardMode, 16), default=RewardMode.EACH
    )
    places: Mapped[int] = mapped_column(default=1)
    proof: Mapped[ProofKind] = mapped_column(
        _enum_column(ProofKind, 16), default=ProofKind.NOTE
    )
    claim_opens_at: Mapped[datetime]
    claim_closes_at: Mapped[datetime]
    deadline_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    # Set when the pot of a shared chore has been split and credited.
    pot_shared_at: Mapped[datetime | None]

    cluster: Mapped[Cluster] = relationship()
    category: Mapped[ChoreCategory] = relationship()
    series: Mapped[ChoreSeries | None] = relationship(back_populates="chores")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    claims: Mapped[list["Claim"]] = relationship(
        back_populates="chore",
        primaryjoin="Claim.chore_id == Chore.id",
        foreign_keys="Claim.chore_id",
        order_by="Claim.id",
    )

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def terms_digest(self) -> str:
        """A digest of the terms a tenant claims under, from title to deadline.

        Pages and the API show it with the chore. A claim or an edit that sends
        it back is rejected when the terms have changed since.
        """
        terms = [
            self.title,
            self.description,
            self.category_id,
            self.reward_points,
            RewardMode(self.reward_mode).value,
            self.places,
            ProofKind(self.proof).value,
            *(
                moment.astimezone(UTC).isoformat()
                for moment in (
                    self.claim_opens_at,
                    self.claim_closes_at,
                    self.deadline_at,
                )
            ),
        ]
        encoded = json.dumps(terms, ensure_ascii=False).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]

    def is_claimable_at(self, moment: datetime) -> bool:
        """Tell whether the claim window is open at a moment (ignoring places)."""
        return (
            not self.is_cancelled
            and self.claim_opens_at <= moment < self.claim_closes_at
        )

    def __repr__(self) -> str:
        return f"<Chore {self.id} cluster={self.cluster_id} places={self.places}>"


class Claim(Base):
    """A tenant's claim of one place on a chore, from claiming to approval."""

    __tablename__ = "claims"
    __table_args__ = (
        ForeignKeyConstraint(
            ["chore_id", "chore_places"],
            ["chores.id", "chores.places"],
            name="fk_claims_chore_places_chores",
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        UniqueConstraint("chore_id", "slot", name="uq_claims_chore_id_slot"),
        CheckConstraint(
            "slot IS NULL OR (slot >= 1 AND slot <= chore_places)",
            name="slot_within_places",
        ),
        CheckConstraint(
            f"(status IN ({_PLACE_HOLDING_SQL}) AND slot IS NOT NULL)"
            f" OR (status NOT IN ({_PLACE_HOLDING_SQL}) AND slot IS NULL)",
            name="slot_matches_status",
        ),
        CheckConstraint(
            "minutes_spent IS NULL OR (minutes_spent >= 1 AND minutes_spent <= 1440)",
            name="minutes_spent_range",
        ),
        # One place per tenant per chore, among the claims that hold a place.
        Index(
            "uq_claims_chore_tenant_holding",
            "chore_id",
            "tenant_id",
            unique=True,
            postgresql_where="slot IS NOT NULL",
            sqlite_where="slot IS NOT NULL",
        ),
        Index("ix_claims_tenant_status", "tenant_id", "status"),
        Index("ix_claims_status_chore", "status", "chore_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Part of the foreign key to the chore, so the slot CHECK can compare with places.
    chore_id: Mapped[int] = mapped_column()
    chore_places: Mapped[int]
    tenant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    status: Mapped[ClaimStatus] = mapped_column(
        _enum_column(ClaimStatus), default=ClaimStatus.CLAIMED
    )
    slot: Mapped[int | None]
    # The briefing acceptance that allowed the claim, kept as evidence.
    acceptance_id: Mapped[int | None] = mapped_column(
        ForeignKey("briefing_acceptances.id", ondelete="RESTRICT")
    )
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    minutes_spent: Mapped[int | None]
    photo_name: Mapped[str | None] = mapped_column(String(64))
    photo_mime_type: Mapped[str | None] = mapped_column(String(32))
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    chore: Mapped[Chore] = relationship(
        back_populates="claims",
        primaryjoin="Claim.chore_id == Chore.id",
        foreign_keys=[chore_id],
    )
    tenant: Mapped[User] = relationship()
    approval: Mapped["ClaimApproval | None"] = relationship(back_populates="claim")
    events: Mapped[list["ClaimEvent"]] = relationship(
        back_populates="claim", order_by="ClaimEvent.id"
    )

    # Every UPDATE of a claim row carries ``WHERE status = <status as read>``,
    # so a change based on a status another transaction has since changed
    # updates no row and the flush raises StaleDataError. Services set the
    # status themselves (no generated version values).
    __mapper_args__ = {"version_id_col": status, "version_id_generator": False}

    @property
    def holds_place(self) -> bool:
        return self.status in PLACE_HOLDING

    def __repr__(self) -> str:
        return (
            f"<Claim {self.id} chore={self.chore_id} tenant={self.tenant_id} "
            f"{self.status.value}>"
        )


class ClaimApproval(Base):
    """The approval of a claim: who approved, the second approver, the credit.

    Its id is the ledger idempotency key ``approval:<id>``, and a claim has at
    most one approval, so approving twice credits once.
    """

    __tablename__ = "claim_approvals"
    __table_args__ = (
        CheckConstraint("points >= 0", name="points_not_negative"),
        CheckConstraint(
            "second_approver_id IS NULL OR second_approver_id <> approved_by_id",
            name="second_approver_differs",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(
        ForeignKey("claims.id", ondelete="RESTRICT"), unique=True
    )
    approved_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime]
    needs_second_approval: Mapped[bool] = mapped_column(default=False)
    second_approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    second_approved_at: Mapped[datetime | None]
    # Points credited to the tenant. For a shared pot this is the share, set
    # when the pot is split.
    points: Mapped[int] = mapped_column(default=0)
    credited_at: Mapped[datetime | None]
    # Indexed: the monthly close looks approvals up by journal.
    journal_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_journals.id", ondelete="RESTRICT"), index=True
    )

    claim: Mapped[Claim] = relationship(back_populates="approval")
    approved_by: Mapped[User] = relationship(foreign_keys=[approved_by_id])
    second_approver: Mapped[User | None] = relationship(
        foreign_keys=[second_approver_id]
    )

    @property
    def is_complete(self) -> bool:
        """Tell whether every required approver has approved."""
        return not self.needs_second_approval or self.second_approver_id is not None

    def __repr__(self) -> str:
        return f"<ClaimApproval {self.id} claim={self.claim_id} points={self.points}>"


class ClaimEvent(Base):
    """One state change of a claim. Database triggers reject UPDATE and DELETE."""

    __tablename__ = "claim_events"
    __table_args__ = (Index("ix_claim_events_claim_id", "claim_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    # None when the system made the change, e.g. the nightly expiry job.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    from_status: Mapped[ClaimStatus | None] = mapped_column(_enum_column(ClaimStatus))
    to_status: Mapped[ClaimStatus] = mapped_column(_enum_column(ClaimStatus))
    reason: Mapped[str | None] = mapped_column(String(500))

    claim: Mapped[Claim] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        old = self.from_status.value if self.from_status else None
        return f"<ClaimEvent {self.id} claim={self.claim_id} {old}->{self.to_status.value}>"
