"""The BI layer: views with French labels on SQLite and PostgreSQL, their descriptions, the
yearly trend on the demo data, and the read-only role BI tools connect as."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from crpv_pipeline.cli import main
from crpv_pipeline.warehouse import catalogue
from crpv_pipeline.warehouse.bi import view_statements
from crpv_pipeline.warehouse.catalogue import BI_VIEWS, SCHEMA_TABLES, sql_dir
from crpv_pipeline.warehouse.derive import derive_year
from crpv_pipeline.warehouse.dictionary import bi_view_name, view_doc, view_docs
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.schema import ensure_schema
from crpv_pipeline.warehouse.tables import count_rows, read_table
from crpv_pipeline_tests.factories import activity, finding, make_result
from crpv_pipeline_tests.tables import load

ROLE_SCRIPT = sql_dir() / "postgres" / "bi_readonly_role.sql"
# View → the table it shows one row of (same row count: labels are joined in, never filtered).
SAME_ROWS = {
    "activities": "fact_activity",
    "activity_publics": "fact_activity_public",
    "activity_counts": "activity_counts",
    "theme_shares": "theme_shares",
    "modality_shares": "modality_shares",
    "yearly_summary": "yearly_summary",
    "yearly_trend": "yearly_trend",
    "completeness": "completeness",
    "submissions": "submission",
    "validation_failures": "validation_failure",
    "plausibility_findings": "plausibility_finding",
    "steward_decisions": "steward_decision",
}


def select_all(engine, view: str) -> list[dict]:
    name = bi_view_name(view, engine.dialect.name)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {name}"))]


def small_warehouse(engine) -> None:
    """IREV loaded for 2020 and 2021 (with publics), ORIV 2021 with a quarantined row."""
    ensure_schema(engine)
    load(engine, make_result(year=2020, activities=[activity(activity_date=dt.date(2020, 3, 2))]))
    load(engine, make_result())
    load(
        engine,
        make_result(
            centre_code="ORIV",
            activities=[activity(modality_code="DISTANCIEL", theme_code="VRL", half_days=3)],
            findings=[finding()],
        ),
    )
    derive_year(engine, 2020)
    derive_year(engine, 2021)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo (2019–2021) on SQLite, once for the module."""
    root = tmp_path_factory.mktemp("bi_demo")
    url = f"sqlite:///{root / 'warehouse.sqlite'}"
    argv = ["demo", "--inbox", str(root / "inbox"), "--warehouse", url]
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DAGSTER_HOME", raising=False)
        assert main([*argv, "--output", str(root / "out")]) == 0
    engine = create_warehouse_engine(url)
    yield SimpleNamespace(url=url, engine=engine)
    engine.dispose()


# --- the views, on both dialects ---------------------------------------------------------


def test_every_view_answers_with_french_labels(engine):
    small_warehouse(engine)
    for view in BI_VIEWS:
        rows = select_all(engine, view)
        assert len(rows) == count_rows(engine, SAME_ROWS[view]), view
        if rows:
            assert list(rows[0]) == list(view_doc(view).column_names), view

    formation = next(r for r in select_all(engine, "activities") if r["half_days"] == 4)
    assert {k: formation[k] for k in ("centre_name", "centre_region", "activity_type")} == {
        "centre_name": "Institut Régional de la Ville",
        "centre_region": "Hauts-de-France",
        "activity_type": "Formation",
    }
    assert (formation["modality"], formation["theme"], formation["pillar"]) == (
        "Présentiel",
        "Éducation",
        "Cohésion sociale",
    )
    assert str(formation["activity_date"]) == "2021-03-04"  # SQLite hands dates over as text
    publics = {r["public"] for r in select_all(engine, "activity_publics")}
    assert "Élus" in publics
    shares = {r["theme"]: r for r in select_all(engine, "theme_shares") if r["year"] == 2021}
    assert shares["Valeurs de la République et laïcité"]["pillar"] == (
        "Valeurs de la République et citoyenneté"
    )
    labels = {(r["centre_code"], r["year"]): r for r in select_all(engine, "completeness")}
    assert labels["ORIV", 2021]["status_label"] == "Chargé avec erreurs"
    assert labels["MAYOTTE", 2021]["status_label"] == "Manquant"
    assert labels["MAYOTTE", 2021]["file_name"] is None
    assert labels["IREV", 2021]["file_sha256"] == make_result().file_sha256
    statuses = {r["status_label"] for r in select_all(engine, "submissions")}
    assert statuses == {"Chargé", "Chargé avec erreurs"}
    (failure,) = select_all(engine, "validation_failures")
    assert (failure["severity_label"], failure["centre_name"]) == (
        "Erreur",
        "Observatoire régional de l'intégration et de la ville",
    )
    assert (failure["rule"], failure["rule_label"]) == ("date_invalid", "Date invalide")
    modality = {r["modality"] for r in select_all(engine, "modality_shares")}
    assert modality == {"Présentiel", "Distanciel", "Hybride"}
    (trend,) = [r for r in select_all(engine, "yearly_trend") if r["year"] == 2021]
    # the change compares IREV alone (1 → 7 half-days): ORIV did not report in 2020
    assert (trend["half_days"], trend["half_days_change"], trend["centres_compared"]) == (10, 6, 1)


