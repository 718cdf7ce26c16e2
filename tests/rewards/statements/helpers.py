"""Test data for statements and exports: a corporation with one closed month.

Everything goes through the real ledger and engine services: approved work is
credited in the ledger, tenants choose rent credit or payout, and the engine's
close settles and closes the month.
"""

import io
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import time_machine
from pypdf import PdfReader

from klusbank.accounts.models import User
from klusbank.extensions import db
from klusbank.housing.models import Corporation
from klusbank.timeutil import AMSTERDAM, Period
from rewards.engine import services as engine
from rewards.engine.models import PayoutMethod
from rewards.jobs import close_period
from rewards.ledger import queries as ledger_queries
from rewards.ledger import services as ledger
from rewards.ledger.models import AccountKind
from rewards.statements import batches
from tests.factories import (
    create_corporation,
    create_finance,
    create_tenant,
    create_unit,
)

MONTH = Period(2026, 2)
DEBTOR_IBAN = "NL91ABNA0417164300"
PAYEE_IBAN = "NL91ABNA0417164300"
PAYEE_BSN = "111222333"
_approval_ids = itertools.count(5000)


def amsterdam(year: int, month: int, day: int, hour: int = 12, minute: int = 0):
    """Return the aware UTC moment of an Amsterdam wall-clock time."""
    local = datetime.combine(date(year, month, day), time(hour, minute), AMSTERDAM)
    return local.astimezone(UTC)


# A moment in the month after MONTH, when MONTH is closed and March is open.
AFTER_CLOSE = amsterdam(2026, 3, 3, 10)


@dataclass
class ClosedMonth:
    """A corporation whose MONTH is closed, with its people."""

    corporation: Corporation
    finance: User
    rent_tenant: User  # Dutch, rent credit
    payout_tenant: User  # English, payout
    second_payout_tenant: User  # Dutch, payout
    idle_tenant: User  # no points at all


def credit_chore(
    corporation: Corporation, tenant: User, points: int, at: datetime, title: str
) -> int:
    """Credit approved work to a tenant at a moment; return the journal id."""
    with time_machine.travel(at, tick=False):
        journal = ledger.credit_approved_work(
            corporation.id,
            tenant.id,
            points,
            approval_id=next(_approval_ids),
            approved_at=at,
            memo=title,
        )
    return journal.id


def choose_payout(tenant: User, at: datetime) -> None:
    """Put a tenant on payout with valid bank details and BSN."""
    with time_machine.travel(at, tick=False):
        engine.choose_payout_method(
            tenant,
            method=PayoutMethod.PAYOUT,
            iban=PAYEE_IBAN,
            account_holder=tenant.full_name,
            bsn=PAYEE_BSN,
            acknowledge_tax=True,
        )


def close_month(corporation: Corporation, period: Period = MONTH) -> None:
    """Close a month with the engine's close, just after it ended, and commit."""
    with time_machine.travel(amsterdam(period.next().year, period.next().month, 1, 3)):
        close_period(corporation.id, period, trigger="manual")
        db.session.commit()


def create_closed_month(titles: tuple[str, ...] = ()) -> ClosedMonth:
    """Build a corporation with three earning tenants and close MONTH."""
    corporation = create_corporation(name="Woonstichting Test")
    finance = create_finance(corporation)
    rent_tenant = create_tenant(
        corporation, create_unit(corporation), name="Fatima el Amrani", locale="nl"
    )
    payout_tenant = create_tenant(
        corporation, create_unit(corporation), name="John Smith", locale="en"
    )
    second = create_tenant(
        corporation, create_unit(corporation), name="Zoë de Wit-Øster", locale="nl"
    )
    idle = create_tenant(corporation, create_unit(corporation), name="Idle Tenant")
    with time_machine.travel(amsterdam(2026, 1, 15), tick=False):
        engine.create_rule_version(
            finance,
            effective_from=date(2026, 1, 1),
            rent_credit_rate_cents=10,
            payout_rate_cents=25,
            payout_rate_points=2,
        )
    choose_payout(payout_tenant, amsterdam(2026, 2, 2))
    choose_payout(second, amsterdam(2026, 2, 2))

    credit_chore(corporation, rent_tenant, 30, amsterdam(2026, 2, 3), "Trap vegen")
    credit_chore(corporation, rent_tenant, 12, amsterdam(2026, 2, 28, 23, 30), "Bak")
    credit_chore(corporation, payout_tenant, 40, amsterdam(2026, 2, 10), "Tuin")
    credit_chore(corporation, payout_tenant, 7, amsterdam(2026, 2, 11), "Lamp")
    credit_chore(corporation, second, 55, amsterdam(2026, 2, 12), "Glas")
    for index, title in enumerate(titles):
        credit_chore(
            corporation, rent_tenant, 1, amsterdam(2026, 2, 14, 9, index), title
        )
    db.session.commit()
    close_month(corporation)
    return ClosedMonth(corporation, finance, rent_tenant, payout_tenant, second, idle)


def set_debtor(world: ClosedMonth) -> None:
    """Give the corporation an account to pay payouts from."""
    batches.set_debtor_account(
        world.finance,
        world.corporation.id,
        account_holder="Woonstichting Test",
        iban=DEBTOR_IBAN,
    )


def account_movement(
    corporation_id: int, tenant_id: int, kind: AccountKind, period: Period
) -> int:
    """Return how much a tenant account changed in a month, from ledger balances."""
    account = ledger.tenant_account(corporation_id, tenant_id, kind)
    before = ledger_queries.balance(account.id, period.first_day - timedelta(days=1))
    return ledger_queries.balance(account.id, period.last_day) - before


def pdf_text(content: bytes) -> str:
    """Return the text of every page of a PDF, whitespace collapsed to single spaces."""
    reader = PdfReader(io.BytesIO(content))
    text = " ".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text.replace("\xa0", " "))
