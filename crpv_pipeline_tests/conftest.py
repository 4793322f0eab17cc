"""Shared fixtures: warehouse URLs for SQLite (a file in tmp_path) and PostgreSQL (a fresh
database), and engines on them, empty or with the schema.

PostgreSQL tests use the server of ``CRPV_TEST_PG_ADMIN_URL`` (default: the local server, user
postgres). When it is unreachable they are skipped, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.schema import ensure_schema

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(autouse=True)
def _outputs_out_of_the_way(monkeypatch, tmp_path) -> None:
    """A command that writes outputs by default (``CRPV_OUTPUT``) writes them in ``tmp_path``,
    never in the folder the tests run from."""
    monkeypatch.setenv("CRPV_OUTPUT", str(tmp_path / "crpv_output"))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    (tmp_path / "warehouse").mkdir(exist_ok=True)  # the pipeline never creates it
    return f"sqlite:///{tmp_path / 'warehouse' / 'crpv.sqlite'}"


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the maintenance database, or skip (fail under CI) if unreachable."""
    url = os.environ.get("CRPV_TEST_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL)
    engine = sa.create_engine(
        url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as err:
        engine.dispose()
        shown = sa.make_url(url).render_as_string(hide_password=True)
        reason = f"PostgreSQL unreachable at {shown}: {str(err.orig).strip().splitlines()[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin_engine: Engine) -> Iterator[str]:
    """The URL of a fresh, empty database, dropped after the test."""
    name = f"crpv_test_{secrets.token_hex(6)}"  # identifier built from hex digits only
    with pg_admin_engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = pg_admin_engine.url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with pg_admin_engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request) -> str:
    """The URL of an empty warehouse, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def warehouse_engine(warehouse_url: str) -> Iterator[Engine]:
    """An engine on an empty warehouse of either dialect, disposed after the test."""
    engine = create_warehouse_engine(warehouse_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(warehouse_engine: Engine) -> Engine:
    """A warehouse of either dialect with its schema and dimensions, and nothing loaded."""
    ensure_schema(warehouse_engine)
    return warehouse_engine


@pytest.fixture
def new_pg_database(pg_admin_engine: Engine) -> Iterator:
    """A factory of fresh databases on the test server (``name → URL``), all dropped after."""
    created: list[str] = []

    def create(prefix: str = "crpv_test") -> sa.URL:
        name = f"{prefix}_{secrets.token_hex(6)}"  # identifier built from a fixed prefix and hex
        with pg_admin_engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        created.append(name)
        return pg_admin_engine.url.set(database=name)

    yield create
    with pg_admin_engine.connect() as conn:
        for name in created:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pipeline_user(pg_url, pg_admin_engine):
    """A least-privileged pipeline user on the pg_url database (not a superuser, not its owner),
    with its warehouse engine; the BI role name to create; both dropped after."""
    suffix = secrets.token_hex(4)  # roles are cluster-wide: one per run
    user, role = f"crpv_pipe_test_{suffix}", f"crpv_bi_test_{suffix}"
    url = sa.make_url(pg_url)
    with pg_admin_engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{user}" LOGIN')
        conn.exec_driver_sql(f'GRANT CONNECT, CREATE ON DATABASE "{url.database}" TO "{user}"')
    admin = create_warehouse_engine(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'GRANT CREATE ON SCHEMA public TO "{user}"')
    engine = create_warehouse_engine(url.set(username=user).render_as_string(hide_password=False))
    try:
        yield SimpleNamespace(engine=engine, admin=admin, user=user, role=role, url=url)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            for name in (role, user):  # their objects and grants in the database, then them
                exists = conn.execute(
                    sa.text("SELECT count(*) FROM pg_roles WHERE rolname = :name"), {"name": name}
                ).scalar()
                if exists:
                    conn.exec_driver_sql(f'DROP OWNED BY "{name}"')
        admin.dispose()
        with pg_admin_engine.connect() as conn:
            conn.exec_driver_sql(f'REVOKE ALL ON DATABASE "{url.database}" FROM "{user}"')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{user}"')
