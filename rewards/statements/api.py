"""JSON API of the rewards statements: a tenant's own statements and their figures."""

from flask import Blueprint, abort, url_for
from flask_login import current_user

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.openapi import operation
from klusbank.timeutil import Period
from rewards.statements import services
from rewards.statements.schemas import StatementListSchema, StatementSchema

bp = Blueprint("rewards_statements_api", __name__)
TAGS = ["statements"]


@bp.get("/statements")
@roles_required(Role.TENANT)
@operation(
    summary="List the tenant's monthly statements and yearly payout overviews",
    tags=TAGS,
    responses={200: ("Statements, newest first.", StatementListSchema)},
)
def list_statements():
    """Return the closed months and ended years the tenant has files for."""
    periods = services.tenant_statement_periods(current_user)
    years = services.tenant_payout_years(current_user)
    return StatementListSchema().dump(
        {
            "statements": [
                {"period": str(period), "download_url": _statement_url(period)}
                for period in periods
            ],
            "yearly_overviews": [
                {
                    "year": year,
                    "download_url": url_for(
                        "rewards_statements.my_yearly_pdf", year=year
                    ),
                }
                for year in years
            ],
        }
    )


@bp.get("/statements/<period>")
@roles_required(Role.TENANT)
@operation(
    summary="Return the figures of one of the tenant's monthly statements",
    tags=TAGS,
    responses={200: ("The statement's figures.", StatementSchema)},
)
def get_statement(period: str):
    """Return the figures of the tenant's statement of a closed month."""
    try:
        month = Period.parse(period)
    except ValueError:
        abort(404)
    document = services.statement_data_for(current_user, month)
    body = StatementSchema().dump(document)
    body["download_url"] = _statement_url(month)
    return body


def _statement_url(period: Period) -> str:
    return url_for("rewards_statements.my_statement_pdf", period=str(period))
