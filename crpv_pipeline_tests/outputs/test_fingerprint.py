"""Outputs left as they are when nothing they are made from changed (``fingerprint``)."""

import datetime as dt
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crpv_pipeline.atomic import write_text
from crpv_pipeline.outputs.fingerprint import RECORD_NAME, inputs_fingerprint, refresh
from crpv_pipeline.outputs.report.coverage import NOT_GIVEN
from crpv_pipeline.reference import refdata
from crpv_pipeline.warehouse.awaiting import Pending


def frame(**changes):
    values = {
        "centre_code": ["IREV", "ORIV"],
        "half_days": [12, None],
        "share": [14.8, float("nan")],
        "received_at": [dt.datetime(2022, 3, 1, 9, 30), None],
    } | changes
    return pd.DataFrame(values, dtype=object)


def test_the_same_data_read_twice_give_the_same_fingerprint():
    pending = Pending("IREV", "IREV.xlsx", "ab" * 32, 1, "approval", "approval", ("approve",))
    first = inputs_fingerprint("bilan", frame(), {"year": 2021, "n": np.int64(3)}, pending)
    again = inputs_fingerprint("bilan", frame(), {"year": 2021, "n": 3}, pending)
    assert first == again and len(first) == 64


@pytest.mark.parametrize(
    "changes",
    [
        {"centre_code": ["IREV", "CRPVE"]},
        {"half_days": [12, 0]},  # a figure nobody gave is not 0
        {"share": [math.nextafter(14.8, 15), float("nan")]},  # the next float
        {"received_at": [dt.datetime(2022, 3, 1, 9, 31), None]},
    ],
)
def test_any_changed_cell_changes_the_fingerprint(changes):
    assert inputs_fingerprint(frame(**changes)) != inputs_fingerprint(frame())


def test_a_value_nobody_gave_differs_from_an_empty_one():
    assert inputs_fingerprint([NOT_GIVEN]) != inputs_fingerprint([None])
    assert inputs_fingerprint([NOT_GIVEN]) == inputs_fingerprint([NOT_GIVEN])
    assert inputs_fingerprint(["1"]) != inputs_fingerprint([1]) != inputs_fingerprint([1.0])


class Writer:
    """Writes ``text`` to each of its paths and counts its calls."""

    def __init__(self, *paths):
        self.paths, self.text, self.calls = paths, "v1", 0

    def __call__(self):
        self.calls += 1
        for path in self.paths:
            write_text(path, f"{path.name} {self.text}")


def test_outputs_are_written_once_for_the_same_inputs(tmp_path):
    page, book = tmp_path / "bilan_2021.html", tmp_path / "bilan_2021.xlsx"
    write = Writer(page, book)
    assert refresh([page, book], "f1", write) is True
    record = json.loads((tmp_path / RECORD_NAME).read_text(encoding="utf-8"))
    assert set(record["outputs"]) == {"bilan_2021.html", "bilan_2021.xlsx"}
    stamp = page.stat().st_mtime_ns
    assert refresh([page, book], "f1", write) is False
    assert write.calls == 1 and page.stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    "change",
    [
        lambda page, record: page.write_text("edited by hand", encoding="utf-8"),
        lambda page, record: page.unlink(),
        lambda page, record: record.unlink(),
        lambda page, record: record.write_text("{not json", encoding="utf-8"),
    ],
    ids=["file edited", "file removed", "record removed", "record unreadable"],
)
def test_outputs_are_written_again_when_they_are_not_what_was_written(tmp_path, change):
    page, book = tmp_path / "bilan_2021.html", tmp_path / "bilan_2021.xlsx"
    write = Writer(page, book)
    refresh([page, book], "f1", write)
    change(page, tmp_path / RECORD_NAME)
    assert refresh([page, book], "f1", write) is True
    assert write.calls == 2 and page.read_text(encoding="utf-8") == "bilan_2021.html v1"
    assert refresh([page, book], "f1", write) is False


def test_other_inputs_write_the_outputs_again(tmp_path):
    page = tmp_path / "suivi_bilans_2021.xlsx"
    write = Writer(page)
    refresh([page], "f1", write)
    write.text = "v2"
    assert refresh([page], "f2", write) is True
    assert page.read_text(encoding="utf-8") == "suivi_bilans_2021.xlsx v2"


def test_a_failed_write_records_nothing(tmp_path):
    page = tmp_path / "bilan_2021.html"

    def fails():
        write_text(page, "half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        refresh([page], "f1", fails)
    assert not (tmp_path / RECORD_NAME).exists()
    write = Writer(page)
    assert refresh([page], "f1", write) is True and write.calls == 1


def test_outputs_of_one_folder_share_its_record_and_removed_files_leave_it(tmp_path):
    page, overview = tmp_path / "bilan_2021.html", tmp_path / "suivi_bilans_2021.xlsx"
    refresh([page], "f1", Writer(page))
    refresh([overview], "f2", Writer(overview))
    record = tmp_path / RECORD_NAME
    assert set(json.loads(record.read_text(encoding="utf-8"))["outputs"]) == {
        page.name,
        overview.name,
    }
    assert refresh([page], "f1", Writer(page)) is False  # the overview's entry kept the page's
    os.remove(overview)
    refresh([page], "f3", Writer(page))
    assert set(json.loads(record.read_text(encoding="utf-8"))["outputs"]) == {page.name}


def test_other_reference_lists_change_the_fingerprint(tmp_path, monkeypatch):
    packaged = Path(refdata.__file__).parent / "data"
    shutil.copytree(packaged, tmp_path / "reference")
    centres = tmp_path / "reference" / "centres.csv"
    text = centres.read_text(encoding="utf-8")
    centres.write_text(text.replace("Profession Banlieue", "Profession Banlieues"), "utf-8")
    packaged_lists = inputs_fingerprint("overview")
    monkeypatch.setenv("CRPV_REFERENCE_DIR", str(tmp_path / "reference"))
    assert inputs_fingerprint("overview") != packaged_lists


def test_an_output_changed_since_it_was_written_is_kept_aside_not_written_over(tmp_path):
    page, book = tmp_path / "suivi_bilans_2021.xlsx", tmp_path / "bilan_2021.xlsx"
    write = Writer(page, book)
    refresh([page, book], "f1", write)
    page.write_text("décisions tapées par la référente", encoding="utf-8")
    os.utime(page, (1_764_664_500, 1_764_664_500))  # 2025-12-02 08:35 UTC, 09h35 in Paris
    assert refresh([page, book], "f1", write) is True
    assert page.read_text(encoding="utf-8") == "suivi_bilans_2021.xlsx v1"
    kept = tmp_path / "suivi_bilans_2021 (modifié le 2025-12-02 à 09h35).xlsx"
    assert kept.read_text(encoding="utf-8") == "décisions tapées par la référente"
    # Changed again the same minute: a second copy, the first one kept.
    page.write_text("encore", encoding="utf-8")
    os.utime(page, (1_764_664_500, 1_764_664_500))
    refresh([page, book], "f1", write)
    again = tmp_path / "suivi_bilans_2021 (modifié le 2025-12-02 à 09h35) (2).xlsx"
    assert again.read_text(encoding="utf-8") == "encore" and kept.is_file()
    # A file never recorded (no record, or an older version's) is written over as before.
    (tmp_path / RECORD_NAME).unlink()
    page.write_text("sans registre", encoding="utf-8")
    refresh([page, book], "f1", write)
    assert sorted(p.name for p in tmp_path.glob("suivi_bilans_2021 (*")) == [again.name, kept.name]
