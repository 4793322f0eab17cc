"""Synthetic demo returns: a deterministic inbox of workbooks written as the centres send them.

``write_demo_inbox`` writes one ``.xlsx`` return per expected centre and year (contract §1),
calibrated so that the rows the pipeline loads reproduce the published figures of contract §7,
plus deliberate mistakes, a missing centre, a rejected file and an editor lock file; the
``DemoManifest`` it returns says what the pipeline must find. Free texts (titles, cities,
partners) are data in ``data/demo_titles.csv``. What stays out: reading, validation and the
warehouse. This module never judges a value; the manifest only records the rule each
deliberate mistake is meant to trigger.
"""

from __future__ import annotations

import csv
import io
import os
import random
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from crpv_pipeline.refdata import Nomenclature, ReferenceList, default_nomenclature

TYPES = ("FORMATION", "CYCLE_QUALIFICATION", "ACTIVITE_RESEAU", "GROUPE_TRAVAIL",
         "MANIFESTATION", "ACCOMPAGNEMENT")
MODALITIES = ("PRESENTIEL", "DISTANCIEL", "HYBRIDE")
PLANNED_YEARS = (2019, 2020, 2021)  # any other year reuses the 2019 (pre-pandemic) plan
TARGET_HALF_DAYS = {2019: 2950, 2020: 2200, 2021: 3123}
TARGET_THEME_SHARES = {2021: {"EDUCATION": 14.8, "VRL": 8.5, "LIEN_SOCIAL": 8.4}}
# Modality holding more than half of an activity type's half-days (contract §7).
TARGET_MAJORITIES = {2021: {"FORMATION": "PRESENTIEL", "ACTIVITE_RESEAU": "DISTANCIEL",
                            "GROUPE_TRAVAIL": "DISTANCIEL", "MANIFESTATION": "DISTANCIEL",
                            "CYCLE_QUALIFICATION": "DISTANCIEL"}}
TARGET_OVERALL = {2019: ("PRESENTIEL", 75.0), 2020: ("DISTANCIEL", 60.0)}  # modality, min %
MISSING = {(2021, "MAYOTTE")}  # centres that send nothing
REJECTED = {(2020, "VILLECARAIBE"): "missing_column"}  # its header lacks « Modalité »
LOCK_FILES = {2021: "~$bilan.xlsx"}

# Half-days per theme in 2019, 2020, 2021: the exact calibration of every year.
_THEME_HALF_DAYS = {
    "EDUCATION": (412, 318, 462), "VRL": (318, 205, 265), "LIEN_SOCIAL": (236, 196, 262),
    "PREVENTION": (221, 150, 236), "RENOUVELLEMENT_URBAIN": (236, 140, 228),
    "GOUVERNANCE": (207, 160, 214), "EMPLOI": (192, 172, 205), "OBSERVATION": (177, 128, 198),
    "PARTICIPATION": (201, 118, 187), "CADRE_VIE": (163, 96, 168), "SANTE": (118, 185, 152),
    "ACCES_DROITS": (133, 120, 141), "JEUNESSE": (118, 84, 126), "DISCRIMINATIONS": (104, 62, 118),
    "EGALITE_FH": (74, 40, 96), "DEV_ECO": (40, 26, 65),
}
# Split of a theme's half-days over the activity types (TYPES order) in 2019, 2020, 2021;
# VRL is mostly trainings (the national « Valeurs de la République et laïcité » plan).
_TYPE_WEIGHTS = ((34, 12, 16, 14, 12, 12), (28, 12, 22, 18, 12, 8), (30, 14, 18, 14, 12, 12))
_VRL_TYPE_WEIGHTS = (65, 10, 8, 5, 7, 5)
# Présentiel / distanciel / hybride (%) per activity type, in 2019, 2020, 2021.
_MODALITY_WEIGHTS = {
    "FORMATION": ((92, 5, 3), (30, 62, 8), (62, 26, 12)),
    "CYCLE_QUALIFICATION": ((85, 12, 3), (20, 75, 5), (30, 58, 12)),
    "ACTIVITE_RESEAU": ((80, 17, 3), (15, 80, 5), (28, 62, 10)),
    "GROUPE_TRAVAIL": ((75, 22, 3), (12, 83, 5), (25, 65, 10)),
    "MANIFESTATION": ((88, 10, 2), (15, 80, 5), (30, 55, 15)),
    "ACCOMPAGNEMENT": ((90, 8, 2), (35, 60, 5), (60, 30, 10)),
}
_CHUNKS = {  # half-days of one activity row, drawn uniformly from these
    "FORMATION": (1, 2, 2, 2, 3, 4, 4, 6), "CYCLE_QUALIFICATION": (4, 6, 6, 8, 10, 12, 16),
    "ACTIVITE_RESEAU": (1, 1, 2, 2, 3), "GROUPE_TRAVAIL": (1, 1, 2, 2),
    "MANIFESTATION": (1, 2, 2, 3, 4), "ACCOMPAGNEMENT": (1, 2, 3, 4, 6, 8),
}
_PARTICIPANTS = {"FORMATION": (8, 25), "CYCLE_QUALIFICATION": (10, 25),
                 "ACTIVITE_RESEAU": (10, 40), "GROUPE_TRAVAIL": (5, 15),
                 "MANIFESTATION": (30, 120), "ACCOMPAGNEMENT": (3, 12)}
