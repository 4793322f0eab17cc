"""Integration: a year's partition materialised through Dagster, on SQLite and PostgreSQL."""

import datetime as dt
import os
import re

import dagster as dg
import pytest

from crpv_pipeline.orchestration.runs import materialize_year
from crpv_pipeline.warehouse.dictionary import BI_VIEWS, load_dictionary
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.tables import read_table
from crpv_pipeline.year import workers as year_workers
from crpv_pipeline_tests.workbooks import HEADER, VALID_ROW, row, write_return

RENCONTRE = {
    "title": "Rencontre régionale",
    "activity_type": "Activité de réseau",
    "half_days": 3,
    "modality": "visio",
    "theme": "Santé",
    "activity_date": "12/04/2021",
}
IREV_ROWS = [
    VALID_ROW,
    row(**RENCONTRE),
    row(
        title="GT GUP",
        activity_type="GT",
        half_days=1,
        modality="Hybride",
        theme="GUP",
        participants=None,
    ),
]
ORIV_ROWS = [
    row(
        title="Colloque éducation",
        activity_type="colloque",
        half_days=2,
        modality="Distanciel",
        theme="Éducation",
    ),
    row(title="Erreur", half_days="2,5"),  # quarantined
    row(title="Samedi", activity_date=dt.date(2021, 6, 5), half_days=1),  # weekend warning, loads
]


def run(tmp_path, url, year=2021):
    return materialize_year(
        year,
        tmp_path / "inbox",
        url,
        instance=dg.DagsterInstance.ephemeral(),
        output=tmp_path / "out",
    )


def snapshot(url):
    engine = create_warehouse_engine(url)
    try:
        return {t: read_table(engine, t) for t in load_dictionary()}
    finally:
        engine.dispose()


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox" / "2021"
    write_return(folder / "Bilan IREV 2021.xlsx", IREV_ROWS, title_rows=[["Bilan annuel"], []])
    write_return(folder / "ORIV_2021.xlsx", ORIV_ROWS, identification=False)
    write_return(folder / "inconnu.xlsx", centre="Centre imaginaire")
    (folder / "~$Bilan IREV 2021.xlsx").write_bytes(b"lock")
    return folder


def test_partition_fills_every_table(tmp_path, inbox, warehouse_url):
    result = run(tmp_path, warehouse_url)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "returns_in_inbox": True,
        "reconciliation": True,
        "validation_findings": False,
        "missing_returns": False,  # 15 expected centres have sent nothing
        "returns_awaiting_approval": False,  # IREV and ORIV await a steward's approval
        "bilan_on_time": True,  # built (long after its due day)
    }
    tables = snapshot(warehouse_url)

    submissions = tables["submission"].set_index("file_name")
    assert submissions.loc[
        "Bilan IREV 2021.xlsx", ["centre_code", "status", "rows_loaded"]
    ].tolist() == ["IREV", "loaded", 3]
    assert submissions.loc[
        "ORIV_2021.xlsx", ["status", "rows_read", "rows_loaded", "n_errors", "n_warnings"]
    ].tolist() == ["loaded_with_errors", 3, 2, 1, 1]
    assert submissions.loc["inconnu.xlsx", "status"] == "rejected"
    assert len(submissions) == 3  # the lock file is ignored

    facts = tables["fact_activity"]
    assert len(facts) == 5
    assert facts["half_days"].sum() == 2 + 3 + 1 + 2 + 1
    failures = tables["validation_failure"]
    assert set(failures["rule"]) == {"half_days_not_integer", "weekend_date", "unknown_centre"}
    oriv_error = failures[failures["rule"] == "half_days_not_integer"].iloc[0]
    assert (oriv_error["sheet"], oriv_error["cell"], oriv_error["value"]) == (
        "Activités",
        "D3",
        "2,5",
    )

    summary = tables["yearly_summary"].iloc[0]
    assert (summary["year"], summary["centres_expected"], summary["centres_reporting"]) == (
        2021,
        17,
        2,
    )
    assert (summary["n_activities"], summary["half_days"]) == (5, 9)
    assert summary["share_distanciel_pct"] == pytest.approx(100 * 5 / 9)  # visio 3 + distanciel 2

    themes = tables["theme_shares"].set_index("theme_code")
    assert len(themes) == 16
    assert themes["share_half_days_pct"].sum() == pytest.approx(100)
    assert themes.loc["VRL", "half_days"] == 3  # 2 (IREV) + 1 (ORIV, Samedi)

    completeness = tables["completeness"].set_index("centre_code")["status"]
    assert completeness["IREV"] == "loaded"
    assert completeness["ORIV"] == "loaded_with_errors"
    assert (completeness == "missing").sum() == 15