def test_views_are_replaced_in_place(engine):
    ensure_schema(engine)
    ensure_schema(engine)  # idempotent: replaced, not duplicated nor failing
    inspector = sa.inspect(engine)
    if engine.dialect.name == "postgresql":
        assert sorted(inspector.get_view_names(schema="bi")) == sorted(BI_VIEWS)
    else:
        assert sorted(inspector.get_view_names()) == sorted(f"bi_{v}" for v in BI_VIEWS)


@pytest.mark.postgres
def test_only_views_whose_definition_changed_are_replaced(pg_url):
    engine = create_warehouse_engine(pg_url)
    try:
        ensure_schema(engine)
        with engine.begin() as conn:  # as an earlier version left it
            conn.exec_driver_sql(
                "CREATE OR REPLACE VIEW bi.yearly_trend AS SELECT * FROM yearly_trend WHERE false"
            )
        replaced = []

        def record(_conn, _cursor, statement, *_):
            if statement.startswith("CREATE OR REPLACE VIEW"):
                replaced.append(statement.split(" AS")[0])

        sa.event.listen(engine, "before_cursor_execute", record)
        ensure_schema(engine)
        assert replaced == ["CREATE OR REPLACE VIEW bi.yearly_trend"]
        with engine.connect() as conn:
            definition = conn.scalar(sa.text("SELECT pg_get_viewdef('bi.yearly_trend')"))
        assert "false" not in definition.lower()
    finally:
        engine.dispose()


def test_view_statements_name_the_views_per_dialect():
    sqlite = view_statements("sqlite")
    at = sqlite.index("DROP VIEW IF EXISTS bi_activities")
    assert sqlite[at + 1].startswith("CREATE VIEW bi_activities AS\nselect")
    pg = view_statements("postgresql")
    assert pg[0] == "CREATE SCHEMA IF NOT EXISTS bi"
    assert "CREATE OR REPLACE VIEW bi.activities AS\nselect" in "\n".join(pg)
    assert "COMMENT ON COLUMN bi.activities.centre_name IS 'Name of the centre" in "\n".join(pg)


def test_the_views_are_the_files_of_sql_bi_in_the_order_of_the_tables_they_show():
    assert set(BI_VIEWS) == {p.stem for p in (sql_dir() / "bi").glob("*.sql")}
    shown = [SCHEMA_TABLES.index(SAME_ROWS[view]) for view in BI_VIEWS]
    assert shown == sorted(shown)
    created = [s.split()[2] for s in view_statements("sqlite") if s.startswith("CREATE VIEW")]
    assert created == [f"bi_{view}" for view in BI_VIEWS]


