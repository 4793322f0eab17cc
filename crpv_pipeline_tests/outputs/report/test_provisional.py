"""The bilan says « provisoire » until every exploitable return is approved; --final waits.

On both backends: two centres' returns loaded; the bilan is provisional and names them; the
final bilan is refused (exit 4) naming what awaits approval; once both are approved it is final;
a resubmission afterwards reopens that centre's approval and the bilan is provisional again.
"""

import openpyxl
import pytest

from crpv_pipeline.cli import main
from crpv_pipeline.outputs.report.bilan import NotFinal
from crpv_pipeline.outputs.report.build import write_report
from crpv_pipeline.warehouse.derive import derive_year
from crpv_pipeline.warehouse.review import take_decision
from crpv_pipeline_tests.factories import activity, make_result
from crpv_pipeline_tests.tables import load

TITLE = "Bilan quantitatif de l'activité des centres de ressources politique de la ville — 2021"


def approve(engine, result):
    take_decision(engine, 2021, "approve", result.file_sha256, reason="vu", decided_by="claire")


def page(engine, tmp_path, **kwargs):
    html, workbook = write_report(engine, 2021, tmp_path / "bilan_2021.html", **kwargs)
    return html.read_text(encoding="utf-8").replace("&#x27;", "'"), openpyxl.load_workbook(workbook)


def test_the_bilan_is_provisional_until_every_return_is_approved(
    engine, tmp_path, warehouse_url, capsys
):
    irev, oriv = make_result(), make_result(centre_code="ORIV")
    load(engine, irev)
    load(engine, oriv)
    derive_year(engine, 2021)

    html, workbook = page(engine, tmp_path)
    assert f"<title>{TITLE} (provisoire)</title>" in html
    assert f"<h1>{TITLE} (provisoire)</h1>" in html
    assert '<div class="provisional-mark">BILAN PROVISOIRE</div>' in html  # on every page
    assert "Le bilan de 2 centres n'est pas encore approuvé par un référent de l'ANCT" in html
    assert workbook.properties.title == f"{TITLE} (provisoire)"
    for sheet in workbook.worksheets:
        assert sheet.oddHeader.center.text == "Bilan provisoire : en attente d'approbation"

    with pytest.raises(NotFinal, match=r"2 exploitable returns await a steward's approval"):
        page(engine, tmp_path / "final", final=True)
    assert not (tmp_path / "final").exists()  # nothing written
    capsys.readouterr()
    out = tmp_path / "final.html"
    code = main(
        ["report", "--year", "2021", "--final", "-o", str(out), "--warehouse", warehouse_url]
    )
    err = capsys.readouterr().err.strip()
    assert code == 4 and not out.exists()
    assert err.startswith("Error: the bilan of 2021 is not final: 2 exploitable returns await")
    assert err.endswith("; see `crpv review --year 2021`")

    approve(engine, irev)
    html, _ = page(engine, tmp_path)
    assert "(provisoire)" in html and "Le bilan de 1 centre n'est pas encore approuvé" in html
    approve(engine, oriv)
    html, workbook = page(engine, tmp_path, final=True)
    assert f"<h1>{TITLE}</h1>" in html and "provisoire" not in html.lower()
    assert workbook["Chiffres clés"].oddHeader.center.text is None

    # ORIV sends a new file: its approval reopens, the bilan is provisional again.
    load(engine, make_result(centre_code="ORIV", activities=[activity(), activity(title="Autre")]))
    derive_year(engine, 2021)
    with pytest.raises(NotFinal):
        page(engine, tmp_path, final=True)
    html, _ = page(engine, tmp_path)
    assert "(provisoire)" in html


def test_the_annex_counts_findings_open_accepted_and_corrected(engine):
    from crpv_pipeline.outputs.report.build import build_bilan
    from crpv_pipeline_tests.factories import finding

    weekend = finding("weekend_date", "warning", row_number=8, cell="A8", value="06/03/2021")
    first = make_result(findings=[finding(), weekend])  # an error at A9, a warning at A8
    load(engine, first)
    again = make_result(file_name="IREV_2021_v2.xlsx", findings=[weekend])  # A9 corrected
    load(engine, again)
    derive_year(engine, 2021)
    rows = build_bilan(engine, 2021).table("suivi_constats").rows
    assert rows == (
        ("Ouverts", 0, 1, 0, 1),
        ("Acceptés par un référent", 0, 0, 0, 0),
        ("Corrigés par un nouvel envoi", 1, 0, 0, 1),
    )
    take_decision(
        engine,
        2021,
        "accept",
        again.file_sha256,
        finding="weekend_date@Activités!A8",
        reason="atelier tenu",
        decided_by="claire",
    )
    rows = build_bilan(engine, 2021).table("suivi_constats").rows
    assert rows[:2] == (("Ouverts", 0, 0, 0, 0), ("Acceptés par un référent", 0, 1, 0, 1))