def test_rerun_with_same_files_changes_nothing(tmp_path, inbox, warehouse_url):
    run(tmp_path, warehouse_url)
    before = snapshot(warehouse_url)
    second = run(tmp_path, warehouse_url)
    after = snapshot(warehouse_url)
    for table, frame in before.items():
        if table != "load_run":  # the audit trail records every run
            assert frame.equals(after[table]), table
    audit = after["load_run"].set_index("run_id").loc[second.run_id]
    assert (audit["files_seen"], audit["files_read"], audit["submissions_unchanged"]) == (3, 0, 3)


def test_corrected_resubmission_supersedes(tmp_path, inbox, warehouse_url):
    run(tmp_path, warehouse_url)
    write_return(
        inbox / "ORIV_2021.xlsx",
        [ORIV_ROWS[0], row(title="Corrigée", half_days=2)],
        identification=False,
    )
    run(tmp_path, warehouse_url)
    tables = snapshot(warehouse_url)
    oriv = tables["submission"][tables["submission"]["centre_code"] == "ORIV"].sort_values(
        "submission_id"
    )
    assert oriv["status"].tolist() == ["superseded", "loaded"]
    facts = tables["fact_activity"]
    current = oriv["submission_id"].iloc[-1]
    assert set(facts[facts["centre_code"] == "ORIV"]["submission_id"]) == {current}
    assert sorted(facts[facts["centre_code"] == "ORIV"]["title"]) == [
        "Colloque éducation",
        "Corrigée",
    ]
    assert tables["yearly_summary"].iloc[0]["half_days"] == 6 + 4
    assert tables["completeness"].set_index("centre_code").loc["ORIV", "status"] == "loaded"


def test_rejected_resubmission_keeps_previous_data(tmp_path, inbox, warehouse_url):
    run(tmp_path, warehouse_url)
    before = snapshot(warehouse_url)
    write_return(
        inbox / "Bilan IREV 2021.xlsx", IREV_ROWS, header=HEADER[:4] + HEADER[5:]
    )  # no Modalité
    run(tmp_path, warehouse_url)
    tables = snapshot(warehouse_url)
    irev = tables["submission"][tables["submission"]["centre_code"] == "IREV"].sort_values(
        "submission_id"
    )
    assert irev["status"].tolist() == ["loaded", "rejected"]
    assert tables["fact_activity"].equals(before["fact_activity"])
    assert tables["yearly_summary"].equals(before["yearly_summary"])
    assert tables["completeness"].set_index("centre_code").loc["IREV", "status"] == "loaded"
    failure = tables["validation_failure"].iloc[-1]
    assert (failure["rule"], failure["centre_code"]) == ("missing_column", "IREV")


def test_two_files_for_one_centre_are_both_rejected(tmp_path, inbox, warehouse_url):
    write_return(inbox / "ORIV bis.xlsx", ORIV_ROWS[:1], centre="ORIV")
    run(tmp_path, warehouse_url)
    tables = snapshot(warehouse_url)
    oriv = tables["submission"][tables["submission"]["centre_code"] == "ORIV"]
    assert oriv["status"].tolist() == ["rejected", "rejected"]
    assert not (tables["fact_activity"]["centre_code"] == "ORIV").any()
    messages = tables["validation_failure"].query("rule == 'duplicate_file'")["message"]
    assert len(messages) == 2
    assert "Deux fichiers reçus pour le centre ORIV et l'année 2021" in messages.iloc[0]
    run(tmp_path, warehouse_url)
    again = snapshot(warehouse_url)
    assert all(frame.equals(again[t]) for t, frame in tables.items() if t != "load_run")


