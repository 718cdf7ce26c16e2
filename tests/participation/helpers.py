"""``create_*`` helpers for participation tests, built through the real services."""

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser

from PIL import Image
from sqlalchemy import func, select

from klusbank.accounts.models import ApiToken, User
from klusbank.accounts.services import create_api_token
from klusbank.db import utcnow
from klusbank.extensions import db
from klusbank.housing.models import Cluster, Corporation
from liability.models import Briefing
from participation import services
from participation.models import (
    Chore,
    ChoreCategory,
    Claim,
    ClaimApproval,
    ClaimEvent,
    ProofKind,
    RewardMode,
)
from rewards.ledger.models import Journal
from tests.factories import create_caretaker, create_cluster, create_tenant, create_unit


def create_category(
    corporation: Corporation,
    *,
    briefing: Briefing | None = None,
    name: str | None = None,
    points: int = 10,
    places: int = 1,
) -> ChoreCategory:
    category = ChoreCategory(
        corporation_id=corporation.id,
        name_nl=name or f"Categorie {corporation.id}-{_count(ChoreCategory) + 1}",
        name_en=name or f"Category {corporation.id}-{_count(ChoreCategory) + 1}",
        description="",
        briefing_id=briefing.id if briefing else None,
        default_points=points,
        default_places=places,
    )
    db.session.add(category)
    db.session.flush()
    return category


def create_chore(
    caretaker: User,
    cluster: Cluster,
    category: ChoreCategory,
    *,
    title: str = "Trappenhuis vegen",
    points: int = 10,
    places: int = 1,
    mode: RewardMode = RewardMode.EACH,
    proof: ProofKind = ProofKind.NONE,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    deadline_at: datetime | None = None,
    now: datetime | None = None,
) -> Chore:
    """Post a chore whose claim window is open now, unless the times are given."""
    now = now or utcnow()
    opens_at = opens_at or now - timedelta(hours=1)
    closes_at = closes_at or now + timedelta(days=7)
    deadline_at = deadline_at or closes_at + timedelta(days=7)
    terms = services.ChoreTerms(
        title=title,
        description="Veeg de trappen van de begane grond tot boven.",
        category_id=category.id,
        reward_points=points,
        reward_mode=mode,
        places=places,
        proof=proof,
        claim_opens_at=opens_at,
        claim_closes_at=closes_at,
        deadline_at=deadline_at,
    )
    return services.post_chore(caretaker, cluster.id, terms, now=now)[0]


@dataclass
class Neighbourhood:
    """A corporation with one cluster, its caretaker, a category and a chore."""

    corporation: Corporation
    cluster: Cluster
    caretaker: User
    category: ChoreCategory
    chore: Chore

    def add_tenant(self, **kwargs) -> User:
        unit = create_unit(self.corporation, self.cluster)
        return create_tenant(self.corporation, unit, **kwargs)


def create_neighbourhood(
    corporation: Corporation, *, briefing: Briefing | None = None, **chore_options
) -> Neighbourhood:
    cluster = create_cluster(corporation)
    caretaker = create_caretaker(corporation, cluster)
    category = create_category(corporation, briefing=briefing)
    chore = create_chore(caretaker, cluster, category, **chore_options)
    return Neighbourhood(corporation, cluster, caretaker, category, chore)


def submitted_claim(tenant: User, chore: Chore, **submission) -> Claim:
    claim = services.claim_chore(tenant, chore.id)
    services.submit_claim(
        tenant, claim.id, note=submission.pop("note", "Gedaan."), **submission
    )
    return claim


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (30, 120, 60)).save(output, format="PNG")
    return output.getvalue()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def row_counts() -> dict[str, int]:
    """Count the rows of every table a participation request can change."""
    return {
        model.__tablename__: _count(model)
        for model in (Chore, Claim, ClaimApproval, ClaimEvent, Journal)
    }


def claim_state(claim_id: int) -> tuple:
    """Return the columns of a claim that a rejected request must leave alone."""
    db.session.expire_all()
    claim = db.session.get(Claim, claim_id)
    return (
        claim.status,
        claim.slot,
        claim.note,
        claim.submitted_at,
        claim.rejection_reason,
        claim.updated_at,
    )


def use_token(client, user: User) -> ApiToken:
    """Send every following request of ``client`` with a new API token of ``user``."""
    token, plain = create_api_token(user, "tests")
    db.session.commit()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {plain}"
    return token


class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs) -> None:
        fields = dict(attrs)
        if tag == "input" and fields.get("type") == "hidden" and fields.get("name"):
            self.values[fields["name"]] = fields.get("value") or ""


def hidden_inputs(html: str) -> dict[str, str]:
    """Return the hidden form inputs of a page by name, as a browser would send them."""
    parser = _HiddenInputs()
    parser.feed(html)
    return parser.values
