import dagster as dg
import pytest

from crpv_pipeline.orchestration.definitions import build_definitions, defs
from crpv_pipeline.orchestration.partitions import YEARS
from crpv_pipeline.warehouse.dictionary import BI_VIEWS


def test_definitions_load():
    dg.Definitions.validate_loadable(build_definitions())
    assert isinstance(defs(), dg.Definitions)


def test_asset_graph_reads_like_the_data_flow():
    graph = build_definitions().resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {k for k in keys if k.startswith("bi/")} == {f"bi/{view}" for view in BI_VIEWS}
    assert keys - {f"bi/{view}" for view in BI_VIEWS} == {
        "inbox_files",
        "validated_returns",
        "submission",
        "fact_activity",
        "fact_activity_public",
        "validation_failure",
        "load_run",
        "activity_counts",
        "theme_shares",
        "modality_shares",
        "yearly_summary",
        "yearly_trend",
        "completeness",
        "plausibility_finding",
        "correction_workbooks",
        "steward_overview",
        "bilan_report",
    }

    def parents(name):
        return {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}

    assert parents("validated_returns") == {"inbox_files"}
    assert parents("fact_activity") == {"validated_returns"}
    assert parents("theme_shares") == {"fact_activity", "submission"}
    assert parents("correction_workbooks") == {"validated_returns", "plausibility_finding"}
    assert parents("steward_overview") == {"completeness", "validation_failure"}
    assert {"yearly_summary", "yearly_trend", "theme_shares", "modality_shares"} <= parents(
        "bilan_report"
    )
    assert {"activity_counts", "completeness"} <= parents("bilan_report")
    checks = {c.name for c in graph.asset_check_keys}
    assert checks == {
        "returns_in_inbox",
        "validation_findings",
        "reconciliation",
        "missing_returns",
        "returns_awaiting_approval",
        "bilan_on_time",
    }


def test_partitions_are_years_up_to_the_current_one():
    import datetime as dt

    keys = YEARS.get_partition_keys()
    assert keys[0] == "2015"
    assert {"2019", "2020", "2021"} <= set(keys)
    assert keys[-1] == str(dt.date.today().year)


def test_tables_carry_schema_and_table_name_metadata():
    graph = build_definitions().resolve_asset_graph()
    node = graph.get(dg.AssetKey("theme_shares"))
    assert node.metadata["dagster/table_name"] == "main.theme_shares"
    columns = [c.name for c in node.metadata["dagster/column_schema"].columns]
    assert columns[:2] == ["year", "theme_code"]
    assert "share_half_days_pct" in columns


def test_table_kinds_name_the_configured_database():
    def kinds(url):
        graph = build_definitions(warehouse_url=url).resolve_asset_graph()
        return graph.get(dg.AssetKey("fact_activity")).kinds

    assert kinds("sqlite:///w.sqlite") == {"sql", "table", "sqlite"}
    assert kinds("postgresql+psycopg://u@h/db") == {"sql", "table", "postgres"}
    graph = build_definitions().resolve_asset_graph()
    assert graph.get(dg.AssetKey("validated_returns")).kinds == {"excel", "pandas"}


def test_every_asset_says_what_it_is_and_every_table_where_it_lives():
    from crpv_pipeline.warehouse.dictionary import SCHEMA_TABLES

    graph = build_definitions().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        assert node.description and node.group_name and node.kinds, name
        if name in SCHEMA_TABLES:
            assert node.metadata["dagster/table_name"] == f"main.{name}"
            assert node.metadata["dagster/column_schema"].columns, name
    audit = graph.get(dg.AssetKey("load_run")).metadata["dagster/column_schema"]
    assert {"pipeline_version", "reference_data_version"} <= {c.name for c in audit.columns}


def test_launched_runs_use_the_multiprocess_executor_unless_configured(monkeypatch):
    assert build_definitions().executor is dg.multiprocess_executor
    monkeypatch.setenv("CRPV_EXECUTOR", "dagster:in_process_executor")
    assert build_definitions().executor is dg.in_process_executor
    monkeypatch.setenv("CRPV_EXECUTOR", "dagster_k9s:k8s_job_executor")
    with pytest.raises(ValueError, match="CRPV_EXECUTOR='dagster_k9s:k8s_job_executor'"):
        build_definitions()