def test_run_command_prints_the_national_summary(tmp_path, inbox, sqlite_url, capsys, monkeypatch):
    from crpv_pipeline.cli import main

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert (
        main(
            [
                "run",
                "--year",
                "2021",
                "--inbox",
                str(tmp_path / "inbox"),
                "--warehouse",
                sqlite_url,
                "--output",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Bilan national 2021 — 2 centres sur 17" in out
    assert "9 demi-journées · 5 activités" in out
    assert os.path.exists(sqlite_url.removeprefix("sqlite:///"))


def test_stewards_get_correction_workbooks_and_the_overview(tmp_path, inbox, sqlite_url):
    import openpyxl

    run(tmp_path, sqlite_url)
    folder = tmp_path / "out" / "2021"
    corrections = sorted(p.name for p in (folder / "corrections").iterdir())
    assert corrections == [
        "corrections_ORIV_2021_ORIV_2021.xlsx",
        "corrections_centre_inconnu_2021_inconnu.xlsx",
    ]
    book = openpyxl.load_workbook(folder / "corrections" / corrections[0])
    assert book.sheetnames[0] == "Corrections à apporter"
    cell = book["Activités"]["D3"]
    assert cell.value == "2,5"
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert "nombre entier de demi-journées" in cell.comment.text

    overview = openpyxl.load_workbook(folder / "suivi_bilans_2021.xlsx")
    assert overview.sheetnames == ["Complétude", "Décisions", "Constats"]

    # ORIV sends a clean return: its correction workbook goes away at the next run.
    write_return(inbox / "ORIV_2021.xlsx", ORIV_ROWS[:1], identification=False)
    run(tmp_path, sqlite_url)
    assert sorted(p.name for p in (folder / "corrections").iterdir()) == [
        "corrections_centre_inconnu_2021_inconnu.xlsx"
    ]


def test_each_run_is_recorded_with_its_versions_and_resubmissions(tmp_path, inbox, sqlite_url):
    from crpv_pipeline import __version__
    from crpv_pipeline.reference.refdata import default_nomenclature

    first = run(tmp_path, sqlite_url)
    write_return(inbox / "ORIV_2021.xlsx", ORIV_ROWS[:1], identification=False)
    second = run(tmp_path, sqlite_url)
    audit = snapshot(sqlite_url)["load_run"].set_index("run_id")
    assert list(audit.index) == sorted([first.run_id, second.run_id])
    record = audit.loc[second.run_id]
    assert (record["year"], record["files_seen"], record["files_read"]) == (2021, 3, 1)
    assert (record["submissions_loaded"], record["submissions_unchanged"]) == (1, 2)
    assert record["pipeline_version"] == __version__
    assert record["reference_data_version"] == default_nomenclature().version
    assert record["started_at"] <= record["finished_at"]

    (event,) = [
        e
        for e in second.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("submission")
    ]
    (change,) = event.materialization.metadata["resubmissions"].records
    assert change.data == {
        "centre": "ORIV",
        "file": "ORIV_2021.xlsx",
        "submission": 4,
        "replaces": 2,
        "added": 0,
        "removed": 1,  # Samedi
        "changed": 0,
        "half_days": "3 → 2",
    }


def test_reread_all_reads_every_file_again_and_changes_nothing(tmp_path, inbox, sqlite_url):
    from crpv_pipeline.orchestration.definitions import build_definitions

    run(tmp_path, sqlite_url)
    before = snapshot(sqlite_url)
    defs = build_definitions(str(tmp_path / "inbox"), sqlite_url, str(tmp_path / "out"))
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        partition_key="2021",
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {"validate_and_load": {"config": {"reread_all": True}}}},
    )
    (event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("validated_returns")
    ]
    assert event.materialization.metadata["returns_read"].value == 3
    after = snapshot(sqlite_url)
    assert all(after[t].equals(frame) for t, frame in before.items() if t != "load_run")


def _outcome(result):
    return (
        result.file_name,
        result.status,
        result.rows_read,
        result.findings,
        result.activities.to_dict("records"),
    )


def test_two_processes_validate_exactly_as_one(tmp_path, inbox, monkeypatch):
    from crpv_pipeline.intake import inbox as inbox_listing
    from crpv_pipeline.year import outputs as year_outputs
    from crpv_pipeline.year import validate as year_validation

    files = inbox_listing.inbox_files(tmp_path / "inbox", 2021)
    alone = year_validation.validate_year(files, 2021, workers=1)
    monkeypatch.setattr(year_workers, "PARALLEL_MIN_BYTES", 0)  # these files are small
    messages = []
    side_by_side = year_validation.validate_year(files, 2021, progress=messages.append, workers=2)
    assert [_outcome(r) for r in side_by_side] == [_outcome(r) for r in alone]
    assert [m.split(":")[0] for m in messages] == [
        "[1/3] Bilan IREV 2021.xlsx",
        "[2/3] ORIV_2021.xlsx",
        "[3/3] inconnu.xlsx",
    ]
    assert all({"read", "normalise", "validate"} <= r.stage_seconds.keys() for r in alone[:1])

    folder = tmp_path / "corrections"
    written = year_outputs.write_corrections(side_by_side, folder, workers=2)
    assert sorted(p.name for p in written) == [
        "corrections_ORIV_2021_ORIV_2021.xlsx",
        "corrections_centre_inconnu_2021_inconnu.xlsx",
    ]
    assert all(p.stat().st_size > 0 for p in written)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({"CRPV_WORKERS": "3"}, 3), ({"CRPV_WORKERS": " 1 "}, 1), ({}, len(os.sched_getaffinity(0)))],
)
def test_worker_processes_come_from_crpv_workers_or_the_cores(environ, expected):
    from crpv_pipeline.settings import worker_processes

    assert worker_processes(environ) == expected


