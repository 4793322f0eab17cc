"""The national bilan: `crpv report` on the demo data shows the published figures of contract §7
in one self-contained French page, its tables go to an .xlsx workbook, and the Dagster asset
writes both for each year."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from html import escape, unescape
from types import SimpleNamespace

import dagster as dg
import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from crpv_pipeline.cli import main
from crpv_pipeline.orchestration.definitions import build_definitions
from crpv_pipeline.outputs.report.annex import set_aside_table
from crpv_pipeline.outputs.report.bilan import NoDataForYear
from crpv_pipeline.outputs.report.build import build_bilan, write_report
from crpv_pipeline.outputs.report.coverage import NOT_GIVEN
from crpv_pipeline.outputs.report.html import format_cell
from crpv_pipeline.outputs.summary import national_summary
from crpv_pipeline.warehouse.derive import derive_year
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.review import take_decision
from crpv_pipeline.warehouse.schema import ensure_schema
from crpv_pipeline.warehouse.tables import read_table
from crpv_pipeline_tests.factories import activity, finding, make_result
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
    "Fichiers écartés",
    "Suivi des constats",
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
    # and the rebound, on the centres that reported both years (not 3 123 against 2 200)
    assert (
        f"+884 (+40,9{NBSP}%) par rapport à 2020, sur les 15 centres ayant transmis les deux années"
        in html
    )
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
        # stored in UTC, read in Paris time like the deadline: 16:00 UTC in January is 17:00
        paris = pd.Timestamp(row["received_at"], tz="UTC").tz_convert("Europe/Paris")
        assert paris.strftime("%d/%m/%Y %H:%M") in html
    quarantined = submissions.loc[current, "rows_rejected"].sum()
    assert quarantined > 0
    assert "Constats et lignes écartées par centre" in html
    assert "UTC" not in visible_text(html)
    assert html.count('<th scope="col">Reçu le (heure de Paris)</th>') == 3
    # rules by their French label; the id only in the workbook, for analysts
    assert "<tr><td>Demi-journées hors limites</td><td>Erreur</td>" in html
    assert "half_days_out_of_range" not in html and "Code de la règle" not in html


def visible_text(html: str) -> str:
    """The page's text as a reader sees it: no style, no chart, no tags, entities decoded."""
    html = re.sub(r"<style>.*?</style>|<svg.*?</svg>", " ", html, flags=re.S)
    text = unescape(re.sub(r"<[^>]+>", " ", html.replace("<wbr>", "")))
    return re.sub(r"[ \t\r\n]+", " ", text)  # the narrow no-break spaces of numbers stay


def test_participants_left_empty_read_non_renseigne_and_totals_say_their_coverage(demo):
    text = visible_text(demo.html)
    engine = create_warehouse_engine(demo.url)
    try:
        centres = {r[0]: r for r in build_bilan(engine, 2021).table("centres").rows}
    finally:
        engine.dispose()
    # CRPV PACA and Ressources & Territoires left the column empty: unknown, never 0
    for centre in ("Centre de ressources politique de la ville PACA", "Ressources & Territoires"):
        assert centres[centre][4:6] == (NOT_GIVEN, "non renseigné")
        row = re.search(r"<tr><td>" + re.escape(escape(centre)) + r"</td>.*?</tr>", demo.html)
        assert '<td class="num">non renseigné</td><td>non renseigné</td>' in row.group(0)
        assert ">0<" not in row.group(0)
    assert f"Total national 3{NNBSP}123 1{NNBSP}347 27{NNBSP}014 14 centres sur 16" in text
    assert (
        f"Participants 27{NNBSP}014 renseignés par 14 centres sur 16 ; +7{NNBSP}266 "
        f"(+43,8{NBSP}%) par rapport à 2020, sur les 11 centres ayant renseigné les "
        "participants les deux années"
    ) in text
    assert (
        f"Renseignés par 14 centres sur 16 (1{NNBSP}082 activités sur 1{NNBSP}347) ; "
        "évolution calculée sur les 11 centres ayant renseigné les participants les deux années"
    ) in text


