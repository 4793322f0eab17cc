import datetime as dt

import pytest
import sqlalchemy as sa

from crpv_pipeline.reference.refdata import load_nomenclature
from crpv_pipeline.warehouse.catalogue import COMPUTED_TABLES
from crpv_pipeline.warehouse.derive import DERIVED_TABLES, derive_year, derived_sql
from crpv_pipeline.warehouse.dictionary import SCHEMA_TABLES
from crpv_pipeline.warehouse.engine import (
    WRITE_LOCK_KEY,
    WarehouseError,
    WarehouseUnavailable,
    create_warehouse_engine,
    write_transaction,
)
from crpv_pipeline.warehouse.retries import RetryPolicy
from crpv_pipeline.warehouse.schema import ensure_schema
from crpv_pipeline.warehouse.tables import count_rows, read_table
from crpv_pipeline_tests.factories import activity, finding, make_result
from crpv_pipeline_tests.tables import RECEIVED, dump, load, rows


def scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


# --- engine, schema, dimensions ----------------------------------------------------------


def test_a_missing_sqlite_folder_is_refused_and_postgresql_urls_use_psycopg(tmp_path):
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'w.sqlite'}"
    with pytest.raises(WarehouseError) as err:
        create_warehouse_engine(url)
    assert (
        str(err.value) == f"no folder {tmp_path / 'a' / 'b'} for the SQLite warehouse {url}:"
        " create it first"
    )
    assert not (tmp_path / "a").exists()  # never created: a typo would scatter warehouses
    pg = create_warehouse_engine("postgresql://someone:secret@db.example/crpv")  # no connection
    assert pg.url.drivername == "postgresql+psycopg"
    pg.dispose()


def test_an_invalid_url_names_what_failed():
    with pytest.raises(WarehouseError, match="invalid warehouse URL"):
        create_warehouse_engine("not a url")


@pytest.mark.parametrize("port", ["54x2", "99999", "0"])
def test_a_bad_port_names_what_failed_without_the_password(port):
    with pytest.raises(WarehouseError, match=r"invalid warehouse URL \(postgresql\): ") as err:
        create_warehouse_engine(f"postgresql://crpv:secret@db.example:{port}/crpv")
    assert "secret" not in str(err.value)


def test_schema_is_idempotent_and_dimensions_are_loaded(engine):
    before = dump(engine)
    ensure_schema(engine)
    assert dump(engine) == before
    centres = before["dim_centre"]
    assert len(centres) == 17
    irev = next(c for c in centres if c["centre_code"] == "IREV")
    assert irev == {
        "centre_code": "IREV",
        "name": "Institut Régional de la Ville",
        "region": "Hauts-de-France",
        "active_from": 2015,
        "active_to": None,
        "sort_order": 4,
    }
    themes = before["dim_theme"]
    assert len(themes) == 16
    assert all(t["pillar"] for t in themes)
    education = next(t for t in themes if t["theme_code"] == "EDUCATION")
    assert (education["pillar"], education["pillar_order"]) == ("Cohésion sociale", 1)
    assert {len(before[t]) for t in ("dim_activity_type", "dim_modality", "dim_public")} == {
        6,
        3,
        9,
    }
    rules = {r["rule"]: r for r in before["dim_rule"]}
    assert len(rules) == len(load_nomenclature().rules)
    assert rules["half_days_out_of_range"] == {
        "rule": "half_days_out_of_range",
        "label": "Demi-journées hors limites",
        "level": "row",
        "severity": "error",
        "sort_order": rules["half_days_out_of_range"]["sort_order"],
    }


def test_dimensions_are_upserted_from_the_nomenclature(engine, tmp_path):
    from importlib import resources

    data = resources.files("crpv_pipeline.reference") / "data"
    for item in data.iterdir():
        if item.name.endswith(".csv"):
            (tmp_path / item.name).write_text(item.read_text(encoding="utf-8"), encoding="utf-8")
    themes = tmp_path / "themes.csv"
    themes.write_text(
        themes.read_text(encoding="utf-8").replace(",Jeunesse,", ",Jeunesse et enfance,"),
        encoding="utf-8",
    )
    ensure_schema(engine, load_nomenclature(tmp_path))
    labels = {t["theme_code"]: t["label"] for t in rows(engine, "dim_theme")}
    assert labels["JEUNESSE"] == "Jeunesse et enfance"
    assert len(labels) == 16