def test_a_view_showing_no_table_is_refused_naming_its_file(tmp_path, monkeypatch):
    (tmp_path / "bi").mkdir()
    (tmp_path / "bi" / "centres.sql").write_text(
        "-- One row per centre.\nselect\n    code as centre_code\nfrom dim_centres\n"
    )
    monkeypatch.setattr(catalogue, "sql_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match="^sql/bi/centres.sql: its first 'from' names no table"):
        catalogue._views(SCHEMA_TABLES)


def test_views_aggregate_nothing():
    for view in view_docs():
        text = view.select.lower()
        assert " group by " not in text and "sum(" not in text and "count(" not in text, view.name


@pytest.mark.postgres
def test_postgresql_describes_every_view_and_column(pg_url):
    engine = create_warehouse_engine(pg_url)
    try:
        ensure_schema(engine)
        with engine.connect() as conn:
            for view in view_docs():
                name = f"bi.{view.name}"
                described = conn.execute(
                    sa.text("SELECT obj_description(CAST(:name AS regclass), 'pg_class')"),
                    {"name": name},
                ).scalar()
                assert described == view.description
                columns = conn.execute(
                    sa.text(
                        "SELECT attname, col_description(attrelid, attnum) FROM pg_attribute"
                        " WHERE attrelid = CAST(:name AS regclass) AND attnum > 0"
                        " ORDER BY attnum"
                    ),
                    {"name": name},
                ).all()
                assert [tuple(c) for c in columns] == [
                    (c.name, c.description) for c in view.columns
                ], name
    finally:
        engine.dispose()


# --- the demo data -----------------------------------------------------------------------


def test_yearly_trend_on_the_demo(demo):
    trend = read_table(demo.engine, "yearly_trend").set_index("year")
    assert list(trend.index) == [2019, 2020, 2021]
    assert trend.loc[2021, "half_days"] == 3123
    # 2020's centres are not 2021's (Ville Caraïbe was rejected in 2020, Mayotte sent nothing
    # in 2021): the change compares the 15 centres that reported both years, not 3 123 to 2 200
    counts = read_table(demo.engine, "activity_counts")
    per_centre = counts.groupby(["year", "centre_code"])["half_days"].sum()
    both = sorted(set(per_centre[2020].index) & set(per_centre[2021].index))
    before, after = per_centre[2020][both].sum(), per_centre[2021][both].sum()
    assert (len(both), trend.loc[2021, "centres_compared"]) == (15, 15)
    assert trend.loc[2021, "half_days_change"] == after - before == 884
    assert trend.loc[2021, "half_days_change_pct"] == pytest.approx(100 * 884 / before)
    assert trend.loc[2019, "half_days_change"] is None
    summary = read_table(demo.engine, "yearly_summary").set_index("year")
    for field in ("half_days", "n_activities", "participants"):
        assert list(trend[field]) == list(summary[field])
    view = {r["year"]: r for r in select_all(demo.engine, "yearly_trend")}
    assert view[2021]["half_days_change"] == 884


def test_demo_views_keep_every_row(demo):
    for view in BI_VIEWS:
        assert len(select_all(demo.engine, view)) == count_rows(demo.engine, SAME_ROWS[view])
    activities = select_all(demo.engine, "activities")
    assert sum(r["half_days"] for r in activities if r["year"] == 2021) == 3123
    assert all(r["centre_name"] and r["theme"] and r["pillar"] for r in activities)


# --- the read-only role ------------------------------------------------------------------

WRITES = (
    "INSERT INTO public.dim_modality (modality_code, label, sort_order) VALUES ('X', 'x', 9)",
    "UPDATE public.dim_centre SET name = 'x'",
    "DELETE FROM public.fact_activity",
    "TRUNCATE public.validation_failure",
    "INSERT INTO bi.yearly_summary (year) VALUES (1999)",
    "DELETE FROM bi.yearly_trend",
    "CREATE TABLE public.intruder (a integer)",
    "CREATE TABLE bi.intruder (a integer)",
    "CREATE VIEW bi.intruder AS SELECT 1 AS one",
    "DROP VIEW bi.activities",
    "ALTER TABLE public.submission ADD COLUMN intruder integer",
)


def _run_role_script(engine, role: str, **settings: str) -> None:
    with engine.begin() as conn:
        for name, value in {"bi_role": role, **settings}.items():
            conn.execute(
                sa.text("SELECT set_config(:name, :value, true)"),
                {"name": f"crpv.{name}", "value": value},
            )
        conn.exec_driver_sql(
            ROLE_SCRIPT.read_text(encoding="utf-8"), execution_options={"no_parameters": True}
        )


def _refused(reader, statement: str) -> str:
    """The SQLSTATE with which ``statement`` fails in a transaction the reader turns read-write."""
    with reader.connect() as conn:
        conn.exec_driver_sql("BEGIN READ WRITE")  # the engine is AUTOCOMMIT: the server's BEGIN
        try:
            with pytest.raises(sa.exc.DBAPIError) as err:
                conn.exec_driver_sql(statement)
        finally:
            conn.exec_driver_sql("ROLLBACK")
    return err.value.orig.sqlstate


STALLS = (  # each would let a BI session hold, or leave behind, what the pipeline needs
    "SELECT pg_advisory_lock(1129468502)",  # WRITE_LOCK_KEY: every write would wait on it
    "SELECT pg_advisory_lock(1129468502, 2021)",  # the year lock of 2021
    "SELECT pg_try_advisory_lock(1129468502, 2021)",
    "SELECT pg_advisory_xact_lock(1129468502)",
    "SELECT pg_advisory_lock_shared(1129468502)",
    "CREATE TEMPORARY TABLE intruder (a integer)",
    "CREATE TEMPORARY VIEW intruder AS SELECT 1 AS one",
    "SELECT lo_creat(-1)",
    "SELECT lo_create(0)",
    "SELECT lo_from_bytea(0, 'x'::bytea)",
)


@pytest.mark.postgres
def test_the_bi_role_reads_the_views_only_and_can_neither_write_nor_stall(pipeline_user):
    engine, admin, role = pipeline_user.engine, pipeline_user.admin, pipeline_user.role
    reader = sa.create_engine(
        pipeline_user.url.set(username=role, password=None), isolation_level="AUTOCOMMIT"
    )
    try:
        small_warehouse(engine)  # loaded by the pipeline's own (unprivileged) user
        _run_role_script(admin, role)  # as a superuser; the owner is found from the tables
        _run_role_script(admin, role)  # re-running it is safe
        with engine.begin() as conn:  # created after the script: default privileges apply
            conn.exec_driver_sql("CREATE VIEW bi.created_later AS SELECT 1 AS one")
        # The pipeline's user still takes its locks and its temporary view, and loads.
        load(engine, make_result(centre_code="CRPVE"))
        derive_year(engine, 2021)
        ensure_schema(engine)
        before = count_rows(engine, "fact_activity")

        with reader.connect() as conn:
            for view in BI_VIEWS:
                rows = conn.execute(sa.text(f"SELECT * FROM bi.{view}")).all()
                assert len(rows) == count_rows(engine, SAME_ROWS[view]), view
            assert conn.execute(sa.text("SELECT one FROM bi.created_later")).scalar() == 1
            for table in ("dim_centre", "submission", "validation_failure", "fact_activity"):
                assert _refused(reader, f"SELECT * FROM public.{table}") == "42501", table

            for statement in WRITES:  # sessions start read-only …
                with pytest.raises(sa.exc.DBAPIError) as err:
                    conn.exec_driver_sql(statement)
                assert err.value.orig.sqlstate in {"25006", "42501"}, statement
            for statement in (*WRITES, *STALLS):  # … and privileges refuse it read-write too
                assert _refused(reader, statement) == "42501", statement
        assert count_rows(engine, "fact_activity") == before  # nothing written

        _run_role_script(admin, role, bi_raw="on")  # the raw tables, asked for explicitly
        with reader.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM public.dim_centre")).scalar() == 17
            for statement in STALLS:
                assert _refused(reader, statement) == "42501", statement
        _run_role_script(admin, role)  # and taken back
        with reader.connect() as conn:
            assert _refused(reader, "SELECT * FROM public.dim_centre") == "42501"
    finally:
        reader.dispose()


def test_the_role_script_is_parametrised_by_identifiers_only():
    text = ROLE_SCRIPT.read_text(encoding="utf-8")
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    assert "password" not in code.lower()
    assert "current_setting('crpv.bi_role', true)" in code
    assert "format(" in code and "%I" in code  # identifiers quoted, never pasted
