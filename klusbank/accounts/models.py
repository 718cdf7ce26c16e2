"""Users and their roles, caretaker assignments, API tokens and the audit trail."""

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from klusbank.db import Base, utcnow
from klusbank.housing.models import Cluster, Corporation, Tenancy


class Role(enum.StrEnum):
    TENANT = "tenant"
    CARETAKER = "caretaker"
    FINANCE = "finance"
    ADMIN = "admin"


# VERA sector codes for the roles; the first code of each role is its default.
SECTOR_CODES: dict[Role, tuple[str, ...]] = {
    Role.TENANT: ("HUU", "MDH"),
    Role.CARETAKER: ("HME", "BEH"),
    Role.FINANCE: ("FIA",),
    Role.ADMIN: ("ADM",),
}
STAFF_ROLES = frozenset({Role.CARETAKER, Role.FINANCE, Role.ADMIN})


def _enum_values(enum_class: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_class]


def role_column() -> Enum:
    """Return the column type that stores a Role by its value."""
    return Enum(Role, native_enum=False, length=16, values_callable=_enum_values)


class User(UserMixin, Base):
    """A person who logs in: a tenant, a member of staff or both."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    date_of_birth: Mapped[date | None]
    is_active_account: Mapped[bool] = mapped_column(default=True)
    # Raised on logout-everywhere and password change; a session or remember
    # cookie carrying an older value is no longer accepted.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the person is erased: name and e-mail are replaced, ledger rows stay.
    pseudonymised_at: Mapped[datetime | None]

    corporation: Mapped[Corporation] = relationship()
    roles: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    tenancies: Mapped[list[Tenancy]] = relationship(back_populates="user")
    caretaker_assignments: Mapped[list["CaretakerAssignment"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    def get_id(self) -> str:
        """Return the session id: user id and session version."""
        return f"{self.id}:{self.session_version}"

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(assignment.role for assignment in self.roles)

    def has_role(self, *roles: Role) -> bool:
        """Tell whether the user holds any of the given roles."""
        return bool(self.role_set.intersection(roles))

    @property
    def is_staff(self) -> bool:
        return bool(self.role_set & STAFF_ROLES)

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class UserRole(Base):
    """One role of a user, with the sector code it was granted under."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(role_column())
    sector_code: Mapped[str] = mapped_column(String(3))

    user: Mapped[User] = relationship(back_populates="roles")

    def __repr__(self) -> str:
        return f"<UserRole user={self.user_id} {self.role.value} {self.sector_code}>"


class CaretakerAssignment(Base):
    """A cluster a caretaker looks after."""

    __tablename__ = "caretaker_assignments"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    user: Mapped[User] = relationship(back_populates="caretaker_assignments")
    cluster: Mapped[Cluster] = relationship()

    def __repr__(self) -> str:
        return f"<CaretakerAssignment user={self.user_id} cluster={self.cluster_id}>"


class TokenRevocation(enum.StrEnum):
    """Reason that an API token stopped working."""

    BY_USER = "by_user"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    ROLE_REMOVED = "role_removed"
    DEACTIVATED = "deactivated"


class ApiToken(Base):
    """A personal API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # A TokenRevocation value; None while the token is active.
    revoked_reason: Mapped[str | None] = mapped_column(String(32))

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} user={self.user_id} {self.prefix}>"


class AuditEvent(Base):
    """A security-relevant event: login, role change, export, download."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_corporation_at", "corporation_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int | None] = mapped_column(ForeignKey("corporations.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(200))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} actor={self.actor_id}>"
