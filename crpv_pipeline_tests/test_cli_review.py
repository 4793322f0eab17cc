"""``crpv review``: a steward lists what awaits a decision and takes one; runs honour it.

Real runs of a year's inbox on both backends: a stray second file of a centre rejects both
files; the steward excludes the stray one from the command line; the next runs leave it out
and the centre's return stays in force, unchanged.
"""

import dagster as dg

from crpv_pipeline.cli import main
from crpv_pipeline.orchestration.runs import materialize_year
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.tables import read_table
from crpv_pipeline_tests.workbooks import VALID_ROW, row, write_return


def run(tmp_path, url):
    instance = dg.DagsterInstance.ephemeral()
    return materialize_year(
        2021, tmp_path / "inbox", url, instance=instance, output=tmp_path / "out"
    )


def table(url, name):
    engine = create_warehouse_engine(url)
    try:
        return read_table(engine, name, 2021).to_dict("records")
    finally:
        engine.dispose()


def review(capsys, url, *args):
    capsys.readouterr()  # what the runs logged
    code = main(["review", "--year", "2021", "--warehouse", url, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_stray_file_excluded_from_the_command_line_is_left_out_of_every_run(
    tmp_path, warehouse_url, capsys
):
    folder = tmp_path / "inbox" / "2021"
    write_return(folder / "IREV_2021.xlsx", [VALID_ROW, row(title="Atelier", half_days=1)])
    first = run(tmp_path, warehouse_url)
    (check,) = [
        c
        for c in first.get_asset_check_evaluations()
        if c.check_name == "returns_awaiting_approval"
    ]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.description == "2021: 1 exploitable returns await approval: IREV (reviewed)"
    stray = write_return(folder / "IREV_2021_brouillon.xlsx", [VALID_ROW])
    run(tmp_path, warehouse_url)
    statuses = [s["status"] for s in table(warehouse_url, "submission")]
    assert statuses == ["loaded", "rejected", "rejected"]  # two files for one centre

    code, out, err = review(capsys, warehouse_url)
    assert code == 0, err
    submissions = {s["file_name"]: s for s in table(warehouse_url, "submission")}
    sha = submissions["IREV_2021_brouillon.xlsx"]["file_sha256"]
    assert "Fichier rejeté comme second fichier du centre : à écarter" in out
    assert f'crpv review --year 2021 exclude {sha[:12]} --reason "…"' in out

    code, _, err = review(capsys, warehouse_url, "exclude", sha[:12], "--reason", "brouillon")
    assert code == 0
    assert "excluded from 2021: runs leave the file out" in err
    (decision,) = table(warehouse_url, "steward_decision")
    assert (decision["decision"], decision["file_sha256"], decision["reason"]) == (
        "exclude",
        sha,
        "brouillon",
    )

    for _ in range(2):  # the next run, and a re-run: the stray file stays out
        run(tmp_path, warehouse_url)
        lines = table(warehouse_url, "completeness")
        irev = next(r for r in lines if r["centre_code"] == "IREV")
        assert (irev["status"], irev["submission_id"], irev["rows_loaded"]) == ("loaded", 1, 2)
    statuses = [s["status"] for s in table(warehouse_url, "submission")]
    assert statuses == ["loaded", "rejected", "excluded"]
    assert stray.exists()  # the inbox is the centres': nothing is removed from it


MISTAKES = [
    (["approve"], "Error: approve: name the file by its SHA-256"),
    (["approve", "0123456789"], "Error: approve: say why with --reason"),
    (["--record"], "Error: --record goes with --apply FILE"),
    (
        ["approve", "0123456789", "--reason", "ok"],
        "Error: no file of 2021 has the SHA-256 0123456789…",
    ),
    (
        ["approve", "xyz", "--reason", "ok"],
        "Error: 'xyz' is no SHA-256: give the file's SHA-256, or its first 8 digits or more"
        " (crpv review lists them)",
    ),
]


def test_mistakes_are_one_error_line_and_exit_2(tmp_path, sqlite_url, capsys):
    write_return(tmp_path / "inbox" / "2021" / "IREV_2021.xlsx")
    run(tmp_path, sqlite_url)
    for args, message in MISTAKES:
        code, out, err = review(capsys, sqlite_url, *args)
        assert (code, out, err.strip()) == (2, "", message)


def test_a_year_never_run_has_nothing_to_review(sqlite_url, capsys, tmp_path):
    write_return(tmp_path / "inbox" / "2021" / "IREV_2021.xlsx")
    run(tmp_path, sqlite_url)
    capsys.readouterr()
    code = main(["review", "--year", "2020", "--warehouse", sqlite_url])
    err = capsys.readouterr().err.strip()
    assert (code, err) == (
        2,
        "Error: the warehouse has no data for 2020: run `crpv run --year 2020` first",
    )
