"""Columns an earlier version declared NOT NULL become nullable; rows are kept (see also
test_warehouse.py::test_derived_columns_that_became_nullable_are_relaxed_and_rows_kept)."""

import pytest
import sqlalchemy as sa

from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.schema_upgrade import SchemaUpgradeError, relax_not_null


def test_a_table_that_cannot_be_rebuilt_is_named(tmp_path):
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    try:
        with engine.begin() as conn:  # department is nullable in the DDL of fact_activity
            conn.exec_driver_sql(
                "create table fact_activity (activity_id integer primary key,"
                " department text not null)"
            )
        with engine.begin() as conn, pytest.raises(SchemaUpgradeError, match="fact_activity"):
            relax_not_null(conn, ["fact_activity"], rebuildable=["activity_counts"])
        columns = {c["name"]: c for c in sa.inspect(engine).get_columns("fact_activity")}
        assert not columns["department"]["nullable"]  # left as it was
    finally:
        engine.dispose()