_CENTRES = {  # centre: relative size, departments of its region
    "PROFBANLIEUE": (10, "93"), "POLERESSOURCES": (6, "95"), "CRPVE": (5, "91"),
    "IREV": (10, "59 62 02 60 80"), "ORIV": (9, "67 68 57 54 51 10 08"),
    "TRAJECTOIRE": (5, "21 25 71 90 39 58"), "VILLESAUCARRE": (5, "37 45 18 28 41 36"),
    "PQNA": (8, "33 87 86 64 17 24 47"), "RESOVILLES": (8, "35 44 29 49 72 56 22 85 53"),
    "LABOCITES": (9, "69 38 42 63 26 01 03 73 74 07"), "CRPVPACA": (7, "13 06 83 84 04 05"),
    "VTO": (6, "34 30 11 66 48"), "RESSTERR": (4, "31 82 81 65 09 32 46 12"),
    "VILLECARAIBE": (3, "972"), "CRPVGUYANE": (3, "973"), "CRCSUR": (4, "974"),
    "MAYOTTE": (2, "976"),
}
_MONTH_WEIGHTS = (8, 10, 11, 10, 9, 10, 6, 1, 9, 11, 11, 8)
_HOLIDAYS = {(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)}
_FILE_NAMES = ("Bilan activité {year} - {code}.xlsx", "bilan_{year}_{code}_v2.xlsx",
               "{name} - bilan annuel {year}.xlsx", "Bilan CRPV {year} {code} VF.xlsx",
               "{code} - tableau des activités {year} (version finale).xlsx",
               "bilan-activite-{lower}-{year}.xlsx")
# How many of a year's returns use each variant of _Style (the others keep the plain form).
_VARIANT_FILES = {"centre_as_name": 4, "loose_labels": 6, "loose_values": 6, "text_dates": 4,
                  "departments_as_numbers": 7, "shuffled": 6, "lists_sheet": 6,
                  "trailing_rows": 5, "blank_gap": 2}
_SHEET_NAMES = ("Activités", "Activités", "Activités", "Activites", "ACTIVITÉS", "activités ")
# Deliberate row-level errors, each alone on an otherwise valid row: rule, field, value.
_ERRORS = (
    ("half_days_not_integer", "half_days", "2,5"), ("half_days_out_of_range", "half_days", 0),
    ("half_days_out_of_range", "half_days", 75),
    ("theme_unknown", "theme", "Transition écologique"),
    ("activity_type_unknown", "activity_type", "Visite"),
    ("date_out_of_year", "activity_date", None), ("date_invalid", "activity_date", "31/02/{year}"),
    ("required", "modality", None), ("participants_not_integer", "participants", "une trentaine"),
)
_BOLD = Font(bold=True)
_ERROR_HOSTS = 4  # centres sharing a year's errors
# Deliberate warnings (the row loads) and the field each is reported on.
_WARNING_FIELDS = {"duplicate_activity": "title", "weekend_date": "activity_date",
                   "half_days_high": "half_days", "participants_high": "participants"}


