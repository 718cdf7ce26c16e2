"""Portal pages of the rewards engine: payout choice, close preview, closes, rules."""

import logging

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.accounts.services import record_audit
from klusbank.db import utcnow
from klusbank.errors import InvalidInput, RuleViolation
from klusbank.extensions import db
from klusbank.forms import form_errors, form_status
from klusbank.housing.models import Corporation
from klusbank.nav import add_nav_entry
from klusbank.timeutil import Period
from rewards.engine import queries, services
from rewards.engine.forms import CloseForm, PayoutChoiceForm, RuleVersionForm
from rewards.engine.models import PayoutMethod
from rewards.engine.rules import rule_versions
from rewards.jobs import close_order_problem, close_period, prepare_close
from rewards.ledger import services as ledger
from rewards.ledger.models import PeriodStatus

logger = logging.getLogger(__name__)

bp = Blueprint("rewards_engine", __name__, url_prefix="/rewards")


def register_nav(app: Flask) -> None:
    """Add the engine's pages to the portal menu."""
    add_nav_entry(
        app,
        "rewards_engine.payout_choice",
        "Rent credit or payout",
        Role.TENANT,
        order=60,
    )
    add_nav_entry(
        app, "rewards_engine.close_preview", "Monthly close", Role.FINANCE, order=60
    )
    add_nav_entry(
        app, "rewards_engine.close_history", "Closed months", Role.FINANCE, order=61
    )
    add_nav_entry(app, "rewards_engine.rules", "Reward rules", Role.FINANCE, order=62)


def _attach_errors(form, errors: dict) -> None:
    for name, messages in errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)


def _form_status() -> int:
    """Return 422 for a form sent back with errors, 200 for a form shown."""
    return 422 if request.method == "POST" else 200


@bp.route("/payout", methods=["GET", "POST"])
@roles_required(Role.TENANT)
def payout_choice():
    """Show and change the tenant's choice between rent credit and payout."""
    form = PayoutChoiceForm()
    latest = queries.latest_payout_choice(current_user.id)
    if request.method == "GET" and latest is not None:
        form.method.data = latest.method.value
        form.account_holder.data = latest.account_holder
    if form.validate_on_submit():
        with form_errors(form):
            choice = services.choose_payout_method(
                current_user,
                method=PayoutMethod(form.method.data),
                iban=form.iban.data,
                account_holder=form.account_holder.data,
                bsn=form.bsn.data,
                acknowledge_tax=form.acknowledge_tax.data,
            )
            applies_from = Period.of(choice.applies_from)
            db.session.commit()
            flash(
                _(
                    "Your choice is saved. It applies from the settlement of %(month)s.",
                    month=str(applies_from),
                ),
                "success",
            )
            return redirect(url_for(".payout_choice"))
    # Bank details and BSN are never sent back to the browser in full, so the
    # page asks a tenant whose form came back to type them again.
    if request.method == "POST" and (form.iban.data or form.bsn.data):
        form.form_errors.append(
            _(
                "For your safety, the IBAN and BSN you typed are not shown again. "
                "Enter them once more."
            )
        )
    form.iban.data = ""
    form.bsn.data = ""
    applies_from = services.next_close_period(current_user.corporation_id)
    page = render_template(
        "rewards/engine/payout.html",
        form=form,
        latest=latest,
        applies_from=applies_from,
        in_force=queries.payout_choice_for(current_user.id, applies_from),
    )
    return page, form_status(form)


def _corporation() -> Corporation:
    return db.session.get(Corporation, current_user.corporation_id)


def _requested_period(default: Period) -> Period:
    text = request.args.get("period")
    if not text:
        return default
    try:
        return Period.parse(text)
    except ValueError:
        abort(404)


@bp.get("/finance/close")
@roles_required(Role.FINANCE)
def close_preview():
    """Preview the coming close: per tenant the amount, the caps and what carries over."""
    corporation = _corporation()
    period = _requested_period(services.next_close_period(corporation.id))
    status = ledger.period_status(corporation.id, period)
    plans, lines, problem = [], [], None
    if status == PeriodStatus.CLOSED:
        lines = queries.settlement_lines(corporation.id, period)
    else:
        try:
            order_problem = close_order_problem(corporation.id, period)
            if order_problem is not None:
                raise order_problem
            plans = queries.preview_close(corporation.id, period)
        except RuleViolation as error:
            problem = error.message
    tenant_ids = [plan.tenant_id for plan in plans] + [line.tenant_id for line in lines]
    return render_template(
        "rewards/engine/close_preview.html",
        period=period,
        status=status,
        plans=plans,
        lines=lines,
        problem=problem,
        names=queries.user_names(tenant_ids),
        form=CloseForm(period=str(period)),
        run=queries.close_run(corporation.id, period),
        has_ended=utcnow() >= period.ends_at,
        totals=_plan_totals(plans),
    )


