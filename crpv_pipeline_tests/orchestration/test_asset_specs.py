"""What the Definitions say of each asset: owners, personal data, versions, tables, views, deps."""

import datetime as dt
from importlib import resources

import dagster as dg
import pytest

from crpv_pipeline import __version__
from crpv_pipeline.orchestration.asset_specs import PERSONAL_DATA_TAG
from crpv_pipeline.orchestration.definitions import build_definitions
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline.warehouse.dictionary import BI_VIEWS, view_doc

PERSONAL = {
    "inbox_files": "cell_values",
    "validated_returns": "cell_values",
    "correction_workbooks": "cell_values",
    "steward_overview": "cell_values",
    "validation_failure": "cell_values",
    "bi/validation_failures": "cell_values",
    "fact_activity": "free_text",
    "bi/activities": "free_text",
    "submission": "file_names",
    "bi/submissions": "file_names",
    "bi/completeness": "file_names",
    "bilan_report": "file_names",
    "bi/plausibility_findings": "free_text",  # a steward's reason, a file name
    "bi/steward_decisions": "free_text",  # who decided, why
}
"""The assets holding what the centres wrote (README, *Personal data (RGPD)*), and how."""


@pytest.fixture(scope="module")
def graph():
    return build_definitions(warehouse_url="sqlite:///w.sqlite").resolve_asset_graph()


def _node(graph, key: str):
    return graph.get(dg.AssetKey.from_user_string(key))


def test_every_asset_has_owners_and_the_version_of_code_and_reference_data(graph):
    version = f"{__version__}+ref.{default_nomenclature().version}"
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert "team:crpv-data" in node.owners, key
        assert node.code_version == version, key
    assert set(_node(graph, "correction_workbooks").owners) == {
        "team:crpv-data",
        "team:crpv-stewards",
    }


def test_the_code_version_changes_with_the_reference_data(tmp_path, monkeypatch, graph):
    packaged = default_nomenclature()
    folder = tmp_path / "reference"
    folder.mkdir()
    centres = (resources.files("crpv_pipeline.reference") / "data" / "centres.csv").read_text()
    (folder / "centres.csv").write_text(centres + "\n", encoding="utf-8")  # another text
    monkeypatch.setenv("CRPV_REFERENCE_DIR", str(folder))
    changed = build_definitions().resolve_asset_graph()
    node = changed.get(dg.AssetKey("fact_activity"))
    assert node.code_version == f"{__version__}+ref.{default_nomenclature().version}"
    assert node.code_version != f"{__version__}+ref.{packaged.version}"
    assert node.code_version != _node(graph, "fact_activity").code_version


def test_the_assets_holding_personal_data_are_tagged_and_only_they(graph):
    tagged = {
        k.to_user_string(): graph.get(k).tags[PERSONAL_DATA_TAG]
        for k in graph.get_all_asset_keys()
        if PERSONAL_DATA_TAG in graph.get(k).tags
    }
    assert tagged == PERSONAL


def test_the_columns_holding_personal_data_are_tagged(graph):
    def tagged(key):
        schema = _node(graph, key).metadata["dagster/column_schema"]
        return {c.name: c.tags[PERSONAL_DATA_TAG] for c in schema.columns if c.tags}

    free_text = {"title": "free_text", "partners": "free_text", "comment": "free_text"}
    assert tagged("fact_activity") == free_text
    assert tagged("bi/activities") == free_text
    assert tagged("validation_failure") == {"value": "cell_values", "file_name": "file_names"}
    assert tagged("bi/completeness") == {"file_name": "file_names", "held_file_name": "file_names"}
    assert tagged("yearly_summary") == {}


def test_tables_and_views_are_named_as_the_database_knows_them():
    def name(url, key):
        graph = build_definitions(warehouse_url=url).resolve_asset_graph()
        return _node(graph, key).metadata["dagster/table_name"]

    sqlite, postgres = "sqlite:///w.sqlite", "postgresql+psycopg://crpv@db.example/crpv"
    assert name(sqlite, "fact_activity") == "main.fact_activity"
    assert name(sqlite, "bi/completeness") == "main.bi_completeness"
    assert name(postgres, "fact_activity") == "crpv.public.fact_activity"
    assert name(postgres, "bi/completeness") == "crpv.bi.completeness"
    graph = build_definitions(warehouse_url=postgres).resolve_asset_graph()
    assert _node(graph, "bi/completeness").kinds == {"sql", "view", "postgres"}


def test_the_bi_views_are_assets_described_by_the_data_dictionary(graph):
    for view in BI_VIEWS:
        node = _node(graph, f"bi/{view}")
        doc = view_doc(view)
        assert node.description == doc.description
        assert node.group_name == "bi"
        assert not node.is_executable  # created by the schema step, which reports them
        columns = node.metadata["dagster/column_schema"].columns
        assert [c.name for c in columns] == list(doc.column_names)
        assert all(c.description for c in columns), view
    parents = {k.to_user_string() for k in _node(graph, "bi/completeness").parent_keys}
    assert parents == {"completeness", "submission"}
    activities = _node(graph, "bi/activities").metadata["dagster/column_schema"].columns
    assert {c.name: c.type for c in activities}["half_days"] == "INTEGER"


def test_yearly_trend_depends_on_the_previous_year_of_what_it_reads(graph):
    trend = dg.AssetKey("yearly_trend")
    for parent in ("yearly_summary", "activity_counts"):
        mapping = graph.get_partition_mapping(trend, dg.AssetKey(parent))
        assert mapping == dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=0)
    partitions = graph.get(trend).partitions_def
    upstream = graph.get_parent_partition_keys_for_child(
        "2022", dg.AssetKey("yearly_summary"), trend
    )
    assert sorted(upstream.partitions_subset.get_partition_keys()) == ["2021", "2022"]
    assert partitions == graph.get(dg.AssetKey("yearly_summary")).partitions_def
    assert {k.to_user_string() for k in graph.get(dg.AssetKey("theme_shares")).parent_keys} == {
        "fact_activity",
        "submission",
    }


def test_the_bilan_is_expected_within_30_days_of_the_returns_deadline(monkeypatch):
    policy = build_definitions().resolve_asset_graph().get(dg.AssetKey("bilan_report"))
    assert policy.freshness_policy == dg.FreshnessPolicy.cron(
        deadline_cron="0 0 1 5 *",  # midnight in Paris after 30 April: built since 1 April
        lower_bound_delta=dt.timedelta(days=30),
        timezone="Europe/Paris",
    )
    monkeypatch.setenv("CRPV_DEADLINES", "06-30; 2020=2021-09-30")
    moved = build_definitions().resolve_asset_graph().get(dg.AssetKey("bilan_report"))
    assert moved.freshness_policy.deadline_cron == "0 0 31 7 *"
