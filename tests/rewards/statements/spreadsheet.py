"""Open CSV files in LibreOffice Calc, headless, and read back the cells it made."""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
# CSV filter options: separator code, text delimiter '"', character set 76
# (UTF-8), start at line 1, default column formats, language code.
DUTCH_CSV_FILTER = "CSV:59,34,76,1,,1043"
PLAIN_CSV_FILTER = "CSV:44,34,76,1,,1033"


@dataclass(frozen=True)
class SpreadsheetCell:
    """A cell as Calc read it: ``float`` or ``string``, with its value and formula."""

    value_type: str
    value: str
    formula: str | None


def soffice_path() -> str:
    """Return the soffice binary or skip the test, naming the package to install."""
    path = shutil.which("soffice")
    if path is None:
        pytest.skip(
            "soffice is missing; install libreoffice-calc-nogui (apt) to open "
            "CSV exports in LibreOffice"
        )
    return path


def open_in_calc(
    csv_path: Path, work_dir: Path, csv_filter: str
) -> list[list[SpreadsheetCell]]:
    """Convert a CSV file with Calc to flat ODS and return its rows of cells."""
    out_dir = work_dir / "calc-out"
    profile = work_dir / "calc-profile"
    subprocess.run(
        [
            soffice_path(),
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            f"--infilter={csv_filter}",
            "--convert-to",
            "fods",
            "--outdir",
            str(out_dir),
            str(csv_path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    converted = out_dir / (csv_path.stem + ".fods")
    return _read_rows(etree.parse(str(converted)))


def _read_rows(tree: etree._ElementTree) -> list[list[SpreadsheetCell]]:
    rows = []
    for row in tree.iter(f"{{{TABLE_NS}}}table-row"):
        cells = []
        for cell in row.iter(f"{{{TABLE_NS}}}table-cell"):
            repeat = int(cell.get(f"{{{TABLE_NS}}}number-columns-repeated", "1"))
            value_type = cell.get(f"{{{OFFICE_NS}}}value-type", "empty")
            if value_type == "float":
                value = cell.get(f"{{{OFFICE_NS}}}value")
            else:
                value = "\n".join(
                    _paragraph_text(paragraph)
                    for paragraph in cell.iter(f"{{{TEXT_NS}}}p")
                )
            formula = cell.get(f"{{{TABLE_NS}}}formula")
            cells.extend(
                [SpreadsheetCell(value_type, value, formula)] * min(repeat, 64)
            )
        while cells and cells[-1].value_type == "empty":
            cells.pop()
        rows.append(cells)
    return rows


def _paragraph_text(paragraph: etree._Element) -> str:
    # ODF writes runs of spaces as <text:s text:c="N"/> and tabs as <text:tab/>.
    parts = [paragraph.text or ""]
    for child in paragraph:
        if child.tag == f"{{{TEXT_NS}}}s":
            parts.append(" " * int(child.get(f"{{{TEXT_NS}}}c", "1")))
        elif child.tag == f"{{{TEXT_NS}}}tab":
            parts.append("\t")
        else:
            parts.append(_paragraph_text(child))
        parts.append(child.tail or "")
    return "".join(parts)
