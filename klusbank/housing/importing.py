"""CSV import of clusters, units and tenants: all rows or none.

Every row is checked before anything is written; a file with any bad row
imports nothing and returns every problem with its line number. The delimiter
(comma or semicolon, as Dutch spreadsheets write) is detected from the header
by the standard library's ``csv.Sniffer``; a UTF-8 byte order mark is accepted.
"""

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from klusbank.accounts.models import Role, User
from klusbank.accounts.services import create_user, normalise_email
from klusbank.extensions import db
from klusbank.housing.models import (
    Cluster,
    ClusterKind,
    ClusterMembership,
    Corporation,
    Tenancy,
    Unit,
)

CLUSTER_COLUMNS = ("code", "name", "kind")
UNIT_COLUMNS = (
    "external_id",
    "bag_id",
    "street",
    "house_number",
    "postcode",
    "city",
    "clusters",
)
TENANT_COLUMNS = (
    "email",
    "full_name",
    "unit_external_id",
    "reference",
    "starts_on",
    "ends_on",
    "locale",
)


@dataclass
class ImportReport:
    """Outcome of an import: rows written, or the problems that stopped it."""

    created: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class RowError(ValueError):
    """A problem with one row; the message names the column and the fix."""


def read_rows(
    text: str, required: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) pairs; raise RowError on a wrong header."""
    text = text.lstrip("\ufeff")
    first_line = text.splitlines()[0] if text else ""
    try:
        dialect = csv.Sniffer().sniff(first_line, delimiters=",;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in required if name not in header]
    if missing:
        raise RowError(
            f"line 1: missing column(s) {', '.join(missing)}; "
            f"the header must contain {', '.join(required)}"
        )
    reader.fieldnames = header
    for row in reader:
        cleaned = {key: (value or "").strip() for key, value in row.items() if key}
        if None in row:
            raise RowError(f"line {reader.line_num}: more cells than header columns")
        yield reader.line_num, cleaned


def _parse_date(value: str, column: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(f"{column} {value!r} is not a date; use YYYY-MM-DD") from None


def _require(row: dict[str, str], column: str) -> str:
    if not row.get(column):
        raise RowError(f"{column} is empty; fill it in")
    return row[column]


def _run_import(
    text: str,
    columns: tuple[str, ...],
    check_row: Callable[[dict[str, str], dict[str, Any]], Any],
) -> tuple[list[Any], ImportReport]:
    report = ImportReport()
    state: dict[str, Any] = {}
    parsed: list[Any] = []
    try:
        rows = list(read_rows(text, columns))
    except RowError as error:
        report.problems.append(str(error))
        return [], report
    if not rows:
        report.problems.append("the file has no data rows")
    for line, row in rows:
        try:
            parsed.append(check_row(row, state))
        except RowError as error:
            report.problems.append(f"line {line}: {error}")
    return parsed, report


def import_clusters(corporation: Corporation, text: str) -> ImportReport:
    """Import clusters (code, name, kind) into a corporation."""
    existing = set(
        db.session.scalars(
            select(Cluster.code).where(Cluster.corporation_id == corporation.id)
        )
    )
    kinds = {kind.value for kind in ClusterKind}

    def check(row: dict[str, str], state: dict[str, Any]) -> Cluster:
        code = _require(row, "code")
        if code in existing or code in state.setdefault("seen", set()):
            raise RowError(f"cluster code {code!r} already exists")
        state["seen"].add(code)
        kind = _require(row, "kind")
        if kind not in kinds:
            raise RowError(
                f"kind {kind!r} is invalid; use one of {', '.join(sorted(kinds))}"
            )
        return Cluster(
            corporation_id=corporation.id,
            code=code,
            name=_require(row, "name"),
            kind=ClusterKind(kind),
        )

    clusters, report = _run_import(text, CLUSTER_COLUMNS, check)
    if report.ok:
        db.session.add_all(clusters)
        db.session.flush()
        report.created = len(clusters)
    return report


def import_units(corporation: Corporation, text: str) -> ImportReport:
    """Import units with their cluster memberships (cluster codes separated by ``|``)."""
    clusters = {
        c.code: c
        for c in db.session.scalars(
            select(Cluster).where(Cluster.corporation_id == corporation.id)
        )
    }
    existing = set(
        db.session.scalars(
            select(Unit.external_id).where(Unit.corporation_id == corporation.id)
        )
    )

    def check(row: dict[str, str], state: dict[str, Any]) -> tuple[Unit, list[Cluster]]:
        external_id = _require(row, "external_id")
        if external_id in existing or external_id in state.setdefault("seen", set()):
            raise RowError(f"unit {external_id!r} already exists")
        state["seen"].add(external_id)
        bag_id = row.get("bag_id") or None
        if bag_id and not (len(bag_id) == 16 and bag_id.isdigit()):
            raise RowError(f"bag_id {bag_id!r} is invalid; a BAG id has 16 digits")
        postcode = _require(row, "postcode").replace(" ", "").upper()
        if not (
            len(postcode) == 6 and postcode[:4].isdigit() and postcode[4:].isalpha()
        ):
            raise RowError(
                f"postcode {row['postcode']!r} is invalid; use the form 1234AB"
            )
        codes = [
            code.strip() for code in row.get("clusters", "").split("|") if code.strip()
        ]
        unknown = [code for code in codes if code not in clusters]
        if unknown:
            raise RowError(
                f"unknown cluster(s) {', '.join(unknown)}; import the clusters first"
            )
        unit = Unit(
            corporation_id=corporation.id,
            external_id=external_id,
            bag_id=bag_id,
            street=_require(row, "street"),
            house_number=_require(row, "house_number"),
            postcode=postcode,
            city=_require(row, "city"),
        )
        return unit, [clusters[code] for code in codes]

    parsed, report = _run_import(text, UNIT_COLUMNS, check)
    if report.ok:
        for unit, unit_clusters in parsed:
            db.session.add(unit)
            db.session.flush()
            db.session.add_all(
                ClusterMembership(cluster_id=c.id, unit_id=unit.id)
                for c in unit_clusters
            )
        db.session.flush()
        report.created = len(parsed)
    return report


def import_tenants(corporation: Corporation, text: str) -> ImportReport:
    """Import tenants and their tenancies; new users get an invitation later."""
    units = {
        u.external_id: u
        for u in db.session.scalars(
            select(Unit).where(Unit.corporation_id == corporation.id)
        )
    }
    users = {u.email: u for u in db.session.scalars(select(User))}

    def check(row: dict[str, str], state: dict[str, Any]) -> dict[str, Any]:
        email = normalise_email(_require(row, "email"))
        if "@" not in email:
            raise RowError(f"email {email!r} is invalid")
        user = users.get(email)
        if user is not None and user.corporation_id != corporation.id:
            raise RowError(f"email {email!r} belongs to a user of another corporation")
        unit_id = _require(row, "unit_external_id")
        unit = units.get(unit_id)
        if unit is None:
            raise RowError(
                f"unit_external_id {unit_id!r} is unknown; import the unit first"
            )
        starts_on = _parse_date(_require(row, "starts_on"), "starts_on")
        ends_on = _parse_date(row["ends_on"], "ends_on") if row.get("ends_on") else None
        if ends_on and ends_on < starts_on:
            raise RowError("ends_on is before starts_on")
        locale = row.get("locale") or "nl"
        if locale not in ("nl", "en"):
            raise RowError(f"locale {locale!r} is invalid; use nl or en")
        reference = _require(row, "reference")
        key = (unit.id, reference)
        if key in state.setdefault("refs", set()):
            raise RowError(f"reference {reference!r} appears twice for unit {unit_id}")
        state["refs"].add(key)
        return {
            "email": email,
            "full_name": _require(row, "full_name"),
            "unit": unit,
            "reference": reference,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "locale": locale,
        }

    parsed, report = _run_import(text, TENANT_COLUMNS, check)
    if not report.ok:
        return report
    for item in parsed:
        user = users.get(item["email"])
        if user is None:
            user = create_user(
                corporation,
                email=item["email"],
                full_name=item["full_name"],
                roles=[Role.TENANT],
                locale=item["locale"],
            )
            users[user.email] = user
        db.session.add(
            Tenancy(
                user_id=user.id,
                unit_id=item["unit"].id,
                reference=item["reference"],
                starts_on=item["starts_on"],
                ends_on=item["ends_on"],
            )
        )
    db.session.flush()
    report.created = len(parsed)
    return report
