"""The stewards' overview of a year: completeness of every expected centre and every finding.

``write_steward_overview`` writes ``suivi_bilans_<year>.xlsx`` from rows of the warehouse tables
``completeness`` and ``validation_failure`` that callers read and pass as DataFrames: one sheet
with the status of each expected centre (centres to chase first), one with every finding by
centre, file and position. Labels, colours, cell conversions and the writer (XlsxWriter, each
format made once: a year of 57 000 findings is a million cells) are those of the correction
workbooks (``workbook_cells``). What stays out: SQL, Dagster, judging values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from xlsxwriter.worksheet import Worksheet

from crpv_pipeline.atomic import atomic_output
from crpv_pipeline.gc_pause import gc_paused
from crpv_pipeline.model import FINDING_FIELDS, Finding
from crpv_pipeline.outputs.overview_decisions import DECISIONS_SHEET, decisions_sheet
from crpv_pipeline.outputs.workbook_cells import (
    ERROR_COLOUR,
    HEADER_COLOUR,
    LOADED_COLOUR,
    TABLE_COLUMNS,
    WARNING_COLOUR,
    Formats,
    cell_scalar,
    finding_position,
    finding_row,
    is_blank,
    landscape,
    new_workbook,
    severity_colour,
    timestamp,
    wrapped_lines,
    write_value,
)
from crpv_pipeline.reference.deadlines import RECEIVED_HEADER, paris_time
from crpv_pipeline.reference.parsing import french_count, french_number
from crpv_pipeline.reference.statuses import STATUS_LABELS

OVERVIEW_FILE_NAME = "suivi_bilans_{year}.xlsx"
"""The stewards' overview of a year, in the year's output folder."""
COMPLETENESS_SHEET = "Complétude"
FINDINGS_SHEET = "Constats"
STATUS_COLOURS = {
    "missing": ERROR_COLOUR,
    "rejected": ERROR_COLOUR,
    "empty": ERROR_COLOUR,
    "loaded_with_errors": WARNING_COLOUR,
    "loaded": LOADED_COLOUR,
}
_OVERVIEW_COLUMNS = {"Code": 16, "Centre": 50, "Statut": 20, RECEIVED_HEADER: 24}
_OVERVIEW_COLUMNS |= {"Lignes chargées": 16, "Erreurs": 10, "Avertissements": 16}
_OVERVIEW_COLUMNS |= {"Approbation": 14}
APPROVAL_LABELS = {"received": "À examiner", "reviewed": "À approuver", "approved": "Approuvé"}
_FINDINGS_COLUMNS = {"Centre": 16, "Fichier": 28} | {**TABLE_COLUMNS, "Message": 70, "Décision": 22}
ACCEPTED = "Accepté par un référent"
"""What « Constats » says of a warning a steward accepted for that file (« Décision »)."""
_COMPLETENESS_FIELDS = ["centre_code", "status", "submission_id", "received_at", "rows_loaded"]
_COMPLETENESS_FIELDS += ["n_errors", "held_submission_id", "approval"]


@gc_paused()
def write_steward_overview(
    year: int,
    completeness: pd.DataFrame,
    findings: pd.DataFrame,
    out: Path,
    centre_names: Mapping[str, str],
    pending: Sequence | None = None,
    as_of: dt.datetime | None = None,
    last_decision: int = 0,
) -> Path:
    """Write the stewards' workbook of ``year`` to ``out`` and return its path.

    ``out`` is the ``.xlsx`` file to write, or else a folder that receives
    ``suivi_bilans_<year>.xlsx``.

    ``completeness`` and ``findings`` hold rows of the warehouse tables ``completeness`` and
    ``validation_failure`` (other years are left out). ``Complétude``: one row per expected
    centre, centres to chase first; warnings are counted on each centre's current submission.
    ``Constats``: every finding given, by centre, file and position; a warning whose row has
    ``accepted`` true (an optional column of ``findings``) says « Accepté par un référent » in
    its « Décision » column. With ``pending`` (the
    items of ``warehouse.awaiting.pending``), a « Décisions » sheet comes second, for stewards
    to fill (``overview_decisions``).

    ``as_of`` (naive UTC) dates the document: when the year's data last changed, so that the
    same content gives the same bytes (by default the latest reception in ``completeness``).
    ``last_decision``: the id of the latest decision ``pending`` takes into account (0: none),
    written in the « Décisions » sheet so that a line decided since is never applied from it.
    """
    if out.suffix.lower() != ".xlsx":
        out = out / OVERVIEW_FILE_NAME.format(year=year)
    if "year" in completeness:
        completeness = completeness.loc[completeness["year"] == year]
    if "year" in findings:
        findings = findings.loc[findings["year"] == year]
    completeness = completeness.reindex(columns=_COMPLETENESS_FIELDS)
    if "accepted" not in findings:
        findings = findings.assign(accepted=False)
    findings = findings.reindex(
        columns=[*FINDING_FIELDS, "submission_id", "centre_code", "accepted"]
    )
    created = as_of or latest_reception(completeness) or dt.datetime(year, 1, 1)
    with atomic_output(out) as temp:
        workbook = new_workbook(temp, created, in_memory=True)
        formats = Formats(workbook)
        sheet = workbook.add_worksheet(COMPLETENESS_SHEET)
        _completeness_sheet(sheet, formats, year, completeness, findings, centre_names)
        if pending is not None:
            decisions_sheet(
                workbook.add_worksheet(DECISIONS_SHEET), formats, year, pending, last_decision
            )
        _findings_sheet(workbook.add_worksheet(FINDINGS_SHEET), formats, year, findings)
        workbook.close()
    return out


def latest_reception(completeness: pd.DataFrame) -> dt.datetime | None:
    """When the latest of the returns in ``completeness`` was received (naive UTC), if any."""
    stamps = [timestamp(v) for v in completeness["received_at"] if not is_blank(v)]
    stamps = [s for s in stamps if isinstance(s, dt.datetime)]
    return max(stamps, default=None)


def _completeness_sheet(ws, formats, year, completeness, findings, centre_names) -> None:
    warning_rows = findings.loc[findings["severity"] == "warning", "submission_id"]
    warnings = {int(s): n for s, n in warning_rows.value_counts().items() if not is_blank(s)}
    order = {status: rank for rank, status in enumerate(STATUS_LABELS)}
    records = sorted(
        completeness.to_dict("records"),
        key=lambda r: (order.get(r["status"], len(order)), str(r["centre_code"])),
    )
    rows = [
        (
            r["centre_code"],
            centre_names.get(r["centre_code"], ""),
            _status_text(r, findings),
            _received(r["received_at"]),
            # no file, nothing counted: empty cells, never 0
            *(
                (None, None, None)
                if is_blank(r["submission_id"])
                else (
                    r["rows_loaded"],
                    r["n_errors"],
                    warnings.get(int(r["submission_id"]), 0),
                )
            ),
            None if is_blank(r["approval"]) else APPROVAL_LABELS.get(r["approval"]),
        )
        for r in records
    ]
    per_status = pd.Series([r["status"] for r in records], dtype=object).value_counts()
    parts = [
        french_count(int(per_status[s]), STATUS_LABELS[s].lower(), _plural_status(s))
        for s in STATUS_LABELS
        if s in per_status
    ]
    title = formats.get(bold=True, font_size=14)
    ws.write_string(0, 0, f"Bilans {year} : complétude des retours", title)
    summary = [french_count(len(records), "centre attendu", "centres attendus"), *parts]
    ws.write_string(1, 0, " · ".join(summary))
    colours = [STATUS_COLOURS.get(r["status"]) for r in records]
    _table(ws, formats, _OVERVIEW_COLUMNS, rows, wrap=(1, 2), coloured=(2, colours))


def _received(value: Any) -> dt.datetime | str | None:
    """A reception time in Paris time, like the deadline (the warehouse keeps UTC)."""
    stamp = timestamp(value)
    return paris_time(stamp) if isinstance(stamp, dt.datetime) else stamp


def _status_text(record: Mapping[str, Any], findings: pd.DataFrame) -> str:
    """The centre's status; with a held return, which submission is in force and which is held.

    A held return always has a finding (``holding``): its file name is taken from there.
    """
    label = STATUS_LABELS.get(record["status"], record["status"])
    held = record["held_submission_id"]
    if is_blank(held) or is_blank(record["submission_id"]):
        return label
    names = findings.loc[findings["submission_id"] == held, "file_name"]
    name = f" « {names.iloc[0]} »" if len(names) else ""
    return (
        f"{label} : soumission {int(record['submission_id'])} en vigueur ; bilan plus récent"
        f"{name} (soumission {int(held)}) en attente de la décision d'un référent"
    )


def _plural_status(status: str) -> str:
    words = STATUS_LABELS[status].lower().split(" ", 1)
    return " ".join([words[0] + "s", *words[1:]])


def _findings_sheet(ws: Worksheet, formats: Formats, year: int, findings: pd.DataFrame) -> None:
    table = findings[["centre_code", "accepted", *FINDING_FIELDS]].itertuples(
        index=False, name=None
    )
    triples = [
        (cell_scalar(centre), bool(accepted), Finding(*map(cell_scalar, fields)))
        for centre, accepted, *fields in table
    ]
    sheets = list(dict.fromkeys(f.sheet for _, _, f in triples if f.sheet))
    ordered = sorted(
        triples, key=lambda t: (str(t[0] or ""), t[2].file_name, finding_position(t[2], sheets))
    )
    records = [f for _, _, f in ordered]
    rows = [
        (centre, f.file_name, *finding_row(f), ACCEPTED if accepted else None)
        for centre, accepted, f in ordered
    ]
    n_errors = sum(f.severity == "error" for f in records)
    n_accepted = sum(accepted for _, accepted, _ in ordered)
    title = formats.get(bold=True, font_size=14)
    ws.write_string(0, 0, f"Bilans {year} : constats de validation", title)
    warnings = french_count(len(records) - n_errors, "avertissement")
    if n_accepted:
        warnings += f" (dont {french_number(n_accepted)} accepté{'s' if n_accepted > 1 else ''})"
    counts = [french_count(n_errors, "erreur"), warnings]
    ws.write_string(1, 0, f"{french_count(len(records), 'constat')} : {', '.join(counts)}")
    colours = [severity_colour(f.severity) for f in records]
    _table(ws, formats, _FINDINGS_COLUMNS, rows, wrap=(1, 3, 4, 5, 7), coloured=(6, colours))


HEADER_ROW = 3
"""The row of the tables' headers (0-based: the fourth row), under a title and a summary."""