def test_tables_and_columns_follow_the_ddl(engine):
    inspector = sa.inspect(engine)
    assert set(SCHEMA_TABLES) <= set(inspector.get_table_names())
    fks = {fk["referred_table"] for fk in inspector.get_foreign_keys("fact_activity")}
    assert fks == {"submission", "dim_centre", "dim_activity_type", "dim_modality", "dim_theme"}
    assert inspector.get_pk_constraint("activity_counts")["constrained_columns"] == [
        "year",
        "centre_code",
        "activity_type_code",
        "modality_code",
    ]


def test_dates_are_iso_text_on_sqlite_and_dates_on_postgresql(engine):
    load(engine, make_result())
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("select activity_date from fact_activity order by activity_id")
        ).scalar()
        later = conn.execute(
            sa.text("select count(*) from fact_activity where activity_date >= :day"),
            {"day": dt.date(2021, 5, 1)},
        ).scalar()
    if engine.dialect.name == "sqlite":
        assert stored == "2021-03-04"
    else:
        assert stored == dt.date(2021, 3, 4)
    assert later == 2
    assert rows(engine, "fact_activity")[0]["activity_date"] == dt.date(2021, 3, 4)
    assert rows(engine, "submission")[0]["received_at"] == RECEIVED


# --- transactions and the write lock -----------------------------------------------------


def test_write_transaction_commits_and_rolls_back(engine):
    update = sa.text("update dim_centre set region = :region where centre_code = 'IREV'")
    region = "select region from dim_centre where centre_code = 'IREV'"
    with write_transaction(engine) as conn:
        conn.execute(update, {"region": "committed"})
    assert scalar(engine, region) == "committed"

    with pytest.raises(RuntimeError, match="boom"), write_transaction(engine) as conn:
        conn.execute(update, {"region": "rolled back"})
        conn.execute(sa.text("create table scratch (x integer)"))  # DDL is transactional too
        raise RuntimeError("boom")
    assert scalar(engine, region) == "committed"
    assert "scratch" not in sa.inspect(engine).get_table_names()

    with engine.connect() as conn:  # ordinary (non-locking) transactions still work
        conn.execute(update, {"region": "plain"})
        conn.commit()
    assert scalar(engine, region) == "plain"


