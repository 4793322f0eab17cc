"""``crpv browse``: datasette's metadata from the data dictionary, the warehouses it refuses, and
what an analyst sees of the demo warehouse in headless Chromium.

The browser tests start ``crpv browse --no-open`` as a process, wait until it answers and read
the pages as Chromium renders them (``--dump-dom``). Without Chromium they skip, except under
``CI=true`` (``.ci/run`` installs it), where that is a failure.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from crpv_pipeline.cli import main
from crpv_pipeline.warehouse.browse import (
    FACETS,
    HOST,
    TITLE,
    VIEW_FACETS,
    BrowseError,
    browsable_file,
    metadata,
)
from crpv_pipeline.warehouse.dictionary import (
    BI_VIEWS,
    data_dictionary,
    table_doc,
    view_doc,
    view_docs,
)
from crpv_pipeline_tests.processes import (
    PATIENCE,
    Process,
    free_port,
    start_python,
    wait_for_file,
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
INTERNAL_TABLE = "crpv_schema_version"
"""A table the data dictionary does not describe (the schema version table of migrations)."""


# --- the metadata, from the data dictionary ----------------------------------------------


def test_every_table_and_view_carries_the_descriptions_of_the_dictionary():
    tables = metadata("crpv")["databases"]["crpv"]["tables"]
    for table in data_dictionary():
        assert tables[table.name]["description"] == table.description
        assert tables[table.name]["columns"] == {c.name: c.description for c in table.columns}
    for view in view_docs():
        entry = tables[f"bi_{view.name}"]
        assert entry["description"] == view.description
        assert entry["columns"] == {c.name: c.description for c in view.columns}


def test_every_dimension_shows_a_label_for_its_code():
    tables = metadata("crpv")["databases"]["crpv"]["tables"]
    labels = {t.name: tables[t.name].get("label_column") for t in data_dictionary()}
    assert {name: label for name, label in labels.items() if name.startswith("dim_")} == {
        "dim_centre": "name",
        "dim_activity_type": "label",
        "dim_modality": "label",
        "dim_public": "label",
        "dim_theme": "label",
        "dim_rule": "label",
    }
    assert labels["submission"] == "file_name"
    assert labels["fact_activity"] == "title"


def test_facets_and_sort_orders_name_documented_columns():
    tables = metadata("crpv")["databases"]["crpv"]["tables"]
    assert set(FACETS) == {t.name for t in data_dictionary() if not t.name.startswith("dim_")}
    assert set(VIEW_FACETS) == set(BI_VIEWS)
    for name, facets in FACETS.items():
        assert set(facets) <= set(table_doc(name).column_names), name
    for name, facets in VIEW_FACETS.items():
        assert set(facets) <= set(view_doc(name).column_names), name
    assert tables["validation_failure"]["facets"] == ["year", "centre_code", "rule", "severity"]
    for entry in tables.values():
        for sort in ("sort", "sort_desc"):
            assert entry.get(sort) in (None, *entry["columns"])
    assert tables["dim_theme"]["sort"] == "sort_order"
    assert tables["fact_activity"]["sort_desc"] == "year"
    assert tables["bi_validation_failures"]["sort_desc"] == "year"


def test_tables_the_dictionary_does_not_describe_are_hidden():
    document = metadata("crpv", [INTERNAL_TABLE, "dim_centre", "sqlite_stat1", "bi_activities"])
    tables = document["databases"]["crpv"]["tables"]
    assert tables[INTERNAL_TABLE] == {"hidden": True}
    assert "hidden" not in tables["dim_centre"] and "hidden" not in tables["bi_activities"]
    assert "sqlite_stat1" not in tables  # datasette hides SQLite's own tables itself
    assert document["title"] == document["databases"]["crpv"]["title"] == TITLE


# --- warehouses it refuses ---------------------------------------------------------------


def test_a_postgresql_warehouse_points_to_the_bi_tools(capsys):
    url = "postgresql+psycopg://crpv:secret@db.example:5432/crpv"
    with pytest.raises(BrowseError, match="For BI tools"):
        browsable_file(url)
    assert main(["browse", "--no-open", "--warehouse", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("Error: crpv browse serves a SQLite")
    assert "read-only role" in err and "secret" not in err


def test_a_missing_warehouse_file_is_a_usage_error(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'none.sqlite'}"
    assert main(["browse", "--no-open", "--warehouse", url]) == 2
    err = capsys.readouterr().err
    missing = tmp_path / "none.sqlite"
    assert err == f"Error: no warehouse at {missing}: run `crpv demo` or `crpv run` first\n"
    assert not (tmp_path / "none.sqlite").exists()


def test_an_in_memory_warehouse_cannot_be_browsed():
    with pytest.raises(BrowseError, match="path of a SQLite file"):
        browsable_file("sqlite://")


def test_a_port_in_use_is_a_usage_error(sqlite_url, capsys):
    from crpv_pipeline.warehouse.engine import create_warehouse_engine
    from crpv_pipeline.warehouse.schema import ensure_schema

    engine = create_warehouse_engine(sqlite_url)
    ensure_schema(engine)
    engine.dispose()
    with socket.create_server((HOST, 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["browse", "--no-open", "--port", str(port), "--warehouse", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Error: --port {port}: cannot listen on {HOST}:{port}")
    assert err.count("\n") == 1


def test_the_port_is_a_number(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["browse", "--port", "http"])
    assert exit_.value.code == 2
    assert "argument --port: 'http' is not a port number (1 to 65535)" in capsys.readouterr().err


def test_the_browser_opens_the_database_page_once_it_answers(sqlite_url, tmp_path):
    from crpv_pipeline.warehouse.engine import create_warehouse_engine
    from crpv_pipeline.warehouse.schema import ensure_schema

    engine = create_warehouse_engine(sqlite_url)
    ensure_schema(engine)
    engine.dispose()
    opened = tmp_path / "opened.txt"
    fake_browser = tmp_path / "browser.py"  # records the page it is asked to open, and its status
    fake_browser.write_text(
        "import sys, urllib.request\n"
        "status = urllib.request.urlopen(sys.argv[1], timeout=60).status\n"
        f"open({str(opened)!r}, 'w').write(f'{{sys.argv[1]}} {{status}}')\n"
    )
    port = free_port()
    process = start_python(
        ["-m", "crpv_pipeline.cli", "browse", "--port", str(port), "--warehouse", sqlite_url],
        tmp_path,
        "browse",
        BROWSER=f"{sys.executable} {fake_browser} %s",
    )
    try:
        wait_for_file(opened, process)
        deadline = time.monotonic() + PATIENCE
        while not opened.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened.read_text() == f"http://{HOST}:{port}/crpv 200"
    finally:
        process.popen.terminate()
        process.wait()
    assert "Browsing" in process.err() and f"http://{HOST}:{port}/crpv" in process.err()


# --- what an analyst sees, in Chromium ---------------------------------------------------


class Page(HTMLParser):
    """The elements of a rendered page in document order, each with its attributes, its text
    (spaces joined) and the elements it contains."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[SimpleNamespace] = []
        self._open: list[SimpleNamespace] = []
        self.feed(html)
        self.close()
        for element in self._open:
            element.end = len(self.elements)

    def handle_starttag(self, tag, attrs):
        element = SimpleNamespace(
            tag=tag, attrs=dict(attrs), parts=[], start=len(self.elements), end=None
        )
        self.elements.append(element)
        if tag in self.VOID:
            element.end = element.start + 1
        else:
            self._open.append(element)

    def handle_endtag(self, tag):
        while self._open:
            element = self._open.pop()
            element.end = len(self.elements)
            if element.tag == tag:
                break

    def handle_data(self, data):
        for element in self._open:
            element.parts.append(data)

    def find(
        self, tag: str, css_class: str = "", within: SimpleNamespace | None = None
    ) -> list[SimpleNamespace]:
        elements = self.elements[within.start + 1 : within.end] if within else self.elements
        return [
            e
            for e in elements
            if e.tag == tag and (not css_class or css_class in e.attrs.get("class", "").split())
        ]

    def texts(self, tag: str, css_class: str = "", within: SimpleNamespace | None = None):
        return [text(e) for e in self.find(tag, css_class, within)]


