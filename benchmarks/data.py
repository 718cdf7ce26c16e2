"""Bulk benchmark data written straight into the database, fast and rule-abiding.

Going through the services would take minutes per 100,000 approvals, so rows
are inserted in bulk: COPY on PostgreSQL, executemany on SQLite. The ledger's
own rules still hold, because its triggers check them. Approval journals are
inserted as drafts with their postings and then sealed as posted by one UPDATE,
so the seal trigger checks every journal's balance and keeps the tenant
accounts' cached balances, as for journals posted by
``rewards.ledger.services``. Keys, request hashes and memos are the ones that
``credit_approved_work`` and participation's ``credit_approval`` write, and
each approval has its chore, claim and claim approval.

Claim events (the history of each claim) are not written: neither the close,
the statements nor the list pages read them.

All functions run inside an app context and write through ``db.session``
without committing; the caller commits.
"""

import enum
import itertools
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, text

from klusbank.accounts.models import CaretakerAssignment, Role, User, UserRole
from klusbank.accounts.passwords import hash_password
from klusbank.accounts.services import create_user
from klusbank.extensions import db
from klusbank.housing.models import (
    Cluster,
    ClusterKind,
    ClusterMembership,
    Corporation,
    Tenancy,
    Unit,
)
from klusbank.timeutil import AMSTERDAM, Period, business_date
from participation.models import (
    Chore,
    ChoreCategory,
    Claim,
    ClaimApproval,
    ClaimStatus,
    ProofKind,
    RewardMode,
)
from rewards.engine import services as engine
from rewards.engine.models import PayoutChoice, PayoutMethod
from rewards.ledger import services as ledger
from rewards.ledger.idempotency import request_hash
from rewards.ledger.models import (
    Account,
    AccountKind,
    Asset,
    Journal,
    JournalKind,
    JournalStatus,
    Posting,
    Side,
)

BENCH_PASSWORD = "benchmark password 2026"
# Test values that pass the IBAN and BSN checksums (the IBAN is the standard
# example of the Dutch IBAN format).
PAYOUT_IBAN = "NL91ABNA0417164300"
PAYOUT_BSN = "111222333"
CHUNK_ROWS = 20_000
# The text form of SQLAlchemy's SQLite DATETIME type, which UTCDateTime uses.
SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
CHORE_TITLES = (
    "Trappenhuis vegen",
    "Containers buiten zetten",
    "Gezamenlijke tuin wieden",
    "Fietsenstalling opruimen",
    "Entree schoonmaken",
    "Lampen in de galerij melden",
)
CATEGORIES = (
    ("Schoonmaken", "Cleaning", 20),
    ("Tuin", "Garden", 30),
    ("Afval", "Waste", 10),
)

_password_hash: str | None = None


@dataclass
class Population:
    """A corporation with tenants, staff, clusters, rules and chore categories."""

    corporation_id: int
    code: str
    tenant_ids: list[int]
    cluster_ids: list[int]
    cluster_of: dict[int, int]
    caretaker_of: dict[int, int]
    caretaker_ids: list[int]
    finance_id: int
    category_ids: list[int]
    emails: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Work:
    """One piece of approved work to generate: who, how many points, when."""

    tenant_id: int
    points: int
    approved_at: datetime


def password_hash() -> str:
    """Return the Argon2 hash of BENCH_PASSWORD, computed once per process."""
    global _password_hash
    if _password_hash is None:
        _password_hash = hash_password(BENCH_PASSWORD)
    return _password_hash


def reserve_ids(model: Any, count: int) -> list[int]:
    """Return ``count`` new primary keys of a table, taken from its sequence."""
    table = model.__table__.name
    if count == 0:
        return []
    if _dialect() == "postgresql":
        rows = db.session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id'))"
                " FROM generate_series(1, :count)"
            ),
            {"table": table, "count": count},
        )
        return sorted(row[0] for row in rows)
    start = db.session.scalar(select(func.coalesce(func.max(model.id), 0))) + 1
    return list(range(start, start + count))


