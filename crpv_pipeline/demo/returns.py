"""Synthetic demo returns: the workbooks, written as the centres send them.

``write_demo_inbox`` writes one ``.xlsx`` return per expected centre and year (contract §1) from
the plan of ``demo_plan``: each centre fills in its own layout (file and sheet names, optional
Identification sheet, label and value spellings, banner and trailing rows), a few rows carry
deliberate errors, one centre is missing, one file is rejected and an editor lock file lies
next to the returns. Files are saved with fixed dates: the same seed gives the same bytes. The
``DemoManifest`` it returns says what the pipeline must find. What stays out: the targets, the
plan and what each activity says (``demo_plan``), and reading, validation and the warehouse.
This module never judges a value; the manifest only records the rule each mistake should trigger.
"""

from __future__ import annotations

import io
import os
import random
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from crpv_pipeline.atomic import atomic_output, write_bytes
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
from crpv_pipeline.intake.inbox import year_folder
from crpv_pipeline.reference.refdata import Nomenclature, ReferenceList, default_nomenclature

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
_FILE_NAMES = (
    "Bilan activité {year} - {code}.xlsx",
    "bilan_{year}_{code}_v2.xlsx",
    "{name} - bilan annuel {year}.xlsx",
    "Bilan CRPV {year} {code} VF.xlsx",
    "{code} - tableau des activités {year} (version finale).xlsx",
    "bilan-activite-{lower}-{year}.xlsx",
)
# How many of a year's returns use each variant of _Style (the others keep the plain form).
_VARIANT_FILES = {
    "centre_as_name": 4,
    "loose_labels": 6,
    "loose_values": 6,
    "text_dates": 4,
    "departments_as_numbers": 7,
    "shuffled": 6,
    "lists_sheet": 6,
    "trailing_rows": 5,
    "blank_gap": 2,
}
_SHEET_NAMES = ("Activités", "Activités", "Activités", "Activites", "ACTIVITÉS", "activités ")
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
_BOLD = Font(bold=True)
_ERROR_HOSTS = 4  # centres sharing a year's errors


class DemoInboxNotEmpty(FileExistsError):
    """The year folder holds files the demo would not write (a real inbox?): nothing written."""


@dataclass
class _Style:
    """How one centre fills in its return (always within contract §1)."""

    file_name: str
    received: datetime
    fields: list[str]  # in the order of the header
    sheet_name: str
    identification: bool
    half_days_as: str  # int, float or text
    publics_sep: str
    title_rows: int
    centre_as_name: bool
    loose_labels: bool  # header and Identification labels as variants (§1.3)
    loose_values: bool  # category values as synonyms, other case, no accents, plural
    text_dates: bool
    departments_as_numbers: bool
    shuffled: bool
    lists_sheet: bool
    trailing_rows: bool
    blank_gap: bool


def write_demo_inbox(
    inbox: Path, years: Sequence[int] = (2019, 2020, 2021), seed: int = 2021
) -> DemoManifest:
    """Write ``<inbox>/<year>/<file>.xlsx`` demo returns; the same seed gives the same bytes."""
    manifest = DemoManifest(Path(inbox), seed)
    for year in years:
        rng = random.Random(f"crpv-demo-{seed}-{year}")
        manifest.years[year] = _write_year(Path(inbox), year, rng, default_nomenclature())
    return manifest


