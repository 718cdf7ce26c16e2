from sqlalchemy import func, select

from klusbank.demo import seed_housing
from klusbank.extensions import db
from liability import demo, queries
from liability.models import Acceptance, BriefingVersion, Channel, Withdrawal


def test_demo_briefings_have_history_and_evidence(app):
    context = seed_housing()
    demo.seed(context)
    garden = context.extra["briefings"]["tuin"]

    materials = db.session.scalars(
        select(BriefingVersion.locale).where(
            BriefingVersion.briefing_id == garden.id,
            BriefingVersion.version_number == 2,
            BriefingVersion.is_material.is_(True),
        )
    ).all()
    portal = db.session.scalar(
        select(func.count()).where(Acceptance.channel == Channel.PORTAL)
    )
    paper = db.session.scalar(
        select(func.count()).where(Acceptance.channel == Channel.PAPER)
    )
    withdrawals = db.session.scalar(select(func.count(Withdrawal.id)))
    assert set(context.extra["briefings"]) == {"tuin", "klussen", "trappenhuis"}
    assert sorted(materials) == ["en", "nl"]
    assert portal >= 100
    assert paper == 1
    assert withdrawals == 1


def test_demo_passes_verify_and_acceptances_cover(app, runner):
    context = seed_housing()
    demo.seed(context)
    db.session.commit()

    result = runner.invoke(args=["liability", "verify", "--corporation", "demo"])

    assert result.exit_code == 0, result.output
    briefings = context.extra["briefings"]
    tenants = {tenant.id: tenant for tenant in context.tenants}
    for (tenant_id, code), acceptance in context.extra["briefing_acceptances"].items():
        covering = queries.covering_acceptance(tenants[tenant_id], briefings[code])
        assert covering is not None, (tenant_id, code)
        assert covering.id == acceptance.id