class DemoCalibrationError(RuntimeError):
    """The demo plan or the rows drawn from it miss the published figures (contract §7)."""


class DemoInboxNotEmpty(FileExistsError):
    """The year folder holds files the demo would not write (a real inbox?): nothing written."""


@dataclass
class DemoActivity:
    """A valid row of the demo inbox: the pipeline must load it, with ``warning`` if set."""

    centre_code: str
    theme_code: str
    activity_type_code: str
    modality_code: str
    half_days: int
    activity_date: date | None = None
    title: str = ""
    participants: int | None = None
    public_codes: tuple[str, ...] = ()
    department: str | None = None
    partners: str | None = None
    comment: str | None = None
    warning: str | None = None
    file_name: str = ""
    row_number: int = 0


@dataclass(frozen=True)
class DemoMistake:
    """A deliberate finding: its file, Excel row, field, rule, severity and value as written."""

    file_name: str
    row_number: int
    field: str
    rule: str
    severity: str
    value: object = None


@dataclass
class DemoYear:
    """What one year's folder holds and what the pipeline must load from it."""

    year: int
    half_days: int  # of the rows that load, as planned
    half_days_by_theme: dict[str, int]
    half_days_by_type_modality: dict[tuple[str, str], int]
    missing_centres: list[str]
    files: dict[str, str] = field(default_factory=dict)  # centre -> file name, rejected too
    received_at: dict[str, datetime] = field(default_factory=dict)  # file name -> mtime (UTC)
    rejected_files: dict[str, str] = field(default_factory=dict)  # file name -> rule id
    ignored_files: list[str] = field(default_factory=list)
    activities: list[DemoActivity] = field(default_factory=list)  # the rows that load
    mistakes: list[DemoMistake] = field(default_factory=list)

    @property
    def n_activities(self) -> int:
        return len(self.activities)

    @property
    def participants(self) -> int:
        return sum(a.participants or 0 for a in self.activities)

    @property
    def rows_loaded_by_centre(self) -> dict[str, int]:
        return dict(Counter(a.centre_code for a in self.activities))

    @property
    def centres_reporting(self) -> int:
        return len(self.files) - len(self.rejected_files)

    @property
    def theme_shares_pct(self) -> dict[str, float]:
        return {k: 100 * v / self.half_days for k, v in self.half_days_by_theme.items()}

    @property
    def share_distanciel_pct(self) -> float:
        by = self.half_days_by_type_modality
        return 100 * sum(v for (_, m), v in by.items() if m == "DISTANCIEL") / self.half_days


@dataclass
class DemoManifest:
    """Everything ``write_demo_inbox`` wrote, year by year."""

    inbox: Path
    seed: int
    years: dict[int, DemoYear] = field(default_factory=dict)


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


def calibration_problems(
    year: int, by_theme: dict[str, int], by_type_modality: dict[tuple[str, str], int]
) -> list[str]:
    """What in these figures misses the targets for ``year`` (empty list: all met)."""
    problems, total = [], sum(by_theme.values())
    if year in TARGET_HALF_DAYS and total != TARGET_HALF_DAYS[year]:
        problems.append(f"{year} : {total} demi-journées au lieu de {TARGET_HALF_DAYS[year]}")
    shares = {k: round(100 * v / total, 1) for k, v in by_theme.items()}
    targets = TARGET_THEME_SHARES.get(year, {})
    for code, pct in targets.items():
        if shares.get(code) != pct:
            problems.append(f"{year} : {code} à {shares.get(code)} % au lieu de {pct} %")
    if targets and max(v for k, v in shares.items() if k not in targets) >= min(targets.values()):
        problems.append(f"{year} : une autre thématique rejoint les trois premières")
    by_type: Counter[str] = Counter()
    for (type_code, _), v in by_type_modality.items():
        by_type[type_code] += v
    for type_code, modality in TARGET_MAJORITIES.get(year, {}).items():
        if 2 * by_type_modality.get((type_code, modality), 0) <= by_type[type_code]:
            problems.append(f"{year} : {type_code} n'est pas majoritairement {modality}")
    if year in TARGET_OVERALL:
        modality, minimum = TARGET_OVERALL[year]
        held = sum(v for (_, m), v in by_type_modality.items() if m == modality)
        if 100 * held / total < minimum:
            problems.append(f"{year} : {modality} sous {minimum} % des demi-journées")
    if not any(v for (_, m), v in by_type_modality.items() if m == "HYBRIDE"):
        problems.append(f"{year} : aucune demi-journée en hybride")
    return problems