@pytest.mark.parametrize("text", ["0", "two", "-1"])
def test_a_wrong_crpv_workers_names_the_variable(text):
    from crpv_pipeline.settings import worker_processes

    with pytest.raises(ValueError, match=f"CRPV_WORKERS='{text}'"):
        worker_processes({"CRPV_WORKERS": text})


@pytest.mark.parametrize(
    ("sizes", "workers", "started"),
    [((1 << 20, 1 << 20), 2, True), ((1 << 20,), 2, False), ((1 << 20, 1 << 20), 1, False)],
)
def test_the_fork_server_starts_with_the_run_when_workers_may_be_needed(
    tmp_path, monkeypatch, sizes, workers, started
):
    import multiprocessing

    from crpv_pipeline.intake import inbox as inbox_listing
    from crpv_pipeline.year import workers as year_workers

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork server on this platform")
    calls = []
    monkeypatch.setattr(year_workers.forkserver, "ensure_running", lambda: calls.append(True))
    folder = tmp_path / "inbox" / "2021"
    folder.mkdir(parents=True)
    for i, size in enumerate(sizes):
        (folder / f"C{i}_2021.xlsx").write_bytes(b"\0" * size)
    (folder / "~$C0_2021.xlsx").write_bytes(b"\0" * (1 << 21))  # a lock file: not a return
    to_read = inbox_listing.inbox_bytes(tmp_path / "inbox", 2021)
    assert to_read == sum(sizes)
    year_workers.start_worker_server(to_read, workers)  # workers from 2 MiB to read
    assert calls == ([True] if started else [])


def _loaded_state(url):
    """The loaded rows, ids aside (loading while validating loads in another order)."""
    tables = snapshot(url)
    ids = ["submission_id", "run_id", "loaded_at"]
    submission = tables["submission"].drop(columns=ids).sort_values("file_name")
    facts = tables["fact_activity"].drop(columns=["activity_id", "submission_id"])
    facts = facts.sort_values(["centre_code", "source_row"])
    return submission.to_dict("records"), facts.to_dict("records")


def test_loading_while_validating_gives_what_loading_after_gives(tmp_path, inbox, monkeypatch):
    from crpv_pipeline.intake import inbox as inbox_listing
    from crpv_pipeline.warehouse.schema import ensure_schema
    from crpv_pipeline.year import load as year_loading
    from crpv_pipeline.year import validate as year_validation

    # Two files for IREV: both must be rejected even though other returns load meanwhile.
    write_return(inbox / "IREV_bis.xlsx", [row(title="Doublon")])
    write_return(inbox / "PROFBANLIEUE_2021.xlsx", identification=False)
    files = inbox_listing.inbox_files(tmp_path / "inbox", 2021)
    states = []
    for mode in ("after", "while"):
        url = f"sqlite:///{tmp_path / mode}.sqlite"
        engine = create_warehouse_engine(url)
        ensure_schema(engine)
        if mode == "after":
            results = year_validation.validate_year(files, 2021)
            outcomes = year_loading.load_year(engine, files, results, "run")
        else:
            monkeypatch.setattr(year_workers, "PARALLEL_MIN_BYTES", 0)  # these files are small
            messages = []
            results, outcomes = year_loading.validate_and_load_year(
                engine, files, 2021, "run", messages.append, workers=2
            )
            said = [m.split(":")[0] for m in messages]
            # ORIV (3rd) is loaded before the 5th return is validated; the IREV files wait.
            last = said.index("[5/5] inconnu.xlsx")
            assert said.index("ORIV_2021.xlsx") < last < said.index("Bilan IREV 2021.xlsx")
        engine.dispose()
        states.append(
            (
                [(r.file_name, r.status, [f.rule for f in r.findings]) for r in results],
                [(o.action, o.status) for o in outcomes],
                _loaded_state(url),
            )
        )
    assert states[0] == states[1]
    statuses = {name: (status, rules) for name, status, rules in states[1][0]}
    assert statuses["Bilan IREV 2021.xlsx"] == ("rejected", ["duplicate_file"])
    assert statuses["IREV_bis.xlsx"] == ("rejected", ["duplicate_file"])
    assert statuses["PROFBANLIEUE_2021.xlsx"][0] == "loaded"


