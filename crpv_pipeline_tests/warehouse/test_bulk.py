"""``bulk.bulk_insert`` (COPY on PostgreSQL, executemany on SQLite, an insert elsewhere) and the
loader writing through it: values written exactly, as a SQLAlchemy insert writes them, inside the
caller's transaction."""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from crpv_pipeline.warehouse import bulk
from crpv_pipeline.warehouse.bulk import bulk_insert
from crpv_pipeline.warehouse.engine import (
    WarehouseError,
    create_warehouse_engine,
    write_transaction,
)
from crpv_pipeline.warehouse.schema import ensure_schema, schema_table
from crpv_pipeline_tests.factories import activity, finding, make_result
from crpv_pipeline_tests.tables import dump, load, rows

TRICKY_TEXTS = (
    "tab\there",
    "new\nline",
    "crlf\r\nend",
    "back\\slash",
    "\\N",
    "\\.",
    "\\\\N",
    "NULL",
    "",
    " spaces around ",
    "'single' \"double\" `back`",
    "semi;colon; DROP TABLE fact_activity; --",
    "comma, pipe | percent % colon :name question ?",
    "é à ç œ ß ü — « guillemets »",
    "emoji 🎉👩‍👩‍👧 and 中文",
    "x" * 30_000,
)
DATES = (dt.date(2021, 1, 1), dt.date(2021, 2, 28), dt.date(1, 1, 1), dt.date(9999, 12, 31))
FACT_COLUMNS = tuple(schema_table("fact_activity").c.keys())
FINDING_COLUMNS = tuple(schema_table("validation_failure").c.keys())


def fact_rows(first_id: int, submission_id: int) -> list[tuple]:
    """fact_activity rows holding every tricky text, date and NULL, as ``bulk_insert`` takes."""
    out = []
    for i, text in enumerate(TRICKY_TEXTS):
        values = {
            "activity_id": first_id + i,
            "submission_id": submission_id,
            "year": 2021,
            "centre_code": "IREV",
            "source_row": 6 + i,
            "source_sheet": text,
            "activity_date": DATES[i % len(DATES)],
            "title": text,
            "activity_type_code": "FORMATION",
            "modality_code": "PRESENTIEL",
            "theme_code": "EDUCATION",
            "half_days": i + 1,
            "participants": None if i % 2 else i * 1000,
            "department": None if i % 3 else text,
            "partners": text,
            "comment": None if i % 2 == 0 else text,
        }
        out.append(tuple(values[c] for c in FACT_COLUMNS))
    return out


def finding_rows(first_id: int, submission_id: int) -> list[tuple]:
    out = []
    for i, text in enumerate(TRICKY_TEXTS):
        values = dict.fromkeys(FINDING_COLUMNS)
        values.update(
            failure_id=first_id + i,
            submission_id=submission_id,
            year=2021,
            centre_code=None if i % 2 else "IREV",
            file_name=text or "f.xlsx",
            sheet=text,
            row_number=None if i % 3 else i,
            value=text,
            rule="date_invalid",
            severity="error",
            message=text,
        )
        out.append(tuple(values[c] for c in FINDING_COLUMNS))
    return out


def as_records(columns, table_rows) -> list[dict]:
    return [dict(zip(columns, row, strict=True)) for row in table_rows]


def stored_as(engine, table: str, key: str, ids) -> list[tuple]:
    """The rows as the database holds them (on SQLite, with each value's storage class)."""
    source = schema_table(table)
    columns = [source.c[c] for c in source.c.keys()]
    if engine.dialect.name == "sqlite":
        columns += [sa.func.typeof(c) for c in columns]
    with engine.connect() as conn:
        return [
            tuple(r)[1:]  # without the id, which differs
            for r in conn.execute(
                sa.select(*columns).where(source.c[key].in_(ids)).order_by(source.c[key])
            )
        ]


