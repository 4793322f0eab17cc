"""The contract's reference data: lists, rules, deadlines and how values are written.

In: the CSV files of ``data/`` (centres, activity types, modalities, publics, themes, the columns
and Identification fields of a return, the rule ids with their French labels and messages), or
the folder named by ``CRPV_REFERENCE_DIR``; ``CRPV_DEADLINES``. Out: ``refdata.Nomenclature``
(every list, loose label matching, the version digest recorded with each load), the deadline of
each year (``deadlines``), the parsing of cells and the French formatting of numbers
(``parsing``). Stays out: workbooks, the warehouse, Dagster; nothing here imports another stage.
"""