def text(element: SimpleNamespace) -> str:
    return re.sub(r"\s+", " ", "".join(element.parts)).strip()


def descriptions(page: Page) -> dict[str, str]:
    """The column descriptions listed above the table: name → description."""
    (listing,) = page.find("dl", "column-descriptions")
    names, found = page.texts("dt", within=listing), page.texts("dd", within=listing)
    return dict(zip(names, found, strict=True))


def facets(page: Page) -> dict[str, list[str]]:
    """The facets shown: column → its values as listed (label and count)."""
    return {
        block.attrs["data-column"]: page.texts("li", within=block)
        for block in page.find("div", "facet-info")
    }


@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(CHROMIUM):
        reason = (
            f"Chromium is not installed ({CHROMIUM}): apt-get install chromium"
            " (.ci/run installs it under CI=true)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    """``crpv browse`` serving the demo warehouse, with a table the dictionary does not know."""
    root = tmp_path_factory.mktemp("browse")
    url = f"sqlite:///{root / 'crpv_warehouse.sqlite'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DAGSTER_HOME", raising=False)
        argv = ["demo", "--inbox", str(root / "inbox"), "--warehouse", url]
        assert main([*argv, "--output", str(root / "out")]) == 0
    with sqlite3.connect(root / "crpv_warehouse.sqlite") as connection:  # the schema's version
        connection.execute(  # table, which the demo creates: one the dictionary does not know
            f"CREATE TABLE IF NOT EXISTS {INTERNAL_TABLE} (version_num TEXT PRIMARY KEY)"
        )
    connection.close()
    port = free_port()
    args = ["-m", "crpv_pipeline.cli", "browse", "--no-open", "--port", str(port)]
    process = start_python([*args, "--warehouse", url], root, "browse")
    base = f"http://{HOST}:{port}"
    try:
        _wait_until_it_answers(f"{base}/-/versions.json", process)
        yield SimpleNamespace(
            base=base, db=f"{base}/crpv_warehouse", root=root, chromium=chromium, process=process
        )
    finally:
        process.popen.terminate()
        try:
            process.popen.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_it_answers(url: str, process: Process) -> None:
    deadline = time.monotonic() + PATIENCE
    while True:
        if process.popen.poll() is not None:
            raise AssertionError(
                f"crpv browse ended ({process.popen.returncode}):\n{process.err()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(
                f"crpv browse did not answer within {PATIENCE} s:\n{process.err()}"
            )
        time.sleep(0.1)


def rendered(browser, path: str) -> Page:
    """The page at ``path`` as headless Chromium renders it (scripts run)."""
    profile = browser.root / "chromium-profile"
    result = subprocess.run(
        [
            browser.chromium,
            "--headless",
            "--no-sandbox",  # tests run as root in CI
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--dump-dom",
            f"{browser.db}{path}",
        ],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=True,
    )
    assert "</html>" in result.stdout, result.stderr[-2000:]
    return Page(result.stdout)


def test_a_fact_table_shows_labels_descriptions_and_facets(browser):
    page = rendered(browser, "/fact_activity?activity_type_code=GROUPE_TRAVAIL")
    # the code of a dimension is shown with its label, linked to the dimension's row
    cells = page.find("td", "col-activity_type_code")
    assert cells
    for cell in cells:
        assert text(cell) == "Groupe de travail GROUPE_TRAVAIL"
    links = [e for e in page.find("a") if e.attrs.get("href", "").endswith("/GROUPE_TRAVAIL")]
    assert {text(a) for a in links} == {"Groupe de travail"}
    with sqlite3.connect(browser.root / "crpv_warehouse.sqlite") as connection:
        names = dict(connection.execute("SELECT centre_code, name FROM dim_centre"))
    connection.close()
    centres = page.texts("td", "col-centre_code")
    assert centres and all(
        c == f"{names[c.rsplit(' ', 1)[-1]]} {c.rsplit(' ', 1)[-1]}" for c in centres
    )
    assert {t for t in page.texts("td", "col-modality_code")} <= {
        "Présentiel PRESENTIEL",
        "Distanciel DISTANCIEL",
        "Hybride HYBRIDE",
    }
    # the table's description and its columns', from the data dictionary
    doc = table_doc("fact_activity")
    assert page.texts("div", "metadata-description") == [doc.description]
    assert descriptions(page) == {c.name: c.description for c in doc.columns}
    assert descriptions(page)["half_days"] == "Duration in half-days (1 to 60)"
    # facets, by label; the latest year first
    shown = facets(page)
    assert set(shown) == set(FACETS["fact_activity"])
    assert shown["activity_type_code"] == ["Groupe de travail · 818 ✖"]  # ✖: unselect
    assert any(v.startswith("Institut Régional de la Ville ") for v in shown["centre_code"])
    assert "sorted by year descending" in " ".join(page.texts("h3"))
    assert page.texts("td", "col-year")[0] == "2021"


def test_the_findings_show_facets_by_centre_rule_and_severity(browser):
    page = rendered(browser, "/bi_validation_failures")
    view = view_doc("validation_failures")
    assert page.texts("div", "metadata-description") == [view.description]
    rule_label = next(c for c in view.columns if c.name == "rule_label")
    assert descriptions(page)["rule_label"] == rule_label.description
    shown = facets(page)
    assert set(shown) == set(VIEW_FACETS["validation_failures"])
    assert {re.sub(r" \d+$", "", v) for v in shown["severity_label"]} == {
        "Erreur",
        "Avertissement",
    }
    assert any(v.startswith("Demi-journées hors limites ") for v in shown["rule_label"])
    assert any(v.startswith("RésO Villes ") for v in shown["centre_name"])

    table = rendered(browser, "/validation_failure")
    shown = facets(table)
    assert list(shown) and set(shown) == {"year", "centre_code", "rule", "severity"}
    assert any(v.startswith("RésO Villes ") for v in shown["centre_code"])  # the centre's name
    assert any(v.startswith("half_days_out_of_range ") for v in shown["rule"])


def test_the_database_page_introduces_the_warehouse_in_french(browser):
    page = rendered(browser, "")
    assert page.texts("h1") == [TITLE]
    (intro,) = page.texts("div", "metadata-description")
    assert intro.startswith("Bilans d'activité annuels des centres de ressources")
    assert "exportez en CSV" in intro
    listed = {text(a) for a in page.find("a")}
    assert {"fact_activity", "dim_centre", "bi_activities", "bi_validation_failures"} <= listed
    assert INTERNAL_TABLE not in listed  # hidden: the dictionary does not describe it


def test_the_warehouse_is_read_only(browser):
    database = browser.root / "crpv_warehouse.sqlite"
    before = database.read_bytes()
    sql = "with doomed as (select 1) delete from dim_modality"
    query = urllib.parse.urlencode({"sql": sql})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{browser.db}.json?{query}", timeout=60)
    assert refused.value.code == 400
    answer = json.load(refused.value)
    assert answer["ok"] is False and answer["error"] == "attempt to write a readonly database"
    assert database.read_bytes() == before
    # what a run commits meanwhile is seen on the next page (no copy, no stale cache)
    count = {"sql": f"select count(*) as n from {INTERNAL_TABLE}", "_shape": "array"}
    seen = f"{browser.db}.json?{urllib.parse.urlencode(count)}"
    with urllib.request.urlopen(seen, timeout=60) as response:
        (before,) = json.load(response)  # the version row the demo's warehouse holds
    with sqlite3.connect(database) as connection:
        connection.execute(f"INSERT INTO {INTERNAL_TABLE} VALUES ('committed meanwhile')")
    connection.close()
    with urllib.request.urlopen(seen, timeout=60) as response:
        assert json.load(response) == [{"n": before["n"] + 1}]


def test_the_csv_export_holds_every_row(browser):
    page = rendered(browser, "/fact_activity")
    (export,) = [a.attrs["href"] for a in page.find("a") if text(a) == "CSV"]
    with urllib.request.urlopen(urllib.parse.urljoin(browser.db, export), timeout=60) as response:
        rows = list(csv.DictReader(io.StringIO(response.read().decode("utf-8"))))
    with sqlite3.connect(browser.root / "crpv_warehouse.sqlite") as connection:
        (count,) = connection.execute("SELECT count(*) FROM fact_activity").fetchone()
    connection.close()
    assert count > 1000  # more than datasette's own limit of rows
    assert len(rows) == count
    assert {r["activity_type_code_label"] for r in rows} >= {"Groupe de travail", "Formation"}
    csv_url = f"{browser.db}/dim_modality.csv?_labels=on"
    with urllib.request.urlopen(csv_url, timeout=60) as response:
        exported = response.read().decode("utf-8").splitlines()
    assert exported[0] == "modality_code,label,sort_order"
    assert exported[1:] == [
        "PRESENTIEL,Présentiel,1",
        "DISTANCIEL,Distanciel,2",
        "HYBRIDE,Hybride,3",
    ]
