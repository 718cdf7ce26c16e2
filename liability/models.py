"""Safety briefings, their published versions, acceptances and withdrawals.

A briefing has numbered versions. Version N is one publication shared by every
locale: each locale's text of version N is its own row, and all of them carry
the same effective date and the same material flag. Published versions,
acceptances and withdrawals are append-only. Database triggers created by the
migration reject every UPDATE and DELETE on those tables, on PostgreSQL and on
SQLite alike.
"""

import enum
from datetime import date, datetime

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
from klusbank.housing.models import Corporation, Tenancy, Unit

LOCALES = ("nl", "en")


class Channel(enum.StrEnum):
    PORTAL = "portal"
    PAPER = "paper"


def channel_column() -> Enum:
    """Return the column type that stores a Channel by its value."""
    return Enum(
        Channel,
        native_enum=False,
        length=16,
        values_callable=lambda channels: [channel.value for channel in channels],
    )


class Briefing(Base):
    """A safety briefing of one corporation, known by a stable code such as ``tuin``."""

    __tablename__ = "briefings"
    __table_args__ = (
        UniqueConstraint("corporation_id", "code"),
        CheckConstraint("length(code) >= 1", name="code_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(
        ForeignKey("corporations.id", ondelete="RESTRICT"), index=True
    )
    code: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    corporation: Mapped[Corporation] = relationship()
    versions: Mapped[list["BriefingVersion"]] = relationship(
        back_populates="briefing",
        order_by="(BriefingVersion.version_number, BriefingVersion.locale)",
    )

    def __repr__(self) -> str:
        return f"<Briefing {self.id} {self.code!r} corporation={self.corporation_id}>"


class BriefingVersion(Base):
    """The text of one version of a briefing in one locale, frozen at publication.

    ``body_markdown`` is the exact text as published, already in canonical form
    (NFC, LF line endings). ``text_sha256`` is the SHA-256 of the canonical
    document built from the title and the body. ``rendered_html`` is the
    sanitised HTML that tenants are shown, and ``html_sha256`` is its SHA-256.
    """

    __tablename__ = "briefing_versions"
    __table_args__ = (
        UniqueConstraint("briefing_id", "version_number", "locale"),
        # Target of the composite foreign keys that tie acceptances to the
        # briefing of their version.
        UniqueConstraint("id", "briefing_id"),
        CheckConstraint("version_number >= 1", name="version_number_positive"),
        CheckConstraint("locale IN ('nl', 'en')", name="locale_known"),
        CheckConstraint(
            "version_number > 1 OR is_material", name="first_version_material"
        ),
        CheckConstraint("length(text_sha256) = 64", name="text_sha256_length"),
        CheckConstraint("length(html_sha256) = 64", name="html_sha256_length"),
        Index(
            "ix_briefing_versions_briefing_effective", "briefing_id", "effective_from"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    briefing_id: Mapped[int] = mapped_column(
        ForeignKey("briefings.id", ondelete="RESTRICT")
    )
    version_number: Mapped[int] = mapped_column()
    locale: Mapped[str] = mapped_column(String(5))
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text)
    rendered_html: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    html_sha256: Mapped[str] = mapped_column(String(64))
    effective_from: Mapped[date]
    is_material: Mapped[bool]
    change_summary: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    briefing: Mapped[Briefing] = relationship(back_populates="versions")
    published_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return (
            f"<BriefingVersion {self.id} briefing={self.briefing_id}"
            f" v{self.version_number} {self.locale}>"
        )


class RequestEvidence:
    """Columns that record the channel, client and recording user of a record.

    ``session_sha256`` is the SHA-256 of the session's random ``sid``, so two
    records from one login session can be linked without storing the session.
    """

    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)
    login_method: Mapped[str | None] = mapped_column(String(32))
    session_sha256: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[Channel] = mapped_column(channel_column())
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Acceptance(RequestEvidence, Base):
    """A tenant's acceptance of one briefing version, with the evidence of how.

    ``tenant_id`` is the person on whose behalf it was recorded and
    ``recorded_by_id`` the person who recorded it: the tenant on the portal,
    a caretaker for a signed paper form, whose scan is then stored as well.
    """

    __tablename__ = "briefing_acceptances"
    __table_args__ = (
        ForeignKeyConstraint(
            ["version_id", "briefing_id"],
            ["briefing_versions.id", "briefing_versions.briefing_id"],
            name="fk_briefing_acceptances_version_briefing",
            ondelete="RESTRICT",
        ),
        # Target of the composite foreign key from withdrawals.
        UniqueConstraint("id", "tenant_id", "briefing_id"),
        CheckConstraint("locale IN ('nl', 'en')", name="locale_known"),
        CheckConstraint("length(text_sha256) = 64", name="text_sha256_length"),
        CheckConstraint("length(rendered_sha256) = 64", name="rendered_sha256_length"),
        CheckConstraint(
            "channel <> 'portal' OR recorded_by_id = tenant_id",
            name="portal_recorded_by_tenant",
        ),
        CheckConstraint(
            "channel <> 'paper' OR (scan_name IS NOT NULL AND scan_sha256 IS NOT NULL)",
            name="paper_has_scan",
        ),
        Index("ix_briefing_acceptances_tenant_briefing", "tenant_id", "briefing_id"),
        Index(
            "ix_briefing_acceptances_briefing_accepted", "briefing_id", "accepted_at"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    briefing_id: Mapped[int] = mapped_column(ForeignKey("briefings.id"))
    version_id: Mapped[int] = mapped_column()
    tenant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    tenancy_id: Mapped[int] = mapped_column(ForeignKey("tenancies.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    locale: Mapped[str] = mapped_column(String(5))
    # Copy of the version's text hash, so that a version altered behind the
    # database's back no longer matches the acceptances made under it.
    text_sha256: Mapped[str] = mapped_column(String(64))
    rendered_sha256: Mapped[str] = mapped_column(String(64))
    typed_name: Mapped[str] = mapped_column(String(200))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    paper_signed_on: Mapped[date | None]
    scan_name: Mapped[str | None] = mapped_column(String(64))
    scan_mime_type: Mapped[str | None] = mapped_column(String(32))
    scan_sha256: Mapped[str | None] = mapped_column(String(64))

    briefing: Mapped[Briefing] = relationship()
    version: Mapped[BriefingVersion] = relationship(foreign_keys=[version_id])
    tenant: Mapped[User] = relationship(foreign_keys=[tenant_id])
    recorded_by: Mapped[User] = relationship(foreign_keys="Acceptance.recorded_by_id")
    tenancy: Mapped[Tenancy] = relationship()
    unit: Mapped[Unit] = relationship()
    withdrawal: Mapped["Withdrawal | None"] = relationship(
        back_populates="acceptance", foreign_keys="Withdrawal.acceptance_id"
    )

    def __repr__(self) -> str:
        return (
            f"<Acceptance {self.id} tenant={self.tenant_id}"
            f" version={self.version_id} {self.channel.value}>"
        )


class Withdrawal(RequestEvidence, Base):
    """A tenant's withdrawal of the acceptance that was in force for a briefing."""

    __tablename__ = "briefing_withdrawals"
    __table_args__ = (
        ForeignKeyConstraint(
            ["acceptance_id", "tenant_id", "briefing_id"],
            [
                "briefing_acceptances.id",
                "briefing_acceptances.tenant_id",
                "briefing_acceptances.briefing_id",
            ],
            name="fk_briefing_withdrawals_acceptance",
            ondelete="RESTRICT",
        ),
        UniqueConstraint("acceptance_id"),
        CheckConstraint(
            "channel <> 'portal' OR recorded_by_id = tenant_id",
            name="portal_recorded_by_tenant",
        ),
        Index("ix_briefing_withdrawals_tenant_briefing", "tenant_id", "briefing_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    acceptance_id: Mapped[int] = mapped_column()
    briefing_id: Mapped[int] = mapped_column(ForeignKey("briefings.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime] = mapped_column(default=utcnow)

    acceptance: Mapped[Acceptance] = relationship(
        back_populates="withdrawal", foreign_keys=[acceptance_id]
    )
    briefing: Mapped[Briefing] = relationship()
    tenant: Mapped[User] = relationship(foreign_keys=[tenant_id])
    recorded_by: Mapped[User] = relationship(foreign_keys="Withdrawal.recorded_by_id")

    def __repr__(self) -> str:
        return (
            f"<Withdrawal {self.id} acceptance={self.acceptance_id}"
            f" tenant={self.tenant_id}>"
        )
