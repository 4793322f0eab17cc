"""The national bilan: `crpv report` on the demo data shows the published figures of contract §7
in one self-contained French page, its tables go to an .xlsx workbook, and the Dagster asset
writes both for each year."""

from __future__ import annotations

import re
import subprocess
import sys
from html import escape
from types import SimpleNamespace

import dagster as dg
import openpyxl
import pytest

from crpv_pipeline.cli import main
from crpv_pipeline.definitions import build_definitions
from crpv_pipeline.report import NoDataForYear, build_bilan, write_report
from crpv_pipeline.report_html import format_cell
from crpv_pipeline.warehouse import (
    create_warehouse_engine,
    derive_year,
    ensure_schema,
    read_table,
)
from crpv_pipeline_tests.factories import make_result
from crpv_pipeline_tests.tables import load

NNBSP, NBSP = "\u202f", "\u00a0"  # thousands separator (french_number), before « % » (pct)
SHEETS = [
    "Chiffres clés",
    "Évolution",
    "Types et modalités",
    "Thématiques",
    "Centres",
    "Complétude",
    "Constats par centre",
    "Constats par règle",
    "Fichiers retenus",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo (2019–2021) on SQLite, then `crpv report --year 2021`, once for the module."""
    root = tmp_path_factory.mktemp("report_demo")
    url = f"sqlite:///{root / 'warehouse.sqlite'}"
    argv = ["demo", "--inbox", str(root / "inbox"), "--warehouse", url]
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DAGSTER_HOME", raising=False)
        assert main([*argv, "--output", str(root / "out")]) == 0
    page = root / "report" / "bilan_2021.html"
    page.parent.mkdir()
    assert main(["report", "--year", "2021", "-o", str(page), "--warehouse", url]) == 0
    return SimpleNamespace(
        url=url,
        output=root / "out",
        page=page,
        html=page.read_text(encoding="utf-8"),
        workbook=page.with_suffix(".xlsx"),
    )


# --- the page --------------------------------------------------------------------------


def test_the_2021_report_shows_the_published_figures(demo):
    html = demo.html
    assert (
        "Bilan quantitatif de l'activité des centres de ressources politique de la ville — 2021"
        in html.replace("&#x27;", "'")
    )
    assert f"3{NNBSP}123" in html  # half-days
    assert f"2{NNBSP}200" in html  # 2020, the dip
    assert f"+923 (+42,0{NBSP}%) par rapport à 2020" in html  # and the rebound
    assert "16 / 17" in html
    for label, share in [
        ("Éducation", "14,8"),
        ("Valeurs de la République et laïcité", "8,5"),
        ("Cohésion et lien social, culture, sport", "8,4"),
    ]:
        assert f"<td>{label}</td>" in html
        assert f"{share}{NBSP}%" in html
    # The theme table is sorted: the three largest come first, in that order.
    themes = re.findall(r"<tr><td>([^<]+)</td><td>[^<]+</td><td class=\"num\">", html)
    assert themes[:3] == [
        "Éducation",
        "Valeurs de la République et laïcité",
        "Cohésion et lien social, culture, sport",
    ]


def test_the_page_needs_no_network_and_embeds_its_charts(demo):
    html = demo.html
    assert html.count("<svg") == 3
    assert html.count('role="img"') == 3
    assert "http://" not in html and "https://" not in html
    for tag in ("<script", "<link", "<img", "<iframe", "@import", "url(http"):
        assert tag not in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "ids are unique across the charts"


def test_remote_share_per_activity_type(demo):
    engine = create_warehouse_engine(demo.url)
    try:
        types = build_bilan(engine, 2021).table("types_modalites")
    finally:
        engine.dispose()
    assert types.headers == (
        "Type d'activité",
        "Présentiel",
        "Distanciel",
        "Hybride",
        "Total",
        "Part à distance",
    )
    remote = {row[0]: row[-1] for row in types.rows}
    assert remote["Formation"] < 50
    for label in ("Cycle de qualification", "Activité de réseau", "Groupe de travail"):
        assert remote[label] > 50
    assert remote["Manifestation à vocation informative"] > 50
    assert sum(row[4] for row in types.rows) == 3123
    assert f'<td class="num">{format_cell(remote["Formation"], "pct")}</td>' in demo.html


def test_the_annex_shows_completeness_findings_and_the_files_behind(demo):
    html = demo.html
    assert "Manquant : GIP Politique de la ville de Mayotte." in html
    assert "Date limite de dépôt" in html or "Aucune date limite" in html
    engine = create_warehouse_engine(demo.url)
    try:
        completeness = read_table(engine, "completeness", 2021)
        submissions = read_table(engine, "submission", 2021).set_index("submission_id")
    finally:
        engine.dispose()
    current = completeness["submission_id"].dropna()
    assert len(current) == 16
    for submission_id in current:
        row = submissions.loc[submission_id]
        digest = row["file_sha256"]
        assert f"{digest[:32]}<wbr>{digest[32:]}" in html
        assert escape(row["file_name"]) in html
        assert row["received_at"].strftime("%d/%m/%Y %H:%M") in html
    quarantined = submissions.loc[current, "rows_rejected"].sum()
    assert quarantined > 0
    assert "Constats et lignes écartées par centre" in html
    assert '<td class="code">half_days_out_of_range</td>' in html


# --- the workbook -------------------------------------------------------------------------


def test_the_workbook_has_one_sheet_per_table_with_french_headers(demo):
    book = openpyxl.load_workbook(demo.workbook)
    assert book.sheetnames == SHEETS
    themes = book["Thématiques"]
    assert [c.value for c in themes[1]] == [
        "Thématique",
        "Pilier",
        "Activités",
        "Demi-journées",
        "Part des demi-journées",
    ]
    first = [c.value for c in themes[2]]
    assert first[:2] == ["Éducation", "Cohésion sociale"]
    assert round(first[4] * 100, 1) == 14.8  # a fraction shown as a percentage
    assert themes.cell(2, 5).number_format == "0.0%"
    centres = book["Centres"]
    total = [c.value for c in centres[centres.max_row]]
    assert total[0] == "Total national" and total[2] == 3123
    evolution = {row[0]: row for row in book["Évolution"].iter_rows(min_row=2, values_only=True)}
    assert evolution[2021][1:5] == (3123, 1347, 27014, 923)
    assert evolution[2020][1] == 2200
    files = book["Fichiers retenus"]
    assert files["C1"].value == "SHA-256" and len(files["C2"].value) == 64
    assert book["Complétude"].freeze_panes == "A2"


# --- the command line ---------------------------------------------------------------------


def test_report_writes_bilan_year_html_in_the_current_folder(demo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--year", "2020", "--warehouse", demo.url]) == 0
    assert capsys.readouterr().err == (
        "Report written: bilan_2020.html\nTables written: bilan_2020.xlsx\n"
    )
    assert f"2{NNBSP}200" in (tmp_path / "bilan_2020.html").read_text(encoding="utf-8")
    assert (tmp_path / "bilan_2020.xlsx").is_file()


def test_a_year_without_data_is_a_usage_error(demo, tmp_path, capsys):
    out = tmp_path / "bilan.html"
    assert main(["report", "--year", "2023", "-o", str(out), "--warehouse", demo.url]) == 2
    assert capsys.readouterr().err == (
        "Error: the warehouse has no data for 2023 (years derived: 2019, 2020, 2021); "
        "run `crpv run --year 2023` first\n"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "{tmp}/bilan.xlsx"], "Error: -o {tmp}/bilan.xlsx: the report is an .html file\n"),
        (
            ["-o", "{tmp}/nowhere/bilan.html"],
            "Error: -o {tmp}/nowhere/bilan.html: no such folder: {tmp}/nowhere\n",
        ),
        (
            ["--warehouse", "sqlite:///{tmp}/none.sqlite"],
            "Error: no warehouse at {tmp}/none.sqlite: run `crpv demo` or `crpv run` first\n",
        ),
    ],
)
def test_report_usage_errors(tmp_path, capsys, args, message):
    argv = ["report", "--year", "2021", *(a.format(tmp=tmp_path) for a in args)]
    assert main(argv) == 2
    assert capsys.readouterr().err == message.format(tmp=tmp_path)
    assert not (tmp_path / "none.sqlite").exists()


def test_neither_definitions_nor_validate_import_matplotlib():
    code = (
        "import sys, crpv_pipeline.definitions, crpv_pipeline.report; "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the Dagster asset -------------------------------------------------------------------


def test_the_asset_wrote_the_report_of_each_demo_year(demo):
    for year in (2019, 2020, 2021):
        page = demo.output / str(year) / f"bilan_{year}.html"
        assert page.is_file() and page.with_suffix(".xlsx").is_file()
    assert f"3{NNBSP}123" in (demo.output / "2021" / "bilan_2021.html").read_text("utf-8")


def test_the_asset_is_in_the_bilan_group():
    node = build_definitions().resolve_asset_graph().get(dg.AssetKey("bilan_report"))
    assert node.kinds == {"html", "excel"}
    assert node.group_name == "bilan"


# --- small warehouses --------------------------------------------------------------------


def test_text_from_the_data_is_escaped(sqlite_url, tmp_path):
    engine = create_warehouse_engine(sqlite_url)
    try:
        ensure_schema(engine)
        load(engine, make_result(file_name="<img src=x onerror=alert(1)> & co.xlsx"))
        derive_year(engine, 2021)
        page, workbook = write_report(engine, 2021, tmp_path / "b.html")
    finally:
        engine.dispose()
    html = page.read_text(encoding="utf-8")
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; co.xlsx" in html
    files = openpyxl.load_workbook(workbook)["Fichiers retenus"]
    assert files["B2"].value == "<img src=x onerror=alert(1)> & co.xlsx"


def test_a_year_without_activity_still_has_its_report(sqlite_url, tmp_path):
    engine = create_warehouse_engine(sqlite_url)
    try:
        ensure_schema(engine)
        derive_year(engine, 2022)
        page, _ = write_report(engine, 2022, tmp_path / "b.html")
        with pytest.raises(NoDataForYear, match="no data for 2021"):
            build_bilan(engine, 2021)
    finally:
        engine.dispose()
    html = page.read_text(encoding="utf-8")
    assert html.count("Aucune activité chargée pour cette année.") == 2
    assert html.count("<svg") == 1  # the years chart
    assert "pas de données pour 2021" in html
