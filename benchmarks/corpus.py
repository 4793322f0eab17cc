"""The corpora of the benchmark: real ``.xlsx`` returns, written deterministically.

Sizes and shapes (issues 6 and 18): ``realistic`` is one year as the network sends it today (the
17 centres of the reference list, 200 activities each), ``network`` the same 17 centres with
returns as big as the large corpus's (5 000 activities each), ``large`` a network ten times
larger with big returns (200 centres, 5 000 activities each: 1 000 000 rows in one year);
``clean-year`` is a year of 100 returns of 2 000 rows with few findings, ``bad-year`` the same
size shaped like a bad year: most returns carry hundreds of findings of several rules (some
50 000 in all) and 5 are rejected (``bad_year``). ``tiny``, ``tiny-year`` and ``tiny-bad-year``
are the smoke test's, ``small-year`` and ``small-bad-year`` a quick look. Each corpus says the
role it plays in the benchmark (``CorpusSpec.role``). In ordinary returns, one file out of ten
carries a few deliberate mistakes (quarantined rows and warnings). The same spec gives the same
bytes. A network larger than the reference list's 17 centres carries its own
``reference/centres.csv``, which ``CRPV_REFERENCE_DIR`` points the pipeline at.

Stays out: writing one return (``returns``), measuring anything (``harness``), the pipeline.
"""

from __future__ import annotations

import csv
import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.returns import file_name, packaged, write_return

__all__ = ["ROLES", "SPECS", "Corpus", "CorpusSpec", "build_corpus", "write_return"]

YEAR = 2021
GENERATOR_VERSION = "2"  # bump when the files written change, so cached corpora are rewritten
ROLES = ("scale", "year", "bad-year", "re-run")
"""What a corpus stands for in the benchmark: the scale of issue 6 (every contender, re-runs),
a clean year and a bad year as a user runs them (issue 18), a real-size year re-run."""


@dataclass(frozen=True)
class CorpusSpec:
    """How big a corpus is and what shape: centres, activity rows per return, findings."""

    name: str
    centres: int
    rows_per_return: int
    year: int = YEAR
    files_with_mistakes_every: int = 10
    """One ordinary return out of this many carries deliberate mistakes (the others are clean)."""
    role: str = "scale"
    """One of ``ROLES``: what the benchmark measures on it when it is named on the command line."""
    many_findings: bool = False
    """Most returns carry hundreds of findings (``bad_year.spoil_heavily``)."""
    rejected: int = 0
    """Returns written so that they are rejected (``bad_year.REJECTIONS``)."""

    @property
    def rows(self) -> int:
        return self.centres * self.rows_per_return


def _bad(name: str, centres: int, rows_per_return: int) -> CorpusSpec:
    return CorpusSpec(
        name, centres, rows_per_return, role="bad-year", many_findings=True, rejected=5
    )


SPECS = {
    "tiny": CorpusSpec("tiny", centres=4, rows_per_return=30, files_with_mistakes_every=2),
    "realistic": CorpusSpec("realistic", centres=17, rows_per_return=200),
    "network": CorpusSpec("network", centres=17, rows_per_return=5_000, role="re-run"),
    "large": CorpusSpec("large", centres=200, rows_per_return=5_000),
    "clean-year": CorpusSpec("clean-year", centres=100, rows_per_return=2_000, role="year"),
    "bad-year": _bad("bad-year", centres=100, rows_per_return=2_000),
    "tiny-year": CorpusSpec("tiny-year", centres=4, rows_per_return=30, role="year"),
    "tiny-bad-year": _bad("tiny-bad-year", centres=10, rows_per_return=40),
    "small-year": CorpusSpec("small-year", centres=20, rows_per_return=500, role="year"),
    "small-bad-year": _bad("small-bad-year", centres=20, rows_per_return=500),
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


def centre_codes(count: int) -> list[str]:
    """The corpus's centres: the reference list's, then ``BENCH018`` … as many as needed."""
    codes = [row["code"] for row in packaged("centres.csv")][:count]
    codes += [f"BENCH{n:03d}" for n in range(len(codes) + 1, count + 1)]
    return codes


def _write_reference(folder: Path, codes: list[str]) -> None:
    rows = packaged("centres.csv")
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
        (corpus.year_folder / file_name(code, i, spec), code, i, spec)
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