def bulk_insert(model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows of plain values: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    table = model.__table__.name
    columns = list(rows[0])
    raw = db.session.connection().connection.driver_connection
    if _dialect() == "postgresql":
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([_plain_value(row[column]) for column in columns])
        return
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)})"
        f" VALUES ({', '.join('?' for _ in columns)})"
    )
    cursor = raw.cursor()
    try:
        for start in range(0, len(rows), CHUNK_ROWS):
            cursor.executemany(
                statement,
                [
                    [_sqlite_value(row[column]) for column in columns]
                    for row in rows[start : start + CHUNK_ROWS]
                ],
            )
    finally:
        cursor.close()


def _plain_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _sqlite_value(value: Any) -> Any:
    """Return a value as SQLAlchemy stores it in SQLite: naive UTC text for moments."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(SQLITE_DATETIME_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    return _plain_value(value)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def create_population(
    code: str,
    tenants: int,
    *,
    clusters: int = 10,
    clusters_per_caretaker: int = 5,
    payout_share: float = 0.2,
    seed: int = 1,
) -> Population:
    """Create a corporation with tenants in units and clusters, staff and rules."""
    rng = random.Random(seed)
    corporation = Corporation(code=code, name=f"Woonstichting {code.title()}")
    db.session.add(corporation)
    db.session.flush()

    cluster_ids = _create_clusters(corporation.id, clusters)
    tenant_ids, cluster_of, emails = _create_tenants(
        corporation.id, tenants, cluster_ids
    )
    finance = _create_staff(corporation, "finance", Role.FINANCE)
    caretaker_of: dict[int, int] = {}
    caretaker_ids = []
    for number, start in enumerate(range(0, clusters, clusters_per_caretaker)):
        caretaker = _create_staff(corporation, f"caretaker{number}", Role.CARETAKER)
        caretaker_ids.append(caretaker.id)
        emails[caretaker.id] = caretaker.email
        for cluster_id in cluster_ids[start : start + clusters_per_caretaker]:
            db.session.add(
                CaretakerAssignment(user_id=caretaker.id, cluster_id=cluster_id)
            )
            caretaker_of[cluster_id] = caretaker.id
    emails[finance.id] = finance.email
    db.session.flush()

    engine.create_rule_version(
        finance,
        effective_from=date(2020, 1, 1),
        rent_credit_rate_cents=10,
        payout_rate_cents=12,
        rent_credit_cap_month_cents=5_000,
        payout_cap_month_cents=10_000,
        minimum_payout_cents=1_000,
        note="benchmark rules",
    )
    _create_payout_choices(corporation.id, tenant_ids, payout_share, rng)
    category_ids = _create_categories(corporation.id)
    for kind in (AccountKind.POINTS_ISSUED,):
        ledger.corporation_account(corporation.id, kind)
    db.session.flush()
    return Population(
        corporation_id=corporation.id,
        code=code,
        tenant_ids=tenant_ids,
        cluster_ids=cluster_ids,
        cluster_of=cluster_of,
        caretaker_of=caretaker_of,
        caretaker_ids=caretaker_ids,
        finance_id=finance.id,
        category_ids=category_ids,
        emails=emails,
    )


def _create_clusters(corporation_id: int, count: int) -> list[int]:
    ids = reserve_ids(Cluster, count)
    bulk_insert(
        Cluster,
        [
            {
                "id": cluster_id,
                "corporation_id": corporation_id,
                "code": f"CL{number:04d}",
                "name": f"Complex {number}",
                "kind": ClusterKind.SERVICE_COSTS,
            }
            for number, cluster_id in enumerate(ids, start=1)
        ],
    )
    return ids


def _create_tenants(
    corporation_id: int, count: int, cluster_ids: list[int]
) -> tuple[list[int], dict[int, int], dict[int, str]]:
    code = db.session.get(Corporation, corporation_id).code
    now = datetime.now(UTC)
    unit_ids = reserve_ids(Unit, count)
    user_ids = reserve_ids(User, count)
    role_ids = reserve_ids(UserRole, count)
    tenancy_ids = reserve_ids(Tenancy, count)
    cluster_of = {
        user_id: cluster_ids[index % len(cluster_ids)]
        for index, user_id in enumerate(user_ids)
    }
    emails = {
        user_id: f"{code}.tenant{index}@example.org"
        for index, user_id in enumerate(user_ids, start=1)
    }
    bulk_insert(
        Unit,
        [
            {
                "id": unit_id,
                "corporation_id": corporation_id,
                "external_id": f"VHE-{index:06d}",
                "street": "Benchmarkstraat",
                "house_number": str(index),
                "postcode": "3511AB",
                "city": "Utrecht",
            }
            for index, unit_id in enumerate(unit_ids, start=1)
        ],
    )
    bulk_insert(
        ClusterMembership,
        [
            {"cluster_id": cluster_of[user_id], "unit_id": unit_id}
            for unit_id, user_id in zip(unit_ids, user_ids, strict=True)
        ],
    )
    bulk_insert(
        User,
        [
            {
                "id": user_id,
                "corporation_id": corporation_id,
                "email": emails[user_id],
                "full_name": f"Huurder {index}",
                "password_hash": password_hash(),
                "locale": "nl" if index % 5 else "en",
                "date_of_birth": date(1960 + index % 40, 1 + index % 12, 1),
                "is_active_account": True,
                "session_version": 1,
                "created_at": now,
            }
            for index, user_id in enumerate(user_ids, start=1)
        ],
    )
    bulk_insert(
        UserRole,
        [
            {
                "id": role_id,
                "user_id": user_id,
                "role": Role.TENANT,
                "sector_code": "HUU",
            }
            for role_id, user_id in zip(role_ids, user_ids, strict=True)
        ],
    )
    bulk_insert(
        Tenancy,
        [
            {
                "id": tenancy_id,
                "user_id": user_id,
                "unit_id": unit_id,
                "reference": f"HC-{user_id}",
                "starts_on": date(2020, 1, 1),
                "ends_on": None,
            }
            for tenancy_id, user_id, unit_id in zip(
                tenancy_ids, user_ids, unit_ids, strict=True
            )
        ],
    )
    return user_ids, cluster_of, emails


def _create_staff(corporation: Corporation, name: str, role: Role) -> User:
    return create_user(
        corporation,
        email=f"{corporation.code}.{name}@example.org",
        full_name=f"{name.title()} {corporation.code}",
        roles=[role],
        password_hash=password_hash(),
    )


def _create_payout_choices(
    corporation_id: int, tenant_ids: list[int], share: float, rng: random.Random
) -> None:
    chosen_at = datetime(2020, 1, 1, tzinfo=UTC)
    rows = [
        {
            "corporation_id": corporation_id,
            "tenant_id": tenant_id,
            "method": PayoutMethod.PAYOUT,
            "iban": PAYOUT_IBAN,
            "account_holder": f"Huurder {tenant_id}",
            "bsn": PAYOUT_BSN,
            "tax_acknowledged_at": chosen_at,
            "applies_from": date(2020, 1, 1),
            "chosen_at": chosen_at,
            "actor_id": tenant_id,
        }
        for tenant_id in tenant_ids
        if rng.random() < share
    ]
    bulk_insert(PayoutChoice, rows)


def _create_categories(corporation_id: int) -> list[int]:
    ids = reserve_ids(ChoreCategory, len(CATEGORIES))
    bulk_insert(
        ChoreCategory,
        [
            {
                "id": category_id,
                "corporation_id": corporation_id,
                "name_nl": name_nl,
                "name_en": name_en,
                "description": "",
                "briefing_id": None,
                "default_points": points,
                "default_places": 1,
                "is_active": True,
                "created_at": datetime(2020, 1, 1, tzinfo=UTC),
            }
            for category_id, (name_nl, name_en, points) in zip(
                ids, CATEGORIES, strict=True
            )
        ],
    )
    return ids


def spread_work(
    population: Population,
    count: int,
    period: Period,
    *,
    tenant_ids: Sequence[int] | None = None,
    seed: int = 2,
) -> list[Work]:
    """Return ``count`` approvals spread round-robin over tenants and over a month."""
    rng = random.Random(seed)
    tenants = list(tenant_ids or population.tenant_ids)
    days = (period.last_day - period.first_day).days + 1
    works = []
    for index in range(count):
        day = period.first_day + timedelta(days=rng.randrange(days))
        local = datetime.combine(day, time(rng.randrange(8, 21), rng.randrange(60)))
        works.append(
            Work(
                tenant_id=tenants[index % len(tenants)],
                points=rng.randrange(5, 51),
                approved_at=local.replace(tzinfo=AMSTERDAM).astimezone(UTC),
            )
        )
    return works


def add_approved_work(population: Population, works: Iterable[Work]) -> int:
    """Write chores, approved claims and their posted approval journals; return the count.

    Work is written in chunks, so memory stays flat however many approvals
    are generated.
    """
    issued = ledger.corporation_account(
        population.corporation_id, AccountKind.POINTS_ISSUED
    )
    works = iter(works)
    total = 0
    while chunk := list(itertools.islice(works, CHUNK_ROWS)):
        accounts = ensure_points_accounts(
            population.corporation_id, {work.tenant_id for work in chunk}
        )
        _write_approved_chunk(population, chunk, issued.id, accounts)
        total += len(chunk)
    return total


def ensure_points_accounts(corporation_id: int, tenant_ids: set[int]) -> dict[int, int]:
    """Create missing TENANT_POINTS accounts in bulk; return account ids by tenant."""
    existing = _points_accounts(corporation_id, tenant_ids)
    missing = sorted(tenant_ids - existing.keys())
    now = datetime.now(UTC)
    bulk_insert(
        Account,
        [
            {
                "corporation_id": corporation_id,
                "tenant_id": tenant_id,
                "kind": AccountKind.TENANT_POINTS,
                "asset": Asset.POINTS,
                "cached_balance": 0,
                "held_amount": 0,
                "created_at": now,
            }
            for tenant_id in missing
        ],
    )
    if missing:
        existing = _points_accounts(corporation_id, tenant_ids)
    return existing


def _points_accounts(corporation_id: int, tenant_ids: set[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    ordered = sorted(tenant_ids)
    for start in range(0, len(ordered), 5_000):
        rows = db.session.execute(
            select(Account.tenant_id, Account.id).where(
                Account.corporation_id == corporation_id,
                Account.kind == AccountKind.TENANT_POINTS,
                Account.tenant_id.in_(ordered[start : start + 5_000]),
            )
        )
        found.update({tenant_id: account_id for tenant_id, account_id in rows})
    return found


def _write_approved_chunk(
    population: Population,
    works: list[Work],
    issued_account_id: int,
    points_accounts: dict[int, int],
) -> None:
    count = len(works)
    chore_ids = reserve_ids(Chore, count)
    claim_ids = reserve_ids(Claim, count)
    approval_ids = reserve_ids(ClaimApproval, count)
    journal_ids = reserve_ids(Journal, count)

    chores, claims, approvals, journals, postings = [], [], [], [], []
    for index, work in enumerate(works):
        chore_id, claim_id = chore_ids[index], claim_ids[index]
        approval_id, journal_id = approval_ids[index], journal_ids[index]
        cluster_id = population.cluster_of[work.tenant_id]
        caretaker_id = population.caretaker_of[cluster_id]
        title = CHORE_TITLES[chore_id % len(CHORE_TITLES)]
        chores.append(
            chore_row(
                population,
                chore_id,
                cluster_id,
                title,
                work.points,
                opens_at=work.approved_at - timedelta(days=7),
                closes_at=work.approved_at - timedelta(days=1),
            )
        )
        claims.append(
            claim_row(
                claim_id,
                chore_id,
                work.tenant_id,
                ClaimStatus.APPROVED,
                claimed_at=work.approved_at - timedelta(days=3),
                submitted_at=work.approved_at - timedelta(hours=2),
            )
        )
        approvals.append(
            {
                "id": approval_id,
                "claim_id": claim_id,
                "approved_by_id": caretaker_id,
                "approved_at": work.approved_at,
                "needs_second_approval": False,
                "second_approver_id": None,
                "second_approved_at": None,
                "points": work.points,
                "credited_at": work.approved_at,
                "journal_id": journal_id,
            }
        )
        journals.append(
            approval_journal_row(
                population.corporation_id,
                journal_id,
                approval_id,
                work,
                memo=f"{title} (chore {chore_id}, claim {claim_id})",
            )
        )
        postings.append(
            _posting(journal_id, issued_account_id, Side.DEBIT, work.points)
        )
        postings.append(
            _posting(
                journal_id, points_accounts[work.tenant_id], Side.CREDIT, work.points
            )
        )

    bulk_insert(Chore, chores)
    bulk_insert(Claim, claims)
    bulk_insert(Journal, journals)
    bulk_insert(Posting, postings)
    seal_journals(population.corporation_id, journal_ids[0], journal_ids[-1])
    bulk_insert(ClaimApproval, approvals)


def chore_row(
    population: Population,
    chore_id: int,
    cluster_id: int,
    title: str,
    points: int,
    *,
    opens_at: datetime,
    closes_at: datetime,
    places: int = 1,
) -> dict[str, Any]:
    """Return the row of a chore posted by the cluster's caretaker."""
    created_at = opens_at - timedelta(days=1)
    return {
        "id": chore_id,
        "corporation_id": population.corporation_id,
        "cluster_id": cluster_id,
        "category_id": population.category_ids[chore_id % len(population.category_ids)],
        "series_id": None,
        "title": title,
        "description": "Zie de instructies in de bijlage van het complex.",
        "reward_points": points,
        "reward_mode": RewardMode.EACH,
        "places": places,
        "proof": ProofKind.NOTE,
        "claim_opens_at": opens_at,
        "claim_closes_at": closes_at,
        "deadline_at": closes_at + timedelta(days=7),
        "created_by_id": population.caretaker_of[cluster_id],
        "created_at": created_at,
        "updated_at": created_at,
        "cancelled_at": None,
        "cancelled_by_id": None,
        "cancel_reason": None,
        "pot_shared_at": None,
    }


