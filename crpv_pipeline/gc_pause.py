"""Python's cycle collector paused while a step builds many objects that all live to its end.

Writing a large workbook (the stewards' overview of a year with 57 000 findings: nearly a
million cells), or the rows of a large load, creates hundreds of thousands of objects that live
until the step ends. Python's cycle collector is triggered by the number of objects created,
not freed, and each of its full passes scans every one of them again: about a quarter of the
time of writing the overview went there (``benchmarks/PROFILES.md``). ``gc_paused`` turns it off
for the step and back on after (as it was), without a forced collection: those objects are
freed by reference counting as usual, and the few cycles (a workbook and its sheets) are
collected at the next pass. Nesting is safe. Stays out: anything else about memory (the read
budget of the workers is ``settings``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cycle collector off; it is on again after, if it was before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
