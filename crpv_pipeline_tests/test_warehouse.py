import datetime as dt

import pytest
import sqlalchemy as sa

from crpv_pipeline.refdata import load_nomenclature
from crpv_pipeline.warehouse import (
    DERIVED_TABLES,
    SCHEMA_TABLES,
    WRITE_LOCK_KEY,
    WarehouseError,
    count_rows,
    create_warehouse_engine,
    derive_year,
    derived_sql,
    ensure_schema,
    load_return,
    read_table,
    write_transaction,
)
from crpv_pipeline_tests.factories import activity, finding, make_result

RECEIVED = dt.datetime(2022, 1, 15, 9, 30)
LOADED = dt.datetime(2022, 1, 16, 8, 0)


@pytest.fixture
def engine(warehouse_engine):
    ensure_schema(warehouse_engine)
    return warehouse_engine


def load(engine, result, run_id="run-1", received_at=RECEIVED):
    return load_return(engine, result, run_id=run_id, received_at=received_at, loaded_at=LOADED)


def dump(engine, tables=SCHEMA_TABLES):
    """Full contents of the tables, for before/after comparisons."""
    return {table: read_table(engine, table).to_dict("records") for table in tables}


def rows(engine, table, year=None):
    return read_table(engine, table, year).to_dict("records")


def scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


# --- engine, schema, dimensions ----------------------------------------------------------


def test_sqlite_folder_is_created_and_postgresql_urls_use_psycopg(tmp_path):
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'w.sqlite'}")
    assert (tmp_path / "a" / "b").is_dir()
    engine.dispose()
    pg = create_warehouse_engine("postgresql://someone:secret@db.example/crpv")  # no connection
    assert pg.url.drivername == "postgresql+psycopg"
    pg.dispose()


def test_an_invalid_url_names_what_failed():
    with pytest.raises(WarehouseError, match="invalid warehouse URL"):
        create_warehouse_engine("not a url")


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


def test_dimensions_are_upserted_from_the_nomenclature(engine, tmp_path):
    from importlib import resources

    data = resources.files("crpv_pipeline") / "data"
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


def test_aware_timestamps_are_stored_in_utc(engine):
    paris = dt.timezone(dt.timedelta(hours=1))
    load(engine, make_result(), received_at=dt.datetime(2022, 1, 15, 10, 30, tzinfo=paris))
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
    other = create_warehouse_engine(warehouse_url, sqlite_busy_timeout_ms=0)
    try:
        with write_transaction(engine):
            if engine.dialect.name == "sqlite":
                with pytest.raises(sa.exc.OperationalError, match="locked"):
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


# --- loading returns ---------------------------------------------------------------------


def test_a_return_is_loaded_with_its_activities_publics_and_findings(engine):
    warning = finding("weekend_date", "warning", row_number=7, cell="A7", value="06/03/2021")
    error = finding()
    outcome = load(engine, make_result(findings=[error, warning]))
    assert (outcome.submission_id, outcome.action, outcome.status) == (
        1,
        "loaded",
        "loaded_with_errors",
    )
    assert (outcome.rows_loaded, outcome.n_errors, outcome.n_warnings) == (3, 1, 1)

    (submission,) = rows(engine, "submission")
    assert submission == {
        "submission_id": 1,
        "year": 2021,
        "centre_code": "IREV",
        "file_name": "IREV_2021.xlsx",
        "file_sha256": make_result(findings=[error, warning]).file_sha256,
        "template_version": "1",
        "received_at": RECEIVED,
        "loaded_at": LOADED,
        "status": "loaded_with_errors",
        "rows_read": 4,
        "rows_loaded": 3,
        "rows_rejected": 1,
        "n_errors": 1,
        "n_warnings": 1,
        "run_id": "run-1",
    }
    facts = rows(engine, "fact_activity")
    assert [f["activity_id"] for f in facts] == [1, 2, 3]
    assert facts[1] == {
        "activity_id": 2,
        "submission_id": 1,
        "year": 2021,
        "centre_code": "IREV",
        "source_row": 7,
        "activity_date": dt.date(2021, 5, 11),
        "title": "Webinaire laïcité",
        "activity_type_code": "MANIFESTATION",
        "modality_code": "DISTANCIEL",
        "theme_code": "VRL",
        "half_days": 1,
        "participants": None,
        "department": "59",
        "partners": None,
        "comment": None,
    }
    assert [(p["activity_id"], p["public_code"]) for p in rows(engine, "fact_activity_public")] == [
        (1, "CHEFS_PROJET"),
        (1, "ELUS"),
        (3, "ASSOCIATIONS"),
    ]
    failures = rows(engine, "validation_failure")
    assert [(f["failure_id"], f["rule"], f["severity"], f["cell"]) for f in failures] == [
        (1, "date_invalid", "error", "A9"),
        (2, "weekend_date", "warning", "A7"),
    ]
    assert failures[0]["message"] == error.message
    assert failures[0]["sheet"] == "Activités"
    assert failures[0]["row_number"] == 9


