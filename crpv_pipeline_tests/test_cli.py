import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import crpv_pipeline
from crpv_pipeline.cli import main
from crpv_pipeline.cli_checks import TEST_ONLY_VARIABLES
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


def test_validate_report_for_several_files_goes_to_a_folder(tmp_path, capsys):
    first = write_return(tmp_path / "IREV_2021.xlsx", [row(theme="Logement")])
    second = write_return(tmp_path / "ORIV_2021.xlsx", centre="ORIV")  # nothing to correct
    folder = tmp_path / "rapports"
    assert main(["validate", str(first), str(second), "--report", str(folder)]) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["corrections_IREV_2021_IREV_2021.xlsx"]
    err = capsys.readouterr().err
    assert f"Correction workbook written: {folder / 'corrections_IREV_2021_IREV_2021.xlsx'}" in err
    assert f"No correction workbook for {second}: nothing to correct" in err
    assert main(["validate", str(first), str(second), "--report", str(tmp_path / "x.xlsx")]) == 2


def test_validate_report_survives_odd_sheet_and_file_names(tmp_path, capsys):
    """Sheet names Excel refuses, file names that look alike once made safe, one file name in
    two folders: one workbook per file, each opens, no traceback."""
    import openpyxl

    from crpv_pipeline_tests.workbooks import rename_sheets

    files = []
    for name in ("Bilan 2021.xlsx", "Bilan_2021.xlsx", "Bilan (2021).xlsx", "a/Bilan_2021.xlsx"):
        path = write_return(tmp_path / "in" / name, [row(half_days=99)], sheet_name="S")
        files.append(str(rename_sheets(path, {"S": "Act[1]"})))
    folder = tmp_path / "rapports"
    assert main(["validate", *files, "--year", "2021", "--report", str(folder)]) == 1
    written = sorted(folder.iterdir())
    assert len(written) == 4 and capsys.readouterr().err.count("Correction workbook written") == 4
    for path in written:
        book = openpyxl.load_workbook(path)
        assert book.sheetnames == ["Corrections à apporter", "Identification", "Act_1_"]
        assert book["Act_1_"]["D2"].comment is not None


def test_csv_output_never_carries_a_formula(tmp_path, capsys):
    path = write_return(
        tmp_path / "IREV.xlsx", [row(theme="=1+1"), row(title="B", modality="@SUM(A1)")]
    )
    assert main(["validate", "--format", "csv", str(path)]) == 1
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["value"] for r in rows] == ["'=1+1", "'@SUM(A1)"]


# --- user mistakes: one `Error:` line and exit 2, never a traceback ------------------------


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder nobody running the tests may write in (root writes everywhere but in sysfs)."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o500)
        return folder
    if not Path("/sys/kernel").is_dir():
        pytest.skip("running as root without sysfs: no folder root cannot write in")
    return Path("/sys")


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_a_year_outside_the_partitions_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "1850").mkdir()
    args = ["run", "--year", "1850", "--inbox", str(tmp_path), "--warehouse", "sqlite://"]
    assert main(args) == 2
    last = dt.date.today().year
    assert error_line(capsys) == f"Error: --year 1850: the pipeline runs the years 2015 to {last}"


@pytest.mark.parametrize("kind", ["file instead of a folder", "unwritable folder"])
def test_outputs_that_cannot_be_written_are_usage_errors(tmp_path, capsys, kind):
    if kind == "file instead of a folder":
        folder = tmp_path / "a_file"
        folder.write_text("not a folder")
        where = f"no such folder: {folder}"
    else:
        folder = unwritable_folder(tmp_path)
        where = f"cannot write in {folder} (Permission denied)"
    ret = write_return(tmp_path / "2021" / "IREV.xlsx", [row(half_days="2,5")])

    html = folder / "bilan.html"
    assert main(["report", "--year", "2021", "-o", str(html), "--warehouse", "sqlite://"]) == 2
    assert error_line(capsys) == f"Error: -o {html}: {where}"

    xlsx = folder / "IREV_2021.xlsx"
    assert main(["template", "--centre", "IREV", "--year", "2021", "-o", str(xlsx)]) == 2
    assert error_line(capsys) == f"Error: -o {xlsx}: {where}"

    assert main(["validate", str(ret), "--report", str(xlsx)]) == 2
    assert error_line(capsys) == f"Error: --report {xlsx}: {where}"

    out = folder / "out"
    assert main(["validate", str(ret), "--report", str(out)]) == 2
    if kind == "file instead of a folder":
        assert error_line(capsys) == f"Error: --report {out}: {folder} is a file, not a folder"
    else:
        assert error_line(capsys) == f"Error: --report {out}: {where}"