def test_workers_compare_resubmissions_as_the_loading_process_does(tmp_path, monkeypatch):
    from crpv_pipeline.intake import inbox as inbox_listing
    from crpv_pipeline.warehouse import loading
    from crpv_pipeline.warehouse.schema import ensure_schema
    from crpv_pipeline.year import load as year_loading
    from crpv_pipeline.year import workers as year_workers

    compared = []  # the returns whose load found their comparison done in advance
    diff = loading._diff

    def spy(conn, result, superseded):
        compared.append(result.compared is not None and result.compared[0] == superseded)
        return diff(conn, result, superseded)

    monkeypatch.setattr(loading, "_diff", spy)
    states = []
    for workers in (1, 2):
        folder = tmp_path / f"inbox{workers}" / "2021"
        write_return(folder / "IREV_2021.xlsx", IREV_ROWS)
        write_return(folder / "ORIV_2021.xlsx", ORIV_ROWS, centre="ORIV")
        engine = create_warehouse_engine(f"sqlite:///{tmp_path / str(workers)}.sqlite")
        ensure_schema(engine)
        year_loading.validate_and_load_year(
            engine, inbox_listing.inbox_files(folder.parent, 2021), 2021, "1"
        )
        # IREV changes the half-days of its second activity, drops its third and adds one;
        # ORIV keeps its first row alone (its quarantined and its weekend rows go).
        forum = {"activity_date": "12/04/2021", "title": "Forum", "half_days": 1}
        rencontre = row(**{**RENCONTRE, "half_days": 4})
        write_return(folder / "IREV_2021.xlsx", [IREV_ROWS[0], rencontre, row(**forum)])
        write_return(folder / "ORIV_2021.xlsx", ORIV_ROWS[:1], centre="ORIV")
        monkeypatch.setattr(year_workers, "PARALLEL_MIN_BYTES", 0 if workers > 1 else 2**30)
        files = inbox_listing.inbox_files(folder.parent, 2021)
        year_loading.validate_and_load_year(engine, files, 2021, "2", workers=workers)
        columns = ["file_name", "replaces_submission_id", "activities_added"]
        columns += ["activities_removed", "activities_changed", "half_days_before"]
        submissions = read_table(engine, "submission").sort_values("submission_id")
        states.append(submissions[columns].tail(2).to_dict("records"))
        engine.dispose()
    assert states[0] == states[1]
    counts = {
        s["file_name"]: (s["activities_added"], s["activities_removed"], s["activities_changed"])
        for s in states[1]
    }
    assert counts == {"IREV_2021.xlsx": (1, 1, 1), "ORIV_2021.xlsx": (0, 1, 0)}
    assert compared == [False, False, True, True]  # one process: compared while loading


def test_a_comparison_made_before_another_load_is_made_again(tmp_path):
    from crpv_pipeline.intake.validation import validate_return
    from crpv_pipeline.warehouse import loading
    from crpv_pipeline.warehouse.schema import ensure_schema

    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    ensure_schema(engine)
    path = tmp_path / "IREV_2021.xlsx"
    moment = dt.datetime(2022, 1, 5)
    for rows in (IREV_ROWS[:1], IREV_ROWS):  # submissions 1 and 2
        write_return(path, rows)
        loading.load_return(
            engine, validate_return(path, 2021), run_id="r", received_at=moment, loaded_at=moment
        )
    write_return(path, [*IREV_ROWS, row(title="Forum")])
    resubmission = validate_return(path, 2021)
    loading.compare_in_advance(engine, resubmission)
    assert resubmission.compared[0] == (2,)
    resubmission.compared = ((1,), resubmission.compared[1])  # as if compared before 2 loaded
    outcome = loading.load_return(
        engine, resubmission, run_id="r", received_at=moment, loaded_at=moment
    )
    assert (outcome.superseded_ids, outcome.diff.replaces, outcome.diff.added) == ((2,), 2, 1)


