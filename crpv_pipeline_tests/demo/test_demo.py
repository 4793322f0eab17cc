"""The demo generator on its own: calibration, determinism, files that match the manifest.

The workbooks are read back with python_calamine and a deliberately small reader (header row
found by the required labels, categories matched through refdata) — not the pipeline's reader.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from crpv_pipeline.demo.plan import calibration_problems, plan_year
from crpv_pipeline.demo.returns import DemoInboxNotEmpty, write_demo_inbox
from crpv_pipeline.reference.refdata import default_nomenclature, normalize_label

YEARS = (2019, 2020, 2021)
NOM = default_nomenclature()
CATEGORIES = {"theme": NOM.themes, "activity_type": NOM.activity_types, "modality": NOM.modalities}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo_inbox(tmp_path_factory.mktemp("inbox"))


def _sheets(path: Path) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def _activities_sheet(path: Path) -> tuple[int, dict[str, int], list[list]]:
    """(header row, field -> column index, all rows) of the sheet holding the activities."""
    columns, required = NOM.column_list, {c.field for c in NOM.columns if c.required}
    sheets = _sheets(path)
    named = [n for n in sheets if normalize_label(n) == "activites"]
    for name in named or list(sheets):
        for i, row in enumerate(sheets[name][:30]):
            found = {columns.match(v).code: c for c, v in enumerate(row) if v and columns.match(v)}
            if required <= found.keys():
                return i + 1, found, sheets[name]
    raise AssertionError(f"{path.name}: no header row")


def _read_back(folder: Path, files: list[str]) -> tuple[dict, Counter]:
    """Rows per (file, Excel row) as {field: raw cell}, and counts of the cell variants seen."""
    rows, seen = {}, Counter()
    for name in files:
        header_row, cols, table = _activities_sheet(folder / name)
        seen["header_below_row_1"] += header_row > 1
        for number, row in enumerate(table[header_row:], header_row + 1):
            if any(v != "" for v in row):
                rows[name, number] = {f: row[c] for f, c in cols.items()}
                seen[type(row[cols["activity_date"]]).__name__ + "_dates"] += 1
                seen[type(row[cols["half_days"]]).__name__ + "_half_days"] += 1
    return rows, seen


def test_plan_meets_published_figures():
    for year in YEARS:
        plan = plan_year(year)
        by_theme, by_type_modality = Counter(), Counter()
        for (theme, type_code, modality), n in plan.items():
            by_theme[theme] += n
            by_type_modality[type_code, modality] += n
        assert calibration_problems(year, dict(by_theme), dict(by_type_modality)) == []
    assert sum(plan_year(2020).values()) == 2200


def test_2021_reproduces_the_anct_bilan(demo):
    d = demo.years[2021]
    assert d.half_days == 3123
    shares = {k: round(v, 1) for k, v in d.theme_shares_pct.items()}
    assert (shares["EDUCATION"], shares["VRL"], shares["LIEN_SOCIAL"]) == (14.8, 8.5, 8.4)
    top3 = sorted(shares, key=shares.get, reverse=True)[:3]
    assert top3 == ["EDUCATION", "VRL", "LIEN_SOCIAL"]
    assert max(v for k, v in shares.items() if k not in top3) <= 8.3
    by_type = Counter()
    for (type_code, _), v in d.half_days_by_type_modality.items():
        by_type[type_code] += v
    mode = d.half_days_by_type_modality
    assert mode["FORMATION", "PRESENTIEL"] > by_type["FORMATION"] / 2
    for type_code in ("ACTIVITE_RESEAU", "GROUPE_TRAVAIL", "MANIFESTATION", "CYCLE_QUALIFICATION"):
        assert mode[type_code, "DISTANCIEL"] > by_type[type_code] / 2, type_code
    assert sum(v for (_, m), v in mode.items() if m == "HYBRIDE") > 0


def test_2020_and_2019_totals(demo):
    assert demo.years[2020].half_days == 2200
    assert demo.years[2020].share_distanciel_pct > 60
    assert demo.years[2019].half_days == 2950
    assert demo.years[2019].share_distanciel_pct < 15


@pytest.mark.parametrize("year", YEARS)
def test_manifest_totals_are_the_sum_of_the_valid_rows(demo, year):
    d = demo.years[year]
    assert sum(a.half_days for a in d.activities) == d.half_days
    by_theme, by_type_modality = Counter(), Counter()
    for a in d.activities:
        by_theme[a.theme_code] += a.half_days
        by_type_modality[a.activity_type_code, a.modality_code] += a.half_days
    assert dict(by_theme) == d.half_days_by_theme
    assert dict(by_type_modality) == d.half_days_by_type_modality
    assert d.n_activities == len({(a.file_name, a.row_number) for a in d.activities})


@pytest.mark.parametrize("year", YEARS)
def test_written_files_hold_what_the_manifest_says(demo, year):
    d, folder = demo.years[year], demo.inbox / str(year)
    loaded = [f for f in d.files.values() if f not in d.rejected_files]
    rows, seen = _read_back(folder, loaded)
    errors = {(m.file_name, m.row_number): m for m in d.mistakes if m.severity == "error"}
    valid = {k: r for k, r in rows.items() if k not in errors}
    assert valid.keys() == {(a.file_name, a.row_number) for a in d.activities}
    by_theme, by_type_modality = Counter(), Counter()
    for r in valid.values():
        codes = {f: ref.match(r[f]).code for f, ref in CATEGORIES.items()}
        half_days = int(float(r["half_days"]))
        by_theme[codes["theme"]] += half_days
        by_type_modality[codes["activity_type"], codes["modality"]] += half_days
    assert dict(by_theme) == d.half_days_by_theme
    assert dict(by_type_modality) == d.half_days_by_type_modality
    for key, mistake in errors.items():
        written = rows[key][mistake.field] if mistake.field in rows[key] else None
        assert (written if written != "" else None) == mistake.value, key
    for label in ("header_below_row_1", "str_dates", "date_dates", "str_half_days"):
        assert seen[label] > 0, label


@pytest.mark.parametrize("year", YEARS)
def test_valid_rows_raise_only_the_planned_warnings(demo, year):
    d = demo.years[year]
    warnings = Counter(m.rule for m in d.mistakes if m.severity == "warning")
    assert warnings == {
        "duplicate_activity": 1,
        "weekend_date": 1,
        "half_days_high": 1,
        "participants_high": 1,
    }
    for a in d.activities:
        assert a.activity_date.year == year
        assert (a.activity_date.weekday() >= 5) == (a.warning == "weekend_date")
        assert (a.half_days > 20) == (a.warning == "half_days_high")
        assert ((a.participants or 0) > 500) == (a.warning == "participants_high")
    keys = Counter(
        (a.file_name, a.activity_date, a.title, a.activity_type_code, a.modality_code)
        for a in d.activities
    )
    assert sorted(keys.values())[-2:] == [1, 2]


def test_deliberate_errors_gaps_and_rejection(demo):
    expected = {c.code for c in NOM.centres}
    for year, d in demo.years.items():
        rules = Counter(m.rule for m in d.mistakes if m.severity == "error")
        assert sum(rules.values()) == 9 and rules["half_days_out_of_range"] == 2
        assert len({m.file_name for m in d.mistakes if m.severity == "error"}) >= 3
        on_disk = sorted(p.name for p in (demo.inbox / str(year)).iterdir())
        assert on_disk == sorted([*d.files.values(), *d.ignored_files])
        assert set(d.files) == expected - set(d.missing_centres)
        bare = [f for c, f in d.files.items() if f == f"{c}_{year}.xlsx"]
        assert len(bare) == 2 and all(
            "Identification" not in _sheets(demo.inbox / str(year) / f) for f in bare
        )
        for name, received in d.received_at.items():
            mtime = os.stat(demo.inbox / str(year) / name).st_mtime
            assert datetime.fromtimestamp(mtime, UTC) == received
            assert received.year == year + 1 and received.month <= 3
    assert demo.years[2021].missing_centres == ["MAYOTTE"]
    assert demo.years[2021].ignored_files == ["~$bilan.xlsx"]
    assert demo.years[2020].rejected_files == {
        demo.years[2020].files["VILLECARAIBE"]: "missing_column"
    }
    assert demo.years[2020].centres_reporting == 16
    assert "VILLECARAIBE" not in demo.years[2020].rows_loaded_by_centre
    header = _sheets(demo.inbox / "2020" / demo.years[2020].files["VILLECARAIBE"])
    labels = {normalize_label(v) for rows in header.values() for row in rows[:30] for v in row}
    assert not {normalize_label("Modalité"), "modalites", "format"} & labels
    assert all(not d.rejected_files for y, d in demo.years.items() if y != 2020)


def test_same_seed_same_files_other_seed_other_rows(demo, tmp_path):
    again = write_demo_inbox(tmp_path / "a", years=(2021,))
    assert again.years[2021].files == demo.years[2021].files
    for name in again.years[2021].files.values():
        first, second = demo.inbox / "2021" / name, tmp_path / "a" / "2021" / name
        assert _sheets(first) == _sheets(second), name
        assert first.read_bytes() == second.read_bytes(), name
    other = write_demo_inbox(tmp_path / "b", years=(2021,), seed=7)
    assert other.years[2021].half_days == 3123
    assert [a.title for a in other.years[2021].activities] != [
        a.title for a in demo.years[2021].activities
    ]


def test_rewriting_the_same_inbox_is_allowed_but_foreign_files_are_refused(tmp_path):
    write_demo_inbox(tmp_path, years=(2021,))
    write_demo_inbox(tmp_path, years=(2021,))
    (tmp_path / "2021" / "IREV_2021.xlsx").write_bytes(b"a real return")
    with pytest.raises(DemoInboxNotEmpty, match="IREV_2021.xlsx"):
        write_demo_inbox(tmp_path, years=(2021,))


def test_crpv_demo_reproduces_the_published_figures(tmp_path, warehouse_url, capsys, monkeypatch):
    """`crpv demo` end to end: the pipeline's own tables give the figures of contract §7."""
    from crpv_pipeline.cli import main
    from crpv_pipeline.warehouse.engine import create_warehouse_engine
    from crpv_pipeline.warehouse.tables import read_table

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    inbox = tmp_path / "demo_inbox"
    output = tmp_path / "out"
    argv = ["demo", "--inbox", str(inbox), "--warehouse", warehouse_url, "--output", str(output)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Bilan national 2021 — 16 centres sur 17" in out
    assert "3\u202f123 demi-journées" in out
    assert (
        "Thématiques principales : Éducation 14,8\u00a0% · Valeurs de la République et laïcité "
        "8,5\u00a0% · Cohésion et lien social, culture, sport 8,4\u00a0%"
    ) in out

    engine = create_warehouse_engine(warehouse_url)
    try:
        summary = read_table(engine, "yearly_summary").set_index("year")
        themes = read_table(engine, "theme_shares", 2021)
        shares = read_table(engine, "modality_shares", 2021)
        completeness = read_table(engine, "completeness").set_index(["year", "centre_code"])
        submissions = read_table(engine, "submission")
    finally:
        engine.dispose()
    assert summary.loc[2021, "half_days"] == 3123
    assert summary.loc[2020, "half_days"] == 2200
    top = themes.sort_values("share_half_days_pct", ascending=False).head(4)
    assert top["theme_code"].tolist()[:3] == ["EDUCATION", "VRL", "LIEN_SOCIAL"]
    assert [round(v, 1) for v in top["share_half_days_pct"].tolist()[:3]] == [14.8, 8.5, 8.4]
    assert round(top["share_half_days_pct"].iloc[3], 1) < 8.4
    remote = shares[shares["modality_code"] == "DISTANCIEL"].set_index("activity_type_code")
    for kind in ("ACTIVITE_RESEAU", "GROUPE_TRAVAIL", "MANIFESTATION", "CYCLE_QUALIFICATION"):
        assert remote.loc[kind, "share_pct"] > 50
    in_person = shares[shares["modality_code"] == "PRESENTIEL"].set_index("activity_type_code")
    assert in_person.loc["FORMATION", "share_pct"] > 50
    assert completeness.loc[(2021, "MAYOTTE"), "status"] == "missing"
    assert completeness.loc[(2020, "VILLECARAIBE"), "status"] == "rejected"
    assert set(submissions["status"]) == {"loaded", "loaded_with_errors", "rejected"}

    # Every quarantined row has a red, commented cell in its centre's correction workbook.
    import openpyxl

    engine = create_warehouse_engine(warehouse_url)
    try:
        failures = read_table(engine, "validation_failure")
    finally:
        engine.dispose()
    quarantined = failures[(failures["severity"] == "error") & failures["cell"].notna()]
    assert len(quarantined) >= 9 * 3
    books = {}
    for f in quarantined.itertuples():
        folder = output / str(f.year) / "corrections"
        name = next(
            p for p in folder.iterdir() if p.name.startswith(f"corrections_{f.centre_code}_")
        )
        book = books.setdefault(name, openpyxl.load_workbook(name))
        cell = book[f.sheet][f.cell]
        assert cell.fill.fgColor.rgb.endswith("FFC7CE"), (name.name, f.cell)
        assert f.message in cell.comment.text
