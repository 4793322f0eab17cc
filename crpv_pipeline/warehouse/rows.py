"""The rows a validated return adds: its activities, their publics and its findings.

Belongs here: turning the pandas values of a ``ReturnResult`` into values every driver accepts
(``NaN``, ``NaT``, numpy scalars become ``None`` and plain Python values) and the ids of the new
rows. Stays out: the transaction and the rules of a resubmission (``loading``), how each driver
writes many rows at once (``bulk``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crpv_pipeline.model import ACTIVITY_COLUMNS, ReturnResult
from crpv_pipeline.warehouse.bulk import bulk_insert
from crpv_pipeline.warehouse.dictionary import table_doc
from crpv_pipeline.warehouse.schema import schema_table

_FACT_FIELDS = tuple(c for c in ACTIVITY_COLUMNS if c != "public_codes")


_INTEGER_FIELDS = frozenset({"source_row", "half_days", "participants"})


def next_id(conn: Connection, column: sa.Column) -> int:
    """The next application-assigned id (MAX + 1); safe because writers hold the lock."""
    return int(conn.scalar(sa.select(sa.func.coalesce(sa.func.max(column), 0)))) + 1


def _is_missing(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )


_KEPT_AS_IS = {
    True: frozenset({type(None), int}),
    False: frozenset({type(None), str, int, bool, date}),
}
"""Types whose values ``plain_values`` returns unchanged (never missing, never a datetime)."""


def plain_values(series: pd.Series, integer: bool) -> list:
    """Column values as plain Python objects (None for missing) that every driver accepts.

    Missing values (None, NaN, ``pd.NA``, ``pd.NaT``) become None, integer fields ints and
    datetimes (pandas ``Timestamp`` included) dates. A column whose values all have types kept
    as they are (str, int, ``datetime.date``…, the usual case) is returned without a per-value
    conversion.
    """
    values = series.tolist()  # tolist() turns numpy scalars into Python ones
    if _KEPT_AS_IS[integer].issuperset(map(type, values)):
        return values
    out = []
    for value in values:
        if _is_missing(value):
            out.append(None)
        elif integer:
            out.append(int(value))
        elif isinstance(value, datetime):
            out.append(value.date())
        else:
            out.append(value)
    return out


def _columns_of(table_name: str, values: Mapping[str, object]) -> list[str]:
    """The columns of a table (in DDL order) that ``values`` fills; the others stay NULL."""
    return [c for c in schema_table(table_name).c.keys() if c in values]


def insert_activities(conn: Connection, result: ReturnResult, submission_id: int) -> None:
    activities = result.activities
    if activities.empty:
        return
    first_id = next_id(conn, schema_table("fact_activity").c.activity_id)
    n = len(activities)
    ids = range(first_id, first_id + n)
    fact: dict[str, Sequence[object]] = {
        "activity_id": ids,
        "submission_id": [submission_id] * n,
        "year": [result.year] * n,
        "centre_code": [result.centre_code] * n,
    }
    fact.update((f, plain_values(activities[f], f in _INTEGER_FIELDS)) for f in _FACT_FIELDS)
    columns = _columns_of("fact_activity", fact)
    bulk_insert(conn, "fact_activity", columns, list(zip(*(fact[c] for c in columns), strict=True)))
    public_rows = [
        (activity_id, code)
        for activity_id, codes in zip(ids, activities["public_codes"].tolist(), strict=True)
        if _is_list_of_codes(codes)
        for code in dict.fromkeys(codes)
    ]
    bulk_insert(conn, "fact_activity_public", ("activity_id", "public_code"), public_rows)


def _is_list_of_codes(codes: object) -> bool:
    """Whether ``public_codes`` holds codes: a sequence that is not a str (a tuple, usually)."""
    return type(codes) is tuple or (isinstance(codes, Sequence) and not isinstance(codes, str))


def insert_findings(conn: Connection, result: ReturnResult, submission_id: int) -> None:
    if not result.findings:
        return
    first_id = next_id(conn, schema_table("validation_failure").c.failure_id)
    columns = table_doc("validation_failure").column_names  # the DDL's columns, in its order
    rows = [
        {
            "failure_id": first_id + i,
            "submission_id": submission_id,
            "year": result.year,
            "centre_code": result.centre_code,
            "file_name": f.file_name,
            "sheet": f.sheet,
            "row_number": f.row_number,
            "cell": f.cell,
            "column_label": f.column_label,
            "field": f.field,
            "value": None if f.value is None else str(f.value),
            "rule": f.rule,
            "severity": f.severity,
            "message": f.message,
        }
        for i, f in enumerate(result.findings)
    ]
    bulk_insert(conn, "validation_failure", columns, [tuple(r[c] for c in columns) for r in rows])