def test_validated_returns_alone_loads_nothing(tmp_path, inbox, sqlite_url):
    from crpv_pipeline.orchestration.definitions import build_definitions

    defs = build_definitions(str(tmp_path / "inbox"), sqlite_url, str(tmp_path / "out"))
    result = dg.materialize(
        [*defs.assets],
        selection=["inbox_files", "validated_returns"],
        partition_key="2021",
        instance=dg.DagsterInstance.ephemeral(),
        resources=defs.resources,
    )
    assert result.success
    keys = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    views = {f"bi/{view}" for view in BI_VIEWS}  # the schema step recreated them, nothing else
    assert keys == {"inbox_files", "validated_returns", *views}
    (event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("validated_returns")
    ]
    assert event.materialization.metadata["returns_read"].value == 3
    assert snapshot(sqlite_url)["submission"].empty


def test_worker_processes_use_the_reference_lists_of_the_run(tmp_path, monkeypatch):
    from crpv_pipeline.intake import inbox as inbox_listing
    from crpv_pipeline.year import validate as year_validation

    folder = tmp_path / "inbox" / "2021"
    write_return(folder / "NOUVEAU_2021.xlsx", centre="NOUVEAU")
    write_return(folder / "IREV_2021.xlsx")
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "centres.csv").write_text(
        "code,name,region,active_from,active_to,synonyms\n"
        "NOUVEAU,Nouveau centre,Corse,2015,,\nIREV,Institut Régional de la Ville,HdF,2015,,\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(year_workers, "PARALLEL_MIN_BYTES", 0)
    files = inbox_listing.inbox_files(tmp_path / "inbox", 2021)
    monkeypatch.setenv("CRPV_REFERENCE_DIR", str(reference))
    with_list = year_validation.validate_year(files, 2021, workers=2)
    monkeypatch.delenv("CRPV_REFERENCE_DIR")
    without = year_validation.validate_year(files, 2021, workers=2)  # the same fork server
    assert [(r.file_name, r.status) for r in with_list] == [
        ("IREV_2021.xlsx", "loaded"),
        ("NOUVEAU_2021.xlsx", "loaded"),
    ]
    assert [(r.file_name, r.status) for r in without] == [
        ("IREV_2021.xlsx", "loaded"),
        ("NOUVEAU_2021.xlsx", "rejected"),
    ]
    assert [f.rule for f in without[1].findings] == ["unknown_centre"]


def test_a_workbook_kept_for_a_known_return_must_be_whole_and_its_own(tmp_path, inbox):
    """A return not read again keeps its correction workbook only if that one opens and was
    written for its SHA-256: a file cut short by a killed run, an empty one or one written for
    an earlier version of the return is written again; temporary files of a killed run go."""
    import openpyxl

    from crpv_pipeline.atomic import TEMP_SUFFIX
    from crpv_pipeline.intake import inbox as inbox_listing
    from crpv_pipeline.year import outputs as year_outputs
    from crpv_pipeline.year import validate as year_validation

    files = inbox_listing.inbox_files(tmp_path / "inbox", 2021)
    results = year_validation.validate_year(files, 2021)
    folder = tmp_path / "corrections"
    oriv, unknown = year_outputs.write_corrections(results, folder)
    for result in results:
        result.recorded_as = 1  # the next run knows them all by their SHA-256
    kept = oriv.stat().st_mtime_ns, unknown.stat().st_mtime_ns
    assert year_outputs.write_corrections(results, folder) == [oriv, unknown]
    assert (oriv.stat().st_mtime_ns, unknown.stat().st_mtime_ns) == kept  # whole: kept

    whole = oriv.read_bytes()
    for broken in (whole[: len(whole) // 2], b"", unknown.read_bytes()):
        oriv.write_bytes(broken)  # cut short, empty, another return's
        leftover = folder / f".{oriv.name}.999999999-0a1b2c3d{TEMP_SUFFIX}"
        leftover.write_bytes(whole[:100])
        assert year_outputs.write_corrections(results, folder) == [oriv, unknown]
        book = openpyxl.load_workbook(oriv)
        assert book["Activités"]["D3"].value == "2,5" and "2,5" in str(
            [c.value for c in book["Corrections à apporter"]["C"]]
        )
        assert sorted(p.name for p in folder.iterdir()) == sorted([oriv.name, unknown.name])


def test_returns_in_subfolders_of_the_year_folder_are_loaded_by_their_path(tmp_path, sqlite_url):
    folder = tmp_path / "inbox" / "2021"
    write_return(folder / "Grand Est" / "IREV_2021.xlsx", IREV_ROWS, identification=False)
    write_return(folder / "Grand Est" / "bilan.xlsx", ORIV_ROWS, centre="ORIV")
    write_return(folder / "Occitanie" / "bilan.xlsx", ORIV_ROWS, centre="VTO")
    write_return(folder / "Occitanie" / ".old" / "bilan.xlsx", ORIV_ROWS, centre="RESSTERR")
    (folder / "Occitanie" / "~$bilan.xlsx").write_bytes(b"lock")
    run(tmp_path, sqlite_url)
    tables = snapshot(sqlite_url)
    submissions = tables["submission"].sort_values("file_name")
    assert submissions[["file_name", "centre_code", "status", "rows_loaded"]].values.tolist() == [
        ["Grand Est/IREV_2021.xlsx", "IREV", "loaded", 3],
        ["Grand Est/bilan.xlsx", "ORIV", "loaded_with_errors", 2],
        ["Occitanie/bilan.xlsx", "VTO", "loaded_with_errors", 2],
    ]
    failures = tables["validation_failure"]
    assert sorted(set(failures["file_name"])) == ["Grand Est/bilan.xlsx", "Occitanie/bilan.xlsx"]
    status = tables["completeness"].set_index("centre_code")["status"]
    assert status[["IREV", "ORIV", "VTO", "RESSTERR"]].tolist() == [
        "loaded",
        "loaded_with_errors",
        "loaded_with_errors",
        "missing",  # its only file is in a hidden folder
    ]
    # Two files named bilan.xlsx: each keeps its own correction workbook.
    names = sorted(p.name for p in (tmp_path / "out" / "2021" / "corrections").iterdir())
    assert [re.sub(r"--[0-9a-f]{10}\.xlsx$", "", name) for name in names] == [
        "corrections_ORIV_2021_Grand_Est__bilan",
        "corrections_VTO_2021_Occitanie__bilan",
    ]
    second = run(tmp_path, sqlite_url)  # known by their path and bytes: none is read again
    after = snapshot(sqlite_url)
    audit = after["load_run"].set_index("run_id").loc[second.run_id]
    assert (audit["files_seen"], audit["files_read"], audit["submissions_unchanged"]) == (3, 0, 3)
    assert after["submission"].equals(tables["submission"])


class _RecordingPool:
    """A pool whose calls end when their result is asked for; records the cost of the calls in
    flight (submitted, not ended) at each submission."""

    def __init__(self, costs):
        self.costs, self.in_flight, self.peaks = costs, set(), []

    def submit(self, function, call):
        pool, job = self, call[1]

        class Ending:
            def result(self):
                pool.in_flight.discard(job)
                return job

        self.in_flight.add(job)
        self.peaks.append(sum(self.costs[j] for j in self.in_flight))
        return Ending()


@pytest.mark.parametrize(
    ("costs", "budget", "peak"),
    [
        ([30, 30, 30, 30], 100, 90),
        ([30, 30, 30, 30], 30, 30),  # one at a time
        ([500, 10, 10], 100, 500),  # larger than the budget: alone
        ([10, 500, 10, 10], 100, 500),
        ([0] * 6, 1, 0),  # refused from their zip directory: free
    ],
)
def test_workers_are_given_returns_within_the_read_budget(costs, budget, peak):
    from crpv_pipeline.year.workers import _within_budget

    pool = _RecordingPool(costs)
    calls = [(None, index, {}) for index in range(len(costs))]
    taken = list(_within_budget(pool, calls, costs, budget))
    assert taken == list(range(len(costs)))  # every result, in order
    assert max(pool.peaks) == peak


@pytest.mark.parametrize(("text", "expected"), [("", 256 * 1024 * 1024), ("64", 64 * 1024 * 1024)])
def test_the_read_budget_comes_from_the_environment(text, expected):
    from crpv_pipeline.settings import read_budget

    assert read_budget({"CRPV_READ_BUDGET_MB": text}) == expected
    with pytest.raises(ValueError, match="CRPV_READ_BUDGET_MB='0'"):
        read_budget({"CRPV_READ_BUDGET_MB": "0"})


_VALIDATE_YEAR = """
import os, sys
from pathlib import Path
from crpv_pipeline.intake.file_guards import limits_from_environment
from crpv_pipeline.intake.inbox import inbox_files
from crpv_pipeline.year.validate import validate_year
if __name__ == "__main__":
    files = inbox_files(Path(sys.argv[1]), 2021)
    results = validate_year(files, 2021, limits=limits_from_environment(os.environ), workers=4)
    print(" ".join(r.status for r in results))
"""


def test_the_read_budget_bounds_the_memory_of_every_worker_together(tmp_path):
    """Four returns whose shared strings inflate to 40 Mo each, four workers, a 45 Mo budget:
    the workers read one return at a time, and the process tree holds at most the fixed cost of
    four workers plus twice the budget (measured: 373 Mo against 571 Mo of fixed cost; without
    the budget, 782 Mo, more than the bound)."""
    from crpv_pipeline_tests.intake.test_file_guards import large_shared_strings
    from crpv_pipeline_tests.processes import peak_tree_memory, start_python

    inbox = tmp_path / "inbox"
    for code in ("IREV", "ORIV", "VTO", "PQNA"):
        large_shared_strings(inbox / "2021" / f"{code}_2021.xlsx", 40, code)
    script = tmp_path / "validate_year.py"
    script.write_text(_VALIDATE_YEAR)

    def peak(name: str, **env: str) -> tuple[int, str]:
        process = start_python([str(script), str(inbox)], tmp_path, name, **env)
        memory = peak_tree_memory(process, timeout=600)
        assert process.popen.returncode == 0, process.err()
        return memory, process.out().strip()

    # The fixed cost: four workers started, every return refused by its size, nothing parsed.
    fixed, statuses = peak("fixed", CRPV_MAX_FILE_MB="1")
    assert statuses == " ".join(["rejected"] * 4)
    budget = 45
    reading, statuses = peak("budget", CRPV_READ_BUDGET_MB=str(budget))
    assert statuses == " ".join(["loaded"] * 4)
    # Shared strings take about their inflated size in memory (1,25 times, measured).
    assert reading <= fixed + 2 * budget * 1024 * 1024, (reading >> 20, fixed >> 20)


def test_the_run_log_says_what_became_of_each_return(tmp_path, inbox, sqlite_url):
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_year(
        2021, tmp_path / "inbox", sqlite_url, instance=instance, output=tmp_path / "out"
    )
    said = [e.user_message for e in instance.all_logs(result.run_id)]
    submissions = snapshot(sqlite_url)["submission"]
    ids = dict(zip(submissions["file_name"], submissions["submission_id"], strict=True))
    assert f"ORIV_2021.xlsx: loaded_with_errors (submission {ids['ORIV_2021.xlsx']})" in said
    assert f"inconnu.xlsx: rejected (submission {ids['inconnu.xlsx']})" in said
    name = "Bilan IREV 2021.xlsx"
    assert f"{name}: loaded (submission {ids[name]})" in said
    assert not [m for m in said if m.endswith(f": loaded (submission {ids['ORIV_2021.xlsx']})")]


@pytest.mark.parametrize(
    ("action", "status", "said"),
    [
        ("loaded", "loaded", "loaded"),
        ("loaded", "loaded_with_errors", "loaded_with_errors"),
        ("rejected", "rejected", "rejected"),
        ("unchanged", "loaded_with_errors", "unchanged, loaded_with_errors"),
        ("unchanged", "rejected", "unchanged, rejected"),
        ("held", "held", "held"),  # any status the loader records is said as it is
    ],
)
def test_a_load_outcome_is_said_with_its_real_status(action, status, said):
    from crpv_pipeline.warehouse.loading import LoadOutcome
    from crpv_pipeline.year.load import outcome_words

    assert outcome_words(LoadOutcome(7, action, status, 0, 0, 0)) == said


def test_the_fork_server_preloads_the_modules_of_the_workers_jobs():
    import subprocess
    import sys

    from crpv_pipeline.year import outputs, validate, workers

    jobs = (validate._validate_one, outputs._correction_workbook)
    assert {job.__module__ for job in jobs} <= set(workers._WORKER_MODULES)
    code = (
        "import importlib, sys\n"
        f"for name in {workers._WORKER_MODULES!r}: importlib.import_module(name)\n"
        "print(all(m in sys.modules for m in ('pandera', 'crpv_pipeline.intake.validation',"
        " 'crpv_pipeline.outputs.corrections', 'crpv_pipeline.warehouse.loading')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
