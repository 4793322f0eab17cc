"""PostgreSQL loads whose foreign keys are checked in one query a key (``references``): the same
outcome as the server's own checks, for every role the pipeline may run as."""

import pytest
import sqlalchemy as sa

from crpv_pipeline.warehouse import references
from crpv_pipeline.warehouse.bulk import bulk_insert
from crpv_pipeline.warehouse.engine import create_warehouse_engine, write_transaction
from crpv_pipeline.warehouse.schema import ensure_schema, schema_table
from crpv_pipeline_tests.factories import make_result
from crpv_pipeline_tests.tables import dump, load
from crpv_pipeline_tests.warehouse.test_bulk import fact_rows

FACT_COLUMNS = tuple(schema_table("fact_activity").c.keys())
PUBLIC_COLUMNS = ("activity_id", "public_code")


def _with(rows: list[tuple], column: str, value: object) -> list[tuple]:
    """``rows`` with ``column`` of the last row set to ``value``."""
    i = FACT_COLUMNS.index(column)
    return [*rows[:-1], (*rows[-1][:i], value, *rows[-1][i + 1 :])]


def _role(request, pipeline_user, pg_admin_engine):
    """The engine of the role the case names: superuser, unprivileged, or granted the setting."""
    if request.param == "superuser":
        return pipeline_user.admin, True
    if request.param == "granted":
        with pg_admin_engine.connect() as conn:
            conn.exec_driver_sql(
                f'GRANT SET ON PARAMETER session_replication_role TO "{pipeline_user.user}"'
            )
        request.addfinalizer(lambda: _revoke(pg_admin_engine, pipeline_user.user))
        return pipeline_user.engine, True
    return pipeline_user.engine, False


def _revoke(pg_admin_engine, user: str) -> None:
    with pg_admin_engine.connect() as conn:
        conn.exec_driver_sql(f'REVOKE SET ON PARAMETER session_replication_role FROM "{user}"')


@pytest.fixture(params=["superuser", "unprivileged", "granted"])
def role_engine(request, pipeline_user, pg_admin_engine):
    engine, fast = _role(request, pipeline_user, pg_admin_engine)
    ensure_schema(engine)
    load(engine, make_result())  # submission 1, activities 1..
    return engine, fast


@pytest.mark.postgres
def test_every_role_loads_valid_rows_and_refuses_a_missing_reference(role_engine):
    engine, fast = role_engine
    with engine.connect() as conn:
        assert references._may_skip_row_checks(conn) is fast
    with write_transaction(engine) as conn:
        assert bulk_insert(conn, "fact_activity", FACT_COLUMNS, fact_rows(100, 1)) > 0
        bulk_insert(conn, "fact_activity_public", PUBLIC_COLUMNS, [(100, "ELUS"), (101, "ELUS")])
        # the setting lasts for the COPY only: what follows in the transaction is checked
        assert conn.exec_driver_sql("show session_replication_role").scalar() == "origin"
    before = dump(engine)
    cases = [
        ("fact_activity", FACT_COLUMNS, _with(fact_rows(200, 1), "theme_code", "NOT_A_THEME")),
        ("fact_activity", FACT_COLUMNS, _with(fact_rows(200, 1), "submission_id", 999)),
        ("fact_activity", FACT_COLUMNS, _with(fact_rows(200, 1), "centre_code", "NOWHERE")),
        ("fact_activity_public", PUBLIC_COLUMNS, [(100, "JEUNES"), (100, "NOT_A_PUBLIC")]),
        ("fact_activity_public", PUBLIC_COLUMNS, [(100, "JEUNES"), (99_999, "ELUS")]),
    ]
    for table, columns, rows in cases:
        with pytest.raises(sa.exc.IntegrityError, match=f'"{table}".*foreign key'):
            with write_transaction(engine) as conn:
                bulk_insert(conn, table, columns, rows)
        assert dump(engine) == before


@pytest.mark.postgres
def test_keys_stay_enforced_around_a_fast_load(role_engine):
    """A referenced row cannot be deleted once rows refer to it, in the load's transaction or
    after: the server checks every statement but the COPY, whose keys were checked at once."""
    engine, _ = role_engine
    with pytest.raises(sa.exc.IntegrityError, match="still referenced"):
        with write_transaction(engine) as conn:
            bulk_insert(conn, "fact_activity", FACT_COLUMNS, fact_rows(100, 1))
            conn.exec_driver_sql("delete from dim_theme where theme_code = 'EDUCATION'")
    with pytest.raises(sa.exc.IntegrityError, match="still referenced"):
        with write_transaction(engine) as conn:
            conn.exec_driver_sql("delete from submission where submission_id = 1")


@pytest.mark.postgres
def test_a_table_with_a_trigger_of_its_own_is_checked_by_the_server(pg_url):
    """Replica mode would skip a trigger added by a DBA: such a table keeps the server's checks."""
    engine = create_warehouse_engine(pg_url)
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "create function crpv_test_touch() returns trigger language plpgsql as "
            "$$ begin return new; end $$"
        )
        conn.exec_driver_sql(
            "create trigger crpv_test_touch before insert on fact_activity_public "
            "for each row execute function crpv_test_touch()"
        )
        assert references.foreign_keys(conn, "fact_activity_public") is None
        assert {k.ref_table for k in references.foreign_keys(conn, "fact_activity")} == {
            "submission",
            "dim_centre",
            "dim_activity_type",
            "dim_modality",
            "dim_theme",
        }
    engine.dispose()
