"""Dagster's own checks of the project: ``dg check defs`` and ``dagster definitions validate``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

SUPERSEDED = "ignore:Function `definitions_validate_command` is superseded"
"""Dagster 1.13 warns on every ``dagster definitions validate`` that ``dg check defs`` supersedes
the command, whatever the project: that one warning is filtered, no other."""


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CRPV_", "DAGSTER_"))}
    return {
        **environ,
        "DAGSTER_HOME": str(home),
        "VIRTUAL_ENV": str(BIN.parent),  # dg checks that it runs in the project's environment
        "PATH": f"{BIN}{os.pathsep}{environ.get('PATH', '')}",
        "CRPV_INBOX": str(tmp_path / "inbox"),
        "CRPV_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'w.sqlite'}",
    }


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_dg_check_defs_passes_without_warnings(env):
    done = _run([str(BIN / "dg"), "check", "defs"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr
    assert "warning" not in (done.stdout + done.stderr).lower()


def test_dagster_definitions_validate_passes_without_warnings(env):
    done = _run(
        [str(BIN / "dagster"), "definitions", "validate"], {**env, "PYTHONWARNINGS": SUPERSEDED}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful for code location crpv_pipeline" in done.stdout + done.stderr
    assert "warning" not in (done.stdout + done.stderr).lower()
