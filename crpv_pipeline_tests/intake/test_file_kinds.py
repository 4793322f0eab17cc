"""Files that are not the workbook their name says: one French finding saying what they are."""

import re
import shutil
from pathlib import Path

import pytest

from crpv_pipeline.intake.validation import validate_return
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline_tests.workbooks import write_return

FIXTURES = Path(__file__).parents[1] / "fixtures"
RESAVE = "ouvrez-le dans votre tableur et enregistrez-le au format Excel .xlsx."


def _bytes(data: bytes):
    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def _copy(fixture: str):
    def write(path: Path) -> None:
        shutil.copy(FIXTURES / fixture, path)

    return write


def _xlsx(path: Path) -> None:
    write_return(path.with_name("source.xlsx")).replace(path)


HTML_EXPORT = (
    b"\r\n<html xmlns:o='urn:schemas-microsoft-com:office:office'><head><meta charset=utf-8>"
    b"</head><body><table><tr><td>Date</td><td>Intitul\xc3\xa9</td></tr></table></body></html>"
)
XML_2003 = (
    b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
    b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet/></Workbook>'
)


@pytest.mark.parametrize(
    ("name", "write", "message"),
    [
        (
            "export.xls",
            _bytes(HTML_EXPORT),
            "Ce fichier est une page HTML enregistrée avec l'extension .xls : " + RESAVE,
        ),
        (
            "bilan.xlsx",
            _bytes(b"<!DOCTYPE html>\n<html><body>Bilan</body></html>"),
            "Ce fichier est une page HTML enregistrée avec l'extension .xlsx : " + RESAVE,
        ),
        (
            "bilan 2021.xlsx",
            _bytes("Date;Intitulé;Type\n04/03/2021;Formation;Formation\n".encode("cp1252")),
            "Ce fichier est un export CSV (texte à colonnes séparées) enregistré avec "
            "l'extension .xlsx : " + RESAVE,
        ),
        (
            "bilan.xls",
            _bytes(b"Date\tIntitule\tType\n04/03/2021\tFormation\tFormation\n"),
            "Ce fichier est un export CSV (texte à colonnes séparées) enregistré avec "
            "l'extension .xls : " + RESAVE,
        ),
        (
            "bilan.ods",
            _bytes("Bilan d'activité 2021\nVoir le tableau joint.\n".encode()),
            "Ce fichier est un document texte enregistré avec l'extension .ods : " + RESAVE,
        ),
        (
            "bilan.xlsx",
            _bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"),
            "Ce fichier est un document PDF enregistré avec l'extension .xlsx : envoyez le "
            "classeur lui-même (au format Excel .xlsx), pas sa version PDF.",
        ),
        (
            "bilan.xls",
            _bytes(XML_2003),
            "Ce fichier est un classeur « XML 2003 » enregistré avec l'extension .xls : " + RESAVE,
        ),
        (
            "bilan.xlsx",
            _copy("IREV_2021.xls"),
            "Ce fichier est un classeur Excel 97-2003 (.xls) enregistré avec l'extension "
            ".xlsx : " + RESAVE,
        ),
        (
            "bilan.xls",
            _xlsx,
            "Ce fichier est un classeur Excel (.xlsx) enregistré avec l'extension .xls : " + RESAVE,
        ),
        (
            "bilan.xlsx",
            _copy("IREV_2021.ods"),
            "Ce fichier est un classeur OpenDocument (.ods) enregistré avec l'extension .xlsx : "
            + RESAVE,
        ),
    ],
)
def test_a_disguised_file_gets_one_french_finding_and_nothing_else(tmp_path, name, write, message):
    path = tmp_path / name
    write(path)
    result = validate_return(path, None)
    assert result.rejected
    assert [(f.rule, f.severity, f.message) for f in result.findings] == [
        ("disguised_file", "error", message)
    ]  # no missing_centre, no missing_year, no library text
    assert default_nomenclature().rule_label("disguised_file") == (
        "Fichier d'un autre type que son extension"
    )


@pytest.mark.parametrize(
    ("name", "fixture"), [("IREV_2021.xls", "IREV_2021.xls"), ("IREV_2021.ods", "IREV_2021.ods")]
)
def test_workbooks_named_for_their_format_are_not_disguised(tmp_path, name, fixture):
    shutil.copy(FIXTURES / fixture, tmp_path / name)
    assert not validate_return(tmp_path / name, 2021).rejected


FRENCH_UNREADABLE = re.compile(
    r"^Le fichier ne peut pas être ouvert \((archive zip endommagée ou incomplète|"
    r"classeur Excel 97-2003 endommagé|classeur OpenDocument endommagé|classeur Excel endommagé|"
    r"contenu XML invalide|contenu que le lecteur de classeurs ne reconnaît pas)\) : ouvrez-le "
    r"dans votre tableur, enregistrez-le à nouveau au format \.xlsx et renvoyez-le\.$"
)


def _truncated(path: Path) -> None:
    good = write_return(path.with_name("good.xlsx"), [["x"] * 11] * 50)
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])


def _broken_ole(path: Path) -> None:
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8)


def _zip_of_other_things(path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")


def _binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 16)


@pytest.mark.parametrize(
    ("name", "spoil"),
    [
        ("bilan.xlsx", _truncated),
        ("bilan.xls", _broken_ole),
        ("bilan.xlsx", _zip_of_other_things),
        ("bilan.ods", _zip_of_other_things),
        ("bilan.xls", _binary),
    ],
)
def test_an_unreadable_file_is_said_in_french_once(tmp_path, name, spoil):
    path = tmp_path / name
    spoil(path)
    result = validate_return(path, None)
    assert [f.rule for f in result.findings] == ["unreadable_file"]
    assert FRENCH_UNREADABLE.match(result.findings[0].message), result.findings[0].message
