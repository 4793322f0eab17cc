"""Hostile and oversized files: one rejected return with a French message, never a crash."""

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from crpv_pipeline.intake.file_guards import DEFAULT_LIMITS, Limits, check_file
from crpv_pipeline.intake.reading import ReturnFileError
from crpv_pipeline.intake.validation import validate_return
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline_tests.workbooks import VALID_ROW, write_return

FIXTURES = Path(__file__).parents[1] / "fixtures"
ENTITIES_REFUSED = (
    "Le fichier ne peut pas être ouvert (déclarations d'entités XML, refusées par sécurité) : "
    "ouvrez-le dans votre tableur, enregistrez-le à nouveau au format .xlsx et renvoyez-le."
)
LAUGHS = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
    for i in range(1, 10)
)
"""A "billion laughs": ``&lol9;`` expands to a billion ``lol``."""


def rejected_with(path, rule, limits=DEFAULT_LIMITS, year=2021):
    result = validate_return(path, year, limits)
    assert result.rejected, result.findings
    assert [f.rule for f in result.findings] == [rule]
    assert result.findings[0].severity == "error"
    return result


def test_empty_file(tmp_path):
    path = tmp_path / "IREV_2021.xlsx"
    path.write_bytes(b"")
    result = rejected_with(path, "empty_file")
    assert result.centre_code == "IREV"  # from the file name, so completeness says "rejected"
    assert "vide (0 octet)" in result.findings[0].message


def test_text_file_renamed_xlsx(tmp_path):  # every kind of disguise: test_file_kinds.py
    path = tmp_path / "IREV_2021.xlsx"
    path.write_text("Date;Intitulé;Type\n04/03/2021;Formation;Formation\n")
    result = rejected_with(path, "disguised_file")
    assert result.centre_code == "IREV"  # from the file name, so completeness says "rejected"


def test_truncated_xlsx(tmp_path):
    good = write_return(tmp_path / "good.xlsx", [VALID_ROW] * 50)
    path = tmp_path / "IREV_2021.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    rejected_with(path, "unreadable_file")


def test_password_protected_workbook():
    result = rejected_with(FIXTURES / "IREV_2021_chiffre.xlsx", "password_protected")
    assert "protégé par un mot de passe" in result.findings[0].message


def test_xlsb_is_refused(tmp_path):
    path = tmp_path / "IREV_2021.xlsb"
    path.write_bytes(b"PK\x03\x04binary workbook")
    rejected_with(path, "unsupported_format")


def test_xlsm_with_macros_is_read_and_its_macros_never_run(tmp_path):
    path = write_return(tmp_path / "IREV_2021.xlsm")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b'Attribute VB_Name = "Module1"\nSub Auto_Open()')
    result = validate_return(path, 2021)
    assert (result.status, result.rows_loaded) == ("loaded", 1)


def _bomb(path: Path, megabytes: int) -> Path:
    """A small .xlsx whose sheet XML inflates to ``megabytes`` of blanks."""
    source = write_return(path.with_name("source.xlsx"))
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            if name == "xl/worksheets/sheet2.xml":
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                with out.open(info, "w", force_zip64=True) as sheet:
                    sheet.write(
                        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                    )
                    block = b" " * (1 << 20)
                    for _ in range(megabytes):
                        sheet.write(block)
                    sheet.write(b"</sheetData></worksheet>")
            else:
                out.writestr(name, src.read(name))
    return path


def test_zip_bomb_is_refused_from_the_zip_directory(tmp_path):
    path = _bomb(tmp_path / "IREV_2021.xlsx", 64)
    assert path.stat().st_size < 1024 * 1024
    result = rejected_with(path, "zip_bomb", Limits(max_uncompressed_bytes=32 * 1024 * 1024))
    assert "se décompresse en" in result.findings[0].message
    # With the default limits the ratio alone gives it away (64 Mo from a few hundred Ko).
    rejected_with(path, "zip_bomb")


