"""A whole year as a steward walks it, through real runs and the overview workbook round trip.

Returns arrive for 2021 after a 2020 in force; a plausibility warning appears (CRPVE's figures
fell by 60 %), IREV's Saturday workshop is flagged, ORIV sends a blank template back (held) and
a stray copy of IREV's file lands beside it. The steward fills the « Décisions » sheet of
suivi_bilans_2021.xlsx: accepts the warnings, confirms the held return, excludes the stray file
and approves the rest; `crpv review --apply` says what it will record, then records it. The
bilan goes from « provisoire » to final; a re-run keeps every decision; a resubmission
afterwards reopens that centre's approval.
"""

import datetime as dt

import dagster as dg
import openpyxl

from crpv_pipeline.cli import main
from crpv_pipeline.orchestration.runs import materialize_year
from crpv_pipeline.outputs.overview_decisions import WHAT
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.tables import read_table
from crpv_pipeline_tests.workbooks import row, write_return


def actions(year, n, first=0, **values):
    """``n`` activities on Mondays from March of ``year``."""
    monday = dt.date(year, 3, 1) + dt.timedelta(days=-dt.date(year, 3, 1).weekday() % 7)
    return [
        row(
            activity_date=monday + dt.timedelta(days=7 * i),
            title=f"Action {i}",
            **values,
        )
        for i in range(first, first + n)
    ]


def run(tmp_path, url, year):
    instance = dg.DagsterInstance.ephemeral()
    return materialize_year(
        year, tmp_path / "inbox", url, instance=instance, output=tmp_path / "out"
    )


def table(url, name, year=2021):
    engine = create_warehouse_engine(url)
    try:
        return read_table(engine, name, year).to_dict("records")
    finally:
        engine.dispose()


def approvals(url):
    return {r["centre_code"]: r["approval"] for r in table(url, "completeness") if r["approval"]}


def cli(capsys, *args):
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def fill(overview, decide):
    """Fill the « Décisions » sheet as a steward does: ``decide(row values) → (label, motif)``."""
    book = openpyxl.load_workbook(overview)
    sheet = book["Décisions"]
    header = [c.value for c in sheet[6]]
    for cells in sheet.iter_rows(min_row=7):
        values = dict(zip(header, (c.value for c in cells), strict=True))
        choice = decide(values)
        if choice:
            cells[header.index("Décision")].value, cells[header.index("Motif")].value = choice
    book.save(overview)


