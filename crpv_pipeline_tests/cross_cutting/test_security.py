"""Hostile text in every field: stored as written, never run as SQL or as a formula."""

import os
import zipfile
from pathlib import Path

import dagster as dg
import openpyxl
import pytest

from crpv_pipeline.intake.validation import validate_return
from crpv_pipeline.orchestration.runs import materialize_year
from crpv_pipeline.warehouse.engine import WarehouseError, create_warehouse_engine
from crpv_pipeline.warehouse.tables import count_rows, read_table
from crpv_pipeline_tests.workbooks import HEADER, VALID_ROW, row, write_return

INJECTIONS = [
    "'); DROP TABLE submission; --",
    "Robert'); DELETE FROM fact_activity WHERE ('1'='1",
    '=HYPERLINK("http://exemple.invalid","clic")',
    "+33 1 23 45 67 89",
    "-2+3",
    "@SUM(A1:A9)",
    "%(year)s :year $1 {0}",
]


def _as_text(path: Path, values_by_cell: dict[str, str]) -> Path:
    """Write strings into cells as text (a centre typing them behind an apostrophe)."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Activités"]
    for ref, value in values_by_cell.items():
        ws[ref].value = value
        ws[ref].data_type = "s"
    wb.save(path)
    return path


def _hostile_inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox" / "2021"
    rows = [row(title=f"Ligne {i}") for i in range(len(INJECTIONS))]
    path = write_return(folder / 'IREV_2021 l\'été; "v2".xlsx', rows)
    cells = {}
    for i, text in enumerate(INJECTIONS, start=2):
        cells |= {f"B{i}": f"{text} #{i}", f"J{i}": text, f"K{i}": text}
    return _as_text(path, cells)


def test_injection_strings_are_stored_as_written(tmp_path, warehouse_url):
    _hostile_inbox(tmp_path)
    result = materialize_year(
        2021,
        tmp_path / "inbox",
        warehouse_url,
        instance=dg.DagsterInstance.ephemeral(),
        output=tmp_path / "out",
    )
    assert result.success
    engine = create_warehouse_engine(warehouse_url)
    try:
        facts = read_table(engine, "fact_activity").sort_values("source_row")
        submission = read_table(engine, "submission").iloc[0]
    finally:
        engine.dispose()
    assert facts["partners"].tolist() == INJECTIONS
    assert facts["comment"].tolist() == INJECTIONS
    assert facts["title"].tolist() == [f"{t} #{i}" for i, t in enumerate(INJECTIONS, start=2)]
    assert submission["file_name"] == 'IREV_2021 l\'été; "v2".xlsx'
    # Written back as text in the correction workbook and the bilan's workbook.
    for book_path in (tmp_path / "out" / "2021").rglob("*.xlsx"):
        with zipfile.ZipFile(book_path) as archive:
            for name in archive.namelist():
                if name.startswith("xl/worksheets/"):
                    assert b"<f>" not in archive.read(name), (book_path.name, name)


def test_table_names_come_from_a_fixed_list(sqlite_url):
    engine = create_warehouse_engine(sqlite_url)
    try:
        for name in ("submission; DROP TABLE submission", "sqlite_master", "bi_activities"):
            with pytest.raises(WarehouseError, match="is not a warehouse table"):
                read_table(engine, name)
            with pytest.raises(WarehouseError):
                count_rows(engine, name)
    finally:
        engine.dispose()


def test_a_cell_of_one_megabyte_is_refused_not_stored(tmp_path):
    path = write_return(tmp_path / "IREV_2021.xlsx", [VALID_ROW, row(title="B")])
    big = "x" * (1024 * 1024)
    with zipfile.ZipFile(path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    cell = f'<c r="K3" t="inlineStr"><is><t>{big}</t></is></c>'.encode()
    sheet = parts["xl/worksheets/sheet2.xml"]
    parts["xl/worksheets/sheet2.xml"] = sheet.replace(
        b"</row></sheetData>", cell + b"</row></sheetData>", 1
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    result = validate_return(path, 2021)
    assert [(f.rule, f.cell) for f in result.findings] == [("text_too_long", "K3")]
    assert "1\u202f048\u202f576 caractères" in result.findings[0].message
    assert result.rows_loaded == 1


def test_a_file_name_that_is_not_utf8(tmp_path, sqlite_url):
    folder = tmp_path / "inbox" / "2021"
    source = write_return(folder / "x.xlsx")
    os.rename(bytes(source), bytes(folder) + b"/IREV_2021_\xff.xlsx")
    result = materialize_year(
        2021,
        tmp_path / "inbox",
        sqlite_url,
        instance=dg.DagsterInstance.ephemeral(),
        output=tmp_path / "out",
    )
    assert result.success
    engine = create_warehouse_engine(sqlite_url)
    try:
        assert read_table(engine, "submission")["file_name"].tolist() == ["IREV_2021_\ufffd.xlsx"]
    finally:
        engine.dispose()


def test_the_inbox_is_only_read(tmp_path, sqlite_url, monkeypatch):
    inbox = tmp_path / "inbox"
    write_return(inbox / "2021" / "IREV_2021.xlsx", [VALID_ROW, row(half_days="2,5", title="B")])
    write_return(inbox / "2021" / "ORIV_2021.xlsx", header=HEADER[:4])
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in inbox.rglob("*") if p.is_file()}
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert materialize_year(
        2021, inbox, sqlite_url, instance=dg.DagsterInstance.ephemeral(), output=tmp_path / "out"
    ).success
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in inbox.rglob("*") if p.is_file()}
    assert after == before
    assert list(cwd.iterdir()) == []
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {"inbox", "out", "warehouse"}
