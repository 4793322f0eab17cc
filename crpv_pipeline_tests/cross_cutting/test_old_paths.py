"""Module paths from before the layout redesign still import, and what Dagster pickled loads."""

import pickle
import subprocess
import sys
from pathlib import Path

from crpv_pipeline.intake.inbox import InboxFile
from crpv_pipeline.model import ActivityDiff, Finding, ReturnResult
from crpv_pipeline.warehouse.loading import LoadOutcome

FIXTURE = Path(__file__).parents[1] / "fixtures" / "pre_layout_asset_outputs.pickle"
"""What the IO manager stored for ``inbox_files`` and ``validated_returns`` (and a load outcome),
pickled by the code before the redesign: classes named ``crpv_pipeline.pipeline.InboxFile``,
``crpv_pipeline.model.ReturnResult``, ``crpv_pipeline.resubmission.ActivityDiff``,
``crpv_pipeline.loading.LoadOutcome``."""


def test_asset_outputs_pickled_before_the_redesign_load_as_the_new_classes():
    raw = FIXTURE.read_bytes()
    for old in ("pipeline", "resubmission", "loading"):
        assert f"crpv_pipeline.{old}".encode() in raw
    outputs = pickle.loads(raw)
    (inbox_file,) = outputs["inbox_files"]
    assert type(inbox_file) is InboxFile
    assert (inbox_file.file_name, inbox_file.size) == ("IREV.xlsx", 5783)
    (result,) = outputs["validated_returns"]
    assert type(result) is ReturnResult
    assert (result.status, result.centre_code) == ("loaded_with_errors", "IREV")
    assert all(type(f) is Finding for f in result.findings)
    assert {f.rule for f in result.findings} == {"half_days_not_integer", "duplicate_activity"}
    assert result.compared == ((1,), ActivityDiff(1, 1, 0, 0, 2, 4))
    outcome = outputs["load_outcome"]
    assert type(outcome) is LoadOutcome and outcome.diff == ActivityDiff(1, 1, 0, 0, 2, 4)


def test_the_old_module_paths_are_the_new_modules():
    import crpv_pipeline.definitions
    import crpv_pipeline.reading

    import crpv_pipeline.intake.reading
    import crpv_pipeline.orchestration.definitions

    assert crpv_pipeline.reading is crpv_pipeline.intake.reading
    assert crpv_pipeline.definitions is crpv_pipeline.orchestration.definitions
    assert sys.modules["crpv_pipeline.definitions"] is crpv_pipeline.orchestration.definitions


def test_the_split_modules_find_their_names_in_the_new_ones():
    from crpv_pipeline import pipeline, report, warehouse
    from crpv_pipeline.intake.cross_file import reject_duplicate_centres
    from crpv_pipeline.outputs.report.bilan import Bilan
    from crpv_pipeline.warehouse.engine import create_warehouse_engine
    from crpv_pipeline.warehouse.tables import read_table
    from crpv_pipeline.year.load import validate_and_load_year

    assert pipeline.InboxFile is InboxFile
    assert pipeline.reject_duplicate_centres is reject_duplicate_centres
    assert pipeline.validate_and_load_year is validate_and_load_year
    assert (warehouse.create_warehouse_engine, warehouse.read_table) == (
        create_warehouse_engine,
        read_table,
    )
    assert report.Bilan is Bilan
    assert warehouse.DEFAULT_WAREHOUSE_URL == "sqlite:///crpv_warehouse.sqlite"
    assert pipeline.worker_processes({"CRPV_WORKERS": "3"}) == 3


def test_importing_the_package_imports_no_moved_module():
    code = (
        "import sys, crpv_pipeline, crpv_pipeline.cli\n"
        "loaded = [m for m in sys.modules if m.startswith('crpv_pipeline.')]\n"
        "moved = ('pipeline', 'warehouse', 'runs')\n"
        "print(sorted(m for m in loaded if m.split('.')[1] in moved))\n"
        "print(any(m.split('.')[0] in ('dagster', 'sqlalchemy') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[:2] == ["[]", "False"]


def test_every_old_module_path_imports():
    import importlib

    from crpv_pipeline._moved import MOVED

    for old, new in MOVED.items():
        module = importlib.import_module(f"crpv_pipeline.{old}")
        if len(new) == 1:
            assert module is importlib.import_module(f"crpv_pipeline.{new[0]}"), old