def _table(
    ws: Worksheet,
    formats: Formats,
    columns: Mapping[str, int],
    rows: Sequence[Sequence[Any]],
    wrap: Sequence[int] = (),
    coloured: tuple[int, Sequence[str | None]] | None = None,
) -> None:
    """A table at ``HEADER_ROW``: bold frozen header, autofilter, widths, wrapped columns.

    ``wrap``: the (0-based) columns whose text wraps, each row as tall as its tallest wrapped
    cell; ``coloured``: a column and the fill colour of each row's cell there (None: none).
    Every format is made once: a cell costs one call to XlsxWriter.
    """
    header = formats.get(
        bold=True, bg_color=HEADER_COLOUR, pattern=1, valign="vcenter", text_wrap=True
    )
    for column, (label, width) in enumerate(columns.items()):
        ws.set_column(column, column, width)
        ws.write_string(HEADER_ROW, column, label, header)
    cells = [formats.cell(valign="top", text_wrap=c in wrap) for c in range(len(columns))]
    widths = list(columns.values())
    wrapped = [(c, widths[c]) for c in wrap]
    marked, colours = coloured if coloured is not None else (0, [None] * len(rows))
    styles = {None: cells}  # a fill colour → the formats of a row with that colour
    for colour in set(colours) - {None}:
        fill = formats.cell(valign="top", text_wrap=marked in wrap, bg_color=colour, pattern=1)
        styles[colour] = [fill if c == marked else cell for c, cell in enumerate(cells)]
    for row, (values, colour) in enumerate(zip(rows, colours, strict=True), start=HEADER_ROW + 1):
        for column, (value, cell) in enumerate(zip(values, styles[colour], strict=True)):
            write_value(ws, row, column, value, cell)
        ws.set_row(row, 15 * max((wrapped_lines(values[c], w) for c, w in wrapped), default=1))
    ws.autofilter(HEADER_ROW, 0, HEADER_ROW + max(len(rows), 1), len(columns) - 1)
    ws.freeze_panes(HEADER_ROW + 1, 0)
    landscape(ws)