def _plan_totals(plans) -> dict[str, int]:
    totals = {"rent_credit": 0, "payout": 0, "carried": 0, "expired": 0}
    for plan in plans:
        key = "payout" if plan.method == PayoutMethod.PAYOUT else "rent_credit"
        totals[key] += plan.result.amount_cents
        totals["carried"] += plan.result.carried_points
        totals["expired"] += plan.result.expired_points
    return totals


@bp.post("/finance/close")
@roles_required(Role.FINANCE)
def run_close():
    """Close a month by hand after the finance user confirmed the preview."""
    form = CloseForm()
    try:
        period = Period.parse(form.period.data or "")
    except ValueError:
        flash(_("Choose a month to close from the preview."), "error")
        return redirect(url_for(".close_preview"))

    if not form.validate_on_submit():
        flash(_("Tick the box to confirm the close."), "error")
        return redirect(url_for(".close_preview", period=str(period)))
    corporation = _corporation()
    # Accounts first, in their own transaction; see prepare_close.
    prepare_close(corporation.id, period)
    db.session.commit()
    result = close_period(
        corporation.id, period, trigger="portal", actor_id=current_user.id
    )
    record_audit(
        "period.closed",
        actor=current_user,
        subject=f"period:{period}",
        already_closed=result.already_closed,
        tenants_settled=result.tenants_settled,
    )
    db.session.commit()

    if result.already_closed:
        flash(_("%(month)s was already closed.", month=str(period)), "info")
    else:
        flash(
            _(
                "%(month)s is closed: %(count)d tenants settled.",
                month=str(period),
                count=result.tenants_settled,
            ),
            "success",
        )
    return redirect(url_for(".close_history"))


@bp.get("/finance/closes")
@roles_required(Role.FINANCE)
def close_history():
    """List the closed months with their counts and totals."""
    corporation = _corporation()
    runs = queries.close_runs(corporation.id)
    actor_ids = [run.actor_id for run in runs if run.actor_id is not None]
    return render_template(
        "rewards/engine/close_history.html",
        runs=runs,
        names=queries.user_names(actor_ids),
    )


def _parse_multipliers(text: str) -> dict[str, int]:
    """Parse 'code = per mille' lines; raise InvalidInput naming the bad line."""
    multipliers = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        code, _sep, value = line.partition("=")
        code = code.strip()
        if code.casefold() in {known.casefold() for known in multipliers}:
            message = _(
                "Line %(number)d repeats the category %(code)s; give each "
                "category one line.",
                number=number,
                code=code,
            )
            raise InvalidInput(message, errors={"category_multipliers": [message]})
        try:
            multipliers[code] = int(value.strip())
        except ValueError:
            message = _(
                "Line %(number)d is invalid; write it as: category code = 1500.",
                number=number,
            )
            raise InvalidInput(message, errors={"category_multipliers": [message]})
    return multipliers


@bp.route("/finance/rules", methods=["GET", "POST"])
@roles_required(Role.FINANCE)
def rules():
    """List the rule versions and add a new one."""
    corporation = _corporation()
    form = RuleVersionForm()
    if request.method == "GET":
        form.effective_from.data = (
            services.next_close_period(corporation.id).next().first_day
        )
    if form.validate_on_submit():
        try:
            version = services.create_rule_version(
                current_user,
                effective_from=form.effective_from.data,
                rent_credit_rate_cents=form.rent_credit_rate_cents.data,
                rent_credit_rate_points=form.rent_credit_rate_points.data,
                payout_rate_cents=form.payout_rate_cents.data,
                payout_rate_points=form.payout_rate_points.data,
                weekend_multiplier_permille=form.weekend_multiplier_permille.data,
                category_multipliers=_parse_multipliers(form.category_multipliers.data),
                rent_credit_cap_month_cents=form.rent_credit_cap_month_cents.data,
                rent_credit_cap_year_cents=form.rent_credit_cap_year_cents.data,
                payout_cap_month_cents=form.payout_cap_month_cents.data,
                payout_cap_year_cents=form.payout_cap_year_cents.data,
                minimum_payout_cents=form.minimum_payout_cents.data,
                expiry_months=form.expiry_months.data,
                is_volunteer_allowance=form.is_volunteer_allowance.data,
                note=form.note.data or "",
            )
        except (InvalidInput, RuleViolation) as error:
            db.session.rollback()
            _attach_errors(form, error.errors)
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(
                _(
                    "Rule version saved; it applies from %(day)s.",
                    day=version.effective_from.isoformat(),
                ),
                "success",
            )
            return redirect(url_for(".rules"))
    page = render_template(
        "rewards/engine/rules.html",
        form=form,
        versions=rule_versions(corporation.id),
        volunteer_limits=queries.volunteer_limits(),
    )
    return page, _form_status()
