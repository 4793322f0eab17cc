"""The warehouse, SQL only: validated returns in, tables out, on SQLite or PostgreSQL alike.

In: ``model.ReturnResult`` and the reference lists. ``engine`` opens the warehouse (URL, write
lock, transactions, ``retries``, the year lock of ``locks``); ``schema`` brings it to the newest
schema revision (``migrate`` runs the Alembic revisions of ``migrations``) with the dimensions
and the BI views (``bi``); ``dictionary`` reads the table list and its documentation from
``sql/`` (``dictionary_page`` writes it as Markdown); ``loading`` writes a return in one
transaction (``bulk``, ``resubmission``, ``holding``); ``incremental`` recognises returns
already recorded; ``audit`` writes ``load_run``; ``derive`` rebuilds a year's derived tables;
``reconciliation`` checks them; ``tables`` reads tables back. Out: tables and DataFrames.
Stays out: reading workbooks (``intake``), files for people (``outputs``), Dagster.

The names of the former ``crpv_pipeline.warehouse`` module stay reachable here (lazily), so that
code and pickles written before the layout redesign still find them.
"""

from crpv_pipeline._moved import lazy_names

__getattr__ = lazy_names(
    __name__,
    ("engine", "schema", "derive", "tables", "catalogue", "dictionary", "crpv_pipeline.settings"),
)
