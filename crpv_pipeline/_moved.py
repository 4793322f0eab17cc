"""Module paths from before the layout redesign, kept importable, lazily.

Dagster's IO manager pickles the outputs of assets by class path (``crpv_pipeline.pipeline.
InboxFile``, ``crpv_pipeline.model.ReturnResult``, ``crpv_pipeline.resubmission.ActivityDiff``…),
so runs recorded before the redesign name modules that moved; scripts may import them too.
``OldPaths`` (a finder appended to ``sys.meta_path`` by the package) answers for those old
names only, and only when one is imported: a module moved whole is the new module itself under
its old name; one split in several (``pipeline``, ``report``) is a module whose attributes are
looked up in the new ones. Nothing is imported before it is asked for, so importing the package
stays cheap. The subpackages that took an old module's name (``warehouse``, ``demo``) look the old
names up in their modules (``lazy_names``). Checked by
``crpv_pipeline_tests/cross_cutting/test_old_paths.py``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

MOVED: dict[str, tuple[str, ...]] = {
    "refdata": ("reference.refdata",),
    "deadlines": ("reference.deadlines",),
    "parsing": ("reference.parsing",),
    "inbox": ("intake.inbox",),
    "arrivals": ("intake.arrivals",),
    "file_guards": ("intake.file_guards",),
    "file_kinds": ("intake.file_kinds",),
    "reading": ("intake.reading",),
    "cell_problems": ("intake.cell_problems",),
    "control_characters": ("intake.control_characters",),
    "normalisation": ("intake.normalisation",),
    "validation": ("intake.validation",),
    "file_checks": ("intake.file_checks",),
    "timing": ("intake.timing",),
    "dictionary": ("warehouse.dictionary", "warehouse.dictionary_page"),
    "bi": ("warehouse.bi",),
    "loading": ("warehouse.loading",),
    "bulk": ("warehouse.bulk",),
    "resubmission": ("warehouse.resubmission",),
    "holding": ("warehouse.holding",),
    "incremental": ("warehouse.incremental",),
    "audit": ("warehouse.audit",),
    "locks": ("warehouse.locks",),
    "retries": ("warehouse.retries",),
    "checks": ("warehouse.reconciliation",),
    "summary": ("outputs.summary",),
    "template": ("outputs.template",),
    "corrections": ("outputs.corrections",),
    "correction_names": ("outputs.correction_names",),
    "steward_overview": ("outputs.steward_overview",),
    "report_tables": ("outputs.report.tables",),
    "report_annex": ("outputs.report.annex",),
    "report_charts": ("outputs.report.charts",),
    "report_html": ("outputs.report.html",),
    "report_xlsx": ("outputs.report.xlsx",),
    "coverage": ("outputs.report.coverage",),
    "demo_plan": ("demo.plan",),
    "assets": ("orchestration.assets",),
    "asset_metadata": ("orchestration.asset_metadata",),
    "sensors": ("orchestration.sensors",),
    "definitions": ("orchestration.definitions",),
    "resources": ("orchestration.resources",),
    "runs": ("orchestration.runs",),
    "pipeline": (
        "intake.inbox",
        "intake.cross_file",
        "year.workers",
        "year.validate",
        "year.load",
        "year.outputs",
        "settings",
    ),
    "report": ("outputs.report.build", "outputs.report.bilan"),
}
"""Old module name (under ``crpv_pipeline``) → the module(s), under ``crpv_pipeline``, now holding
its names."""


def lazy_names(package: str, modules: tuple[str, ...]) -> Callable[[str], object]:
    """A module ``__getattr__`` that finds ``name`` in ``package``'s ``modules``, imported then.

    A module given as ``crpv_pipeline.…`` is taken as it is, not under ``package``.
    """
    folder = Path(sys.modules[package].__file__ or "").parent if package in sys.modules else None

    def __getattr__(name: str) -> object:
        is_submodule = folder is not None and (
            (folder / f"{name}.py").exists() or (folder / name).is_dir()
        )
        if not name.startswith("__") and not is_submodule:
            for module in modules:
                absolute = module.startswith("crpv_pipeline.")
                found = importlib.import_module(module if absolute else f"{package}.{module}")
                if hasattr(found, name):
                    return getattr(found, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


class OldPaths:
    """Finder and loader of the old module names of ``MOVED``."""

    @classmethod
    def find_spec(cls, fullname: str, path=None, target=None) -> ModuleSpec | None:
        """A spec for an old module name, None for any other."""
        package, _, old = fullname.partition(".")
        if package != "crpv_pipeline" or old not in MOVED:
            return None
        return ModuleSpec(fullname, cls)

    @staticmethod
    def create_module(spec: ModuleSpec) -> None:
        """The default module: replaced, or given its ``__getattr__``, by ``exec_module``."""
        return None

    @staticmethod
    def exec_module(module: ModuleType) -> None:
        """Make the old name the new module, or look its attributes up in the new modules."""
        targets = MOVED[module.__name__.partition(".")[2]]
        if len(targets) == 1:  # the import system returns what sys.modules then holds
            sys.modules[module.__name__] = importlib.import_module(f"crpv_pipeline.{targets[0]}")
        else:
            module.__getattr__ = lazy_names("crpv_pipeline", targets)  # type: ignore[method-assign]


def install() -> None:
    """Let the old module names be imported (once, however often the package is reloaded)."""
    if not any(getattr(f, "__name__", None) == "OldPaths" for f in sys.meta_path):
        sys.meta_path.append(OldPaths)
