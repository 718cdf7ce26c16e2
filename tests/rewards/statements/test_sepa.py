from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from rewards.statements.exports.sepa import (
    NAMESPACE,
    SepaAccount,
    SepaBatch,
    SepaPayment,
    SepaValidationError,
    build_pain001,
    format_sepa_amount,
    sepa_identifier,
    sepa_text,
    validate_pain001,
)

NS = {"p": NAMESPACE}


def make_batch(*amounts_cents: int, names: tuple[str, ...] = ()) -> SepaBatch:
    payments = [
        SepaPayment(
            end_to_end_id=f"KB7-{index}",
            creditor=SepaAccount(
                names[index] if index < len(names) else f"Huurder {index}",
                "NL02 RABO 0123 4567 89",
            ),
            amount_cents=amount,
            remittance="Klusbank uitbetaling november 2026",
        )
        for index, amount in enumerate(amounts_cents)
    ]
    return SepaBatch(
        message_id="KB7-0011223344556677",
        payment_information_id="KB7-0011223344556677-P",
        created_at=datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC),
        execution_date=date(2026, 12, 4),
        debtor=SepaAccount("Woonstichting De Klusbank", "NL91ABNA0417164300"),
        payments=payments,
    )


def texts(xml: bytes, path: str) -> list[str]:
    return [
        element.text for element in etree.fromstring(xml).xpath(path, namespaces=NS)
    ]


def test_batch_validates_and_sums_to_the_cent():
    xml = build_pain001(make_batch(1, 10, 99, 1234567))

    validate_pain001(xml)
    assert texts(xml, "//p:GrpHdr/p:CtrlSum") == ["12346.77"]
    assert texts(xml, "//p:PmtInf/p:CtrlSum") == ["12346.77"]
    assert texts(xml, "//p:GrpHdr/p:NbOfTxs") == ["4"]
    assert texts(xml, "//p:InstdAmt") == ["0.01", "0.10", "0.99", "12345.67"]
    assert sum(Decimal(value) for value in texts(xml, "//p:InstdAmt")) == Decimal(
        "12346.77"
    )


def test_batch_fixes_creation_time_and_ids():
    xml = build_pain001(make_batch(500))

    assert texts(xml, "//p:CreDtTm") == ["2026-12-01T10:30:15"]
    assert texts(xml, "//p:MsgId") == ["KB7-0011223344556677"]
    assert texts(xml, "//p:EndToEndId") == ["KB7-0"]
    assert texts(xml, "//p:CdtrAcct/p:Id/p:IBAN") == ["NL02RABO0123456789"]


def test_same_batch_gives_same_bytes():
    assert build_pain001(make_batch(500, 700)) == build_pain001(make_batch(500, 700))


def test_names_reduced_to_sepa_set():
    long_name = "Zoë Ğül-Øverlië & Søren Straße " + "x" * 80
    xml = build_pain001(make_batch(100, names=(long_name,)))

    [name] = texts(xml, "//p:Cdtr/p:Nm")
    assert name.startswith("Zoe Gul-Overlie + Soren Strasse x")
    assert len(name) == 70


def test_remittance_cut_to_140():
    assert len(sepa_text("Klus " * 60, 140)) <= 140


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fatima el Amrani", "Fatima el Amrani"),
        ("Ça va? (ja) 'nee' 1/2 + 3,5.", "Ca va? (ja) 'nee' 1/2 + 3,5."),
        ('Émile "Brontë"   Ørsted\n', "Emile Bronte Orsted"),
        ("日本語", ""),
        ("<script>&amp;", "script +amp"),
    ],
)
def test_sepa_text_keeps_only_latin_set(text, expected):
    assert sepa_text(text, 70) == expected


def test_identifier_has_no_double_slash_or_space():
    assert sepa_identifier("/KB demo//2026-11 é/") == "KBdemo/2026-11e"


def test_name_without_latin_letters_rejected():
    with pytest.raises(ValueError, match="Latin letters"):
        build_pain001(make_batch(100, names=("日本語",)))


def test_zero_amount_rejected():
    with pytest.raises(ValueError, match="at least 1 cent"):
        build_pain001(make_batch(0))


def test_negative_amount_cannot_be_formatted():
    with pytest.raises(ValueError, match="negative"):
        format_sepa_amount(-1)


def test_empty_batch_rejected():
    with pytest.raises(ValueError, match="at least one payment"):
        build_pain001(make_batch())


def test_schema_rejects_broken_document():
    xml = build_pain001(make_batch(100)).replace(b"<ChrgBr>SLEV", b"<ChrgBr>NOPE")

    with pytest.raises(SepaValidationError, match="ChrgBr"):
        validate_pain001(xml)


def test_schema_rejects_entity_expansion():
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<Document>&e;</Document>"
    )

    with pytest.raises(SepaValidationError):
        validate_pain001(xml)