def test_no_share_is_shown_with_a_raw_float(demo):
    for page in (demo.html, (demo.output / "2020" / "bilan_2020.html").read_text("utf-8")):
        assert not re.search(r"\d[.,]\d{3,}", visible_text(page).replace(NNBSP, " "))


def test_the_2020_annex_lists_the_rejected_file_apart_with_its_reason(demo):
    html = (demo.output / "2020" / "bilan_2020.html").read_text("utf-8")
    text = visible_text(html)
    used, aside = text.split("Fichiers dont viennent les chiffres", 1)[1].split(
        "Fichiers écartés", 1
    )
    assert "VILLECARAIBE" not in used and "Ville Caraïbe" not in used
    assert (
        "Ville Caraïbe Bilan activité 2020 - VILLECARAIBE.xlsx Rejeté Colonne obligatoire "
        "« Modalité » absente de la ligne d'en-tête (ligne 2) : ajoutez-la avec cet intitulé."
    ) in aside
    assert "Rejeté : Ville Caraïbe (motif dans « Fichiers écartés »)." in text
    book = openpyxl.load_workbook(demo.output / "2020" / "bilan_2020.xlsx")
    assert "Ville Caraïbe" not in [c.value for c in book["Fichiers retenus"]["A"]]
    aside = [[c.value for c in r] for r in book["Fichiers écartés"].iter_rows()]
    assert aside[0][:4] == ["Centre", "Fichier", "Statut", "Motif"]
    assert [r[0] for r in aside[1:]] == ["Ville Caraïbe"]
    assert aside[1][2:4] == [
        "Rejeté",
        "Colonne obligatoire « Modalité » absente de la ligne d'en-tête (ligne 2) : "
        "ajoutez-la avec cet intitulé.",
    ]


def test_the_cli_summary_says_what_participants_cover(demo):
    lines = national_summary(demo.url, 2021).splitlines()
    assert lines[1] == (
        f"  3{NNBSP}123 demi-journées · 1{NNBSP}347 activités · "
        f"27{NNBSP}014 participants (14 centres sur 16) · 45,5{NBSP}% des demi-journées à distance"
    )


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
    # participants and the centres that gave them; the change on the 15 centres of both years
    assert evolution[2021][1:6] == (3123, 1347, 27014, 14, 884)
    assert evolution[2021][7] == 15
    assert evolution[2020][1] == 2200
    centres = {r[0]: r for r in book["Centres"].iter_rows(min_row=2, values_only=True)}
    assert centres["Centre de ressources politique de la ville PACA"][4:6] == (
        None,  # an empty cell, never 0
        "non renseigné",
    )
    assert centres["Total national"][4:6] == (27014, "14 centres sur 16")
    assert centres["Institut Régional de la Ville"][5] == "130 activités sur 145"
    rules = book["Constats par règle"]
    assert [c.value for c in rules[1]] == [
        "Règle",
        "Gravité",
        "Constats",
        "Centres concernés",
        "Code de la règle",
    ]
    assert "Demi-journées hors limites" in [c.value for c in rules["A"]]
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
        "import sys, crpv_pipeline.orchestration.definitions, crpv_pipeline.outputs.report.build; "
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


def test_a_bilan_already_written_is_neither_drawn_nor_written_again(demo):
    """Another process asked for the same bilan leaves the run's files as they are, and never
    imports matplotlib (what drawing the charts costs)."""
    page = demo.output / "2021" / "bilan_2021.html"
    before = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in (page, page.with_suffix(".xlsx"))]
    code = (
        "import sys; from pathlib import Path; "
        "from crpv_pipeline.outputs.report.build import write_report; "
        "from crpv_pipeline.warehouse.engine import create_warehouse_engine; "
        f"write_report(create_warehouse_engine({demo.url!r}), 2021, Path({str(page)!r})); "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    after = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in (page, page.with_suffix(".xlsx"))]
    assert after == before


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