@pytest.mark.parametrize("kind", ["file instead of a folder", "unwritable folder"])
def test_run_checks_its_output_folder_before_loading_anything(tmp_path, capsys, kind):
    write_return(tmp_path / "inbox" / "2021" / "IREV.xlsx")
    if kind == "file instead of a folder":
        (tmp_path / "a_file").write_text("not a folder")
        out = tmp_path / "a_file" / "out"
        message = f"Error: --output {out}: {tmp_path / 'a_file'} is a file, not a folder"
    else:
        folder = unwritable_folder(tmp_path)
        out = folder / "out"
        message = f"Error: --output {out}: cannot write in {folder} (Permission denied)"
    (tmp_path / "w").mkdir()
    warehouse = tmp_path / "w" / "crpv.sqlite"
    args = ["run", "--year", "2021", "--inbox", str(tmp_path / "inbox")]
    assert main([*args, "--warehouse", f"sqlite:///{warehouse}", "--output", str(out)]) == 2
    assert error_line(capsys) == message
    assert not warehouse.exists()  # nothing was loaded


def test_a_report_or_template_path_that_is_a_folder_is_a_usage_error(tmp_path, capsys):
    folder = tmp_path / "bilan.html"
    folder.mkdir()
    assert main(["report", "--year", "2021", "-o", str(folder)]) == 2
    assert error_line(capsys) == f"Error: -o {folder}: is a folder, not a file"


def test_warehouse_urls_that_cannot_be_opened_are_usage_errors(tmp_path, capsys):
    write_return(tmp_path / "inbox" / "2021" / "IREV.xlsx")
    run = ["run", "--year", "2021", "--inbox", str(tmp_path / "inbox")]
    run += ["--output", str(tmp_path / "out")]

    assert main([*run, "--warehouse", "postgresql://crpv:secret@db.example:54x2/crpv"]) == 2
    line = error_line(capsys)
    assert line == (
        "Error: invalid warehouse URL (postgresql): the port is not a number; expected for"
        " example sqlite:///crpv.sqlite or postgresql+psycopg://user@host:5432/database"
    )

    bad_port = "postgresql://crpv:secret@db.example:54x2/crpv"
    assert (
        main(["report", "--year", "2021", "-o", str(tmp_path / "b.html"), "--warehouse", bad_port])
        == 2
    )
    assert error_line(capsys) == line

    missing = tmp_path / "nonexistent" / "dir"
    assert main([*run, "--warehouse", f"sqlite:///{missing / 'x.sqlite'}"]) == 2
    assert error_line(capsys) == (
        f"Error: no folder {missing} for the SQLite warehouse sqlite:///{missing / 'x.sqlite'}:"
        " create it first"
    )
    assert not (tmp_path / "nonexistent").exists()  # never created
    assert not (tmp_path / "out").exists()  # nothing ran


