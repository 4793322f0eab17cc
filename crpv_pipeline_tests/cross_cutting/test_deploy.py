"""The shipped production instance (deploy/dagster.yaml) against the real PostgreSQL server;
the reverse proxy that is the only way to the Dagster UI (deploy/nginx-crpv.conf)."""

import os
import re
import shutil
import subprocess

import dagster as dg
import pytest
import sqlalchemy as sa

from crpv_pipeline.orchestration.runs import materialize_year
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.tables import read_table
from crpv_pipeline_tests.instance_home import DEPLOY, production_home
from crpv_pipeline_tests.workbooks import write_return


@pytest.fixture
def instance(tmp_path, new_pg_database, monkeypatch):
    storage = new_pg_database("crpv_dagster")
    for name, value in production_home(tmp_path / "dagster_home", storage).items():
        monkeypatch.setenv(name, value)
    instance = dg.DagsterInstance.get()
    yield instance
    instance.dispose()


@pytest.mark.postgres
def test_the_instance_keeps_everything_in_postgresql(instance):
    storages = (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
    assert [type(s).__name__ for s in storages] == [
        "PostgresRunStorage",
        "PostgresEventLogStorage",
        "PostgresScheduleStorage",
    ]
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"


@pytest.mark.postgres
def test_runs_of_one_year_are_queued_one_at_a_time(instance):
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {
        "key": "dagster/partition",
        "value": {"applyLimitPerUniqueValue": True},
        "limit": 1,
    } in limits


@pytest.mark.postgres
def test_a_partition_runs_with_the_production_instance(tmp_path, instance, pg_url):
    inbox = tmp_path / "inbox"
    write_return(inbox / "2021" / "IREV_2021.xlsx")
    result = materialize_year(2021, inbox, pg_url, instance=instance, output=tmp_path / "out")

    (record,) = instance.get_run_records()
    assert record.dagster_run.run_id == result.run_id
    assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
    assert record.dagster_run.tags["crpv/year"] == "2021"
    event = instance.get_latest_materialization_event(dg.AssetKey("yearly_summary"))
    assert event.run_id == result.run_id
    with sa.create_engine(instance.run_storage.postgres_url).connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM runs")) == 1

    warehouse = create_warehouse_engine(pg_url)
    try:
        (audit,) = read_table(warehouse, "load_run").to_dict("records")
        assert (audit["run_id"], audit["submissions_loaded"]) == (result.run_id, 1)
        assert read_table(warehouse, "yearly_summary", 2021)["half_days"].tolist() == [2]
    finally:
        warehouse.dispose()


def test_the_development_instance_has_the_same_limit(tmp_path):
    shutil.copy(DEPLOY / "dagster-dev.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert limits == [
            {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        ]
    finally:
        instance.dispose()


# --- the reverse proxy in front of the Dagster UI -------------------------------------------

NGINX_CONF = DEPLOY / "nginx-crpv.conf"
DEPLOY_GUIDE = DEPLOY.parent / "docs" / "deploy.md"


def nginx_blocks(text: str) -> list[tuple[str, list[str]]]:
    """(header, directives) of each innermost ``{ … }`` block, comments removed."""
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    blocks, stack = [], [("", [])]
    for token in re.findall(r"[{};]|[^{};]+", code):
        if token == "{":
            header = stack[-1][1].pop() if stack[-1][1] else ""
            stack.append((header.strip(), []))
        elif token == "}":
            blocks.append(stack.pop())
        elif token != ";" and token.strip():
            stack[-1][1].append(" ".join(token.split()))
    return blocks


def webserver_commands() -> list[str]:
    return re.findall(
        r"^\s*(dagster-webserver .* -w workspace\.yaml)$", DEPLOY_GUIDE.read_text(), flags=re.M
    )


def test_the_webservers_listen_on_loopback_only():
    commands = webserver_commands()
    assert len(commands) == 2, commands
    assert all(re.search(r"-h 127\.0\.0\.1 ", c) for c in commands), commands
    assert not re.search(r"(-h|--host)[ =]0\.0\.0\.0", DEPLOY_GUIDE.read_text())
    (read_only,) = [c for c in commands if "--read-only" in c]
    assert "--path-prefix /watch" in read_only


def test_the_proxy_asks_a_password_before_reaching_either_webserver():
    blocks = nginx_blocks(NGINX_CONF.read_text(encoding="utf-8"))
    ports = {("--read-only" in c): re.search(r"-p (\d+)", c).group(1) for c in webserver_commands()}
    locations = {h.split()[1]: d for h, d in blocks if h.startswith("location")}
    assert locations.keys() == {"/", "/watch/"}
    for path, directives in locations.items():
        (auth,) = [d for d in directives if d.startswith("auth_basic ")]
        assert auth != "auth_basic off", path
        assert any(d.startswith("auth_basic_user_file /etc/") for d in directives), path
        (proxy,) = [d for d in directives if d.startswith("proxy_pass ")]
        port = ports[path == "/watch/"]  # the read-only webserver behind /watch/
        assert proxy == f"proxy_pass http://127.0.0.1:{port}", path

    servers = [d for h, d in blocks if h == "server"]
    for directives in servers:
        listens = [d for d in directives if d.startswith("listen ")]
        if any(d.startswith("proxy_pass") for d in directives) or any(" 443" in d for d in listens):
            assert all(d.endswith(" ssl") for d in listens), listens
        else:  # plain HTTP only sends people to HTTPS
            assert [d for d in directives if not d.startswith(("listen", "server_name"))] == [
                "return 301 https://$host$request_uri"
            ]


def test_nginx_accepts_the_shipped_configuration(tmp_path):
    if not (shutil.which("nginx") and shutil.which("openssl")):
        reason = "nginx or openssl is not installed (.ci/run installs them under CI=true)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    conf = NGINX_CONF.read_text(encoding="utf-8")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=crpv.example.fr", "-keyout", str(tmp_path / "key.pem"), "-out",
         str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    conf = conf.replace("/etc/ssl/crpv/fullchain.pem", str(tmp_path / "cert.pem"))
    conf = conf.replace("/etc/ssl/crpv/privkey.pem", str(tmp_path / "key.pem"))
    (tmp_path / "crpv.conf").write_text(conf, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/crpv.conf;\n}}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