def test_files_set_aside_are_listed_apart_whatever_their_status(sqlite_url, tmp_path):
    """A file rejected after a loaded one is set aside, never « retenu »; so is any status a
    later version adds (an empty resubmission held back): shown by its label, else as is."""
    engine = create_warehouse_engine(sqlite_url)
    try:
        ensure_schema(engine)
        load(engine, make_result())  # IREV loaded: its figures are used
        missing = finding("missing_column", row_number=None, cell=None, value=None)
        load(
            engine,
            make_result(file_name="IREV_v2.xlsx", rejected=True, rows_read=0, findings=[missing]),
        )
        derive_year(engine, 2021)
        bilan = build_bilan(engine, 2021)
    finally:
        engine.dispose()
    assert [r[1] for r in bilan.table("fichiers").rows] == ["IREV_2021.xlsx"]
    assert [r[:4] for r in bilan.table("fichiers_ecartes").rows] == [
        ("Institut Régional de la Ville", "IREV_v2.xlsx", "Rejeté", missing.message),
    ]
    later = pd.DataFrame(
        {
            "name": ["Labo Cités", None],
            "file_name": ["LABOCITES_2021.xlsx", "x.xlsx"],
            "status": ["held", "pending"],
            "reason": [None, None],
            "received_at": [None, None],
            "file_sha256": ["a" * 64, "b" * 64],
            "submission_id": [7, 8],
        }
    )
    assert [r[:3] for r in set_aside_table(later).rows] == [
        ("Labo Cités", "LABOCITES_2021.xlsx", "En attente de décision"),
        ("Centre non identifié", "x.xlsx", "pending"),
    ]


def test_a_year_where_nobody_gave_participants_reads_non_renseigne(sqlite_url, tmp_path):
    engine = create_warehouse_engine(sqlite_url)
    try:
        ensure_schema(engine)
        load(engine, make_result(activities=[activity(participants=None, half_days=3)]))
        derive_year(engine, 2021)
        bilan = build_bilan(engine, 2021)
        page, workbook = write_report(engine, 2021, tmp_path / "b.html")
    finally:
        engine.dispose()
    centres = bilan.table("centres")
    assert [r[4:6] for r in centres.rows if r[2] is not None] == [(NOT_GIVEN, "non renseigné")]
    assert centres.total[4:6] == (NOT_GIVEN, "0 centre sur 1")
    text = visible_text(page.read_text(encoding="utf-8"))
    assert "Participants non renseigné aucun centre ne l'a renseigné" in text
    assert "Participants non renseigné – – – Aucun centre n'a renseigné le nombre" in text
    sheet = openpyxl.load_workbook(workbook)["Centres"]
    total = [c.value for c in sheet[sheet.max_row]]
    assert total[:6] == ["Total national", None, 3, 1, None, "0 centre sur 1"]
    assert "participants non renseignés · " in national_summary(sqlite_url, 2021)


def test_the_bilan_is_dated_by_the_warehouse_and_the_same_data_give_the_same_bytes(
    engine, tmp_path
):
    """Never the time of writing: the latest file recorded or decision taken, in Paris time."""
    result = make_result()
    load(engine, result)
    derive_year(engine, 2021)
    recorded = dt.datetime(2022, 3, 31, 22, 30)  # UTC: 1 April, 00:30 in Paris
    with engine.begin() as conn:
        conn.execute(sa.text("update submission set loaded_at = :at"), {"at": recorded})
    first = write_report(engine, 2021, tmp_path / "a" / "bilan_2021.html", record=False)
    again = write_report(engine, 2021, tmp_path / "b" / "bilan_2021.html", record=False)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    html = first[0].read_text(encoding="utf-8").replace("\n", " ")
    assert "bilan exploitable · données de l'entrepôt CRPV au 01/04/2022 à 00:30</p>" in html
    assert openpyxl.load_workbook(first[1]).properties.created == recorded

    take_decision(engine, 2021, "approve", result.file_sha256, reason="vu", decided_by="claire")
    later, _ = write_report(engine, 2021, tmp_path / "c" / "bilan_2021.html", record=False)
    assert "au 01/04/2022 à 00:30" not in later.read_text(encoding="utf-8")
