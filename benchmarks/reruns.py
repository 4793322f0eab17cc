"""Re-runs of a year: what they cost against the first run, and which outputs they rewrote.

Belongs here: a year run through Dagster (every asset), then run again after no return, one and
one in 17 changed, each run in a fresh process on the same warehouse and output folder, as the
runs of a year are in production; and the output folder's files (bilan, stewards' overview,
correction workbooks) fingerprinted — SHA-256, modification time, inode — before each re-run
and compared after it: left untouched, rewritten with the same bytes, rewritten with others,
new, removed.

Stays out: running and watching a child (``children``), judging (``targets``).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from benchmarks.children import Warehouses, run_contender
from benchmarks.corpus import CorpusSpec, build_corpus, write_return

RERUN_SHARE = 17
"""The re-run target speaks of one of 17 returns changed: on a corpus of more returns, one
return in 17 is changed too (12 of 200), besides one alone."""
OUTPUT_FATES = ("untouched", "same bytes", "other bytes", "new", "removed")
"""What a re-run did to each output file: left it untouched (same bytes, same modification
time, same inode), wrote it again with the same bytes or with others, wrote a new one, removed
one."""


def rerun_changes(returns: int) -> tuple[int, ...]:
    """Returns changed before each re-run, in order: none (what any run costs), one, and one
    in ``RERUN_SHARE`` where that is more than one."""
    share = round(returns / RERUN_SHARE)
    return (0, 1, share) if share > 1 else (0, 1)


def fingerprint(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every file under ``folder``: its path in it → (SHA-256, modification time in ns, inode)."""
    prints = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        stat = path.stat()
        prints[path.relative_to(folder).as_posix()] = (digest, stat.st_mtime_ns, stat.st_ino)
    return prints


def fates(before: dict, after: dict) -> dict[str, str]:
    """What became of each output file between two fingerprints: one of ``OUTPUT_FATES``."""
    found = {}
    for name, (digest, mtime, inode) in after.items():
        if name not in before:
            found[name] = "new"
        elif before[name] == (digest, mtime, inode):
            found[name] = "untouched"
        elif before[name][0] == digest:
            found[name] = "same bytes"
        else:
            found[name] = "other bytes"
    return found | dict.fromkeys(sorted(set(before) - set(after)), "removed")


def compare(before: dict, after: dict) -> dict[str, int]:
    """How many output files met each of ``OUTPUT_FATES`` between two fingerprints."""
    counted = dict.fromkeys(OUTPUT_FATES, 0)
    for fate in fates(before, after).values():
        counted[fate] += 1
    return counted


def measure_rerun(
    spec: CorpusSpec, corpora: Path, backend: str, warehouses: Warehouses, workdir: Path
) -> list[dict]:
    """A year run through Dagster (every asset), then run again after each of ``rerun_changes``.

    One row per re-run. Each re-run changes returns the runs before it did not touch, so that
    ``changed`` returns are new to it, and is compared with the first run: wall time of the
    work and of the whole process, and what it did to the files of the output folder.
    """
    corpus = build_corpus(spec, corpora / spec.name, progress=lambda _: None)
    where = workdir / f"rerun-{spec.name}-{backend}"
    inbox = where / "inbox"
    shutil.copytree(corpus.inbox, inbox)
    url = warehouses.new(backend, "rerun")
    files = sorted((inbox / str(spec.year)).glob("*.xlsx"))
    changed_spec = CorpusSpec(f"{spec.name}-changed", spec.centres, spec.rows_per_return)
    # Every run shares the output folder, as the runs of a year do in production.
    first = run_contender("dagster", corpus, backend, url, where, inbox)
    rows, untouched = [], iter(files[1:])
    for count in rerun_changes(len(files)):
        for path in [next(untouched) for _ in range(count)]:
            write_return(path, path.stem.split("_")[0], 1, changed_spec)
        before = fingerprint(where / "output")
        again = run_contender("dagster", corpus, backend, url, where, inbox)
        after = fingerprint(where / "output")
        rows.append(
            {
                "backend": backend,
                "corpus": spec.name,
                "returns": spec.centres,
                "rows_per_return": spec.rows_per_return,
                "changed": count,
                "first": first.seconds,
                "rerun": again.seconds,
                "ratio": again.seconds / first.seconds,
                "first_process": first.process_seconds,
                "rerun_process": again.process_seconds,
                "process_ratio": again.process_seconds / first.process_seconds,
                "first_steps": first.stages,
                "rerun_steps": again.stages,
                "outputs": compare(before, after),
                "rewritten": {
                    name: fate for name, fate in fates(before, after).items() if fate != "untouched"
                },
            }
        )
    warehouses.drop(url)
    shutil.rmtree(where, ignore_errors=True)
    return rows
