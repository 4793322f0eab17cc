"""Named points where a fault test can stop a real process; inert unless a test asks.

Belongs here: ``pause_point``, called where a crash would do the most harm (inside a write
transaction, rows written but not committed), so that a test can run a real ``crpv run`` in a
subprocess, wait until it gets there and kill it with SIGKILL. Stays out: any fault injected
here, any behaviour in production. With ``CRPV_TEST_PAUSE_AT`` unset (always, outside the tests)
a pause point only reads that variable and returns; nothing is read at import.

The points: ``load_return:uncommitted`` (``loading.load_return``: a return's submission,
activities and findings written, and the centre's previous submission superseded, in the open
transaction); ``write_correction_workbook:unrenamed`` (``corrections``: a workbook written to
its temporary file, not yet renamed into place).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from crpv_pipeline.atomic import write_text
from crpv_pipeline.settings import TEST_ONLY_VARIABLES, text

PAUSE_AT, PAUSE_MARKER = TEST_ONLY_VARIABLES
"""``CRPV_TEST_PAUSE_AT``: the point where the process pauses (unset: never);
``CRPV_TEST_PAUSE_MARKER``: the file written (with the process id) when it gets there."""
PAUSE_SECONDS = 60.0
"""How long the process waits there for the test to kill it before going on."""


def pause_point(name: str) -> None:
    """Pause here when ``CRPV_TEST_PAUSE_AT`` names this point, after writing the marker file."""
    if text(PAUSE_AT) != name:
        return
    marker = text(PAUSE_MARKER)
    if marker:
        write_text(Path(marker), str(os.getpid()))
    time.sleep(PAUSE_SECONDS)
