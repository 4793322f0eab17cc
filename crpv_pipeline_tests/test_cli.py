import csv
import io
import json
import subprocess
import sys

from crpv_pipeline.cli import main
from crpv_pipeline_tests.workbooks import VALID_ROW, row, write_return


def test_validate_valid_file_exits_0(tmp_path, capsys):
    path = write_return(tmp_path / "2021" / "IREV.xlsx")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "loaded — centre IREV, année 2021, 1/1 lignes chargeables, 0 erreur(s)" in out


def test_validate_reports_each_finding_and_exits_1(tmp_path, capsys):
    path = write_return(
        tmp_path / "2021" / "IREV.xlsx", [VALID_ROW, row(half_days="2,5", title="B")]
    )
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert (
        "Activités!D3 [erreur] Demi-journées : nombre entier attendu : « 2,5 » n'est pas un "
        "nombre entier de demi-journées : saisissez un nombre entier de 1 à 60.\n"
    ) in out
    assert "half_days_not_integer" not in out  # people read the label, never the id


def test_validate_only_warnings_exits_0(tmp_path):
    path = write_return(tmp_path / "x.xlsx", [row(participants=650)])
    assert main(["validate", str(path)]) == 0


def test_validate_year_from_folder_or_option(tmp_path, capsys):
    path = write_return(tmp_path / "2020" / "IREV.xlsx")  # declares 2021, sits in 2020/
    assert main(["validate", str(path)]) == 1
    assert "[erreur] Année différente de celle du dossier : " in capsys.readouterr().out
    assert main(["validate", "--year", "2021", str(path)]) == 0


def test_validate_json_and_csv(tmp_path, capsys):
    path = write_return(tmp_path / "IREV.xlsx", [row(theme="Logement")])
    assert main(["validate", "--format", "json", str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report[0]["status"] == "loaded_with_errors"
    assert report[0]["findings"][0]["cell"] == "F2"
    assert report[0]["findings"][0]["rule"] == "theme_unknown"
    assert report[0]["findings"][0]["rule_label"] == "Thématique inconnue"
    assert main(["validate", "--format", "csv", str(path)]) == 1
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["cell"], r["rule"], r["rule_label"], r["value"]) for r in rows] == [
        ("F2", "theme_unknown", "Thématique inconnue", "Logement")
    ]


def test_validate_missing_file_is_a_usage_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "absent.xlsx")]) == 2
    assert "Error: no such file:" in capsys.readouterr().err


def test_usage_errors_exit_2():
    done = subprocess.run(
        [sys.executable, "-m", "crpv_pipeline.cli", "run"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "--year" in done.stderr


def test_run_without_inbox_folder_is_a_usage_error(tmp_path, capsys):
    assert (
        main(["run", "--year", "2021", "--inbox", str(tmp_path), "--warehouse", "sqlite://"]) == 2
    )
    assert "no inbox folder for 2021" in capsys.readouterr().err


def test_validate_imports_neither_dagster_nor_sqlalchemy(tmp_path):
    path = write_return(tmp_path / "IREV.xlsx")
    code = (
        "import sys; from crpv_pipeline.cli import main; rc = main(['validate', sys.argv[1]]); "
        "bad = [m for m in ('dagster', 'sqlalchemy', 'matplotlib') if m in sys.modules]; "
        "print(bad); sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_validate_command_does_not_import_hypothesis(tmp_path):
    # Pandera would import it (a test tool here) for data synthesis it never does: 0.13 s.
    path = write_return(tmp_path / "IREV.xlsx")
    code = (
        "import sys; from crpv_pipeline import cli; sys.argv = ['crpv', 'validate', sys.argv[1]];"
        " rc = cli.main(); print(sys.modules.get('hypothesis') is None); sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "True"


def test_template_command_writes_a_return_that_validates(tmp_path, capsys):
    out = tmp_path / "IREV_2021.xlsx"
    assert main(["template", "--centre", "IREV", "--year", "2021", "-o", str(out)]) == 0
    assert f"Template written: {out}" in capsys.readouterr().err
    assert main(["validate", str(out)]) == 0


def test_template_unknown_centre_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "x.xlsx"
    assert main(["template", "--centre", "XYZ", "--year", "2021", "-o", str(out)]) == 2
    assert "Error: unknown centre 'XYZ'; valid codes: PROFBANLIEUE" in capsys.readouterr().err
    assert not out.exists()


def test_validate_report_writes_the_correction_workbook(tmp_path, capsys):
    import openpyxl

    path = write_return(
        tmp_path / "2021" / "IREV.xlsx", [VALID_ROW, row(half_days="2,5", title="B")]
    )
    out = tmp_path / "corrections.xlsx"
    assert main(["validate", str(path), "--report", str(out)]) == 1
    assert f"Correction workbook written: {out}" in capsys.readouterr().err
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Corrections à apporter", "Identification", "Activités"]
    assert book["Activités"]["D3"].comment is not None


def test_validate_report_for_several_files_goes_to_a_folder(tmp_path):
    first = write_return(tmp_path / "IREV_2021.xlsx", [row(theme="Logement")])
    second = write_return(tmp_path / "ORIV_2021.xlsx", centre="ORIV")
    folder = tmp_path / "rapports"
    assert main(["validate", str(first), str(second), "--report", str(folder)]) == 1
    assert sorted(p.name for p in folder.iterdir()) == [
        "corrections_IREV_2021_IREV_2021.xlsx",
        "corrections_ORIV_2021_ORIV_2021.xlsx",
    ]
    assert main(["validate", str(first), str(second), "--report", str(tmp_path / "x.xlsx")]) == 2


def test_csv_output_never_carries_a_formula(tmp_path, capsys):
    path = write_return(
        tmp_path / "IREV.xlsx", [row(theme="=1+1"), row(title="B", modality="@SUM(A1)")]
    )
    assert main(["validate", "--format", "csv", str(path)]) == 1
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["value"] for r in rows] == ["'=1+1", "'@SUM(A1)"]
