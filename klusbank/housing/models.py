"""Housing registry: corporations, clusters, units and tenancies."""

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from klusbank.db import Base, utcnow


class ClusterKind(enum.StrEnum):
    SERVICE_COSTS = "service_costs"
    MAINTENANCE = "maintenance"
    NEIGHBOURHOOD = "neighbourhood"


class Corporation(Base):
    """A housing corporation; nothing of one is visible to another."""

    __tablename__ = "corporations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    clusters: Mapped[list["Cluster"]] = relationship(back_populates="corporation")
    units: Mapped[list["Unit"]] = relationship(back_populates="corporation")

    def __repr__(self) -> str:
        return f"<Corporation {self.id} {self.code!r}>"


class Cluster(Base):
    """A group of units of one kind; chores are posted to a cluster."""

    __tablename__ = "clusters"
    __table_args__ = (UniqueConstraint("corporation_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id", ondelete="RESTRICT"), index=True
    )
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ClusterKind] = mapped_column(
        Enum(
            ClusterKind,
            native_enum=False,
            length=32,
            values_callable=lambda kinds: [k.value for k in kinds],
        )
    )

    corporation: Mapped[Corporation] = relationship(back_populates="clusters")
    memberships: Mapped[list["ClusterMembership"]] = relationship(
        back_populates="cluster"
    )

    def __repr__(self) -> str:
        return f"<Cluster {self.id} {self.code!r} {self.kind.value}>"


class Unit(Base):
    """A rental unit (verhuureenheid), keyed by the corporation's own id."""

    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("corporation_id", "external_id"),
        CheckConstraint("bag_id IS NULL OR length(bag_id) = 16", name="bag_id_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id", ondelete="RESTRICT"), index=True
    )
    external_id: Mapped[str] = mapped_column(String(64))
    bag_id: Mapped[str | None] = mapped_column(String(16))
    street: Mapped[str] = mapped_column(String(200))
    house_number: Mapped[str] = mapped_column(String(16))
    postcode: Mapped[str] = mapped_column(String(7))
    city: Mapped[str] = mapped_column(String(100))

    corporation: Mapped[Corporation] = relationship(back_populates="units")
    memberships: Mapped[list["ClusterMembership"]] = relationship(back_populates="unit")
    tenancies: Mapped[list["Tenancy"]] = relationship(back_populates="unit")

    @property
    def address(self) -> str:
        return f"{self.street} {self.house_number}, {self.postcode} {self.city}"

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.external_id!r}>"


class ClusterMembership(Base):
    """Membership of a unit in a cluster; a unit is in several clusters."""

    __tablename__ = "cluster_memberships"

    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    cluster: Mapped[Cluster] = relationship(back_populates="memberships")
    unit: Mapped[Unit] = relationship(back_populates="memberships")

    def __repr__(self) -> str:
        return f"<ClusterMembership cluster={self.cluster_id} unit={self.unit_id}>"


class Tenancy(Base):
    """A tenant's contract for a unit, from ``starts_on`` up to ``ends_on``.

    ``ends_on`` is the last day of the tenancy, inclusive; None means ongoing.
    """

    __tablename__ = "tenancies"
    __table_args__ = (
        CheckConstraint(
            "ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"
        ),
        UniqueConstraint("unit_id", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]

    unit: Mapped[Unit] = relationship(back_populates="tenancies")
    user: Mapped["User"] = relationship(back_populates="tenancies")  # noqa: F821

    def is_current(self, on: date) -> bool:
        """Tell whether the tenancy runs on the given business date."""
        return self.starts_on <= on and (self.ends_on is None or on <= self.ends_on)

    def __repr__(self) -> str:
        return f"<Tenancy {self.id} user={self.user_id} unit={self.unit_id}>"
