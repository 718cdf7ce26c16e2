"""SEPA credit transfer initiation (pain.001.001.03) for payout batches.

The file is built with lxml from plain data and validated against the official
ISO 20022 schema that the sepaxml package ships, before anyone can download
it. Everything in it comes from the batch, including the creation time, so
exporting a batch again gives the same bytes. The bank then receives the same
message id again and rejects the second upload as a duplicate instead of
paying twice.
"""

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources

from lxml import etree

from klusbank.timeutil import AMSTERDAM

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
NAME_MAX_LENGTH = 70
REMITTANCE_MAX_LENGTH = 140
IDENTIFIER_MAX_LENGTH = 35
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# The Latin character set that every SEPA bank accepts: letters, digits,
# space and / - ? : ( ) . , ' +.
_NOT_SEPA_TEXT = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
_NOT_SEPA_IDENTIFIER = re.compile(r"[^A-Za-z0-9/\-?:().,'+]")
# Letters that NFKD does not split into a base letter and an accent.
_TRANSLITERATIONS = str.maketrans(
    {
        "ß": "ss",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Ø": "O",
        "ø": "o",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ð": "D",
        "ð": "d",
        "Þ": "Th",
        "þ": "th",
        "ı": "i",
        "&": "+",
        "’": "'",
        "‘": "'",
        "–": "-",
        "—": "-",
        "€": "EUR",
    }
)


class SepaValidationError(ValueError):
    """The generated pain.001 document does not match the schema."""


@dataclass(frozen=True)
class SepaAccount:
    """An account holder with IBAN and, where the bank needs it, BIC."""

    name: str
    iban: str
    bic: str | None = None


@dataclass(frozen=True)
class SepaPayment:
    """One credit transfer of a batch."""

    end_to_end_id: str
    creditor: SepaAccount
    amount_cents: int
    remittance: str


@dataclass(frozen=True)
class SepaBatch:
    """A payout batch as the bank receives it: one payment information block."""

    message_id: str
    payment_information_id: str
    created_at: datetime
    execution_date: date
    debtor: SepaAccount
    payments: Sequence[SepaPayment]

    @property
    def control_sum_cents(self) -> int:
        return sum(payment.amount_cents for payment in self.payments)


def sepa_text(text: str, max_length: int) -> str:
    """Reduce text to the SEPA Latin character set and cut it to ``max_length``."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATIONS))
    without_accents = "".join(
        char for char in decomposed if not unicodedata.combining(char)
    )
    reduced = _NOT_SEPA_TEXT.sub(" ", without_accents.translate(_TRANSLITERATIONS))
    return " ".join(reduced.split())[:max_length].rstrip()


def sepa_identifier(text: str) -> str:
    """Reduce an id to the SEPA set: at most 35 characters, no space, no ``//``."""
    reduced = _NOT_SEPA_IDENTIFIER.sub("", sepa_text(text, 200))
    while "//" in reduced:
        reduced = reduced.replace("//", "/")
    return reduced[:IDENTIFIER_MAX_LENGTH].strip("/")


def format_sepa_amount(amount_cents: int) -> str:
    """Write cents as euros with exactly two decimals, e.g. 1234 -> ``12.34``."""
    if amount_cents < 0:
        raise ValueError(f"SEPA amounts cannot be negative: {amount_cents} cents")
    whole, cents = divmod(amount_cents, 100)
    return f"{whole}.{cents:02d}"


def build_pain001(batch: SepaBatch) -> bytes:
    """Build the pain.001.001.03 document of a batch and validate it."""
    _check_batch(batch)
    document = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    initiation = _add(document, "CstmrCdtTrfInitn")
    _add_group_header(initiation, batch)
    _add_payment_information(initiation, batch)
    xml = XML_DECLARATION + etree.tostring(
        document, encoding="UTF-8", pretty_print=True
    )
    validate_pain001(xml)
    return xml


def validate_pain001(xml: bytes) -> None:
    """Raise SepaValidationError unless the document matches the pain.001.001.03 XSD."""
    schema = _schema()
    try:
        document = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as error:
        raise SepaValidationError(f"the SEPA file is not well-formed XML: {error}")
    if not schema.validate(document):
        first = schema.error_log.filter_from_errors()[0]
        raise SepaValidationError(
            f"the SEPA file does not match pain.001.001.03, line {first.line}: "
            f"{first.message}"
        )