def claim_row(
    claim_id: int,
    chore_id: int,
    tenant_id: int,
    status: ClaimStatus,
    *,
    claimed_at: datetime,
    submitted_at: datetime | None,
    slot: int = 1,
    places: int = 1,
) -> dict[str, Any]:
    """Return the row of a claim holding a place on a chore."""
    submitted = submitted_at is not None
    return {
        "id": claim_id,
        "chore_id": chore_id,
        "chore_places": places,
        "tenant_id": tenant_id,
        "status": status,
        "slot": slot,
        "acceptance_id": None,
        "claimed_at": claimed_at,
        "submitted_at": submitted_at,
        "note": "Klaar, alles netjes achtergelaten." if submitted else None,
        "minutes_spent": 30 + claim_id % 90 if submitted else None,
        "photo_name": None,
        "photo_mime_type": None,
        "photo_sha256": None,
        "rejection_reason": None,
        "updated_at": submitted_at or claimed_at,
    }


def approval_journal_row(
    corporation_id: int, journal_id: int, approval_id: int, work: Work, *, memo: str
) -> dict[str, Any]:
    """Return the draft journal that ``credit_approved_work`` writes for an approval."""
    day = business_date(work.approved_at)
    payload = {
        "operation": "credit_approved_work",
        "tenant_id": work.tenant_id,
        "points": work.points,
        "approval_id": approval_id,
        "approved_at": day.isoformat(),
    }
    return {
        "id": journal_id,
        "corporation_id": corporation_id,
        "kind": JournalKind.APPROVAL,
        "status": JournalStatus.DRAFT,
        "effective_date": day,
        "period": str(Period.of(day)),
        "memo": memo,
        "source_type": "approval",
        "source_id": str(approval_id),
        "rule_version_id": None,
        "idempotency_key": f"approval:{approval_id}",
        "request_hash": request_hash(payload),
        "actor_id": None,
        "reverses_journal_id": None,
        "recorded_at": work.approved_at,
    }


