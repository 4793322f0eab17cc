"""How each demo centre fills in its return: its layout and the way it spells labels and values.

``draw_styles`` draws a ``CentreStyle`` per centre (file and sheet names, optional
Identification sheet, column order, label and value spellings, banner and trailing rows), every
variant used by a few centres and always within contract §1; ``row_cells`` writes one activity
as that centre would. What stays out: what each activity says (``plan``), which rows carry
mistakes (``returns``) and the workbook itself (``workbook``). Nothing here judges a value.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from crpv_pipeline.demo.plan import DemoActivity
from crpv_pipeline.reference.refdata import Nomenclature, ReferenceList

_FILE_NAMES = (
    "Bilan activité {year} - {code}.xlsx",
    "bilan_{year}_{code}_v2.xlsx",
    "{name} - bilan annuel {year}.xlsx",
    "Bilan CRPV {year} {code} VF.xlsx",
    "{code} - tableau des activités {year} (version finale).xlsx",
    "bilan-activite-{lower}-{year}.xlsx",
)
# How many of a year's returns use each variant of CentreStyle (the others keep the plain form).
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


@dataclass
class CentreStyle:
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


def say(rng: random.Random, ref: ReferenceList, code: str, loose: bool) -> str:
    """Entry ``code`` of ``ref`` as a centre writes it: its label, or half the time a variant."""
    return rng.choice(_variants(ref, code)) if loose and rng.random() < 0.5 else ref.get(code).label


def _spread(rng: random.Random, n: int, k: int) -> list[bool]:
    flags = [True] * k + [False] * (n - k)
    rng.shuffle(flags)
    return flags


def draw_styles(rng, year, centres, nom, need_participants, rejected) -> dict[str, CentreStyle]:
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
        styles[centre] = CentreStyle(
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


def row_cells(act: DemoActivity, style: CentreStyle, rng: random.Random, nom: Nomenclature) -> dict:
    """The cells of one row as this centre writes them."""
    loose = style.loose_values
    half_days: object = {"text": str, "float": float}.get(style.half_days_as, int)(act.half_days)
    department: object = act.department
    if department and style.departments_as_numbers:
        department = int(department)
    publics = [say(rng, nom.publics, code, loose) for code in act.public_codes]
    return {
        "activity_date": act.activity_date.strftime("%d/%m/%Y")
        if style.text_dates
        else act.activity_date,
        "title": act.title,
        "activity_type": say(rng, nom.activity_types, act.activity_type_code, loose),
        "half_days": half_days,
        "modality": say(rng, nom.modalities, act.modality_code, loose),
        "theme": say(rng, nom.themes, act.theme_code, loose),
        "publics": style.publics_sep.join(publics) or None,
        "participants": act.participants,
        "department": department,
        "partners": act.partners,
        "comment": act.comment,
    }