def test_the_same_file_again_changes_nothing(engine):
    result = make_result(findings=[finding()])
    first = load(engine, result)
    before = dump(engine)
    again = load(engine, result, run_id="run-2")
    assert again.action == "unchanged"
    assert again.submission_id == first.submission_id
    assert again.status == "loaded_with_errors"
    assert dump(engine) == before


def test_a_resubmission_supersedes_the_previous_one(engine):
    load(engine, make_result())
    other_centre = load(engine, make_result(centre_code="ORIV"))
    new = make_result(activities=[activity(title="Nouvelle action", public_codes=("ELUS",))])
    outcome = load(engine, new, run_id="run-2")
    assert (outcome.submission_id, outcome.action, outcome.superseded_ids) == (3, "loaded", (1,))

    statuses = {s["submission_id"]: s["status"] for s in rows(engine, "submission")}
    assert statuses == {1: "superseded", 2: "loaded", 3: "loaded"}
    facts = rows(engine, "fact_activity")
    irev = [f for f in facts if f["centre_code"] == "IREV"]
    assert [(f["submission_id"], f["title"]) for f in irev] == [(3, "Nouvelle action")]
    assert irev[0]["activity_id"] == 7  # ids keep growing, never reused
    assert sum(f["submission_id"] == other_centre.submission_id for f in facts) == 3
    publics = rows(engine, "fact_activity_public")
    assert {p["activity_id"] for p in publics} == {4, 6, 7}  # ORIV's 4 and 6, IREV's new 7


def test_a_rejected_resubmission_leaves_the_loaded_return_in_place(engine):
    loaded = load(engine, make_result())
    before = dump(engine, ("fact_activity", "fact_activity_public"))
    bad = make_result(
        rejected=True,
        rows_read=0,
        findings=[finding("missing_column", row_number=None, cell=None, value="Date")],
    )
    outcome = load(engine, bad)
    assert (outcome.action, outcome.status, outcome.superseded_ids) == ("rejected", "rejected", ())
    assert dump(engine, ("fact_activity", "fact_activity_public")) == before
    statuses = [(s["submission_id"], s["status"]) for s in rows(engine, "submission")]
    assert statuses == [(loaded.submission_id, "loaded"), (outcome.submission_id, "rejected")]
    assert rows(engine, "validation_failure")[0]["submission_id"] == outcome.submission_id

    derive_year(engine, 2021)
    irev = next(c for c in rows(engine, "completeness") if c["centre_code"] == "IREV")
    assert (irev["status"], irev["submission_id"], irev["rows_loaded"]) == ("loaded", 1, 3)


def test_a_file_of_an_unknown_centre_is_recorded_as_rejected(engine):
    result = make_result(
        centre_code=None,
        file_name="bilan.xlsx",
        rejected=True,
        rows_read=0,
        findings=[finding("unknown_centre", row_number=None, cell=None, value="CRPV Nord")],
    )
    outcome = load(engine, result)
    assert outcome.action == "rejected"
    (submission,) = rows(engine, "submission")
    assert (submission["centre_code"], submission["status"]) == (None, "rejected")
    assert rows(engine, "validation_failure")[0]["centre_code"] is None
    assert load(engine, result).action == "unchanged"  # same year, no centre, same file name


def test_a_failure_rolls_back_the_whole_load(engine):
    load(engine, make_result())
    before = dump(engine)
    broken = make_result(
        activities=[activity(), activity(theme_code="NOT_A_THEME")], findings=[finding()]
    )
    with pytest.raises(WarehouseError, match=r"loading IREV_2021\.xlsx \(IREV, 2021\)") as info:
        load(engine, broken, run_id="run-2")
    assert isinstance(info.value.__cause__, sa.exc.IntegrityError)
    assert dump(engine) == before  # no submission row, nothing superseded, facts untouched


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
        "completeness": 16,
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

    activity_counts = [tuple(c.values())[1:] for c in rows(engine, "activity_counts", 2021)]
    assert activity_counts == [
        ("IREV", "ACTIVITE_RESEAU", "HYBRIDE", 1, 4, 10),
        ("IREV", "FORMATION", "DISTANCIEL", 1, 2, 0),
        ("IREV", "FORMATION", "PRESENTIEL", 1, 4, 20),
        ("ORIV", "ACTIVITE_RESEAU", "DISTANCIEL", 1, 6, 30),
        ("ORIV", "FORMATION", "PRESENTIEL", 1, 4, 0),
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
        "participants": 0,
        "share_distanciel_pct": None,
    }
    themes = rows(engine, "theme_shares", 2019)
    assert len(themes) == 16
    assert {(t["half_days"], t["share_half_days_pct"]) for t in themes} == {(0, None)}
    assert {c["status"] for c in rows(engine, "completeness", 2019)} == {"missing"}
    assert count_rows(engine, "yearly_summary", 2021) == 1  # other years untouched


def test_derived_selects_return_exactly_the_table_columns(engine):
    with engine.connect() as conn:
        for name in DERIVED_TABLES:
            result = conn.execute(sa.text(derived_sql(name)), {"year": 2021})
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