def test_a_year_walked_by_a_steward(tmp_path, warehouse_url, capsys):
    inbox = tmp_path / "inbox"
    for centre in ("IREV", "ORIV", "CRPVE"):
        write_return(
            inbox / "2020" / f"{centre}_2020.xlsx", actions(2020, 10), centre=centre, year=2020
        )
    run(tmp_path, warehouse_url, 2020)

    # Returns arrive for 2021.
    folder = inbox / "2021"
    saturday = row(activity_date=dt.date(2021, 3, 6), title="Atelier du samedi")
    write_return(folder / "IREV_2021.xlsx", [*actions(2021, 9), saturday])
    write_return(folder / "ORIV_2021.xlsx", actions(2021, 10), centre="ORIV")
    write_return(folder / "CRPVE_2021.xlsx", actions(2021, 4), centre="CRPVE")
    run(tmp_path, warehouse_url, 2021)
    rules = {(r["centre_code"], r["rule"]) for r in table(warehouse_url, "plausibility_finding")}
    assert rules == {
        ("CRPVE", "plausibility_half_days_change"),
        ("CRPVE", "plausibility_activities_change"),
    }
    corrections = tmp_path / "out" / "2021" / "corrections"
    crpve = openpyxl.load_workbook(corrections / "corrections_CRPVE_2021_CRPVE_2021.xlsx")
    messages = [r[5] for r in crpve.active.iter_rows(min_row=6, values_only=True)]
    assert any("4 activités en 2021 contre 10 en 2020 (-60,0\u00a0%)" in m for m in messages)

    # ORIV sends the blank template back (held); a stray copy of IREV's file lands beside it.
    (folder / "ORIV_2021.xlsx").unlink()
    write_return(folder / "ORIV_2021_v2.xlsx", [], centre="ORIV")
    write_return(folder / "IREV_2021_copie.xlsx", actions(2021, 2), centre="IREV")
    run(tmp_path, warehouse_url, 2021)
    assert approvals(warehouse_url) == {"IREV": "received", "ORIV": "received", "CRPVE": "received"}
    report = tmp_path / "bilan.html"
    code, _, err = cli(
        capsys,
        "report",
        "--year",
        "2021",
        "--final",
        "-o",
        str(report),
        "--warehouse",
        warehouse_url,
    )
    assert code == 4 and "3 exploitable returns await a steward's approval" in err

    # The steward fills the overview's « Décisions » sheet.
    overview = tmp_path / "out" / "2021" / "suivi_bilans_2021.xlsx"
    choices = {
        ("IREV_2021.xlsx", "Avertissement : accepter s'il est juste"): (
            "Accepter",
            "atelier du samedi tenu",
        ),
        ("CRPVE_2021.xlsx", "Avertissement : accepter s'il est juste"): (
            "Accepter",
            "équipe réduite en 2021",
        ),
        (
            "ORIV_2021_v2.xlsx",
            WHAT["held"],
        ): ("Confirmer", "activité suspendue"),
        (
            "IREV_2021_copie.xlsx",
            WHAT["stray"],
        ): ("Écarter", "copie envoyée par erreur"),
    }

    def decide(values):
        if values["À décider"].startswith("Approuver"):
            return ("Approuver", "bilan vérifié") if values["Centre"] != "ORIV" else None
        return choices.get((values["Fichier"], values["À décider"]))

    fill(overview, decide)
    code, out, err = cli(
        capsys, "review", "--year", "2021", "--apply", str(overview), "--warehouse", warehouse_url
    )
    assert code == 0, out + err
    assert "7 décisions à enregistrer pour 2021" in out
    assert (
        "Accepter — IREV, « IREV_2021.xlsx », weekend_date@Activités!A11"
        " (motif : « atelier du samedi tenu »)" in out
    )
    assert "Dry run: nothing recorded" in err
    assert table(warehouse_url, "steward_decision") == []
    filled = tmp_path / "suivi_rempli.xlsx"  # the steward's copy, as filled
    filled.write_bytes(overview.read_bytes())
    code, out, err = cli(
        capsys,
        "review",
        "--year",
        "2021",
        "--apply",
        str(overview),
        "--record",
        "--by",
        "claire",
        "--warehouse",
        warehouse_url,
        "--output",
        str(tmp_path / "out"),
    )
    assert code == 0, out + err
    assert out.count(": enregistré (décision") == 7
    assert f"Stewards' overview written again: {overview}" in err
    # It was filled in place: what was typed there is kept beside the new one.
    (kept,) = overview.parent.glob("suivi_bilans_2021 (modifié le *).xlsx")
    assert f"The overview was filled in place: kept as {kept}" in err
    assert kept.read_bytes() == filled.read_bytes()
    # The new overview's « Constats » says which warnings were accepted.
    constats = openpyxl.load_workbook(overview)["Constats"]
    assert "avertissements (dont 3 acceptés)" in constats["A2"].value
    header = [c.value for c in constats[4]]
    marks = {
        (r[0], r[header.index("Règle")], r[header.index("Décision")])
        for r in constats.iter_rows(min_row=5, values_only=True)
    }
    assert ("IREV", "Date un week-end", "Accepté par un référent") in marks
    decisions = table(warehouse_url, "steward_decision")
    assert [d["decision"] for d in decisions] == ["accept"] * 3 + [
        "confirm",
        "exclude",
        "approve",
        "approve",
    ]
    assert {d["decided_by"] for d in decisions} == {"claire"}
    assert approvals(warehouse_url) == {"IREV": "approved", "CRPVE": "approved"}  # ORIV: empty

    # The overview was written again: nothing awaits a decision there any more.
    code, out, _ = cli(
        capsys, "review", "--year", "2021", "--apply", str(overview), "--warehouse", warehouse_url
    )
    assert (code, out.splitlines()) == (0, [f"{overview} : 0 décision à enregistrer pour 2021"])
    # The filled copy applied again: every line was decided since it was written.
    code, out, _ = cli(
        capsys, "review", "--year", "2021", "--apply", str(filled), "--warehouse", warehouse_url
    )
    assert code == 1 and "0 décision à enregistrer" in out
    assert out.count("décidé depuis ce classeur (décision n°") == 7
    assert "(décision n° 1, Accepter, par claire)" in out

    # The bilan is final; a re-run keeps every decision.
    code, _, err = cli(
        capsys,
        "report",
        "--year",
        "2021",
        "--final",
        "-o",
        str(report),
        "--warehouse",
        warehouse_url,
    )
    assert code == 0, err
    assert "provisoire" not in report.read_text(encoding="utf-8")
    followup = openpyxl.load_workbook(report.with_suffix(".xlsx"))["Suivi des constats"]
    assert list(followup.iter_rows(values_only=True)) == [
        ("Constats", "Erreurs", "Avertissements", "Vraisemblance", "Total"),
        ("Ouverts", 0, 0, 0, 0),
        ("Acceptés par un référent", 0, 1, 2, 3),
        ("Corrigés par un nouvel envoi", 0, 0, 0, 0),
    ]
    run(tmp_path, warehouse_url, 2021)
    assert approvals(warehouse_url) == {"IREV": "approved", "CRPVE": "approved"}
    # the overview written again is dated by the last decision, not by the run
    latest = max(d["decided_at"] for d in decisions)
    assert openpyxl.load_workbook(overview).properties.created == latest
    statuses = {s["file_name"]: s["status"] for s in table(warehouse_url, "submission")}
    assert statuses["IREV_2021_copie.xlsx"] == "excluded"
    assert statuses["ORIV_2021_v2.xlsx"] == "loaded"
    # IREV's only warning was accepted: no correction workbook left to send.
    assert not (corrections / "corrections_IREV_2021_IREV_2021.xlsx").exists()
    assert not (corrections / "corrections_CRPVE_2021_CRPVE_2021.xlsx").exists()
    code, out, _ = cli(capsys, "review", "--year", "2021", "--warehouse", warehouse_url)
    assert out.startswith("Bilans 2021 : 0 décision en attente")

    # CRPVE sends a corrected return: its approval reopens, the bilan is provisional again.
    write_return(folder / "CRPVE_2021.xlsx", actions(2021, 9), centre="CRPVE")
    run(tmp_path, warehouse_url, 2021)
    assert approvals(warehouse_url) == {"IREV": "approved", "CRPVE": "reviewed"}
    code, _, err = cli(
        capsys,
        "report",
        "--year",
        "2021",
        "--final",
        "-o",
        str(report),
        "--warehouse",
        warehouse_url,
    )
    assert code == 4 and "1 exploitable returns await a steward's approval" in err