def _posting(journal_id: int, account_id: int, side: Side, amount: int) -> dict:
    return {
        "journal_id": journal_id,
        "account_id": account_id,
        "asset": Asset.POINTS,
        "side": side,
        "amount": amount,
    }


def refresh_statistics() -> None:
    """Commit, then run ANALYZE on PostgreSQL, as autovacuum does after many inserts.

    Without statistics the planner takes the bulk-loaded tables for nearly
    empty: the close's query of a tenant's approval credits then scanned the
    whole month for every tenant (0.5 s each at 100,000 approvals). SQLite is
    left as a default installation leaves it, without statistics.
    """
    db.session.commit()
    if _dialect() == "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def seal_journals(corporation_id: int, first_id: int, last_id: int) -> None:
    """Seal a range of draft journals as posted; the triggers check each one."""
    db.session.execute(
        text(
            "UPDATE ledger_journals SET status = 'posted'"
            " WHERE corporation_id = :corporation AND status = 'draft'"
            " AND id BETWEEN :first AND :last"
        ),
        {"corporation": corporation_id, "first": first_id, "last": last_id},
    )


def add_submitted_work(population: Population, count: int, now: datetime) -> int:
    """Write chores whose window has closed, each with work submitted for review."""
    rng = random.Random(3)
    chore_ids = reserve_ids(Chore, count)
    claim_ids = reserve_ids(Claim, count)
    chores, claims = [], []
    for index, (chore_id, claim_id) in enumerate(
        zip(chore_ids, claim_ids, strict=True)
    ):
        tenant_id = population.tenant_ids[index * 7 % len(population.tenant_ids)]
        cluster_id = population.cluster_of[tenant_id]
        submitted_at = now - timedelta(hours=rng.randrange(1, 96))
        chores.append(
            chore_row(
                population,
                chore_id,
                cluster_id,
                CHORE_TITLES[chore_id % len(CHORE_TITLES)],
                rng.randrange(5, 51),
                opens_at=submitted_at - timedelta(days=6),
                closes_at=submitted_at - timedelta(days=1),
            )
        )
        claims.append(
            claim_row(
                claim_id,
                chore_id,
                tenant_id,
                ClaimStatus.SUBMITTED,
                claimed_at=submitted_at - timedelta(days=2),
                submitted_at=submitted_at,
            )
        )
    bulk_insert(Chore, chores)
    bulk_insert(Claim, claims)
    return count


