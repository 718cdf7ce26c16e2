"""Demo data of the participation domain: categories, chores and claims in every state.

Work of the previous month is approved with moments in that month, so the
ledger books the points there and the rewards engine can close the month.
Everything goes through the services, with ``now`` set to the moment each
step happens in the story.
"""

import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from PIL import Image
from sqlalchemy import select

from klusbank.accounts.models import User
from klusbank.db import utcnow
from klusbank.errors import RuleViolation
from klusbank.extensions import db
from klusbank.housing.models import Cluster
from klusbank.timeutil import Period
from participation import services
from participation.models import (
    Chore,
    ChoreCategory,
    Claim,
    ParticipationSettings,
    ProofKind,
    Recurrence,
    RewardMode,
)

logger = logging.getLogger(__name__)
SECOND_APPROVAL_ABOVE_POINTS = 100


@dataclass(frozen=True)
class CategorySpec:
    name_nl: str
    name_en: str
    description: str
    briefing_code: str | None
    points: int
    places: int


CATEGORIES = (
    CategorySpec(
        "Trappenhuis schoonmaken",
        "Stairwell cleaning",
        "Vegen en dweilen van trappen en overlopen.",
        "trappenhuis",
        15,
        1,
    ),
    CategorySpec(
        "Tuinonderhoud",
        "Garden upkeep",
        "Onkruid wieden, bladeren harken en de binnentuin bijhouden.",
        "tuin",
        25,
        3,
    ),
    CategorySpec(
        "Containers buitenzetten",
        "Putting out the bins",
        "De containers op de ophaaldag aan de straat zetten en terugzetten.",
        None,
        5,
        1,
    ),
    CategorySpec(
        "Kleine reparaties",
        "Small repairs",
        "Kleine klussen in gemeenschappelijke ruimtes, zonder elektra.",
        "klussen",
        40,
        1,
    ),
    CategorySpec(
        "Zwerfafval prikken",
        "Litter picking",
        "Zwerfafval rond het complex opruimen met grijper en handschoenen.",
        "tuin",
        20,
        4,
    ),
)


def seed(context) -> None:
    """Add categories, chores and claims in every state across the demo clusters."""
    db.session.add(
        ParticipationSettings(
            corporation_id=context.corporation.id,
            second_approval_above_points=SECOND_APPROVAL_ABOVE_POINTS,
            updated_by_id=context.admin.id,
        )
    )
    categories = _seed_categories(context)
    story = DemoStory(context, categories)
    for cluster in context.clusters:
        story.previous_month(cluster)
    for tenant in context.tenants[:2]:
        story.login_history(tenant)
    # The nightly job of last month's final day: unsubmitted claims expire and
    # the pots of closed shared chores are split, still within that month.
    last_night = story.previous.ends_at - timedelta(hours=2)
    expired = services.expire_overdue_claims(now=last_night)
    services.share_due_pots(now=last_night)
    for cluster in context.clusters:
        story.this_month(cluster)
    db.session.flush()
    context.extra["participation_categories"] = categories
    logger.info(
        "demo participation seeded: %d categories, %d claims, %d expired",
        len(categories),
        len(db.session.scalars(select(Claim.id)).all()),
        expired,
    )


def _seed_categories(context) -> list[ChoreCategory]:
    briefings = context.extra.get("briefings", {})
    categories = []
    for spec in CATEGORIES:
        briefing = briefings.get(spec.briefing_code) if spec.briefing_code else None
        fields = services.CategoryFields(
            name_nl=spec.name_nl,
            name_en=spec.name_en,
            description=spec.description,
            briefing_id=briefing.id if briefing else None,
            default_points=spec.points,
            default_places=spec.places,
        )
        categories.append(services.create_category(context.admin, fields))
    return categories