@functools.cache
def _schema() -> etree.XMLSchema:
    path = resources.files("sepaxml") / "schemas" / "pain.001.001.03.xsd"
    with resources.as_file(path) as schema_file:
        return etree.XMLSchema(etree.parse(str(schema_file)))


def _check_batch(batch: SepaBatch) -> None:
    if not batch.payments:
        raise ValueError("a SEPA batch needs at least one payment")
    ids = [payment.end_to_end_id for payment in batch.payments]
    if len(set(ids)) != len(ids):
        raise ValueError("end-to-end ids must be unique within a SEPA batch")
    for payment in batch.payments:
        if payment.amount_cents < 1:
            raise ValueError(
                f"payment {payment.end_to_end_id} has {payment.amount_cents} cents; "
                "a SEPA transfer needs at least 1 cent"
            )


def _add(parent: etree._Element, tag: str, text: str | None = None, **attributes):
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def _add_group_header(initiation: etree._Element, batch: SepaBatch) -> None:
    header = _add(initiation, "GrpHdr")
    _add(header, "MsgId", sepa_identifier(batch.message_id))
    # Amsterdam local time without an offset; xs:dateTime allows both forms.
    created = batch.created_at.astimezone(AMSTERDAM).replace(microsecond=0)
    _add(header, "CreDtTm", created.strftime("%Y-%m-%dT%H:%M:%S"))
    _add(header, "NbOfTxs", str(len(batch.payments)))
    _add(header, "CtrlSum", format_sepa_amount(batch.control_sum_cents))
    party = _add(header, "InitgPty")
    _add(party, "Nm", _name(batch.debtor.name))


def _add_payment_information(initiation: etree._Element, batch: SepaBatch) -> None:
    information = _add(initiation, "PmtInf")
    _add(information, "PmtInfId", sepa_identifier(batch.payment_information_id))
    _add(information, "PmtMtd", "TRF")
    _add(information, "BtchBookg", "true")
    _add(information, "NbOfTxs", str(len(batch.payments)))
    _add(information, "CtrlSum", format_sepa_amount(batch.control_sum_cents))
    payment_type = _add(information, "PmtTpInf")
    _add(_add(payment_type, "SvcLvl"), "Cd", "SEPA")
    _add(information, "ReqdExctnDt", batch.execution_date.isoformat())
    _add(_add(information, "Dbtr"), "Nm", _name(batch.debtor.name))
    _add_account(information, "DbtrAcct", batch.debtor)
    _add_agent(information, "DbtrAgt", batch.debtor.bic, required=True)
    _add(information, "ChrgBr", "SLEV")
    for payment in batch.payments:
        _add_transfer(information, payment)


def _add_transfer(information: etree._Element, payment: SepaPayment) -> None:
    transfer = _add(information, "CdtTrfTxInf")
    _add(_add(transfer, "PmtId"), "EndToEndId", sepa_identifier(payment.end_to_end_id))
    amount = _add(transfer, "Amt")
    _add(amount, "InstdAmt", format_sepa_amount(payment.amount_cents), Ccy="EUR")
    _add_agent(transfer, "CdtrAgt", payment.creditor.bic, required=False)
    _add(_add(transfer, "Cdtr"), "Nm", _name(payment.creditor.name))
    _add_account(transfer, "CdtrAcct", payment.creditor)
    remittance = sepa_text(payment.remittance, REMITTANCE_MAX_LENGTH) or "NOTPROVIDED"
    _add(_add(transfer, "RmtInf"), "Ustrd", remittance)


def _add_account(parent: etree._Element, tag: str, account: SepaAccount) -> None:
    iban = "".join(account.iban.split()).upper()
    _add(_add(_add(parent, tag), "Id"), "IBAN", iban)


def _add_agent(
    parent: etree._Element, tag: str, bic: str | None, *, required: bool
) -> None:
    # Within SEPA the IBAN alone routes a payment, so the BIC is optional; the
    # debtor agent element is mandatory and then contains NOTPROVIDED.
    if not bic and not required:
        return
    institution = _add(_add(parent, tag), "FinInstnId")
    if bic:
        _add(institution, "BIC", bic.strip().upper())
    else:
        _add(_add(institution, "Othr"), "Id", "NOTPROVIDED")


def _name(text: str) -> str:
    name = sepa_text(text, NAME_MAX_LENGTH)
    if not name:
        raise ValueError(
            f"the name {text!r} has no letters in the SEPA character set; "
            "enter it in Latin letters"
        )
    return name
