from datetime import date
from decimal import Decimal

import pytest

from rewards.statements.exports.csv_cells import (
    Amount,
    CsvDialect,
    format_amount,
    neutralise_formula,
)
from rewards.statements.exports.ledger_csv import LedgerPostingRow, write_ledger_csv
from rewards.statements.exports.payees import PayeeRow, write_payees_csv
from rewards.statements.exports.rent_credit import RentCreditRow, write_rent_credit_csv
from tests.rewards.statements.spreadsheet import (
    DUTCH_CSV_FILTER,
    PLAIN_CSV_FILTER,
    open_in_calc,
)

HOSTILE_TEXTS = (
    '=HYPERLINK("http://169.254.169.254/","klik")',
    "+31 6 1234",
    "-2+3",
    "@SUM(A1:A2)",
    "\tcmd",
    "\r=1+1",
    "  =1+1",
)


def rent_rows() -> list[RentCreditRow]:
    return [
        RentCreditRow("VHE-ZON-001", "HC-20000", "2026-11", 1234),
        RentCreditRow("VHE-ZON-002", "=1+2", "2026-11", -500),
        RentCreditRow("VHE;LIN,003", 'HC "quoted"', "2026-11", 123456789),
        RentCreditRow("VHE-LIN-004", "HC-20003", "2026-11", 7),
    ]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_formula_text_gets_apostrophe(text):
    assert neutralise_formula(text) == "'" + text


def test_plain_text_stays_unchanged():
    assert neutralise_formula("Trappenhuis vegen") == "Trappenhuis vegen"


@pytest.mark.parametrize(
    ("minor_units", "dialect", "expected"),
    [
        (0, CsvDialect.NL, "0,00"),
        (7, CsvDialect.NL, "0,07"),
        (-7, CsvDialect.NL, "-0,07"),
        (123456789, CsvDialect.NL, "1234567,89"),
        (-123456, CsvDialect.PLAIN, "-1234.56"),
    ],
)
def test_amount_written_exactly(minor_units, dialect, expected):
    assert format_amount(Amount(minor_units), dialect) == expected


def test_points_amount_has_no_decimals():
    assert format_amount(Amount(-15, scale=0), CsvDialect.NL) == "-15"


def test_dutch_rent_credit_csv_form():
    content = write_rent_credit_csv(rent_rows(), CsvDialect.NL)

    assert content.startswith(b"\xef\xbb\xbf")
    lines = content[3:].decode("utf-8").split("\r\n")
    assert lines[0] == "unit_external_id;tenant_reference;month;amount_eur"
    assert lines[1] == "VHE-ZON-001;HC-20000;2026-11;12,34"
    assert lines[2] == "VHE-ZON-002;'=1+2;2026-11;-5,00"
    assert lines[3] == '"VHE;LIN,003";"HC ""quoted""";2026-11;1234567,89'


def test_plain_rent_credit_csv_form():
    content = write_rent_credit_csv(rent_rows(), CsvDialect.PLAIN)

    assert not content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8").split("\r\n")
    assert lines[0] == "unit_external_id,tenant_reference,month,amount_eur"
    assert lines[2] == "VHE-ZON-002,'=1+2,2026-11,-5.00"
    assert lines[3] == '"VHE;LIN,003","HC ""quoted""",2026-11,1234567.89'


@pytest.mark.parametrize(
    ("dialect", "csv_filter"),
    [(CsvDialect.NL, DUTCH_CSV_FILTER), (CsvDialect.PLAIN, PLAIN_CSV_FILTER)],
)
def test_calc_reads_amounts_as_numbers(tmp_path, dialect, csv_filter):
    path = tmp_path / "rent-credit.csv"
    path.write_bytes(write_rent_credit_csv(rent_rows(), dialect))

    rows = open_in_calc(path, tmp_path, csv_filter)

    assert [cell.value for cell in rows[0]] == [
        "unit_external_id",
        "tenant_reference",
        "month",
        "amount_eur",
    ]
    amounts = [row[3] for row in rows[1:]]
    assert [cell.value_type for cell in amounts] == ["float"] * 4
    assert [Decimal(cell.value) for cell in amounts] == [
        Decimal("12.34"),
        Decimal("-5"),
        Decimal("1234567.89"),
        Decimal("0.07"),
    ]
    assert rows[3][0].value == "VHE;LIN,003"
    assert rows[3][1].value == 'HC "quoted"'


def test_calc_runs_no_formula_from_text(tmp_path):
    rows_in = [RentCreditRow("VHE-1", text, "2026-11", 100) for text in HOSTILE_TEXTS]
    path = tmp_path / "hostile.csv"
    path.write_bytes(write_rent_credit_csv(rows_in, CsvDialect.NL))

    rows = open_in_calc(path, tmp_path, DUTCH_CSV_FILTER)

    references = [row[1] for row in rows[1:]]
    assert all(cell.formula is None for cell in references)
    assert all(cell.value_type == "string" for cell in references)
    assert all(row[3].value_type == "float" for row in rows[1:])


def posting_row(**overrides) -> LedgerPostingRow:
    fields = {
        "journal_id": 7,
        "journal_kind": "approval",
        "effective_date": date(2026, 11, 3),
        "recorded_at": "2026-11-03T10:00:00+00:00",
        "account_id": 3,
        "account_kind": "tenant_points",
        "tenant_reference": "HC-1",
        "asset": "points",
        "scale": 0,
        "side": "credit",
        "amount": 40,
        "memo": "Trap vegen",
        "source_type": "approval",
        "source_id": "12",
        "rule_version": None,
        "reverses_journal_id": None,
    }
    fields.update(overrides)
    return LedgerPostingRow(**fields)


def test_ledger_csv_writes_points_and_cents():
    rows = [
        posting_row(memo="@Trap vegen"),
        posting_row(
            journal_id=9,
            journal_kind="settlement",
            asset="eur",
            scale=2,
            amount=1005,
            rule_version="3",
        ),
    ]

    lines = write_ledger_csv(rows, CsvDialect.PLAIN).decode("utf-8").split("\r\n")

    assert lines[0].startswith("journal_id,journal_kind,effective_date")
    assert lines[1].split(",")[9] == "40"
    assert lines[1].split(",")[10] == "'@Trap vegen"
    assert lines[2].split(",")[9] == "10.05"
    assert lines[2].split(",")[13] == "3"


def test_payees_csv_lists_bsn_and_total():
    rows = [
        PayeeRow(
            bsn="111222333",
            name="Jan de Vries",
            street_and_number="Lindenlaan 1",
            postcode="3022AB",
            city="Rotterdam",
            date_of_birth=date(1970, 5, 17),
            year=2026,
            payment_count=3,
            total_paid_cents=4550,
        )
    ]

    lines = write_payees_csv(rows, CsvDialect.NL)[3:].decode("utf-8").split("\r\n")

    assert lines[1] == (
        "111222333;Jan de Vries;Lindenlaan 1;3022AB;Rotterdam;1970-05-17;2026;3;45,50"
    )