def test_write_transaction_holds_the_warehouse_lock(engine, warehouse_url):
    other = create_warehouse_engine(
        warehouse_url, sqlite_busy_timeout_ms=0, retry=RetryPolicy(tries=1)
    )
    try:
        with write_transaction(engine):
            if engine.dialect.name == "sqlite":
                with pytest.raises(WarehouseUnavailable, match="after 1 try: database is locked"):
                    with write_transaction(other):
                        pass
                with other.connect() as conn:  # readers are not blocked
                    assert conn.execute(sa.text("select count(*) from dim_centre")).scalar()
            else:
                with other.connect() as conn:
                    taken = conn.execute(
                        sa.text("select pg_try_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY}
                    ).scalar()
                    assert taken is False
        with write_transaction(other):
            pass
    finally:
        other.dispose()


def test_a_foreign_sqlite_engine_is_refused(sqlite_url):
    plain = sa.create_engine(sqlite_url)
    with pytest.raises(WarehouseError, match="create_warehouse_engine"):
        with write_transaction(plain):
            pass
    plain.dispose()


# --- derived tables ----------------------------------------------------------------------


def _example_year(engine):
    """Hand-computed example: IREV loaded (after a superseded first file), ORIV loaded with
    errors, CRPVE rejected, MAYOTTE not expected in 2021, the 13 others missing."""
    with write_transaction(engine) as conn:
        conn.execute(
            sa.text("update dim_centre set active_to = 2020 where centre_code = 'MAYOTTE'")
        )
    load(engine, make_result(activities=[activity(half_days=50, theme_code="JEUNESSE")]))
    irev = [
        activity(half_days=4, participants=20, public_codes=("ELUS", "CHEFS_PROJET")),
        activity(modality_code="DISTANCIEL", half_days=2),
        activity(
            activity_type_code="ACTIVITE_RESEAU",
            modality_code="HYBRIDE",
            theme_code="SANTE",
            half_days=4,
            participants=10,
        ),
    ]
    load(engine, make_result(activities=irev, sha256="2" * 64))
    oriv = [
        activity(
            activity_type_code="ACTIVITE_RESEAU",
            modality_code="DISTANCIEL",
            theme_code="VRL",
            half_days=6,
            participants=30,
        ),
        activity(half_days=4),
    ]
    load(
        engine,
        make_result(
            centre_code="ORIV",
            activities=oriv,
            findings=[finding(), finding("half_days_high", "warning")],
        ),
    )
    load(
        engine,
        make_result(
            centre_code="CRPVE",
            rejected=True,
            rows_read=0,
            findings=[finding("no_header_row", row_number=None, cell=None)],
        ),
    )


def test_derived_tables_match_hand_computed_values(engine):
    _example_year(engine)
    counts = derive_year(engine, 2021)
    assert counts == {
        "activity_counts": 5,
        "theme_shares": 16,
        "modality_shares": 4,
        "yearly_summary": 1,
        "yearly_trend": 1,
        "completeness": 16,
        "plausibility_finding": 0,  # no previous year, too few centres to compare
    }

    (summary,) = rows(engine, "yearly_summary", 2021)
    assert summary == {
        "year": 2021,
        "centres_expected": 16,
        "centres_reporting": 2,
        "n_activities": 5,
        "half_days": 20,
        "participants": 60,
        "share_distanciel_pct": pytest.approx(40.0),  # 2 + 6 of 20; HYBRIDE is not remote
        "centres_with_participants": 2,
        "n_activities_with_participants": 3,
    }
    assert summary["half_days"] == scalar(
        engine, "select sum(half_days) from fact_activity where year = :year", year=2021
    )

    themes = {t["theme_code"]: t for t in rows(engine, "theme_shares", 2021)}
    assert len(themes) == 16
    assert sum(t["share_half_days_pct"] for t in themes.values()) == pytest.approx(100.0)
    shares = {
        code: (t["n_activities"], t["half_days"], t["share_half_days_pct"])
        for code, t in themes.items()
    }
    assert shares["EDUCATION"] == (3, 10, pytest.approx(50.0))
    assert shares["SANTE"] == (1, 4, pytest.approx(20.0))
    assert shares["VRL"] == (1, 6, pytest.approx(30.0))
    assert shares["JEUNESSE"] == (0, 0, 0.0)  # only in the superseded file

    modalities = [
        (m["activity_type_code"], m["modality_code"], m["half_days"], m["share_pct"])
        for m in rows(engine, "modality_shares", 2021)
    ]
    assert modalities == [
        ("ACTIVITE_RESEAU", "DISTANCIEL", 6, pytest.approx(60.0)),
        ("ACTIVITE_RESEAU", "HYBRIDE", 4, pytest.approx(40.0)),
        ("FORMATION", "DISTANCIEL", 2, pytest.approx(20.0)),
        ("FORMATION", "PRESENTIEL", 8, pytest.approx(80.0)),
    ]

    # participants left empty are unknown (NULL), never 0; the last column says how many gave it
    activity_counts = [tuple(c.values())[1:] for c in rows(engine, "activity_counts", 2021)]
    assert activity_counts == [
        ("IREV", "ACTIVITE_RESEAU", "HYBRIDE", 1, 4, 10, 1),
        ("IREV", "FORMATION", "DISTANCIEL", 1, 2, None, 0),
        ("IREV", "FORMATION", "PRESENTIEL", 1, 4, 20, 1),
        ("ORIV", "ACTIVITE_RESEAU", "DISTANCIEL", 1, 6, 30, 1),
        ("ORIV", "FORMATION", "PRESENTIEL", 1, 4, None, 0),
    ]

    completeness = {c["centre_code"]: c for c in rows(engine, "completeness", 2021)}
    assert "MAYOTTE" not in completeness
    picked = {
        code: (c["status"], c["submission_id"], c["rows_loaded"], c["n_errors"])
        for code, c in completeness.items()
        if c["status"] != "missing"
    }
    assert picked == {
        "IREV": ("loaded", 2, 3, 0),
        "ORIV": ("loaded_with_errors", 3, 2, 1),
        "CRPVE": ("rejected", 4, 0, 1),
    }
    assert completeness["IREV"]["received_at"] == RECEIVED
    missing = [c for c in completeness.values() if c["status"] == "missing"]
    assert len(missing) == 13
    assert {
        (c["submission_id"], c["received_at"], c["rows_loaded"], c["n_errors"]) for c in missing
    } == {(None, None, 0, 0)}


def test_deriving_twice_gives_the_same_tables(engine):
    _example_year(engine)
    derive_year(engine, 2021)
    first = dump(engine, DERIVED_TABLES)
    derive_year(engine, 2021)
    assert dump(engine, DERIVED_TABLES) == first


def test_a_year_without_returns_still_has_its_summary(engine):
    _example_year(engine)
    derive_year(engine, 2021)
    counts = derive_year(engine, 2019)
    assert counts["activity_counts"] == counts["modality_shares"] == 0
    (summary,) = rows(engine, "yearly_summary", 2019)
    assert summary == {
        "year": 2019,
        "centres_expected": 17,
        "centres_reporting": 0,
        "n_activities": 0,
        "half_days": 0,
        "participants": None,  # nobody gave any: unknown, not 0
        "share_distanciel_pct": None,
        "centres_with_participants": 0,
        "n_activities_with_participants": 0,
    }
    themes = rows(engine, "theme_shares", 2019)
    assert len(themes) == 16
    assert {(t["half_days"], t["share_half_days_pct"]) for t in themes} == {(0, None)}
    assert {c["status"] for c in rows(engine, "completeness", 2019)} == {"missing"}
    assert count_rows(engine, "yearly_summary", 2021) == 1  # other years untouched


@pytest.mark.parametrize("order", [(2019, 2020, 2021), (2021, 2019, 2020), (2020, 2021, 2019)])
def test_yearly_trend_is_right_whatever_order_years_are_derived(engine, order):
    half_days = {2019: 5, 2020: 2, 2021: 8}
    for year, n in half_days.items():
        when = dt.date(year, 3, 4)
        load(engine, make_result(year=year, activities=[activity(activity_date=when, half_days=n)]))
    for year in order:
        derive_year(engine, year)
    trend = {r["year"]: r for r in rows(engine, "yearly_trend")}
    assert sorted(trend) == [2019, 2020, 2021]
    assert trend[2019]["half_days_change"] is None
    assert trend[2019]["half_days_change_pct"] is None
    assert (trend[2020]["half_days_change"], trend[2021]["half_days_change"]) == (-3, 6)
    assert trend[2020]["half_days_change_pct"] == pytest.approx(-60.0)
    assert trend[2021]["half_days_change_pct"] == pytest.approx(300.0)
    assert (trend[2021]["n_activities"], trend[2021]["n_activities_change"]) == (1, 0)
    assert trend[2021]["n_activities_change_pct"] == pytest.approx(0.0)

    # A corrected 2020 return changes 2021's trend row as well.
    fix = activity(activity_date=dt.date(2020, 5, 6), half_days=4)
    load(engine, make_result(year=2020, activities=[fix], sha256="f" * 64))
    derive_year(engine, 2020)
    trend = {r["year"]: r for r in rows(engine, "yearly_trend")}
    assert (trend[2020]["half_days_change"], trend[2021]["half_days_change"]) == (-1, 4)


def test_changes_compare_the_centres_that_reported_both_years(engine):
    def year_of(year, centre, *half_days_and_participants, sha="1"):
        acts = [
            activity(activity_date=dt.date(year, 3, 4 + i), half_days=h, participants=p)
            for i, (h, p) in enumerate(half_days_and_participants)
        ]
        load(engine, make_result(year=year, centre_code=centre, activities=acts, sha256=sha * 64))

    year_of(2020, "IREV", (10, 100))
    year_of(2020, "ORIV", (4, None), sha="2")  # participants left empty
    year_of(2020, "VTO", (30, 300), sha="3")  # sends nothing in 2021
    year_of(2021, "IREV", (12, 150), sha="4")
    year_of(2021, "ORIV", (5, 40), sha="5")
    year_of(2021, "CRPVE", (50, 500), sha="6")  # new in 2021
    for year in (2020, 2021):
        derive_year(engine, year)
    (summary,) = rows(engine, "yearly_summary", 2020)
    assert (summary["participants"], summary["centres_with_participants"]) == (400, 2)
    trend = rows(engine, "yearly_trend", 2021)[0]
    assert (trend["half_days"], trend["centres_compared"]) == (67, 2)
    # IREV and ORIV alone: 10 + 4 → 12 + 5 half-days, not 44 → 67
    assert (trend["half_days_change"], trend["half_days_change_pct"]) == (
        3,
        pytest.approx(3 / 14 * 100),
    )
    assert trend["n_activities_change"] == 0
    # participants: IREV alone gave them both years (100 → 150)
    assert trend["participants_centres_compared"] == 1
    assert (trend["participants_change"], trend["participants_change_pct"]) == (
        50,
        pytest.approx(50.0),
    )


def test_derived_selects_return_exactly_the_table_columns(engine):
    with engine.connect() as conn:
        for name in set(DERIVED_TABLES) - set(COMPUTED_TABLES):  # the others are computed
            params = {
                "year": 2021,
                "deadline": dt.date(2022, 3, 31),
                "received_before": dt.datetime(2022, 4, 1),
            }
            result = conn.execute(sa.text(derived_sql(name)), params)
            table_columns = [c["name"] for c in sa.inspect(engine).get_columns(name)]
            assert list(result.keys()) == table_columns, name


def test_publics_belong_to_their_activity_year(engine):
    load(engine, make_result())
    load(engine, make_result(year=2020, activities=[activity(activity_date=dt.date(2020, 2, 3))]))
    assert count_rows(engine, "fact_activity_public", 2021) == 3
    assert count_rows(engine, "fact_activity_public", 2020) == 0
    assert len(read_table(engine, "fact_activity_public", 2021)) == 3
    assert count_rows(engine, "fact_activity") == 4


def test_read_table_only_knows_warehouse_tables(engine):
    with pytest.raises(WarehouseError, match="not a warehouse table"):
        read_table(engine, "sqlite_master")
    with pytest.raises(WarehouseError, match="dim_centre has no year column"):
        read_table(engine, "dim_centre", 2021)


def test_a_new_connection_waits_to_switch_to_wal_while_another_process_writes(tmp_path, caplog):
    """SQLite refuses the switch to WAL at once ("database is locked", its busy timeout not
    consulted) while another connection writes in the old journal mode, as when two processes
    open a brand-new warehouse together: the switch waits for the writer instead."""
    import sqlite3
    import threading
    import time

    path = tmp_path / "w.sqlite"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE t (i INTEGER)")  # a rollback-journal database
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    released = threading.Timer(0.5, writer.execute, ["COMMIT"])
    released.start()
    engine = create_warehouse_engine(f"sqlite:///{path}", retry=RetryPolicy(tries=1))
    started = time.monotonic()
    try:
        with caplog.at_level("WARNING"), engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("SELECT i FROM t").scalars().all() == [1]
    finally:
        released.join()
        engine.dispose()
        writer.close()
    assert time.monotonic() - started >= 0.4  # it waited for the writer's commit
    assert "locked" not in caplog.text