def test_tricky_values_are_written_exactly_and_as_an_insert_writes_them(engine):
    load(engine, make_result())  # submission 1, activities 1 to 3
    n = len(TRICKY_TEXTS)
    with write_transaction(engine) as conn:
        assert bulk_insert(conn, "fact_activity", FACT_COLUMNS, fact_rows(100, 1)) == n
        assert bulk_insert(conn, "validation_failure", FINDING_COLUMNS, finding_rows(100, 1)) == n
        # the same values through a plain SQLAlchemy insert, for comparison
        conn.execute(
            sa.insert(schema_table("fact_activity")), as_records(FACT_COLUMNS, fact_rows(200, 1))
        )
        conn.execute(
            sa.insert(schema_table("validation_failure")),
            as_records(FINDING_COLUMNS, finding_rows(200, 1)),
        )

    facts = [r for r in rows(engine, "fact_activity") if 100 <= r["activity_id"] < 200]
    assert facts == as_records(FACT_COLUMNS, fact_rows(100, 1))
    assert len(facts[-1]["title"]) == 30_000
    assert facts[TRICKY_TEXTS.index("")]["title"] == ""  # an empty text is not NULL
    assert facts[TRICKY_TEXTS.index("\\N")]["title"] == "\\N"
    assert [type(r["activity_date"]) for r in facts] == [dt.date] * n
    findings = [r for r in rows(engine, "validation_failure") if 100 <= r["failure_id"] < 200]
    assert findings == as_records(FINDING_COLUMNS, finding_rows(100, 1))

    for table, key in (("fact_activity", "activity_id"), ("validation_failure", "failure_id")):
        assert stored_as(engine, table, key, range(100, 100 + n)) == stored_as(
            engine, table, key, range(200, 200 + n)
        )


def test_public_codes_and_nulls_in_key_tables(engine):
    load(engine, make_result(activities=[activity(public_codes=())]))  # activity 1, no public
    with write_transaction(engine) as conn:
        written = bulk_insert(
            conn,
            "fact_activity_public",
            ("public_code", "activity_id"),  # any order of the columns
            [("ELUS", 1), ("ETAT", 1)],
        )
    assert written == 2
    assert rows(engine, "fact_activity_public") == [
        {"activity_id": 1, "public_code": "ELUS"},
        {"activity_id": 1, "public_code": "ETAT"},
    ]


def test_an_error_in_the_middle_of_the_transaction_leaves_no_row(engine):
    load(engine, make_result())
    before = dump(engine)
    with pytest.raises(RuntimeError, match="boom"), write_transaction(engine) as conn:
        bulk_insert(conn, "fact_activity", FACT_COLUMNS, fact_rows(100, 1))
        bulk_insert(conn, "fact_activity_public", ("activity_id", "public_code"), [(100, "ELUS")])
        bulk_insert(conn, "validation_failure", FINDING_COLUMNS, finding_rows(100, 1))
        raise RuntimeError("boom")
    assert dump(engine) == before


def test_a_driver_error_is_raised_as_sqlalchemys_and_rolls_back(engine):
    load(engine, make_result())
    before = dump(engine)
    broken = fact_rows(100, 1)
    broken[-1] = tuple(
        "NOT_A_THEME" if c == "theme_code" else v
        for c, v in zip(FACT_COLUMNS, broken[-1], strict=True)
    )
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        bulk_insert(conn, "validation_failure", FINDING_COLUMNS, finding_rows(100, 1))
        bulk_insert(conn, "fact_activity", FACT_COLUMNS, broken)
    assert dump(engine) == before
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        bulk_insert(conn, "fact_activity", FACT_COLUMNS, fact_rows(1, 1))  # ids already taken
    assert dump(engine) == before


def test_names_are_checked_before_being_composed_into_a_statement(engine):
    with write_transaction(engine) as conn:
        with pytest.raises(WarehouseError, match="not a warehouse table"):
            bulk_insert(conn, "fact_activity; DROP TABLE submission", ("activity_id",), [(1,)])
        with pytest.raises(ValueError, match="unknown: 'title; --'"):
            bulk_insert(conn, "fact_activity", ("activity_id", "title; --"), [(1, "x")])
        with pytest.raises(ValueError, match="distinct"):
            bulk_insert(conn, "fact_activity_public", ("activity_id", "activity_id"), [(1, 1)])
        with pytest.raises(ValueError, match="must have 2 values"):
            bulk_insert(conn, "fact_activity_public", ("activity_id", "public_code"), [(1,)])
        assert bulk_insert(conn, "fact_activity_public", ("activity_id", "public_code"), []) == 0
    odd = sa.Table("Odd Table", sa.MetaData(), sa.Column("x", sa.Integer))
    with pytest.raises(ValueError, match=r"'Odd Table' cannot be composed"):
        bulk._check_names(odd, ("x",))


