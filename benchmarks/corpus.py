"""The scale corpus of the benchmark: real ``.xlsx`` returns, written deterministically.

Sizes (issue 6): ``realistic`` is one year as the network sends it today (the 17 centres of the
reference list, 200 activities each), ``network`` the same 17 centres with returns as big as
the large corpus's (5 000 activities each), ``large`` a network ten times larger with big
returns (200 centres, 5 000 activities each: 1 000 000 rows in one year), ``tiny`` the smoke
test's. Returns are written
with XlsxWriter (constant memory, two processes) as centres fill them in: an Identification
sheet, a title row above the header, label and value spellings that vary by centre (synonyms,
case, no accents), text dates in some files, numbers as text in others, and in one file out of
ten a few deliberate mistakes (quarantined rows and warnings). The same size gives the same
bytes. The large network needs 183 more centres than the reference list has: the corpus folder
carries its own ``reference/centres.csv``, which ``CRPV_REFERENCE_DIR`` points the pipeline at.

Stays out: measuring anything (``harness``), the pipeline itself.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

YEAR = 2021
CREATED = datetime(2022, 2, 15, 9, 30)  # fixed document dates: the same corpus, the same bytes
GENERATOR_VERSION = "1"  # bump when the files written change, so cached corpora are rewritten


@dataclass(frozen=True)
class CorpusSpec:
    """How big a corpus is: centres, activity rows per return, mistakes."""

    name: str
    centres: int
    rows_per_return: int
    year: int = YEAR
    files_with_mistakes_every: int = 10
    """One return out of this many carries deliberate mistakes (the others are clean)."""

    @property
    def rows(self) -> int:
        return self.centres * self.rows_per_return


SPECS = {
    "tiny": CorpusSpec("tiny", centres=4, rows_per_return=30, files_with_mistakes_every=2),
    "realistic": CorpusSpec("realistic", centres=17, rows_per_return=200),
    "network": CorpusSpec("network", centres=17, rows_per_return=5_000),
    "large": CorpusSpec("large", centres=200, rows_per_return=5_000),
}


@dataclass(frozen=True)
class Corpus:
    """A written corpus: its inbox (``<inbox>/<year>/*.xlsx``) and its reference folder."""

    spec: CorpusSpec
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def year_folder(self) -> Path:
        return self.inbox / str(self.spec.year)

    @property
    def reference_dir(self) -> Path:
        return self.root / "reference"

    def files(self) -> list[Path]:
        return sorted(self.year_folder.glob("*.xlsx"))


# --- reference data: the packaged lists, with as many centres as the corpus needs ----------


def _packaged(name: str) -> list[dict[str, str]]:
    text = (resources.files("crpv_pipeline.reference") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def centre_codes(count: int) -> list[str]:
    """The corpus's centres: the reference list's, then ``BENCH018`` … as many as needed."""
    codes = [row["code"] for row in _packaged("centres.csv")][:count]
    codes += [f"BENCH{n:03d}" for n in range(len(codes) + 1, count + 1)]
    return codes


def _write_reference(folder: Path, codes: list[str]) -> None:
    rows = _packaged("centres.csv")
    known = {row["code"] for row in rows}
    fields = list(rows[0])
    for code in codes:
        if code not in known:
            number = code.removeprefix("BENCH")
            rows.append(
                {
                    **dict.fromkeys(fields, ""),
                    "code": code,
                    "name": f"Centre de ressources de test n° {number}",
                    "region": "Réseau de test",
                    "active_from": "2015",
                }
            )
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "centres.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


# --- one return ----------------------------------------------------------------------------


def _unaccent(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _spellings(list_name: str, loose: bool) -> dict[str, list[str]]:
    """code → how a centre writes it: the label, or (loose) its synonyms and case variants."""
    rows = _packaged(list_name)
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


def _rows(code: str, index: int, spec: CorpusSpec, style: _Style) -> list[list[object]]:
    """The activity rows of one return (cells as the centre writes them)."""
    rng = random.Random(f"crpv-bench-{spec.name}-{code}")
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
    if style.mistakes:
        _spoil(rows, rng, spec.year)
    return rows


def _spoil(rows: list[list[object]], rng: random.Random, year: int) -> None:
    """A few deliberate mistakes: five quarantined rows and five warnings."""
    targets = rng.sample(range(len(rows)), min(len(rows), 10))
    errors = [(3, "2,5"), (5, "Transition écologique"), (2, "Visite"), (3, 75), (4, None)]
    warnings = [(7, 800), (3, 25), (0, datetime(year, 1, 2)), (7, 650), (3, 30)]  # 2 Jan: Sat
    for target, (column, value) in zip(targets, errors + warnings, strict=False):
        rows[target][column] = value


def write_return(path: Path, code: str, index: int, spec: CorpusSpec) -> int:
    """Write one centre's return; the number of activity rows written."""
    import xlsxwriter  # benchmark dependency, imported where it is used

    style = _style(index, spec)
    rows = _rows(code, index, spec, style)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "in_memory": False})
    workbook.set_properties({"created": CREATED, "author": code})
    bold = workbook.add_format({"bold": True})
    day_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    ident = workbook.add_worksheet("Identification")
    for r, (label, value) in enumerate(
        [
            ("Centre de ressources", code),
            ("Année", spec.year),
            ("Version du modèle", 1),
            ("Contact", "Chargée de mission"),
            ("Courriel", f"contact@{code.lower()}.example"),
        ]
    ):
        ident.write_string(r, 0, label, bold)
        ident.write(r, 1, value)
    sheet = workbook.add_worksheet("Activités")
    sheet.write_string(0, 0, f"Bilan annuel d'activité {spec.year} — {code}", bold)
    header = [row["label"] for row in _packaged("columns.csv")]  # the order of _rows' cells
    for c, label in enumerate(header):
        sheet.write_string(2, c, label, bold)
    for r, row in enumerate(rows, start=3):
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
    return len(rows)


# --- the whole corpus ----------------------------------------------------------------------


def _fingerprint(spec: CorpusSpec) -> str:
    text = json.dumps({**asdict(spec), "generator": GENERATOR_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _write_one(job: tuple[Path, str, int, CorpusSpec]) -> int:
    path, code, index, spec = job
    return write_return(path, code, index, spec)


def build_corpus(spec: CorpusSpec, root: Path, workers: int = 2, progress=print) -> Corpus:
    """Write the corpus under ``root`` (kept and reused while the spec and generator match)."""
    corpus = Corpus(spec, root)
    stamp = root / "corpus.json"
    fingerprint = _fingerprint(spec)
    if stamp.is_file() and json.loads(stamp.read_text())["fingerprint"] == fingerprint:
        if len(corpus.files()) == spec.centres:
            progress(f"corpus {spec.name}: reusing {root} ({spec.rows:,} rows)")
            return corpus
    codes = centre_codes(spec.centres)
    corpus.year_folder.mkdir(parents=True, exist_ok=True)
    for old in corpus.files():
        old.unlink()
    _write_reference(corpus.reference_dir, codes)
    jobs = [
        (corpus.year_folder / f"{code}_{spec.year}.xlsx", code, i, spec)
        for i, code in enumerate(codes)
    ]
    progress(f"corpus {spec.name}: writing {len(jobs)} returns, {spec.rows:,} rows, into {root}")
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as pool:
            written = sum(pool.map(_write_one, jobs, chunksize=4))
    else:
        written = sum(map(_write_one, jobs))
    stamp.write_text(json.dumps({"fingerprint": fingerprint, "spec": asdict(spec)}, indent=2))
    progress(f"corpus {spec.name}: {written:,} rows written")
    return corpus
