#!/usr/bin/env python3
"""Set-up and everyday commands for a fresh clone, with nothing but Python 3.11+ installed.

    python3 dev.py demo    # create .venv, install, run `crpv demo` on the embedded SQLite warehouse
    python3 dev.py test    # create .venv, install, run ruff and the whole pytest suite
    python3 dev.py crpv …  # any crpv command inside the project's environment
    python3 dev.py bench … # the performance benchmark (benchmarks/, writes benchmarks/RESULTS.md)

The virtual environment lives in ``.venv``; it is (re)installed from ``constraints.txt`` (exact
versions tested together) whenever ``pyproject.toml`` or ``constraints.txt`` change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".crpv-installed"


def _run(*cmd: object) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def ensure_env() -> None:
    """Create ``.venv`` and install the project with its test tools, if not up to date."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 is there
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if not (BIN / "python").exists():
        print(f"Creating the virtual environment in {VENV} …", flush=True)
        venv.create(VENV, with_pip=True)
    python = BIN / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(python, "-m", "pip", "install", "--quiet", "-c", "constraints.txt", "-e", ".[test]")
    STAMP.write_text(digest)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "crpv", "bench"}:
        print(__doc__)
        return 2
    ensure_env()
    command, rest = argv[0], argv[1:]
    if command == "demo":
        cmd = [BIN / "crpv", "demo", *rest]
    elif command == "crpv":
        cmd = [BIN / "crpv", *rest]
    elif command == "bench":
        cmd = [BIN / "python", "-m", "benchmarks", *rest]
    else:
        lint = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT)
        if lint.returncode:
            return lint.returncode
        cmd = [BIN / "python", "-m", "pytest", *rest]
    return subprocess.run([str(c) for c in cmd], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