def test_validate_a_folder_validates_its_returns_as_the_pipeline_lists_them(tmp_path, capsys):
    folder = tmp_path / "inbox" / "2021"
    write_return(folder / "IREV.xlsx")
    write_return(folder / "ORIV.xlsx", [row(half_days="2,5")], centre="ORIV")
    (folder / "~$IREV.xlsx").write_bytes(b"lock")
    (folder / ".hidden.xlsx").write_bytes(b"hidden")
    assert main(["validate", str(folder)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = [line for line in captured.out.splitlines() if not line.startswith("  ")]
    assert [line.split(":")[0] for line in lines] == [
        str(folder / "IREV.xlsx"),
        str(folder / "ORIV.xlsx"),
    ]
    assert "année 2021" in lines[0]  # the year of the folder applies


def test_validate_skips_lock_files_named_explicitly_with_a_note(tmp_path, capsys):
    folder = tmp_path / "2021"
    good = write_return(folder / "IREV.xlsx")
    lock = folder / "~$IREV.xlsx"
    lock.write_bytes(b"lock")
    assert main(["validate", str(good), str(lock)]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        f"{lock}: skipped, an editor lock file or hidden file (the pipeline skips it)"
    )
    assert captured.out.count("\n") == 1  # one return validated

    assert main(["validate", str(lock)]) == 2
    assert error_line(capsys) == f"Error: no returns to validate in {lock}"


def test_help_lists_every_environment_variable_the_program_reads(capsys):
    package = Path(crpv_pipeline.__file__).parent
    source = "\n".join(p.read_text(encoding="utf-8") for p in package.rglob("*.py"))
    named = set(re.findall(r"\bCRPV_[A-Z0-9_]*[A-Z0-9]\b", source))
    read = set(re.findall(r"environ(?:\.get)?[\(\[]\s*[\"']([A-Z][A-Z0-9_]+)[\"']", source))
    read |= set(re.findall(r"\bgetenv\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']", source))
    variables = (named | read) - set(TEST_ONLY_VARIABLES)
    assert {"CRPV_INBOX", "CRPV_WAREHOUSE_URL", "CRPV_WORKERS", "DAGSTER_HOME"} <= variables

    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = capsys.readouterr().out
    environment = help_text.split("environment (default in brackets):", 1)[1]
    listed = dict(re.findall(r"^  ([A-Z][A-Z0-9_]+)\n((?:      .*\n)+)", environment, flags=re.M))
    assert sorted(variables - set(listed)) == []
    for name, text in listed.items():
        assert re.search(r"\[[^\]]+\]\s*$", text), f"{name}: no default in brackets"
    assert "exit status: 0 success, 1 invalid input found (validate), 2 usage error" in help_text


# --- crpv upgrade -----------------------------------------------------------------------------


def test_upgrade_says_from_which_revision_to_which_and_then_that_nothing_is_left(
    warehouse_url, capsys
):
    from crpv_pipeline.warehouse.migrate import head_revision
    from crpv_pipeline_tests.warehouse_v1 import load_warehouse_v1

    load_warehouse_v1(warehouse_url)
    head = head_revision()
    assert main(["upgrade", "--warehouse", warehouse_url, "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "Warehouse made before schema versioning: recognised at revision 0001 (it would be"
        " stamped).",
        f"Warehouse schema to be upgraded from revision 0001 to {head}:",
    ]
    assert main(["upgrade", "--warehouse", warehouse_url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Warehouse made before schema versioning: recognised at revision 0001, stamped.",
        f"Warehouse schema upgraded from revision 0001 to {head}:",
        "  0002  rules, held and empty returns, source sheets, participants that may be unknown",
        "  0003  whether a return came on time, said in Paris time for every year derived",
        "  0004  stewards' decisions, plausibility warnings, approval of each centre's return",
        "  0005  the activities of superseded returns are kept, to put a return back in force",
    ]
    assert main(["upgrade", "--warehouse", warehouse_url]) == 0
    assert capsys.readouterr().out == (
        f"Warehouse schema at revision {head}, the newest: nothing to upgrade.\n"
    )


def test_a_warehouse_newer_than_the_software_is_refused_by_upgrade_and_by_run(
    tmp_path, sqlite_url, capsys
):
    from crpv_pipeline.warehouse.engine import create_warehouse_engine
    from crpv_pipeline.warehouse.migrate import VERSION_TABLE, head_revision
    from crpv_pipeline.warehouse.schema import ensure_schema

    engine = create_warehouse_engine(sqlite_url)
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0999'")
    engine.dispose()
    refusal = (
        "the warehouse schema is at revision 0999, which this version of crpv-pipeline does not"
        f" know (it knows up to {head_revision()}): the warehouse was upgraded by a newer"
        " version; upgrade crpv-pipeline"
    )
    assert main(["upgrade", "--warehouse", sqlite_url]) == 2
    assert capsys.readouterr().err == f"Error: {refusal}\n"
    write_return(tmp_path / "inbox" / "2021" / "IREV.xlsx")
    run = ["run", "--year", "2021", "--inbox", str(tmp_path / "inbox"), "--warehouse", sqlite_url]
    assert main([*run, "--output", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("Error: ") and refusal in err[-1]


def test_upgrade_never_creates_a_sqlite_warehouse(tmp_path, capsys):
    missing = tmp_path / "typo.sqlite"
    assert main(["upgrade", "--warehouse", f"sqlite:///{missing}"]) == 2
    assert capsys.readouterr().err == (
        f"Error: no warehouse at {missing}: `crpv run` or `crpv demo` creates one\n"
    )
    assert not missing.exists()
