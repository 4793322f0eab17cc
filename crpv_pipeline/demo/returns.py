"""Synthetic demo returns: each year's inbox, with the mistakes the pipeline must find.

``write_demo_inbox`` writes one ``.xlsx`` return per expected centre and year (contract §1) from
the plan of ``plan``: a few rows carry deliberate errors, one centre is missing, one file is
rejected and an editor lock file lies next to the returns. Files are saved with fixed dates: the
same seed gives the same bytes. The ``DemoManifest`` it returns says what the pipeline must find.
What stays out: the targets, the plan and what each activity says (``plan``), how each centre
lays out and spells its return (``centre_style``), the workbook itself (``workbook``), and
reading, validation and the warehouse. This module never judges a value; the manifest only
records the rule each mistake should trigger.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from crpv_pipeline.atomic import write_bytes
from crpv_pipeline.demo.centre_style import CentreStyle, draw_styles, row_cells
from crpv_pipeline.demo.plan import (
    MODALITIES,
    THEMES,
    TYPES,
    WARNING_FIELDS,
    DemoActivity,
    DemoCalibrationError,
    DemoManifest,
    DemoMistake,
    DemoYear,
    aggregate,
    calibration_problems,
    demo_texts,
    fill_activity,
    plan_year,
    split_plan,
)
from crpv_pipeline.demo.workbook import write_return
from crpv_pipeline.intake.inbox import year_folder
from crpv_pipeline.reference.refdata import Nomenclature, default_nomenclature

__all__ = [
    "DemoActivity",
    "DemoCalibrationError",
    "DemoInboxNotEmpty",
    "DemoManifest",
    "DemoMistake",
    "DemoYear",
    "write_demo_inbox",
]

MISSING = {(2021, "MAYOTTE")}  # centres that send nothing
REJECTED = {(2020, "VILLECARAIBE"): "missing_column"}  # its header lacks « Modalité »
LOCK_FILES = {2021: "~$bilan.xlsx"}
# Deliberate row-level errors, each alone on an otherwise valid row: rule, field, value.
_ERRORS = (
    ("half_days_not_integer", "half_days", "2,5"),
    ("half_days_out_of_range", "half_days", 0),
    ("half_days_out_of_range", "half_days", 75),
    ("theme_unknown", "theme", "Transition écologique"),
    ("activity_type_unknown", "activity_type", "Visite"),
    ("date_out_of_year", "activity_date", None),
    ("date_invalid", "activity_date", "31/02/{year}"),
    ("required", "modality", None),
    ("participants_not_integer", "participants", "une trentaine"),
)
_ERROR_HOSTS = 4  # centres sharing a year's errors


class DemoInboxNotEmpty(FileExistsError):
    """The year folder holds files the demo would not write (a real inbox?): nothing written."""


def write_demo_inbox(
    inbox: Path, years: Sequence[int] = (2019, 2020, 2021), seed: int = 2021
) -> DemoManifest:
    """Write ``<inbox>/<year>/<file>.xlsx`` demo returns; the same seed gives the same bytes."""
    manifest = DemoManifest(Path(inbox), seed)
    for year in years:
        rng = random.Random(f"crpv-demo-{seed}-{year}")
        manifest.years[year] = _write_year(Path(inbox), year, rng, default_nomenclature())
    return manifest


def _rows(centre, acts, errors, year, style: CentreStyle, rng, nom: Nomenclature) -> list:
    """The data rows of one return: (cells, activity or None, (field, rule, value) or None)."""
    keys: set = set()
    rows = []
    for act in acts:
        fill_activity(act, rng, year, keys)
        if "publics" not in style.fields:
            act.public_codes = ()
        for fld in ("participants", "department", "partners", "comment"):
            if fld not in style.fields:
                setattr(act, fld, None)
        rows.append((row_cells(act, style, rng, nom), act, None))
        if act.warning == "duplicate_source":
            act.warning = None
            rows.append((rows[-1][0], replace(act, warning="duplicate_activity"), None))
    rows.sort(key=lambda r: (r[1].activity_date, r[1].title))
    for rule, fld, value in errors:
        bad = DemoActivity(
            centre,
            rng.choice(THEMES),
            rng.choice(TYPES),
            rng.choice(MODALITIES),
            rng.choice((1, 2, 2, 4)),
        )
        fill_activity(bad, rng, year, keys)
        if rule == "activity_type_unknown":
            city = rng.choice(demo_texts()["city", centre])
            bad.title = f"Visite du chantier de renouvellement urbain de {city}"
        elif rule == "theme_unknown":
            bad.title = "Atelier « quartiers populaires et transition écologique »"
        elif rule == "date_out_of_year":  # a weekday of the previous December
            day = date(year - 1, 12, 10)
            day -= timedelta(days=max(0, day.weekday() - 4))
            value = day.strftime("%d/%m/%Y") if style.text_dates else day
        cells = row_cells(bad, style, rng, nom)
        cells[fld] = value.format(year=year) if isinstance(value, str) else value
        rows.insert(rng.randint(0, len(rows)), (cells, None, (fld, rule, cells[fld])))
    if style.blank_gap:
        rows.insert(len(rows) // 2, None)
    return rows


def _write_year(inbox: Path, year: int, rng: random.Random, nom: Nomenclature) -> DemoYear:
    folder = year_folder(inbox, year)
    expected = [c.code for c in nom.expected_centres(year)]
    senders = [c for c in expected if (year, c) not in MISSING]
    rejected = {c: rule for (y, c), rule in REJECTED.items() if y == year and c in senders}
    reporting = [c for c in senders if c not in rejected]
    plan = plan_year(year)
    by_theme, by_type_modality = aggregate(list(plan.items()))
    problems = calibration_problems(year, by_theme, by_type_modality)
    if problems:
        raise DemoCalibrationError("; ".join(problems))
    acts = split_plan(plan, reporting, rng, special=True)
    hosts = rng.sample(reporting, _ERROR_HOSTS)
    need = set(hosts) | {a.centre_code for a in acts if a.warning == "participants_high"}
    styles = draw_styles(rng, year, senders, nom, need, rejected)
    ours = {s.file_name for s in styles.values()} | {LOCK_FILES.get(year)}
    foreign = sorted(
        p.name
        for p in folder.glob("*")
        if p.is_file() and p.name not in ours and not p.name.startswith((".", "~$"))
    )  # ignored by the pipeline anyway
    if foreign:
        raise DemoInboxNotEmpty(f"{folder} contient déjà d'autres fichiers : {', '.join(foreign)}")
    folder.mkdir(parents=True, exist_ok=True)
    for centre in rejected:  # rows that never load: drawn outside the plan
        stray = {
            (rng.choice(THEMES), rng.choice(TYPES), "PRESENTIEL"): rng.randint(2, 8)
            for _ in range(12)
        }
        acts += split_plan(stray, [centre], rng, special=False)
    demo = DemoYear(
        year,
        sum(by_theme.values()),
        by_theme,
        by_type_modality,
        [c for c in expected if c not in senders],
    )
    columns = nom.column_list
    for centre in senders:
        style = styles[centre]
        errors = [e for i, e in enumerate(_ERRORS) if hosts[i % _ERROR_HOSTS] == centre]
        rows = _rows(
            centre, [a for a in acts if a.centre_code == centre], errors, year, style, rng, nom
        )
        header_row = write_return(
            folder / style.file_name, centre, year, style, rows, nom, columns, rng
        )
        demo.files[centre], demo.received_at[style.file_name] = style.file_name, style.received
        if centre in rejected:
            demo.rejected_files[style.file_name] = rejected[centre]
            continue
        for number, row in enumerate(rows, header_row + 1):
            if row is not None and row[1] is not None:
                act = row[1]
                act.file_name, act.row_number = style.file_name, number
                demo.activities.append(act)
                if act.warning:
                    fld = WARNING_FIELDS[act.warning]
                    demo.mistakes.append(
                        DemoMistake(
                            style.file_name, number, fld, act.warning, "warning", row[0].get(fld)
                        )
                    )
            elif row is not None:
                fld, rule, value = row[2]
                demo.mistakes.append(
                    DemoMistake(style.file_name, number, fld, rule, "error", value)
                )
    found = aggregate(
        [
            ((a.theme_code, a.activity_type_code, a.modality_code), a.half_days)
            for a in demo.activities
        ]
    )
    if found != (by_theme, by_type_modality):
        raise DemoCalibrationError(f"{year} : les lignes écrites ne suivent pas le plan")
    if year in LOCK_FILES:
        lock = folder / LOCK_FILES[year]
        write_bytes(lock, b"\x0dClaire Martin" + b"\x20" * 40)
        os.utime(lock, (datetime(year + 1, 2, 1, tzinfo=UTC).timestamp(),) * 2)
        demo.ignored_files.append(lock.name)
    return demo
