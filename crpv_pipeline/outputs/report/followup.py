"""The follow-up of the year's findings in the bilan's annex: open, accepted, corrected.

``followup_table`` counts, by kind (errors, warnings, plausibility warnings), the findings still
open on the returns in force, those a steward accepted (``steward_decision``) and those a later
return of the centre corrected (found on a superseded file, no longer on the one in force). It
takes rows already read by ``report.build``. Stays out: reading the warehouse, rendering.
"""

from __future__ import annotations

import pandas as pd

from crpv_pipeline.outputs.report.tables import Column, ReportTable
from crpv_pipeline.warehouse.decisions import finding_key

KINDS = ("Erreurs", "Avertissements", "Vraisemblance")


def _keys(frame: pd.DataFrame) -> list[str]:
    return [
        finding_key(r["rule"], r["sheet"], r["cell"], r["row_number"])
        for r in frame.to_dict("records")
    ]


def followup_counts(
    failures: pd.DataFrame,
    submissions: pd.DataFrame,
    current_ids: set[int],
    plausible: pd.DataFrame,
    accepted: set[tuple[str, str]],
) -> dict[str, dict[str, int]]:
    """``{state: {kind: count}}`` for the states open, accepted and corrected."""
    counts = {state: dict.fromkeys(KINDS, 0) for state in ("open", "accepted", "corrected")}
    sha = dict(zip(submissions["submission_id"], submissions["file_sha256"], strict=True))
    centre = dict(zip(submissions["submission_id"], submissions["centre_code"], strict=True))
    failures = failures.assign(key=_keys(failures)) if len(failures) else failures.assign(key=[])
    in_force = failures[failures["submission_id"].isin(current_ids)]
    for f in in_force.to_dict("records"):
        kind = "Erreurs" if f["severity"] == "error" else "Avertissements"
        done = f["severity"] == "warning" and (sha[f["submission_id"]], f["key"]) in accepted
        counts["accepted" if done else "open"][kind] += 1
    for p in plausible.to_dict("records"):
        done = (p["file_sha256"], p["finding_key"]) in accepted
        counts["accepted" if done else "open"]["Vraisemblance"] += 1
    current_keys: dict[str, set[str]] = {}
    for f in in_force.to_dict("records"):
        current_keys.setdefault(centre[f["submission_id"]], set()).add(f["key"])
    superseded = set(submissions.loc[submissions["status"] == "superseded", "submission_id"])
    for f in failures[failures["submission_id"].isin(superseded)].to_dict("records"):
        if f["key"] not in current_keys.get(centre[f["submission_id"]], set()):
            kind = "Erreurs" if f["severity"] == "error" else "Avertissements"
            counts["corrected"][kind] += 1
    return counts


def followup_table(counts: dict[str, dict[str, int]]) -> ReportTable:
    """The table « Suivi des constats »: one row per state, one column per kind, and a total."""
    labels = {
        "open": "Ouverts",
        "accepted": "Acceptés par un référent",
        "corrected": "Corrigés par un nouvel envoi",
    }
    return ReportTable(
        "suivi_constats",
        "Suivi des constats",
        "Suivi des constats : ouverts, acceptés, corrigés",
        (
            Column("Constats"),
            *(Column(kind, "int") for kind in KINDS),
            Column("Total", "int"),
        ),
        tuple(
            (labels[state], *(by_kind[k] for k in KINDS), sum(by_kind.values()))
            for state, by_kind in counts.items()
        ),
    )