class DemoStory:
    """Posts chores and moves claims through their states at chosen moments."""

    def __init__(self, context, categories: list[ChoreCategory]):
        self.context = context
        self.rng = context.rng
        self.categories = categories
        self.previous = Period.of(context.today).previous()
        self.briefing_codes = {
            briefing.id: code
            for code, briefing in context.extra.get("briefings", {}).items()
        }

    # --- Last month: approved, shared, rejected, withdrawn, expired ----------

    def previous_month(self, cluster: Cluster) -> None:
        """Add last month's finished work in one cluster."""
        caretaker = self._caretaker(cluster)
        tenants = self._tenants(cluster)
        start = self.previous.starts_at + timedelta(days=1, hours=8)

        for week in range(3):
            posted = start + timedelta(days=7 * week)
            chore = self._post(caretaker, cluster, self.categories[0], posted, places=2)
            for tenant in self._pick(tenants, 2, chore.category):
                claim = self._claim(tenant, chore, posted + timedelta(hours=3))
                if claim is None:
                    continue
                self._submit(tenant, claim, posted + timedelta(days=1))
                services.approve_claim(
                    caretaker, claim.id, now=posted + timedelta(days=2)
                )

        garden = self._post(
            caretaker,
            cluster,
            self.categories[4],
            start + timedelta(days=2),
            places=3,
            points=30,
            mode=RewardMode.SHARED,
        )
        for tenant in self._pick(tenants, 3, garden.category):
            claim = self._claim(tenant, garden, start + timedelta(days=2, hours=4))
            if claim is None:
                continue
            self._submit(tenant, claim, start + timedelta(days=3))
            services.approve_claim(caretaker, claim.id, now=start + timedelta(days=4))

        landing = self._post(
            caretaker, cluster, self.categories[0], start + timedelta(days=10)
        )
        tenant = self._pick(tenants, 1, landing.category)[0]
        rejected = self._claim(tenant, landing, start + timedelta(days=10, hours=2))
        if rejected is not None:
            self._submit(tenant, rejected, start + timedelta(days=11))
            services.reject_claim(
                caretaker,
                rejected.id,
                "De overloop op de tweede verdieping is niet gedweild.",
                now=start + timedelta(days=12),
            )

        bins = self._post(
            caretaker, cluster, self.categories[2], start + timedelta(days=14)
        )
        tenant = self._pick(tenants, 1, bins.category)[0]
        withdrawn = self._claim(tenant, bins, start + timedelta(days=14, hours=1))
        if withdrawn is not None:
            services.withdraw_claim(
                tenant, withdrawn.id, now=start + timedelta(days=14, hours=5)
            )
        tenant = self._pick(tenants, 1, bins.category)[0]
        self._claim(tenant, bins, start + timedelta(days=15))  # expires unsubmitted

    def login_history(self, tenant: User) -> None:
        """Give a demo login tenant approved work last month and a claim this month."""
        cluster = next(
            cluster
            for cluster in self.context.clusters
            if tenant in self._tenants(cluster)
        )
        caretaker = self._caretaker(cluster)
        bins = self.categories[2]
        for day in (5, 19):
            opens = self.previous.starts_at + timedelta(days=day, hours=7)
            chore = self._post(caretaker, cluster, bins, opens)
            claim = self._claim(tenant, chore, opens + timedelta(hours=1))
            self._submit(tenant, claim, opens + timedelta(hours=26))
            services.approve_claim(caretaker, claim.id, now=opens + timedelta(days=2))
        opens = utcnow().replace(second=0, microsecond=0) - timedelta(hours=3)
        chore = self._post(caretaker, cluster, bins, opens, places=2)
        self._claim(tenant, chore, opens + timedelta(hours=1))

    # --- This month: open, full, upcoming, cancelled, under review -----------

    def this_month(self, cluster: Cluster) -> None:
        """Add this month's chores in one cluster, with claims still in progress."""
        caretaker = self._caretaker(cluster)
        tenants = self._tenants(cluster)
        now = utcnow().replace(second=0, microsecond=0)

        stairs = self._post(
            caretaker, cluster, self.categories[0], now - timedelta(days=1), places=3
        )
        claimed, submitted = self._pick(tenants, 2, stairs.category)
        self._claim(claimed, stairs, now - timedelta(hours=20))
        claim = self._claim(submitted, stairs, now - timedelta(hours=18))
        if claim is not None:
            self._submit(submitted, claim, now - timedelta(hours=2), photo=True)

        full = self._post(
            caretaker, cluster, self.categories[2], now - timedelta(days=1)
        )
        self._claim(
            self._pick(tenants, 1, full.category)[0], full, now - timedelta(hours=12)
        )

        big = self._post(
            caretaker,
            cluster,
            self.categories[3],
            now - timedelta(days=2),
            points=150,
            title="Fietsenstalling opruimen en rekken vastzetten",
        )
        tenant = self._pick(tenants, 1, big.category)[0]
        pending = self._claim(tenant, big, now - timedelta(days=2) + timedelta(hours=1))
        if pending is not None:
            self._submit(tenant, pending, now - timedelta(hours=30))
            # Above the threshold: waits for a second approver.
            services.approve_claim(caretaker, pending.id, now=now - timedelta(hours=6))

        self._post(
            caretaker,
            cluster,
            self.categories[1],
            now + timedelta(days=5),
            posted_at=now,
            places=3,
            title="Voorjaarsklus in de binnentuin",
        )
        cancelled = self._post(
            caretaker, cluster, self.categories[0], now - timedelta(days=1)
        )
        self._claim(
            self._pick(tenants, 1, cancelled.category)[0],
            cancelled,
            now - timedelta(hours=10),
        )
        services.cancel_chore(
            caretaker,
            cancelled.id,
            "De schilders zijn deze week in het trappenhuis.",
            now=now - timedelta(hours=4),
        )
        services.post_chore(
            caretaker,
            cluster.id,
            self._terms(self.categories[2], now - timedelta(hours=1)),
            recurrence=Recurrence.WEEKLY,
            occurrences=4,
            now=now - timedelta(hours=1),
        )

    # --- Helpers ---------------------------------------------------------------

    def _caretaker(self, cluster: Cluster) -> User:
        for caretaker in self.context.caretakers:
            if any(a.cluster_id == cluster.id for a in caretaker.caretaker_assignments):
                return caretaker
        return self.context.caretakers[0]

    def _tenants(self, cluster: Cluster) -> list[User]:
        unit_ids = {membership.unit_id for membership in cluster.memberships}
        return [
            tenant
            for tenant in self.context.tenants
            if any(tenancy.unit_id in unit_ids for tenancy in tenant.tenancies)
        ]

    def _pick(
        self, tenants: list[User], count: int, category: ChoreCategory
    ) -> list[User]:
        """Pick tenants at random, preferring those who accepted the category's briefing."""
        if category.briefing_id is not None:
            code = self.briefing_codes.get(category.briefing_id)
            accepted = self.context.extra.get("briefing_acceptances", {})
            briefed = [tenant for tenant in tenants if (tenant.id, code) in accepted]
            if len(briefed) >= count:
                return self.rng.sample(briefed, count)
        return self.rng.sample(tenants, count)

    def _terms(
        self,
        category: ChoreCategory,
        posted: datetime,
        *,
        places: int | None = None,
        points: int | None = None,
        mode: RewardMode = RewardMode.EACH,
        title: str | None = None,
    ) -> services.ChoreTerms:
        return services.ChoreTerms(
            title=title or category.name_nl,
            description=category.description,
            category_id=category.id,
            reward_points=points or category.default_points,
            reward_mode=mode,
            places=places or category.default_places,
            proof=ProofKind.NOTE,
            claim_opens_at=posted,
            claim_closes_at=posted + timedelta(days=4),
            deadline_at=posted + timedelta(days=6),
        )

    def _post(
        self,
        caretaker: User,
        cluster: Cluster,
        category: ChoreCategory,
        opens_at: datetime,
        *,
        posted_at: datetime | None = None,
        **options,
    ) -> Chore:
        """Post a chore whose claim window opens at ``opens_at``."""
        terms = self._terms(category, opens_at, **options)
        return services.post_chore(
            caretaker, cluster.id, terms, now=posted_at or opens_at
        )[0]

    def _claim(self, tenant: User, chore, at: datetime) -> Claim | None:
        """Claim as the tenant, or return None when their briefing is missing."""
        try:
            return services.claim_chore(tenant, chore.id, now=at)
        except RuleViolation as error:
            # Tenants without the briefing are skipped, as the portal would send
            # them to read it first.
            logger.info(
                "demo tenant %s skipped chore %s: %s", tenant.id, chore.id, error.code
            )
            return None

    def _submit(self, tenant: User, claim: Claim, at: datetime, *, photo=False):
        services.submit_claim(
            tenant,
            claim.id,
            note=self.rng.choice(
                [
                    "Klaar, alles netjes achtergelaten.",
                    "Gedaan met twee buren.",
                    "Afgerond; de vuilniszakken staan bij de container.",
                ]
            ),
            photo=_demo_photo() if photo else None,
            hours_spent=None,
            now=at,
        )


def _demo_photo() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (320, 240), (96, 140, 72)).save(output, format="PNG")
    return output.getvalue()
