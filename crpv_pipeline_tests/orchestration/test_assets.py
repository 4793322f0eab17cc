"""What the assets tell people in Dagster: check results per year, metadata, empty inboxes."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.event_api import PartitionKeyFilter

from crpv_pipeline.orchestration import asset_metadata
from crpv_pipeline.orchestration.definitions import build_definitions
from crpv_pipeline.orchestration.runs import RunFailed, materialize_year
from crpv_pipeline.warehouse.reconciliation import Completeness, Measure
from crpv_pipeline_tests.workbooks import row, write_return

CHECKS = {
    "returns_in_inbox": "inbox_files",
    "validation_findings": "validated_returns",
    "reconciliation": "yearly_summary",
    "missing_returns": "completeness",
    "returns_awaiting_approval": "completeness",
    "bilan_on_time": "bilan_report",
}


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


def _check_key(name: str) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(CHECKS[name]), name)


def _latest(instance, name: str, year: int):
    """The latest result of a check for one year, as the instance keeps it."""
    records = instance.event_log_storage.get_asset_check_execution_history(
        _check_key(name), limit=1, partition_filter=PartitionKeyFilter(key=str(year))
    )
    return records[0].event.asset_check_evaluation if records else None


def test_every_check_is_partitioned_by_year():
    graph = build_definitions().resolve_asset_graph()
    assert {k.name for k in graph.asset_check_keys} == set(CHECKS)
    for key in graph.asset_check_keys:
        assert graph.get(key).partitions_def == graph.get(key.asset_key).partitions_def, key


def test_each_year_keeps_its_own_check_results(tmp_path, instance, sqlite_url):
    inbox = tmp_path / "inbox"
    write_return(inbox / "2020" / "IREV_2020.xlsx", [row(activity_date="12/03/2020")], year=2020)
    write_return(  # a finding: 75 half-days is out of range
        inbox / "2021" / "IREV_2021.xlsx", [row(), row(title="Atelier", half_days=75)]
    )
    runs = {
        year: materialize_year(year, inbox, sqlite_url, instance=instance, output=tmp_path / "o")
        for year in (2020, 2021)
    }

    findings = {year: _latest(instance, "validation_findings", year) for year in runs}
    assert findings[2020].passed and not findings[2021].passed
    assert findings[2020].description == "2020: 0 findings for stewards to review"
    assert findings[2021].description == "2021: 1 findings for stewards to review"
    for name in CHECKS:
        for year, result in runs.items():
            evaluation = _latest(instance, name, year)
            assert evaluation is not None, (name, year)
            assert evaluation.partition == str(year)
            assert evaluation.target_materialization_data.run_id == result.run_id
    assert _latest(instance, "missing_returns", 2019) is None  # never run
    reconciliation = _latest(instance, "reconciliation", 2021)
    assert reconciliation.description == "2021: all derived totals match fact_activity"
    assert reconciliation.metadata["yearly_summary.half_days"] == dg.MetadataValue.int(2)
    assert reconciliation.metadata["theme_shares.share_half_days_pct"] == dg.MetadataValue.text(
        "100,0\u00a0%"
    )


def test_a_share_reads_rounded_and_a_constant_is_not_plotted():
    measures = [
        Measure("yearly_summary.half_days", 3123.0, 3123.0),
        Measure("theme_shares.share_half_days_pct", 100.0, 99.99999999999),
    ]
    result = asset_metadata.reconciliation_check(2021, measures)
    assert result.passed
    assert result.metadata["yearly_summary.half_days"] == dg.MetadataValue.int(3123)
    assert result.metadata["theme_shares.share_half_days_pct"] == dg.MetadataValue.text(
        "100,0\u00a0%"
    )
    broken = asset_metadata.reconciliation_check(
        2021, [Measure("yearly_summary.half_days", 3123.0, 3120.0)]
    )
    assert not broken.passed
    assert broken.description == "2021: yearly_summary.half_days: expected 3123, found 3120"

    check = asset_metadata.completeness_check(
        2021,
        Completeness(17, ("CRPVE",), ("IREV", "ORIV"), (("CRPVE", "missing"), ("VTO", "rejected"))),
    )
    plotted = (dg.IntMetadataValue, dg.FloatMetadataValue)
    numbers = {k for k, v in check.metadata.items() if isinstance(v, plotted)}
    assert numbers == {"missing_count", "late_count"}  # what is worth following across years
    assert check.metadata["expected"] == dg.MetadataValue.text("17 centres")
    assert check.description == (
        "2 of 17 expected centres have no exploitable return for 2021: CRPVE (nothing sent),"
        " VTO (its return was rejected); 2 after the deadline"
    )


def test_a_year_without_an_inbox_folder_fails_naming_the_folder(tmp_path, instance, sqlite_url):
    inbox = tmp_path / "inbox"
    write_return(inbox / "2020" / "IREV_2020.xlsx", [row(activity_date="12/03/2020")], year=2020)
    with pytest.raises(RunFailed) as info:
        materialize_year(2021, inbox, sqlite_url, instance=instance, output=tmp_path / "o")
    folder = (inbox / "2021").absolute()
    assert str(info.value).endswith(
        f" for 2021 failed: inbox_files: no inbox folder for 2021: {folder} does not exist;"
        " returns go in <inbox>/2021/ (check CRPV_INBOX, or --inbox)"
    )


def test_a_year_with_an_empty_inbox_folder_warns_naming_the_folder(tmp_path, instance, sqlite_url):
    folder = tmp_path / "inbox" / "2021"
    folder.mkdir(parents=True)
    (folder / "~$IREV_2021.xlsx").write_bytes(b"lock file")  # ignored, as hidden files are
    materialize_year(2021, tmp_path / "inbox", sqlite_url, instance=instance, output=tmp_path / "o")
    evaluation = _latest(instance, "returns_in_inbox", 2021)
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.description == (
        f"2021: no return in {folder.absolute()}: nothing was read (lock and hidden files are"
        " ignored)"
    )
    assert evaluation.metadata["folder"] == dg.MetadataValue.path(str(folder.absolute()))


def test_a_year_with_returns_passes_the_inbox_check(tmp_path, instance, sqlite_url):
    write_return(tmp_path / "inbox" / "2021" / "IREV_2021.xlsx")
    materialize_year(2021, tmp_path / "inbox", sqlite_url, instance=instance, output=tmp_path / "o")
    evaluation = _latest(instance, "returns_in_inbox", 2021)
    assert evaluation.passed
    assert evaluation.description == f"2021: 1 returns in {(tmp_path / 'inbox' / '2021')}"
