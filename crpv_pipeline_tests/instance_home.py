"""A temporary ``DAGSTER_HOME`` with the shipped production instance (``deploy/dagster.yaml``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def production_home(home: Path, storage: sa.URL) -> dict[str, str]:
    """Install deploy/dagster.yaml in ``home``; the environment it reads, for ``storage``."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    return {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": storage.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(storage.port or 5432),
        "DAGSTER_PG_DB": storage.database or "",
        "DAGSTER_PG_USERNAME": storage.username or "",
        "DAGSTER_PG_PASSWORD": storage.password or "",
    }
