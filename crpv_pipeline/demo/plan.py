"""What the synthetic demo returns hold: the calibration plan, its activities and the manifest.

The published figures of contract §7 are the targets. ``plan_year`` splits each theme's
half-days into exact (theme, activity type, modality) cells and ``calibration_problems`` checks
figures against the targets; ``split_plan`` cuts the cells into activities given to the centres,
with the deliberate warnings carved out of the plan, and ``fill_activity`` draws their date,
title and other descriptive fields (free texts in ``reference/data/demo_titles.csv``). The
``DemoManifest`` dataclasses record what the pipeline must find. What stays out: workbooks, files
and how a centre spells or lays out a value (``returns``), and reading, validation and the
warehouse.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path

from crpv_pipeline.reference.refdata import default_nomenclature

TYPES = (
    "FORMATION",
    "CYCLE_QUALIFICATION",
    "ACTIVITE_RESEAU",
    "GROUPE_TRAVAIL",
    "MANIFESTATION",
    "ACCOMPAGNEMENT",
)
MODALITIES = ("PRESENTIEL", "DISTANCIEL", "HYBRIDE")
PLANNED_YEARS = (2019, 2020, 2021)  # any other year reuses the 2019 (pre-pandemic) plan
TARGET_HALF_DAYS = {2019: 2950, 2020: 2200, 2021: 3123}
TARGET_THEME_SHARES = {2021: {"EDUCATION": 14.8, "VRL": 8.5, "LIEN_SOCIAL": 8.4}}
# Modality holding more than half of an activity type's half-days (contract §7).
TARGET_MAJORITIES = {
    2021: {
        "FORMATION": "PRESENTIEL",
        "ACTIVITE_RESEAU": "DISTANCIEL",
        "GROUPE_TRAVAIL": "DISTANCIEL",
        "MANIFESTATION": "DISTANCIEL",
        "CYCLE_QUALIFICATION": "DISTANCIEL",
    }
}
TARGET_OVERALL = {2019: ("PRESENTIEL", 75.0), 2020: ("DISTANCIEL", 60.0)}  # modality, min %

# Half-days per theme in 2019, 2020, 2021: the exact calibration of every year.
_THEME_HALF_DAYS = {
    "EDUCATION": (412, 318, 462),
    "VRL": (318, 205, 265),
    "LIEN_SOCIAL": (236, 196, 262),
    "PREVENTION": (221, 150, 236),
    "RENOUVELLEMENT_URBAIN": (236, 140, 228),
    "GOUVERNANCE": (207, 160, 214),
    "EMPLOI": (192, 172, 205),
    "OBSERVATION": (177, 128, 198),
    "PARTICIPATION": (201, 118, 187),
    "CADRE_VIE": (163, 96, 168),
    "SANTE": (118, 185, 152),
    "ACCES_DROITS": (133, 120, 141),
    "JEUNESSE": (118, 84, 126),
    "DISCRIMINATIONS": (104, 62, 118),
    "EGALITE_FH": (74, 40, 96),
    "DEV_ECO": (40, 26, 65),
}
THEMES = tuple(_THEME_HALF_DAYS)
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
    "FORMATION": (1, 2, 2, 2, 3, 4, 4, 6),
    "CYCLE_QUALIFICATION": (4, 6, 6, 8, 10, 12, 16),
    "ACTIVITE_RESEAU": (1, 1, 2, 2, 3),
    "GROUPE_TRAVAIL": (1, 1, 2, 2),
    "MANIFESTATION": (1, 2, 2, 3, 4),
    "ACCOMPAGNEMENT": (1, 2, 3, 4, 6, 8),
}
_PARTICIPANTS = {
    "FORMATION": (8, 25),
    "CYCLE_QUALIFICATION": (10, 25),
    "ACTIVITE_RESEAU": (10, 40),
    "GROUPE_TRAVAIL": (5, 15),
    "MANIFESTATION": (30, 120),
    "ACCOMPAGNEMENT": (3, 12),
}
_CENTRES = {  # centre: relative size, departments of its region
    "PROFBANLIEUE": (10, "93"),
    "POLERESSOURCES": (6, "95"),
    "CRPVE": (5, "91"),
    "IREV": (10, "59 62 02 60 80"),
    "ORIV": (9, "67 68 57 54 51 10 08"),
    "TRAJECTOIRE": (5, "21 25 71 90 39 58"),
    "VILLESAUCARRE": (5, "37 45 18 28 41 36"),
    "PQNA": (8, "33 87 86 64 17 24 47"),
    "RESOVILLES": (8, "35 44 29 49 72 56 22 85 53"),
    "LABOCITES": (9, "69 38 42 63 26 01 03 73 74 07"),
    "CRPVPACA": (7, "13 06 83 84 04 05"),
    "VTO": (6, "34 30 11 66 48"),
    "RESSTERR": (4, "31 82 81 65 09 32 46 12"),
    "VILLECARAIBE": (3, "972"),
    "CRPVGUYANE": (3, "973"),
    "CRCSUR": (4, "974"),
    "MAYOTTE": (2, "976"),
}
_MONTH_WEIGHTS = (8, 10, 11, 10, 9, 10, 6, 1, 9, 11, 11, 8)
_HOLIDAYS = {(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)}
# Deliberate warnings (the row loads) and the field each is reported on.
WARNING_FIELDS = {
    "duplicate_activity": "title",
    "weekend_date": "activity_date",
    "half_days_high": "half_days",
    "participants_high": "participants",
}


class DemoCalibrationError(RuntimeError):
    """The demo plan or the rows drawn from it miss the published figures (contract §7)."""


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


def aggregate(items: list[tuple[tuple[str, str, str], int]]) -> tuple[dict, dict]:
    """Half-days by theme and by (activity type, modality), keys sorted."""
    by_theme: Counter[str] = Counter()
    by_type_modality: Counter[tuple[str, str]] = Counter()
    for (theme, type_code, modality), n in items:
        by_theme[theme] += n
        by_type_modality[type_code, modality] += n
    return dict(sorted(by_theme.items())), dict(sorted(by_type_modality.items()))


def split_plan(plan: dict, centres: list[str], rng: random.Random, special: bool) -> list:
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
def demo_texts() -> dict[tuple[str, str], list[str]]:
    """The free texts of ``reference/data/demo_titles.csv`` by (kind, key): titles, cities."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    data = resources.files("crpv_pipeline.reference") / "data"
    text = (data / "demo_titles.csv").read_text("utf-8")
    for row in csv.DictReader(io.StringIO(text)):
        out[row["kind"], row["key"]].append(row["text"])
    return dict(out)


def _title(rng: random.Random, act: DemoActivity) -> str:
    t, theme = demo_texts(), act.theme_code
    words = {
        "subject": rng.choice(t["subject", theme]),
        "short": rng.choice(t["short", theme]),
        "network": rng.choice(t["network", theme]),
        "n": rng.randint(1, 4),
        "city": rng.choice(t["city", act.centre_code]),
    }
    if act.warning == "half_days_high":
        return "Cycle de qualification « {subject} » – cycle complet".format(**words)
    return rng.choice(t["template", act.activity_type_code]).format(**words)


def _day(rng: random.Random, year: int, weekend: bool = False) -> date:
    while True:
        month = rng.choices(range(1, 13), _MONTH_WEIGHTS)[0]
        day = date(year, month, 1) + timedelta(days=rng.randrange(28))
        if (day.weekday() >= 5) == weekend and (day.month, day.day) not in _HOLIDAYS:
            return day


def fill_activity(act: DemoActivity, rng: random.Random, year: int, keys: set) -> None:
    """Draw the descriptive fields of a row; (date, title, type, modality) stay unique."""
    act.title, t = _title(rng, act), demo_texts()
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