def _largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    base = [total * w // sum(weights) for w in weights]
    order = sorted(range(len(weights)), key=lambda k: (-(total * weights[k] % sum(weights)), k))
    for k in order[: total - sum(base)]:
        base[k] += 1
    return base


def plan_year(year: int) -> dict[tuple[str, str, str], int]:
    """Half-days per (theme, activity type, modality): exact integers, independent of the seed."""
    i = PLANNED_YEARS.index(year) if year in PLANNED_YEARS else 0
    plan = {}
    for theme, totals in _THEME_HALF_DAYS.items():
        weights = _VRL_TYPE_WEIGHTS if theme == "VRL" else _TYPE_WEIGHTS[i]
        for type_code, n in zip(TYPES, _largest_remainder(totals[i], weights), strict=True):
            split = _largest_remainder(n, _MODALITY_WEIGHTS[type_code][i])
            for modality, m in zip(MODALITIES, split, strict=True):
                if m:
                    plan[theme, type_code, modality] = m
    return plan


def _aggregate(items: list[tuple[tuple[str, str, str], int]]) -> tuple[dict, dict]:
    by_theme: Counter[str] = Counter()
    by_type_modality: Counter[tuple[str, str]] = Counter()
    for (theme, type_code, modality), n in items:
        by_theme[theme] += n
        by_type_modality[type_code, modality] += n
    return dict(sorted(by_theme.items())), dict(sorted(by_type_modality.items()))


def _split_plan(plan: dict, centres: list[str], rng: random.Random, special: bool) -> list:
    """Cut each plan cell into activity rows, each given a centre in proportion to its size.

    With ``special``, the deliberate warnings are carved out of the plan, so they count in it:
    a 25 half-day cycle, a row typed twice, a weekend date and 650 participants.
    """
    weights = [_CENTRES[c][0] for c in centres]
    cells, big_cycle, big_group = sorted(plan), None, None
    if special:
        big_cycle = max((k for k in cells if k[1] == "CYCLE_QUALIFICATION"), key=plan.get)
        big_group = max((k for k in cells if k[1] == "GROUPE_TRAVAIL"), key=plan.get)
    acts = []
    for key in cells:
        sizes, rest = [], plan[key]
        if key == big_cycle:
            sizes, rest = [25], rest - 25
        if key == big_group:  # the copy, added when the rows are written, takes 2 more
            sizes, rest = [2], rest - 4
        if rest < 0:
            raise DemoCalibrationError(f"cellule {key} trop petite pour les cas particuliers")
        while rest:
            sizes.append(min(rng.choice(_CHUNKS[key[1]]), rest))
            rest -= sizes[-1]
        for k, size in enumerate(sizes):
            acts.append(DemoActivity(rng.choices(centres, weights)[0], *key, half_days=size))
            if k == 0 and key in (big_cycle, big_group):
                acts[-1].warning = "half_days_high" if key == big_cycle else "duplicate_source"
    if special:
        events = [a for a in acts if a.activity_type_code == "MANIFESTATION" and not a.warning]
        high, weekend = rng.sample(events, 2)
        high.warning, weekend.warning = "participants_high", "weekend_date"
    return acts


@cache
def _texts() -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    text = (resources.files("crpv_pipeline") / "data" / "demo_titles.csv").read_text("utf-8")
    for row in csv.DictReader(io.StringIO(text)):
        out[row["kind"], row["key"]].append(row["text"])
    return dict(out)


def _title(rng: random.Random, act: DemoActivity) -> str:
    t, theme = _texts(), act.theme_code
    words = {"subject": rng.choice(t["subject", theme]), "short": rng.choice(t["short", theme]),
             "network": rng.choice(t["network", theme]), "n": rng.randint(1, 4),
             "city": rng.choice(t["city", act.centre_code])}
    if act.warning == "half_days_high":
        return "Cycle de qualification « {subject} » – cycle complet".format(**words)
    return rng.choice(t["template", act.activity_type_code]).format(**words)


def _day(rng: random.Random, year: int, weekend: bool = False) -> date:
    while True:
        month = rng.choices(range(1, 13), _MONTH_WEIGHTS)[0]
        day = date(year, month, 1) + timedelta(days=rng.randrange(28))
        if (day.weekday() >= 5) == weekend and (day.month, day.day) not in _HOLIDAYS:
            return day


def _fill(act: DemoActivity, rng: random.Random, year: int, keys: set) -> None:
    """Draw the descriptive fields of a row; (date, title, type, modality) stay unique."""
    act.title, t = _title(rng, act), _texts()
    key = None
    while key is None or key in keys:
        act.activity_date = _day(rng, year, weekend=act.warning == "weekend_date")
        key = (act.activity_date, act.title, act.activity_type_code, act.modality_code)
    keys.add(key)
    low, high = _PARTICIPANTS[act.activity_type_code]
    act.participants = rng.randint(low, high) if rng.random() < 0.9 else None
    if act.warning == "participants_high":
        act.participants = 650
    publics = [e.code for e in default_nomenclature().publics]
    chosen = rng.sample(publics, rng.choice((1, 1, 2, 3)))
    act.public_codes = tuple(sorted(chosen, key=publics.index))
    departments = _CENTRES[act.centre_code][1].split()
    act.department = rng.choice(departments) if rng.random() < 0.8 else None
    partners = rng.sample(t["partner", ""], rng.choice((1, 2)))
    act.partners = ", ".join(partners) if rng.random() < 0.5 else None
    act.comment = rng.choice(t["comment", ""]) if rng.random() < 0.08 else None


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
        fields = [c.field for c in nom.columns if c.required or rng.random() < 0.85
                  or (c.field == "participants" and centre in need_participants)]
        if centre in rejected:
            fields.remove("modality")
        if flags["shuffled"]:
            rng.shuffle(fields)
        name = f"{centre}_{year}.xlsx" if centre in no_identification else rng.choice(
            _FILE_NAMES).format(year=year, code=centre, name=nom.centres.get(centre).label,
                                lower=centre.lower())
        received = datetime(year + 1, 1, 1, tzinfo=UTC) + timedelta(
            days=rng.randint(10, 85), hours=rng.randint(8, 18), minutes=rng.choice((0, 15, 30)))
        sheet = f"Actions {year}" if centre == fallback_sheet else rng.choice(_SHEET_NAMES)
        styles[centre] = _Style(
            file_name=name, received=received, fields=fields, sheet_name=sheet,
            identification=centre not in no_identification, half_days_as=half_days_as[i],
            publics_sep=rng.choice(("; ", "; ", ", ")), title_rows=rng.choice((0, 0, 1, 2, 3)),
            **flags)
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
        "activity_date": act.activity_date.strftime("%d/%m/%Y") if style.text_dates
        else act.activity_date,
        "title": act.title,
        "activity_type": _say(rng, nom.activity_types, act.activity_type_code, loose),
        "half_days": half_days,
        "modality": _say(rng, nom.modalities, act.modality_code, loose),
        "theme": _say(rng, nom.themes, act.theme_code, loose),
        "publics": style.publics_sep.join(publics) or None,
        "participants": act.participants, "department": department,
        "partners": act.partners, "comment": act.comment,
    }