def _unaccent(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@cache
def _variants(ref: ReferenceList, code: str) -> list[str]:
    """Ways a person writes entry ``code`` that loose matching (§1.3) still reads as it."""
    entry, out = ref.get(code), set()
    for text in (entry.label, *entry.synonyms):
        out |= {text, text.lower(), text.upper(), _unaccent(text), text.replace("'", "\u2019")}
    if ref.name == "activity_types" and " " not in entry.label:
        out.add(entry.label + "s")  # « Formations »
    return sorted(v for v in out if ref.match(v) is entry)


def _say(rng: random.Random, ref: ReferenceList, code: str, loose: bool) -> str:
    return rng.choice(_variants(ref, code)) if loose and rng.random() < 0.5 else ref.get(code).label


def _spread(rng: random.Random, n: int, k: int) -> list[bool]:
    flags = [True] * k + [False] * (n - k)
    rng.shuffle(flags)
    return flags


def _styles(rng, year, centres, nom, need_participants, rejected) -> dict[str, _Style]:
    """Draw how each centre fills in its return; every variant is used by a few centres."""
    n, styles = len(centres), {}
    half_days_as = ["text"] * 3 + ["float"] * 3 + ["int"] * (n - 6)
    rng.shuffle(half_days_as)
    no_identification = set(rng.sample([c for c in centres if c not in rejected], 2))
    fallback_sheet = rng.choice([c for c in centres if c not in no_identification])
    drawn = {variant: _spread(rng, n, k) for variant, k in _VARIANT_FILES.items()}
    for i, centre in enumerate(centres):
        flags = {variant: files[i] for variant, files in drawn.items()}
        fields = [
            c.field
            for c in nom.columns
            if c.required
            or rng.random() < 0.85
            or (c.field == "participants" and centre in need_participants)
        ]
        if centre in rejected:
            fields.remove("modality")
        if flags["shuffled"]:
            rng.shuffle(fields)
        name = (
            f"{centre}_{year}.xlsx"
            if centre in no_identification
            else rng.choice(_FILE_NAMES).format(
                year=year, code=centre, name=nom.centres.get(centre).label, lower=centre.lower()
            )
        )
        received = datetime(year + 1, 1, 1, tzinfo=UTC) + timedelta(
            days=rng.randint(10, 85), hours=rng.randint(8, 18), minutes=rng.choice((0, 15, 30))
        )
        sheet = f"Actions {year}" if centre == fallback_sheet else rng.choice(_SHEET_NAMES)
        styles[centre] = _Style(
            file_name=name,
            received=received,
            fields=fields,
            sheet_name=sheet,
            identification=centre not in no_identification,
            half_days_as=half_days_as[i],
            publics_sep=rng.choice(("; ", "; ", ", ")),
            title_rows=rng.choice((0, 0, 1, 2, 3)),
            **flags,
        )
    return styles


def _cells(act: DemoActivity, style: _Style, rng: random.Random, nom: Nomenclature) -> dict:
    """The cells of one row as this centre writes them."""
    loose = style.loose_values
    half_days: object = {"text": str, "float": float}.get(style.half_days_as, int)(act.half_days)
    department: object = act.department
    if department and style.departments_as_numbers:
        department = int(department)
    publics = [_say(rng, nom.publics, code, loose) for code in act.public_codes]
    return {
        "activity_date": act.activity_date.strftime("%d/%m/%Y")
        if style.text_dates
        else act.activity_date,
        "title": act.title,
        "activity_type": _say(rng, nom.activity_types, act.activity_type_code, loose),
        "half_days": half_days,
        "modality": _say(rng, nom.modalities, act.modality_code, loose),
        "theme": _say(rng, nom.themes, act.theme_code, loose),
        "publics": style.publics_sep.join(publics) or None,
        "participants": act.participants,
        "department": department,
        "partners": act.partners,
        "comment": act.comment,
    }


def _rows(centre, acts, errors, year, style, rng, nom) -> list:
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
        rows.append((_cells(act, style, rng, nom), act, None))
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
        cells = _cells(bad, style, rng, nom)
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
    styles = _styles(rng, year, senders, nom, need, rejected)
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
        header_row = _write_return(
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


def _write_return(path, centre, year, style, rows, nom, columns, rng) -> int:
    """Write one return as a centre would; give back the Excel row of the header."""
    wb = Workbook()
    ws = wb.active
    if style.identification:
        ws.title = "Identification"
        pairs = [
            ("centre", nom.centres.get(centre).label if style.centre_as_name else centre),
            ("year", str(year) if style.loose_values else year),
            ("template_version", 1),
            ("contact", rng.choice(demo_texts()["contact", ""])),
            ("email", f"bilan@{centre.lower()}.exemple.fr"),
            ("sent_on", style.received.date()),
        ]
        for r, (fld, value) in enumerate(pairs, 1):
            ws.cell(r, 1, _say(rng, nom.identification, fld, style.loose_labels)).font = _BOLD
            ws.cell(r, 2, value).number_format = "DD/MM/YYYY" if fld == "sent_on" else "General"
        ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 28, 60
        ws = wb.create_sheet(style.sheet_name)
    else:
        ws.title = style.sheet_name
    if style.title_rows:  # a merged banner, then instructions
        ws["A1"] = f"Bilan annuel d'activité {year} – {nom.centres.get(centre).label}"
        ws["A1"].font, ws["A1"].alignment = Font(bold=True, size=14), Alignment(horizontal="center")
        ws.merge_cells(f"A1:{get_column_letter(len(style.fields))}1")
    if style.title_rows >= 2:
        ws["A2"] = (
            "Une ligne par action. Utilisez les listes déroulantes pour les types, "
            "modalités et thématiques."
        )
    header_row = style.title_rows + 1
    for c, fld in enumerate(style.fields, 1):
        label = _say(rng, columns, fld, style.loose_labels)
        cell = ws.cell(header_row, c, label)
        cell.font, cell.fill = _BOLD, PatternFill("solid", fgColor="DDEBF7")
        ws.column_dimensions[get_column_letter(c)].width = 60 if fld == "title" else 18
    for r, row in enumerate(rows, header_row + 1):
        for c, fld in enumerate(style.fields, 1):
            value = None if row is None else row[0].get(fld)
            if value is not None:
                cell = ws.cell(r, c, value)
                if isinstance(value, date | float):
                    cell.number_format = "DD/MM/YYYY" if isinstance(value, date) else "0.0"
    if style.trailing_rows:  # bordered empty rows, kept by spreadsheets below the data
        thin = Side(style="thin", color="BFBFBF")
        for r in range(header_row + len(rows) + 1, header_row + len(rows) + 16):
            for c in range(1, len(style.fields) + 1):
                ws.cell(r, c).border = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws.freeze_panes = f"A{header_row + 1}"
    if style.lists_sheet:  # the hidden drop-down lists of the official template
        lists = wb.create_sheet("Listes")
        for c, ref in enumerate((nom.activity_types, nom.modalities, nom.themes, nom.publics), 1):
            for r, label in enumerate(ref.labels(), 1):
                lists.cell(r, c, label)
        lists.sheet_state = "hidden"
    _save(wb, path, style.received)
    return header_row


def _save(wb: Workbook, path: Path, stamp: datetime) -> None:
    """Save with fixed properties and zip dates (same content, same bytes); set the mtime."""
    naive = stamp.replace(tzinfo=None)
    wb.properties.creator = wb.properties.lastModifiedBy = "CRPV"
    wb.properties.created, wb.properties.modified = naive - timedelta(days=20), naive
    raw = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    with atomic_output(path) as temp:  # a sensor watching the inbox never sees half a file
        with zipfile.ZipFile(raw) as src, zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                info = zipfile.ZipInfo(item.filename, date_time=naive.timetuple()[:6])
                info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
                dst.writestr(info, src.read(item.filename))
    os.utime(path, (stamp.timestamp(), stamp.timestamp()))
