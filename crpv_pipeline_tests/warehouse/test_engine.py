import pytest
import sqlalchemy as sa

from crpv_pipeline.warehouse.engine import sqlite_file


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///crpv.sqlite", "crpv.sqlite"),
        ("sqlite:////srv/crpv.sqlite", "/srv/crpv.sqlite"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:crpv.sqlite?mode=ro&uri=true", None),
        ("postgresql+psycopg://crpv@db/crpv", None),
    ],
)
def test_the_file_of_a_sqlite_warehouse_is_decided_in_one_place(url, expected):
    found = sqlite_file(sa.make_url(url))
    assert (None if found is None else str(found)) == expected
