"""One return of the benchmark's corpora, written as a centre fills it in.

Belongs here: the activity rows of one centre's return (deterministic for its corpus and
centre), the way each centre writes them (label and value spellings that vary by centre —
synonyms, case, no accents —, text dates in some files, numbers as text in others, a few
deliberate mistakes in one file out of ten), and writing the ``.xlsx`` with XlsxWriter
(constant memory): an Identification sheet, a title row above the header, the activities. A
return full of findings or one that must be rejected is laid out as ``bad_year`` says.

Stays out: which return is which and the corpus's folders (``corpus``), measuring (``harness``).
"""

from __future__ import annotations

import csv
import random
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks import bad_year

if TYPE_CHECKING:
    from benchmarks.corpus import CorpusSpec

CREATED = datetime(2022, 2, 15, 9, 30)  # fixed document dates: the same corpus, the same bytes


def packaged(name: str) -> list[dict[str, str]]:
    """The rows of one of the pipeline's packaged reference lists."""
    text = (resources.files("crpv_pipeline.reference") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _unaccent(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _spellings(list_name: str, loose: bool) -> dict[str, list[str]]:
    """code → how a centre writes it: the label, or (loose) its synonyms and case variants."""
    rows = packaged(list_name)
    out = {}
    for row in rows:
        label = row["label"]
        if not loose:
            out[row["code"]] = [label]
            continue
        synonyms = [s.strip() for s in (row.get("synonyms") or "").split("|") if s.strip()]
        out[row["code"]] = [label, label.upper(), _unaccent(label).lower(), *synonyms[:2]]
    return out


_THEME_WEIGHTS = {"EDUCATION": 15, "VRL": 9, "LIEN_SOCIAL": 8}  # others weigh 5 each
_TYPE_WEIGHTS = {"FORMATION": 30, "ACTIVITE_RESEAU": 25, "GROUPE_TRAVAIL": 20, "MANIFESTATION": 15}
_PLACES = ("Lille", "Roubaix", "Amiens", "Lens", "Calais", "Beauvais", "Creil", "Maubeuge")
_SUBJECTS = (
    "la réussite éducative",
    "la laïcité au quotidien",
    "les conseils citoyens",
    "l'emploi des jeunes",
    "la gestion urbaine de proximité",
    "l'égalité femmes-hommes",
    "la santé mentale",
    "le renouvellement urbain",
)
_KINDS = ("Atelier", "Journée", "Rencontre", "Séminaire", "Webinaire", "Module")
_PARTNERS = ("DDETS", "CAF", "Préfecture", "Conseil départemental", "Bailleur social", None)


@dataclass(frozen=True)
class _Style:
    loose: bool
    text_dates: bool
    numbers_as_text: bool
    separator: str
    mistakes: bool


def _style(index: int, spec: CorpusSpec) -> _Style:
    return _Style(
        loose=index % 3 == 1,
        text_dates=index % 5 == 2,
        numbers_as_text=index % 4 == 3,
        separator=", " if index % 2 else " ; ",
        mistakes=index % spec.files_with_mistakes_every == 0,
    )


def _weekdays(year: int) -> list[date]:
    day, days = date(year, 1, 1), []
    while day.year == year:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _rows(
    code: str, index: int, spec: CorpusSpec, style: _Style, rng: random.Random
) -> list[list[object]]:
    """The activity rows of one return (cells as the centre writes them)."""
    types = _spellings("activity_types.csv", style.loose)
    modalities = _spellings("modalities.csv", style.loose)
    themes = _spellings("themes.csv", style.loose)
    publics = _spellings("publics.csv", style.loose)
    type_codes = [c for c in types if c != "ACCOMPAGNEMENT"]
    type_weights = [_TYPE_WEIGHTS.get(c, 10) for c in type_codes]
    theme_codes = list(themes)
    theme_weights = [_THEME_WEIGHTS.get(c, 5) for c in theme_codes]
    days = _weekdays(spec.year)
    department = f"{(index % 95) + 1:02d}".replace("20", "2A")
    rows = []
    for n in range(1, spec.rows_per_return + 1):
        day = rng.choice(days)
        half_days = rng.choice((1, 1, 2, 2, 2, 3, 4, 6))
        participants = rng.randint(5, 120) if rng.random() < 0.9 else None
        chosen = rng.sample(list(publics), rng.randint(0, 3))
        rows.append(
            [
                day.strftime("%d/%m/%Y") if style.text_dates else datetime(*day.timetuple()[:3]),
                f"{rng.choice(_KINDS)} sur {rng.choice(_SUBJECTS)} à {rng.choice(_PLACES)}"
                f" (n° {n})",
                rng.choice(types[rng.choices(type_codes, type_weights)[0]]),
                str(half_days) if style.numbers_as_text else half_days,
                rng.choice(modalities[rng.choice(list(modalities))]),
                rng.choice(themes[rng.choices(theme_codes, theme_weights)[0]]),
                style.separator.join(rng.choice(publics[c]) for c in chosen) or None,
                participants,
                department if rng.random() < 0.8 else None,
                rng.choice(_PARTNERS),
                "Action co-animée avec le réseau régional" if rng.random() < 0.1 else None,
            ]
        )
    return rows


def _spoil(rows: list[list[object]], rng: random.Random, year: int) -> None:
    """A few deliberate mistakes: five quarantined rows and five warnings."""
    targets = rng.sample(range(len(rows)), min(len(rows), 10))
    errors = [(3, "2,5"), (5, "Transition écologique"), (2, "Visite"), (3, 75), (4, None)]
    warnings = [(7, 800), (3, 25), (0, datetime(year, 1, 2)), (7, 650), (3, 30)]  # 2 Jan: Sat
    for target, (column, value) in zip(targets, errors + warnings, strict=False):
        rows[target][column] = value


def file_name(code: str, index: int, spec: CorpusSpec) -> str:
    """The name of the ``index``-th return of the corpus, centre ``code``'s."""
    kind = bad_year.return_kind(index, spec)
    return f"{bad_year.layout(kind, code, index, spec.year).centre}_{spec.year}.xlsx"


def write_return(path: Path, code: str, index: int, spec: CorpusSpec) -> int:
    """Write the ``index``-th return of the corpus, centre ``code``'s; the activity rows written.

    What the return is (ordinary, full of findings, rejected) follows from its index
    (``bad_year.return_kind``).
    """
    kind = bad_year.return_kind(index, spec)
    layout = bad_year.layout(kind, code, index, spec.year)
    style = _style(index, spec)
    rng = random.Random(f"crpv-bench-{spec.name}-{code}")
    rows = _rows(code, index, spec, style, rng)
    header = [row["label"] for row in packaged("columns.csv")]  # the order of _rows' cells
    if kind == bad_year.MANY:
        bad_year.spoil_heavily(rows, rng, spec.year)
        header += bad_year.EXTRA_COLUMNS
        rows = [row + bad_year.extra_cells(rng, n) for n, row in enumerate(rows)]
    elif style.mistakes:
        _spoil(rows, rng, spec.year)
    renamed = dict(layout.renamed)
    header = [renamed.get(label, label) for label in header]
    if layout.as_text:
        _write_text(path, header, rows)
    else:
        _write_workbook(path, layout, header, rows)
    return len(rows)


def _write_text(path: Path, header: list[str], rows: list[list[object]]) -> None:
    """The activities as a semicolon-separated export, saved under the workbook's name."""

    def cell(value: object) -> str:
        if isinstance(value, datetime):
            return value.strftime("%d/%m/%Y")
        return "" if value is None else str(value).replace(";", ",")

    lines = [";".join(header), *(";".join(map(cell, row)) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_workbook(path: Path, layout: bad_year.Layout, header, rows) -> None:
    import xlsxwriter  # benchmark dependency, imported where it is used

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "in_memory": False})
    workbook.set_properties({"created": CREATED, "author": layout.centre})
    bold = workbook.add_format({"bold": True})
    day_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    ident = workbook.add_worksheet("Identification")
    for r, (label, value) in enumerate(
        [
            ("Centre de ressources", layout.centre),
            ("Année", layout.year),
            ("Version du modèle", 1),
            ("Contact", "Chargée de mission"),
            ("Courriel", f"contact@{layout.centre.lower()}.example"),
        ]
    ):
        ident.write_string(r, 0, label, bold)
        ident.write(r, 1, value)
    sheet = workbook.add_worksheet(layout.activity_sheet)
    if layout.header:
        sheet.write_string(0, 0, f"Bilan annuel d'activité {layout.year} — {layout.centre}", bold)
        for c, label in enumerate(header):
            sheet.write_string(2, c, label, bold)
    first = 3 if layout.header else 0
    for r, row in enumerate(rows, start=first):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, datetime):
                sheet.write_datetime(r, c, value, day_format)
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write_number(r, c, value)
    workbook.close()