@contextmanager
def statements_run(engine) -> Iterator[list[str]]:
    """The statements SQLAlchemy sends to the driver meanwhile (not a raw cursor's)."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def many_activities(n: int) -> list[dict]:
    """``n`` activities with every kind of value: NULLs, tricky texts, repeated publics."""
    types = ("FORMATION", "CYCLE_QUALIFICATION", "ACTIVITE_RESEAU", "MANIFESTATION")
    themes = ("EDUCATION", "SANTE", "VRL", "EMPLOI", "JEUNESSE")
    publics = ((), ("ELUS",), ("ETAT", "ELUS"), ("ELUS", "ELUS", "AUTRES"))
    return [
        activity(
            source_row=6 + i,
            source_sheet=("Activités", "Activités (2)")[i % 2],
            activity_date=dt.date(2021, 1, 1) + dt.timedelta(days=i % 365),
            title=f"Action {i} {TRICKY_TEXTS[i % len(TRICKY_TEXTS)][:200]}",
            activity_type_code=types[i % len(types)],
            modality_code=("PRESENTIEL", "DISTANCIEL", "HYBRIDE")[i % 3],
            theme_code=themes[i % len(themes)],
            half_days=1 + i % 60,
            participants=None if i % 7 == 0 else i % 500,
            department=None if i % 5 == 0 else ("2A", "59", "971")[i % 3],
            partners=None if i % 2 else "CAF; ARS",
            comment=TRICKY_TEXTS[i % len(TRICKY_TEXTS)] if i % 11 == 0 else None,
            public_codes=publics[i % len(publics)],
        )
        for i in range(n)
    ]


def test_a_return_of_5000_activities_loads_the_rows_it_always_did(engine):
    load(engine, make_result(centre_code="ORIV"))  # activities 1 to 3, submission 1
    n = 5000
    findings = [
        finding(row_number=6 + i, cell=f"A{6 + i}", value=t) for i, t in enumerate(TRICKY_TEXTS)
    ]
    result = make_result(activities=many_activities(n), findings=findings)
    with statements_run(engine) as statements:
        outcome = load(engine, result)
    inserts = [s.split("(")[0].strip() for s in statements if s.startswith("INSERT")]
    assert inserts == ["INSERT INTO submission"]  # the rest went through COPY or executemany
    assert (outcome.submission_id, outcome.rows_loaded) == (2, n)

    expected_facts = [
        {
            "activity_id": 4 + i,
            "submission_id": 2,
            "year": 2021,
            "centre_code": "IREV",
            **{c: a[c] for c in FACT_COLUMNS[4:]},
        }
        for i, a in enumerate(many_activities(n))
    ]
    assert rows(engine, "fact_activity", 2021)[3:] == expected_facts
    expected_publics = sorted(
        (4 + i, code)
        for i, a in enumerate(many_activities(n))
        for code in dict.fromkeys(a["public_codes"])
    )
    publics = rows(engine, "fact_activity_public")
    assert [(r["activity_id"], r["public_code"]) for r in publics if r["activity_id"] >= 4] == (
        expected_publics
    )
    assert rows(engine, "validation_failure") == [
        {
            "failure_id": 1 + i,
            "submission_id": 2,
            "year": 2021,
            "centre_code": "IREV",
            "file_name": f.file_name,
            "sheet": f.sheet,
            "row_number": f.row_number,
            "cell": f.cell,
            "column_label": f.column_label,
            "field": f.field,
            "value": f.value,
            "rule": f.rule,
            "severity": f.severity,
            "message": f.message,
        }
        for i, f in enumerate(findings)
    ]
    assert rows(engine, "submission")[1]["half_days_after"] == sum(1 + i % 60 for i in range(n))


@pytest.mark.postgres
def test_another_driver_inserts_through_sqlalchemy_the_same_rows(new_pg_database):
    """psycopg2 has no ``cursor.copy``: the rows go through a SQLAlchemy insert, and the tables
    end up as the COPY of psycopg 3 leaves them."""
    result = make_result(activities=many_activities(300), findings=[finding(value="a\tb\\N")])
    dumps = []
    for driver in ("postgresql+psycopg", "postgresql+psycopg2"):
        url = new_pg_database().set(drivername=driver).render_as_string(hide_password=False)
        engine = create_warehouse_engine(url)
        try:
            assert engine.dialect.driver == driver.split("+")[1]
            ensure_schema(engine)
            with statements_run(engine) as statements:
                load(engine, result)
            copied = not any(s.startswith("INSERT INTO fact_activity ") for s in statements)
            assert copied == (engine.dialect.driver == "psycopg")
            dumps.append(dump(engine))
        finally:
            engine.dispose()
    assert dumps[0] == dumps[1]
    assert len(dumps[0]["fact_activity"]) == 300