def add_open_chores(population: Population, per_cluster: int, now: datetime) -> int:
    """Write chores open for claims now, with 1 to 3 places, half of them claimed once."""
    rng = random.Random(4)
    count = per_cluster * len(population.cluster_ids)
    chore_ids = reserve_ids(Chore, count)
    members: dict[int, list[int]] = {}
    for tenant_id, cluster_id in population.cluster_of.items():
        members.setdefault(cluster_id, []).append(tenant_id)
    chores, claims = [], []
    for index, chore_id in enumerate(chore_ids):
        cluster_id = population.cluster_ids[index % len(population.cluster_ids)]
        places = 1 + index % 3
        chores.append(
            chore_row(
                population,
                chore_id,
                cluster_id,
                CHORE_TITLES[chore_id % len(CHORE_TITLES)],
                rng.randrange(5, 51),
                opens_at=now - timedelta(days=rng.randrange(1, 5)),
                closes_at=now + timedelta(days=rng.randrange(3, 15)),
                places=places,
            )
        )
        if index % 2 and members.get(cluster_id):
            claims.append(
                claim_row(
                    0,
                    chore_id,
                    rng.choice(members[cluster_id]),
                    ClaimStatus.CLAIMED,
                    claimed_at=now - timedelta(hours=rng.randrange(1, 24)),
                    submitted_at=None,
                    places=places,
                )
            )
    for claim, claim_id in zip(claims, reserve_ids(Claim, len(claims)), strict=True):
        claim["id"] = claim_id
    bulk_insert(Chore, chores)
    bulk_insert(Claim, claims)
    return count
