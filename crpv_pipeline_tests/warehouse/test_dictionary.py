from pathlib import Path

import pytest
import sqlalchemy as sa

from crpv_pipeline.warehouse.catalogue import COMPUTED_TABLES
from crpv_pipeline.warehouse.derive import DERIVED_TABLES
from crpv_pipeline.warehouse.dictionary import (
    BI_VIEWS,
    INDEX_PREFIX,
    SCHEMA_TABLES,
    DictionaryError,
    TableDoc,
    bi_view_name,
    comment_statements,
    data_dictionary,
    index_names,
    load_dictionary,
    parse_table_sql,
    parse_view_sql,
    sql_dir,
    sql_literal,
    table_doc,
    view_doc,
    view_docs,
)
from crpv_pipeline.warehouse.dictionary_page import render_markdown
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.schema import ensure_schema

DOC_PAGE = Path(__file__).resolve().parents[2] / "docs" / "data_dictionary.md"


def test_every_table_and_column_has_a_description():
    undescribed = [
        f"{t.name}.{c.name}" for t in data_dictionary() for c in t.columns if not c.description
    ]
    assert undescribed == []
    for table in data_dictionary():
        assert "one row per" in table.description.lower(), f"{table.name}: state the grain"


def test_the_data_dictionary_page_is_up_to_date():
    assert DOC_PAGE.read_text(encoding="utf-8") == render_markdown(), (
        "docs/data_dictionary.md is stale: run `python -m crpv_pipeline.warehouse.dictionary_page`"
    )


def test_the_schema_folder_holds_one_file_per_table_or_index():
    files = {p.stem for p in (sql_dir() / "schema").glob("*.sql")}
    assert files == set(SCHEMA_TABLES) | set(index_names())
    assert all(name.startswith(INDEX_PREFIX) for name in index_names())
    derived = {p.stem for p in (sql_dir() / "derived").glob("*.sql")}
    assert derived | set(COMPUTED_TABLES) == set(DERIVED_TABLES)


def test_derived_files_state_their_grain():
    for name in set(DERIVED_TABLES) - set(COMPUTED_TABLES):
        first = (sql_dir() / "derived" / f"{name}.sql").read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("-- Grain:") and "one row per" in first, name


def test_keys_and_nullability_are_read_from_the_ddl():
    assert table_doc("fact_activity_public").primary_key == ("activity_id", "public_code")
    submission = {c.name: c for c in table_doc("submission").columns}
    assert submission["centre_code"].nullable
    assert not submission["file_sha256"].nullable
    assert submission["received_at"].type == "TIMESTAMP"
    assert table_doc("theme_shares").columns[-1].sql_type == "DOUBLE PRECISION"
    assert list(load_dictionary()) == list(SCHEMA_TABLES)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("create table if not exists t (\n    a text -- A\n);", "first line must be a --"),
        ("-- T\ncreate table if not exists other (\n    a text -- A\n);", "expected 'create table"),
        (
            "-- T\ncreate table if not exists t (\n    a varchar(3) -- A\n);",
            "cannot read the column",
        ),
        (
            "-- T\ncreate table if not exists t (\n    a text, -- A\n    primary key (b)\n);",
            "unknown",
        ),
    ],
)
def test_a_malformed_schema_file_is_refused(text, message):
    with pytest.raises(DictionaryError, match=message):
        parse_table_sql("t", text)


def test_sql_literals_double_single_quotes():
    assert sql_literal("SHA-256 of the file's bytes") == "'SHA-256 of the file''s bytes'"
    with pytest.raises(DictionaryError):
        sql_literal("a\x00b")


def test_tables_have_the_documented_columns_in_order(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    try:
        ensure_schema(engine)
        inspector = sa.inspect(engine)
        for table in data_dictionary():
            columns = [c["name"] for c in inspector.get_columns(table.name)]
            assert columns == list(table.column_names), table.name
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_stores_the_descriptions_as_comments(pg_url):
    engine = create_warehouse_engine(pg_url)
    try:
        ensure_schema(engine)
        inspector = sa.inspect(engine)
        for table in data_dictionary():
            assert inspector.get_table_comment(table.name)["text"] == table.description
            comments = {c["name"]: c["comment"] for c in inspector.get_columns(table.name)}
            assert comments == {c.name: c.description for c in table.columns}, table.name

        # Text is a literal, not a template: quotes, percent signs, colons and backslashes.
        tricky = "It's 100 % :year \\n « done »; -- not a comment"
        doc = TableDoc("dim_modality", tricky, ())
        with engine.begin() as conn:
            for statement in comment_statements([doc]):
                conn.exec_driver_sql(statement, execution_options={"no_parameters": True})
        assert sa.inspect(engine).get_table_comment("dim_modality")["text"] == tricky
    finally:
        engine.dispose()


# --- BI views ------------------------------------------------------------------------------


def test_every_view_and_view_column_has_a_description():
    assert [v.name for v in view_docs()] == list(BI_VIEWS)
    assert {p.stem for p in (sql_dir() / "bi").glob("*.sql")} == set(BI_VIEWS)
    undescribed = [
        f"{v.name}.{c.name}" for v in view_docs() for c in v.columns if not c.description
    ]
    assert undescribed == []
    for view in view_docs():
        assert "one row per" in view.description.lower(), f"{view.name}: state the grain"
        assert len(set(view.column_names)) == len(view.columns), view.name


def test_a_plain_view_column_takes_the_description_of_its_table_column():
    columns = {c.name: c for c in view_doc("activities").columns}
    assert columns["half_days"].source == "fact_activity.half_days"
    assert columns["half_days"].description == "Duration in half-days (1 to 60)"
    assert columns["theme"].description.startswith("Main theme, as shown to people")
    status = {c.name: c for c in view_doc("completeness").columns}["status_label"]
    assert status.source.startswith("case completeness.status when 'missing' then 'Manquant'")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("select\n    a.x as x\nfrom a", "first line must be a --"),
        ("-- V: one row per x\nselect a.x as x\nfrom a", "expected 'select' alone"),
        ("-- V: one row per x\nselect\n    a.x as x -- X\n", "no 'from' line"),
        ("-- V: one row per x\nselect\n    1 as x\nfrom a", "describe the column 'x'"),
        ("-- V: one row per x\nselect\n    case -- C\n    end as x -- X\nfrom a", "must end an"),
    ],
)
def test_a_malformed_view_file_is_refused(text, message):
    with pytest.raises(DictionaryError, match=message):
        parse_view_sql("v", text)


def test_views_have_the_documented_columns(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    try:
        ensure_schema(engine)
        with engine.connect() as conn:
            for view in view_docs():
                name = bi_view_name(view.name, engine.dialect.name)
                result = conn.execute(sa.text(f"SELECT * FROM {name} WHERE 1 = 0"))
                assert list(result.keys()) == list(view.column_names), name
    finally:
        engine.dispose()
