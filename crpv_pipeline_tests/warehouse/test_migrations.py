"""The warehouse schema is versioned by Alembic: the revisions give the schema of ``sql/schema``,
release 1's warehouses upgrade with every row kept, upgrades are serialised, all or nothing."""

import shutil
import threading

import pandas as pd
import pytest
import sqlalchemy as sa

from crpv_pipeline.reference.deadlines import Deadlines
from crpv_pipeline.warehouse import migrate
from crpv_pipeline.warehouse.catalogue import SCHEMA_TABLES, index_names
from crpv_pipeline.warehouse.dictionary import bi_view_name, schema_sql
from crpv_pipeline.warehouse.engine import (
    WarehouseError,
    create_warehouse_engine,
    write_transaction,
)
from crpv_pipeline.warehouse.migrate import VERSION_TABLE, SchemaTooNew, SchemaTooOld
from crpv_pipeline.warehouse.schema import ensure_schema, upgrade_warehouse
from crpv_pipeline_tests.warehouse_v1 import load_warehouse_v1, row_counts, rows

HEAD = migrate.head_revision()
NEXT, AFTER_NEXT = f"{int(HEAD) + 1:04d}", f"{int(HEAD) + 2:04d}"
"""Ids of revisions a test adds after the packaged ones."""


@pytest.fixture
def other_url(warehouse_url, tmp_path, request) -> str:
    """A second empty database on the backend of ``warehouse_url``."""
    if warehouse_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'warehouse' / 'other.sqlite'}"
    return request.getfixturevalue("new_pg_database")().render_as_string(hide_password=False)


@pytest.fixture
def engines():
    """Engines made by a test, disposed after it."""
    made = []

    def make(url):
        made.append(create_warehouse_engine(url))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


def create_from_sql_schema(engine, edit=lambda name, ddl: ddl) -> None:
    """Execute ``sql/schema`` as it reads (``edit`` may change a file's text first)."""
    with engine.begin() as conn:
        for name in SCHEMA_TABLES + index_names():
            conn.exec_driver_sql(
                edit(name, schema_sql(name)), execution_options={"no_parameters": True}
            )


def migrate_from_empty(engine) -> tuple:
    with write_transaction(engine, "migrating", rebuilding_tables=True) as conn:
        return migrate.run_revisions(conn, "head")