def _rows(centre, acts, errors, year, style, rng, nom) -> list:
    """The data rows of one return: (cells, activity or None, (field, rule, value) or None)."""
    keys: set = set()
    rows = []
    for act in acts:
        _fill(act, rng, year, keys)
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
        bad = DemoActivity(centre, rng.choice(list(_THEME_HALF_DAYS)), rng.choice(TYPES),
                           rng.choice(MODALITIES), rng.choice((1, 2, 2, 4)))
        _fill(bad, rng, year, keys)
        if rule == "activity_type_unknown":
            city = rng.choice(_texts()["city", centre])
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
    folder = inbox / str(year)
    expected = [c.code for c in nom.expected_centres(year)]
    senders = [c for c in expected if (year, c) not in MISSING]
    rejected = {c: rule for (y, c), rule in REJECTED.items() if y == year and c in senders}
    reporting = [c for c in senders if c not in rejected]
    plan = plan_year(year)
    by_theme, by_type_modality = _aggregate(list(plan.items()))
    problems = calibration_problems(year, by_theme, by_type_modality)
    if problems:
        raise DemoCalibrationError("; ".join(problems))
    acts = _split_plan(plan, reporting, rng, special=True)
    hosts = rng.sample(reporting, _ERROR_HOSTS)
    need = set(hosts) | {a.centre_code for a in acts if a.warning == "participants_high"}
    styles = _styles(rng, year, senders, nom, need, rejected)
    ours = {s.file_name for s in styles.values()} | {LOCK_FILES.get(year)}
    foreign = sorted(p.name for p in folder.glob("*") if p.is_file() and p.name not in ours
                     and not p.name.startswith((".", "~$")))  # ignored by the pipeline anyway
    if foreign:
        raise DemoInboxNotEmpty(f"{folder} contient déjà d'autres fichiers : {', '.join(foreign)}")
    folder.mkdir(parents=True, exist_ok=True)
    for centre in rejected:  # rows that never load: drawn outside the plan
        stray = {(rng.choice(list(_THEME_HALF_DAYS)), rng.choice(TYPES), "PRESENTIEL"):
                 rng.randint(2, 8) for _ in range(12)}
        acts += _split_plan(stray, [centre], rng, special=False)
    demo = DemoYear(year, sum(by_theme.values()), by_theme, by_type_modality,
                    [c for c in expected if c not in senders])
    columns = nom.column_list
    for centre in senders:
        style = styles[centre]
        errors = [e for i, e in enumerate(_ERRORS) if hosts[i % _ERROR_HOSTS] == centre]
        rows = _rows(centre, [a for a in acts if a.centre_code == centre], errors, year, style,
                     rng, nom)
        header_row = _write_return(folder / style.file_name, centre, year, style, rows, nom,
                                   columns, rng)
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
                    fld = _WARNING_FIELDS[act.warning]
                    demo.mistakes.append(DemoMistake(
                        style.file_name, number, fld, act.warning, "warning", row[0].get(fld)))
            elif row is not None:
                fld, rule, value = row[2]
                demo.mistakes.append(
                    DemoMistake(style.file_name, number, fld, rule, "error", value))
    found = _aggregate([((a.theme_code, a.activity_type_code, a.modality_code), a.half_days)
                        for a in demo.activities])
    if found != (by_theme, by_type_modality):
        raise DemoCalibrationError(f"{year} : les lignes écrites ne suivent pas le plan")
    if year in LOCK_FILES:
        lock = folder / LOCK_FILES[year]
        lock.write_bytes(b"\x0dClaire Martin" + b"\x20" * 40)
        os.utime(lock, (datetime(year + 1, 2, 1, tzinfo=UTC).timestamp(),) * 2)
        demo.ignored_files.append(lock.name)
    return demo


def _write_return(path, centre, year, style, rows, nom, columns, rng) -> int:
    """Write one return as a centre would; give back the Excel row of the header."""
    wb = Workbook()
    ws = wb.active
    if style.identification:
        ws.title = "Identification"
        pairs = [("centre", nom.centres.get(centre).label if style.centre_as_name else centre),
                 ("year", str(year) if style.loose_values else year), ("template_version", 1),
                 ("contact", rng.choice(_texts()["contact", ""])),
                 ("email", f"bilan@{centre.lower()}.exemple.fr"),
                 ("sent_on", style.received.date())]
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
        ws["A2"] = ("Une ligne par action. Utilisez les listes déroulantes pour les types, "
                    "modalités et thématiques.")
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
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=naive.timetuple()[:6])
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            dst.writestr(info, src.read(item.filename))
    os.utime(path, (stamp.timestamp(), stamp.timestamp()))
