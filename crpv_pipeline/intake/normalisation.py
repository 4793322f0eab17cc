"""Normalising activity rows as written: each cell's typed value, computed once per distinct value.

Belongs here: turning the raw cells of ``reading`` (text, numbers, dates as the centre wrote
them) into the values that the rules judge and the warehouse stores — dates, whole numbers,
category codes, department codes, publics, trimmed text and its length, the loose key of a
title — and noting the cells that hold no usable value (``CellProblem``). A column holds few
distinct values (the same labels, dates, numbers), so each parser runs once per distinct value
and the result is spread back over the rows. Stays out: deciding what is an error and saying
so (``validation``), reading workbooks, the warehouse. Nothing here raises on odd input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crpv_pipeline.intake.cell_problems import CellProblem
from crpv_pipeline.reference.parsing import (
    format_value,
    parse_date,
    parse_department,
    parse_whole,
    split_publics,
)
from crpv_pipeline.reference.refdata import Nomenclature, ReferenceList, normalize_label


def by_value(values: Sequence[Any], function: Callable[[Any], Any]) -> list[Any]:
    """``[function(v) for v in values]``, calling ``function`` once per distinct value.

    Values that compare equal get the same result, which is right for every parser here
    (``1`` and ``1.0`` read the same) except for booleans (``True == 1``): a column mixing
    booleans with numbers is keyed by type as well.
    """
    types = set(map(type, values))
    if bool in types and types & {int, float}:
        keyed = [(type(v), v) for v in values]
        results = {key: function(key[1]) for key in dict.fromkeys(keyed)}
        return [results[key] for key in keyed]
    try:
        results = {value: function(value) for value in dict.fromkeys(values)}
    except TypeError:  # an unhashable value: no memo
        return [function(v) for v in values]
    return [results[v] for v in values]


def text_of(value: Any) -> str | None:
    """A free-text cell as stored: the text the centre sees, trimmed; None when blank."""
    if type(value) is str:
        return value.strip() or None
    text = format_value(value)
    return text.strip() if text and text.strip() else None


def text_length(value: Any) -> int:
    """Characters of a cell as the centre sees it (rules on the length of text)."""
    if type(value) is str:
        return len(value)
    return len(format_value(value) or "")


def loose_key(value: Any) -> str | None:
    """The loose comparison key of a text cell (contract §1.3), None when blank."""
    return None if value is None else normalize_label(value) or None


def _code_in(reference: ReferenceList) -> Callable[[Any], str | None]:
    def code(value: Any) -> str | None:
        entry = reference.match(value)
        return entry.code if entry is not None else None

    return code


def _public_codes(publics: ReferenceList) -> Callable[[Any], tuple[str, ...]]:
    def codes(value: Any) -> tuple[str, ...]:
        matched = (publics.match(label) for label in split_publics(value))
        return tuple(dict.fromkeys(entry.code for entry in matched if entry is not None))

    return codes


def _unknown_publics(publics: ReferenceList) -> Callable[[Any], tuple[str, ...]]:
    def unknown(value: Any) -> tuple[str, ...]:
        return tuple(label for label in split_publics(value) if publics.match(label) is None)

    return unknown


_NORMALISERS: dict[int, tuple[Nomenclature, dict]] = {}


def normalisers(nomenclature: Nomenclature) -> Mapping[str, tuple[str, Callable[[Any], Any]]]:
    """Each normalised column: the field it is computed from and the function of one cell.

    Built once per nomenclature (whose reference lists memoise their matches).
    """
    held = _NORMALISERS.get(id(nomenclature))
    if held is None or held[0] is not nomenclature:
        held = _NORMALISERS[id(nomenclature)] = (nomenclature, _build_normalisers(nomenclature))
    return held[1]


def _build_normalisers(nomenclature: Nomenclature) -> dict[str, tuple[str, Callable[[Any], Any]]]:
    return {
        "date": ("activity_date", parse_date),
        "title_text": ("title", text_of),
        "title_key": ("title", loose_key),
        "title_length": ("title", text_length),
        "activity_type_code": ("activity_type", _code_in(nomenclature.activity_types)),
        "modality_code": ("modality", _code_in(nomenclature.modalities)),
        "theme_code": ("theme", _code_in(nomenclature.themes)),
        "half_days": ("half_days", parse_whole),
        "participants": ("participants", parse_whole),
        "department": ("department", parse_department),
        "public_codes": ("publics", _public_codes(nomenclature.publics)),
        "publics_unknown": ("publics", _unknown_publics(nomenclature.publics)),
        "partners_text": ("partners", text_of),
        "partners_length": ("partners", text_length),
        "comment_text": ("comment", text_of),
        "comment_length": ("comment", text_length),
    }


@dataclass(frozen=True)
class NormalisedRows:
    """The normalised values of a frame of activity rows, with the same index.

    ``values`` has one column per entry of ``normalisers`` (object dtype, None where a cell
    gives no value); ``problems`` maps each field holding a ``CellProblem`` to the mask of those
    cells (fields without any are absent).
    """

    values: pd.DataFrame
    problems: Mapping[str, pd.Series]


def normalise_column(name: str, raw: pd.Series, nomenclature: Nomenclature) -> pd.Series:
    """One normalised column (``normalisers``) of the raw cells ``raw`` of its field."""
    _, function = normalisers(nomenclature)[name]
    return pd.Series(by_value(raw.tolist(), function), index=raw.index, dtype=object)


def problem_mask(raw: pd.Series) -> pd.Series:
    """True where a cell holds no usable value (an error value, a formula without result)."""
    return pd.Series([type(v) is CellProblem for v in raw.tolist()], index=raw.index, dtype=bool)


def normalise(frame: pd.DataFrame, nomenclature: Nomenclature) -> NormalisedRows:
    """Normalise every field of ``frame`` (raw cells, one column per field, None when blank)."""
    cells = {name: frame[name].tolist() for name in frame.columns}
    values = {
        name: by_value(cells[source], function)
        for name, (source, function) in normalisers(nomenclature).items()
        if source in cells
    }
    problems = {
        name: problem_mask(frame[name])
        for name, column in cells.items()
        if CellProblem in set(map(type, column))
    }
    return NormalisedRows(pd.DataFrame(values, index=frame.index, dtype=object), problems)