def version(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")))


def schema_shape(engine) -> dict:
    """Tables, columns (name, type, nullability, default, in order), keys, indexes, checks."""
    inspector = sa.inspect(engine)
    dialect = engine.dialect

    def check(c):
        return c["name"], " ".join(c["sqltext"].split()).lower()

    shape = {}
    for table in sorted(set(inspector.get_table_names()) - {VERSION_TABLE}):
        primary_key = inspector.get_pk_constraint(table)
        shape[table] = {
            "columns": [
                (c["name"], c["type"].compile(dialect=dialect), c["nullable"], c["default"])
                for c in inspector.get_columns(table)
            ],
            "primary key": (primary_key["name"], primary_key["constrained_columns"]),
            "foreign keys": sorted(
                (
                    fk["name"] or "",
                    fk["constrained_columns"],
                    fk["referred_table"],
                    fk["referred_columns"],
                )
                for fk in inspector.get_foreign_keys(table)
            ),
            "unique": sorted(
                (u["name"] or "", u["column_names"])
                for u in inspector.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"], i["column_names"], i["unique"]) for i in inspector.get_indexes(table)
            ),
            "checks": sorted(check(c) for c in inspector.get_check_constraints(table)),
        }
    return shape


def differences(left: dict, right: dict) -> list[str]:
    found = [f"table {t} only on one side" for t in sorted(set(left) ^ set(right))]
    for table in sorted(set(left) & set(right)):
        found += [
            f"{table} {what}: {left[table][what]} != {right[table][what]}"
            for what in left[table]
            if left[table][what] != right[table][what]
        ]
    return found


# --- The revisions give the schema of sql/schema ------------------------------------------------


def test_migrating_from_empty_gives_the_schema_of_sql_schema(warehouse_url, other_url, engines):
    from_ddl, migrated = engines(warehouse_url), engines(other_url)
    create_from_sql_schema(from_ddl)
    assert [rev for rev, _ in migrate_from_empty(migrated)] == [
        "0001",
        "0002",
        "0003",
        "0004",
        "0005",
    ]
    assert version(migrated) == [HEAD]
    expected = schema_shape(from_ddl)
    assert set(expected) == set(SCHEMA_TABLES)
    assert differences(expected, schema_shape(migrated)) == [], (
        "sql/schema and the revisions of crpv_pipeline/warehouse/migrations disagree: write the"
        " revision of your change (see the docstring of crpv_pipeline.warehouse.migrations)"
    )


@pytest.mark.parametrize(
    ("name", "before", "after", "seen"),
    [
        (
            "dim_rule",
            "sort_order integer not null",
            "sort_order integer not null, x text",
            "columns",
        ),
        ("submission", "'superseded', 'held'", "'superseded', 'held', 'new'", "checks"),
        ("load_run", "files_seen integer not null", "files_seen integer", "columns"),
        ("index_submission_year_centre", "(year, centre_code)", "(year)", "indexes"),
        (
            "completeness",
            "integer references submission (submission_id), -- Latest",
            "integer, --",
            "foreign keys",
        ),
    ],
)
def test_the_comparison_sees_an_edit_of_sql_schema_without_its_revision(
    tmp_path, engines, name, before, after, seen
):
    def edit(file, ddl):
        assert file != name or before in ddl
        return ddl.replace(before, after) if file == name else ddl

    edited, migrated = (
        engines(f"sqlite:///{tmp_path / 'a'}"),
        engines(f"sqlite:///{tmp_path / 'b'}"),
    )
    create_from_sql_schema(edited, edit)
    migrate_from_empty(migrated)
    found = differences(schema_shape(edited), schema_shape(migrated))
    table = "submission" if name.startswith("index_") else name
    assert found and all(d.startswith(f"{table} {seen}:") for d in found), found


def test_an_empty_warehouse_is_created_at_the_newest_revision(warehouse_engine):
    upgrade = upgrade_warehouse(warehouse_engine)
    assert upgrade.created and upgrade.lines() == [
        f"Empty warehouse: schema created at revision {HEAD}."
    ]
    assert version(warehouse_engine) == [HEAD]
    again = upgrade_warehouse(warehouse_engine)
    assert (again.found, again.applied, again.created) == (HEAD, (), False)


# --- Release 1's warehouses -------------------------------------------------------------------


SUPERSEDED = "SELECT * FROM submission WHERE status = 'superseded'"
REPLACING = "SELECT * FROM submission WHERE replaces_submission_id IS NOT NULL"
RUNS = "SELECT * FROM load_run ORDER BY started_at"
SUMMARY = "SELECT * FROM yearly_summary ORDER BY year"
FINDINGS = "SELECT failure_id, submission_id, cell, rule, message FROM validation_failure"


def test_a_release_1_warehouse_upgrades_with_every_row_kept(warehouse_url, engines):
    load_warehouse_v1(warehouse_url)
    engine = engines(warehouse_url)
    counts = row_counts(engine)
    samples = {q: rows(engine, q) for q in (SUPERSEDED, REPLACING, RUNS, SUMMARY, FINDINGS)}
    assert len(samples[SUPERSEDED]) == 1 and len(samples[RUNS]) == 4  # what the fixture holds
    assert (
        samples[REPLACING][0]["replaces_submission_id"] == samples[SUPERSEDED][0]["submission_id"]
    )

    upgrade = upgrade_warehouse(engine)

    assert (upgrade.found, upgrade.recognised) == (None, "0001")
    assert [rev for rev, _ in upgrade.applied] == ["0002", "0003", "0004", "0005"]
    assert upgrade.lines()[:2] == [
        "Warehouse made before schema versioning: recognised at revision 0001, stamped.",
        f"Warehouse schema upgraded from revision 0001 to {HEAD}:",
    ]
    assert version(engine) == [HEAD]
    assert row_counts(engine) == counts
    for query, before in samples.items():
        after = rows(engine, query)
        assert [{k: r[k] for k in b} for r, b in zip(after, before, strict=True)] == before, query
    inspector = sa.inspect(engine)
    for table in ("activity_counts", "yearly_summary", "yearly_trend"):  # unknown, not zero
        assert {c["name"]: c for c in inspector.get_columns(table)}["participants"]["nullable"]
    assert rows(engine, "SELECT DISTINCT source_sheet FROM fact_activity") == [
        {"source_sheet": None}
    ]
    assert rows(engine, "SELECT count(*) AS n FROM dim_rule")[0]["n"] > 0  # filled after
    on_time = {  # 0003: said in Paris time (here as in release 1: nothing came near midnight)
        (r["year"], r["centre_code"]): r["received_on_time"]
        for r in rows(engine, "SELECT * FROM completeness WHERE received_at IS NOT NULL")
    }
    assert on_time == {
        (r["year"], r["centre_code"]): pd.Timestamp(r["received_at"])
        < Deadlines.received_before(pd.Timestamp(r["deadline"]).date())
        for r in rows(engine, "SELECT * FROM completeness WHERE received_at IS NOT NULL")
    }
    assert [k for k, v in on_time.items() if not v] == [(2021, "ORIV")]  # its correction, late
    view = bi_view_name("completeness", engine.dialect.name)  # who was late, from the BI view
    late = rows(
        engine, f"SELECT year, centre_name, deadline FROM {view} WHERE NOT received_on_time"
    )
    assert [(r["year"], r["centre_name"], str(r["deadline"])) for r in late] == [
        (
            2021,
            rows(engine, "SELECT name FROM dim_centre WHERE centre_code = 'ORIV'")[0]["name"],
            "2022-03-31",
        )
    ]

    again = upgrade_warehouse(engine)  # idempotent: nothing left to do
    assert (again.found, again.recognised, again.applied) == (HEAD, None, ())
    assert row_counts(engine) == counts


def test_a_run_on_an_upgraded_release_1_warehouse_publishes_the_same_figures(
    warehouse_url, engines, tmp_path
):
    """`crpv run` upgrades first; the corrected ORIV return again gives release 1's figures."""
    from crpv_pipeline.cli import main
    from crpv_pipeline.demo.returns import write_demo_inbox
    from crpv_pipeline_tests.warehouse_v1 import resubmit_oriv

    load_warehouse_v1(warehouse_url)
    engine = engines(warehouse_url)
    published = rows(engine, SUMMARY)
    inbox = tmp_path / "inbox"
    write_demo_inbox(inbox, years=(2021,))
    resubmit_oriv(inbox)
    args = ["--inbox", str(inbox), "--warehouse", warehouse_url, "--output", str(tmp_path / "out")]
    assert main(["run", "--year", "2021", *args]) == 0
    assert version(engine) == [HEAD]
    summary = rows(engine, SUMMARY)
    assert [{k: r[k] for k in p} for r, p in zip(summary, published, strict=True)] == published
    assert summary[-1]["half_days"] == 3126  # 2021: the demo's 3 123, ORIV corrected
    assert len(rows(engine, RUNS)) == 5  # release 1's four runs, and this one
    statuses = rows(engine, "SELECT status, count(*) AS n FROM submission GROUP BY status")
    assert {r["status"]: r["n"] for r in statuses}["superseded"] == 2  # ORIV's two earlier


def test_a_warehouse_made_before_versioning_with_this_rounds_schema_is_stamped_at_0002(
    warehouse_engine,
):
    create_from_sql_schema(warehouse_engine)  # as ensure_schema made it before versioning
    upgrade = upgrade_warehouse(warehouse_engine)
    assert (upgrade.recognised, [rev for rev, _ in upgrade.applied]) == (
        "0002",
        ["0003", "0004", "0005"],
    )
    assert version(warehouse_engine) == [HEAD]


def test_a_warehouse_older_than_release_1_is_refused(sqlite_url, engines):
    engine = engines(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("create table load_run (run_id text not null, year integer)")
    with pytest.raises(SchemaTooOld, match=r"before release 1 \(dim_activity_type is missing\)"):
        ensure_schema(engine)
    assert sa.inspect(engine).get_table_names() == ["load_run"]  # left as it was


def test_a_warehouse_newer_than_the_code_is_refused(warehouse_engine):
    ensure_schema(warehouse_engine)
    with warehouse_engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0999'")
    with pytest.raises(SchemaTooNew) as raised:
        ensure_schema(warehouse_engine)
    assert str(raised.value) == (
        "the warehouse schema is at revision 0999, which this version of crpv-pipeline does not"
        f" know (it knows up to {HEAD}): the warehouse was upgraded by a newer version; upgrade"
        " crpv-pipeline"
    )


# --- Serialised, all or nothing ---------------------------------------------------------------


def test_concurrent_upgrades_are_serialised_by_the_write_lock(warehouse_url, engines, monkeypatch):
    """Both see revisions to apply, then wait for the write lock: the second finds none left."""
    load_warehouse_v1(warehouse_url)
    holder = engines(warehouse_url)
    counts = row_counts(holder)
    planned = threading.Semaphore(0)
    plan = migrate.plan_upgrade

    def counted(conn):
        found = plan(conn)
        planned.release()
        return found

    monkeypatch.setattr("crpv_pipeline.warehouse.schema.plan_upgrade", counted)
    results, errors = [], []

    def upgrade():
        try:
            results.append(upgrade_warehouse(engines(warehouse_url)))
        except Exception as err:  # noqa: BLE001  (reported by the assertion below)
            errors.append(err)

    threads = [threading.Thread(target=upgrade) for _ in range(2)]
    with write_transaction(holder, "holding the lock"):
        for thread in threads:
            thread.start()
        for _ in threads:  # each planned outside the lock: it found revisions to apply
            assert planned.acquire(timeout=60)
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(len(r.applied) for r in results) == [0, int(HEAD) - 1]  # 0002 to the newest
    assert version(holder) == [HEAD]
    assert row_counts(holder) == counts


REVISION = (
    '"""Revision {rev}: added by a test."""\n'
    "import sqlalchemy as sa\nfrom alembic import op\n"
    "revision, down_revision, branch_labels, depends_on = '{rev}', '{down}', None, None\n"
    "def upgrade():\n"
)
CHANGES_TWO_TABLES = (
    "    op.add_column('dim_rule', sa.Column('x', sa.Text()))\n"
    "    with op.batch_alter_table('yearly_summary') as batch:\n"
    "        batch.alter_column('half_days', existing_type=sa.Integer(), nullable=True)\n"
)


@pytest.fixture
def more_revisions(tmp_path, monkeypatch):
    """The packaged revisions and those given (``(id, body of upgrade())`` after the head)."""

    def add(*revisions):
        folder = tmp_path / "migrations"
        shutil.copytree(migrate.scripts().dir, folder, ignore=shutil.ignore_patterns("__pycache__"))
        down = HEAD
        for rev, body in revisions:
            text = REVISION.format(rev=rev, down=down) + body
            (folder / "versions" / f"{rev}_test.py").write_text(text)
            down = rev
        monkeypatch.setattr(migrate, "SCRIPT_LOCATION", str(folder))
        migrate.scripts.cache_clear()

    yield add
    migrate.scripts.cache_clear()


def test_a_failing_revision_leaves_the_warehouse_at_its_revision(warehouse_url, engines, request):
    load_warehouse_v1(warehouse_url)
    engine = engines(warehouse_url)
    ensure_schema(engine)
    counts = row_counts(engine)
    fails = "    op.execute('INSERT INTO no_such_table VALUES (1)')\n"
    request.getfixturevalue("more_revisions")((NEXT, CHANGES_TWO_TABLES), (AFTER_NEXT, fails))
    with pytest.raises(
        WarehouseError, match="applying the schema revisions failed:.*no_such_table"
    ):
        ensure_schema(engine)
    assert version(engine) == [HEAD]  # not NEXT: its changes went with AFTER_NEXT's failure
    inspector = sa.inspect(engine)
    assert "x" not in {c["name"] for c in inspector.get_columns("dim_rule")}
    half_days = {c["name"]: c for c in inspector.get_columns("yearly_summary")}["half_days"]
    assert not half_days["nullable"]
    assert row_counts(engine) == counts
    if engine.dialect.name == "sqlite":  # the BI views dropped for the rebuild are back
        assert "bi_completeness" in inspector.get_view_names()


@pytest.mark.postgres
def test_a_failing_revision_is_told_by_its_first_error_not_by_what_followed(
    pg_url, engines, more_revisions
):
    """After a failed statement PostgreSQL refuses the others: the batch's clean-up is not it."""
    engine = engines(pg_url)
    ensure_schema(engine)
    copy_and_move = CHANGES_TWO_TABLES.replace(  # the view bi.yearly_summary reads the table
        "batch_alter_table('yearly_summary')",
        "batch_alter_table('yearly_summary', recreate='always')",
    )
    more_revisions((NEXT, copy_and_move))
    with pytest.raises(WarehouseError) as raised:
        ensure_schema(engine)
    assert str(raised.value) == (
        "warehouse schema: applying the schema revisions failed: cannot drop table yearly_summary"
        " because other objects depend on it"
    )
    assert version(engine) == [HEAD]