def test_sheet_with_a_cell_far_away_is_refused_before_reading(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Activités"
    ws.append(["Date"])
    ws["XFD1048576"] = "x"
    path = tmp_path / "IREV_2021.xlsx"
    wb.save(path)
    result = rejected_with(path, "sheet_too_large")
    assert "1\u202f048\u202f576 lignes × 16\u202f384 colonnes" in result.findings[0].message


def test_too_many_rows_and_columns(tmp_path):
    path = write_return(tmp_path / "IREV_2021.xlsx", [VALID_ROW] * 11)
    rejected_with(path, "too_many_rows", Limits(max_rows=10))
    assert validate_return(path, 2021, Limits(max_rows=11)).rows_loaded == 11
    rejected_with(path, "too_many_columns", Limits(max_columns=10))


def test_file_too_large(tmp_path):
    path = write_return(tmp_path / "IREV_2021.xlsx")
    result = rejected_with(path, "file_too_large", Limits(max_file_bytes=1000))
    assert "au-delà de la limite de 0 Mo" not in result.findings[0].message


def test_symbolic_link_is_not_followed(tmp_path):
    outside = write_return(tmp_path / "secret" / "IREV_2021.xlsx")
    inbox = tmp_path / "inbox" / "2021"
    inbox.mkdir(parents=True)
    link = inbox / "IREV_2021.xlsx"
    link.symlink_to(outside)
    result = rejected_with(link, "symlink_refused")
    assert result.centre_code == "IREV"
    assert result.file_sha256 != validate_return(outside, 2021).file_sha256


@pytest.mark.parametrize(
    "name", ['l\'été; "v2".xlsx', "..xlsx", "a..b_2021.xlsx", "IREV_2021 (copie).xlsx"]
)
def test_odd_file_names(tmp_path, name):
    path = write_return(tmp_path / "2021" / "x.xlsx")
    target = path.with_name(name)
    shutil.move(path, target)
    result = validate_return(target, 2021)
    assert (result.status, result.file_name) == ("loaded", name)


def _with_doctype(path: Path, doctype: str, entity: str) -> Path:
    """A return whose activity sheet declares ``doctype`` and uses ``&entity;`` in a cell."""
    source = write_return(path.with_name("source.xlsx"), [VALID_ROW])
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet2.xml":
                body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
                cell = f'<row r="3"><c r="B3" t="inlineStr"><is><t>&{entity};</t></is></c></row>'
                body = body.replace(b"</sheetData>", cell.encode() + b"</sheetData>", 1)
                data = f'<?xml version="1.0"?><!DOCTYPE worksheet [{doctype}]>'.encode() + body
            out.writestr(name, data)
    return path


def test_billion_laughs_is_not_expanded(tmp_path):
    path = _with_doctype(tmp_path / "IREV_2021.xlsx", LAUGHS, "lol9")
    result = rejected_with(path, "unreadable_file")
    assert result.findings[0].message == ENTITIES_REFUSED


def test_external_entities_are_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("mot de passe")
    path = _with_doctype(
        tmp_path / "IREV_2021.xlsx", f'<!ENTITY xxe SYSTEM "file://{secret}">', "xxe"
    )
    result = validate_return(path, 2021)
    assert result.rejected
    assert "mot de passe" not in repr(result)


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


def _encrypted(path: Path) -> None:
    shutil.copy(FIXTURES / "IREV_2021_chiffre.xlsx", path)


def _bombed(path: Path) -> None:
    _bomb(path.parent.parent.parent / "bomb.xlsx", 64).replace(path)  # built outside the inbox


def _linked(path: Path) -> None:
    outside = write_return(path.parent.parent.parent / "ailleurs" / "x.xlsx")
    path.unlink()
    path.symlink_to(outside)


@pytest.mark.parametrize("spoil", [_empty, _truncated, _encrypted, _bombed, _linked])
def test_a_hostile_resubmission_costs_one_rejection_and_nothing_loaded(tmp_path, sqlite_url, spoil):
    import dagster as dg

    from crpv_pipeline.orchestration.runs import materialize_year
    from crpv_pipeline.warehouse.engine import create_warehouse_engine
    from crpv_pipeline.warehouse.tables import read_table

    folder = tmp_path / "inbox" / "2021"
    irev = write_return(folder / "IREV_2021.xlsx")

    def run():
        return materialize_year(
            2021,
            tmp_path / "inbox",
            sqlite_url,
            instance=dg.DagsterInstance.ephemeral(),
            output=tmp_path / "out",
        )

    assert run().success
    write_return(folder / "ORIV_2021.xlsx", centre="ORIV")
    spoil(irev)
    assert run().success
    engine = create_warehouse_engine(sqlite_url)
    try:
        submissions = read_table(engine, "submission").set_index("submission_id")
        facts = read_table(engine, "fact_activity")
        completeness = read_table(engine, "completeness").set_index("centre_code")
    finally:
        engine.dispose()
    assert submissions["status"].tolist() == ["loaded", "rejected", "loaded"]  # IREV, IREV, ORIV
    assert sorted(facts["centre_code"]) == ["IREV", "ORIV"]  # IREV's earlier data still there
    assert completeness.loc["IREV", "status"] == "loaded"
    assert completeness.loc["ORIV", "status"] == "loaded"


def test_limits_come_from_the_environment(tmp_path, monkeypatch, capsys):
    from crpv_pipeline.cli import main
    from crpv_pipeline.intake.file_guards import limits_from_environment

    limits = limits_from_environment({"CRPV_MAX_ROWS": "10", "CRPV_MAX_FILE_MB": "2"})
    assert (limits.max_rows, limits.max_file_bytes, limits.max_columns) == (
        10,
        2 * 1024 * 1024,
        200,
    )
    with pytest.raises(ValueError, match="CRPV_MAX_COLUMNS='beaucoup'"):
        limits_from_environment({"CRPV_MAX_COLUMNS": "beaucoup"})

    path = write_return(tmp_path / "IREV_2021.xlsx", [VALID_ROW] * 11)
    monkeypatch.setenv("CRPV_MAX_ROWS", "10")
    assert main(["validate", str(path)]) == 1
    assert "[erreur] Trop de lignes : " in capsys.readouterr().out
    monkeypatch.setenv("CRPV_MAX_ROWS", "0")
    assert main(["validate", str(path)]) == 2
    assert "Error: CRPV_MAX_ROWS='0': expected a positive whole number" in capsys.readouterr().err


def _excel_like_return(path: Path, centre: str = "IREV") -> Path:
    """A valid return written as Excel writes it: text in a shared-strings table."""
    import xlsxwriter

    from crpv_pipeline_tests.workbooks import HEADER

    workbook = xlsxwriter.Workbook(path)
    identification = workbook.add_worksheet("Identification")
    for row, cells in enumerate([["Centre de ressources", centre], ["Année", 2021]]):
        identification.write_row(row, 0, cells)
    activities = workbook.add_worksheet("Activités")
    activities.write_row(0, 0, HEADER)
    date = workbook.add_format({"num_format": "dd/mm/yyyy"})
    activities.write_row(1, 1, VALID_ROW[1:])
    activities.write_datetime(1, 0, dt.datetime(2021, 3, 4), date)
    workbook.close()
    return path


def _rewritten(path: Path, part: str, data: bytes) -> Path:
    """A copy of a valid return at ``path`` whose ``part`` holds ``data``."""
    source = _excel_like_return(path.with_name("source.xlsx"))
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            out.writestr(name, data if name == part else src.read(name))
    return path


def _laughing_shared_strings(path: Path) -> Path:
    """A return whose sharedStrings.xml declares a "billion laughs" and uses it."""
    data = (
        f'<?xml version="1.0"?><!DOCTYPE sst [{LAUGHS}]>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        'uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )
    return _rewritten(path, "xl/sharedStrings.xml", data.encode())


def test_billion_laughs_in_the_shared_strings_is_refused_before_reading(tmp_path):
    path = _laughing_shared_strings(tmp_path / "IREV_2021.xlsx")
    with pytest.raises(ReturnFileError, match="unreadable_file"):
        check_file(path, scan_worksheets=False)  # by the guards, before the reader opens it
    result = rejected_with(path, "unreadable_file")
    assert result.findings[0].message == ENTITIES_REFUSED
    assert result.centre_code == "IREV"


def large_shared_strings(path: Path, megabytes: int, centre: str = "IREV") -> Path:
    """A valid return whose shared-strings table also holds ``megabytes`` of distinct strings.

    Each string carries random letters, so that the file is not a bomb by its compression ratio
    (it holds about a tenth of what it inflates to).
    """
    import random

    path.parent.mkdir(parents=True, exist_ok=True)
    source = _excel_like_return(path.with_name(f"source_{path.stem}.xlsx"), centre)
    with zipfile.ZipFile(source) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    head, _, tail = parts.pop("xl/sharedStrings.xml").partition(b"</sst>")
    draw = random.Random(megabytes)
    text = "activité " * 30
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for name, data in parts.items():
            out.writestr(name, data)
        with out.open("xl/sharedStrings.xml", "w") as part:
            part.write(head)
            written = 0
            while written < megabytes * 1024 * 1024:
                block = "".join(
                    f"<si><t>{draw.randbytes(16).hex()} {text}</t></si>" for _ in range(1000)
                ).encode()
                part.write(block)
                written += len(block)
            part.write(b"</sst>" + tail)
    source.unlink()
    return path


def test_shared_strings_count_in_the_inflated_size_budget(tmp_path):
    path = large_shared_strings(tmp_path / "IREV_2021.xlsx", 24)
    assert path.stat().st_size < 8 * 1024 * 1024  # not a bomb by its compression ratio
    assert validate_return(path, 2021).status == "loaded"  # within the default budget
    result = rejected_with(path, "zip_bomb", Limits(max_uncompressed_bytes=16 * 1024 * 1024))
    assert re.match(r"Le fichier se décompresse en 2[34],\d Mo", result.findings[0].message)
    assert DEFAULT_LIMITS.max_uncompressed_bytes == 256 * 1024 * 1024


def _cell_bomb(path: Path, megabytes: int) -> Path:
    """A small .xlsx whose activity sheet inflates to ``megabytes`` of cells: parsed, it would
    take gigabytes."""
    source = write_return(path.with_name("source.xlsx"))
    row = b"<row>" + b"<c><v>1</v></c>" * 50 + b"</row>"
    block = row * ((1 << 20) // len(row))
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            if name != "xl/worksheets/sheet2.xml":
                out.writestr(name, src.read(name))
                continue
            with out.open(name, "w", force_zip64=True) as sheet:
                sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/')
                sheet.write(b'2006/main"><sheetData>')
                for _ in range(megabytes):
                    sheet.write(block)
                sheet.write(b"</sheetData></worksheet>")
    return path


def _laughing_sheet(path: Path) -> Path:
    return _with_doctype(path, LAUGHS, "lol9")


@pytest.mark.parametrize(
    ("make", "rule"),
    [
        (lambda path: _cell_bomb(path, 200), "zip_bomb"),
        (_laughing_sheet, "unreadable_file"),
        (_laughing_shared_strings, "unreadable_file"),
    ],
    ids=["zip bomb", "entities in a sheet", "entities in the shared strings"],
)
def test_a_bomb_with_a_correction_workbook_costs_little(tmp_path, make, rule):
    """``crpv validate --report``: the correction workbook opens the file through the guards."""
    from crpv_pipeline_tests.processes import peak_tree_memory, start_python

    path = make(tmp_path / "IREV_2021.xlsx")
    report = tmp_path / "corrections.xlsx"
    args = ["-m", "crpv_pipeline.cli", "validate", str(path), "--report", str(report)]
    process = start_python(args, tmp_path, "validate")
    peak = peak_tree_memory(process, timeout=120, cap=500 * 1024 * 1024)
    assert peak < 500 * 1024 * 1024, f"{peak / 2**20:.0f} MiB"
    assert process.popen.returncode == 1, process.err()
    assert f"[erreur] {default_nomenclature().rule_label(rule)} : " in process.out()
    assert report.is_file()  # the findings, without a copy of the refused file's sheets
