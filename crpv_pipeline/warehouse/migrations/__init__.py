"""The revisions of the warehouse schema, applied by Alembic: one file per change, in order.

In: a warehouse at some revision (recorded in its table ``crpv_schema_version``), or made before
versioning (``migrate`` recognises it and stamps it), or empty. Out: the warehouse at the newest
revision, every row kept; the warehouse holds history the inbox does not (superseded
submissions, their diffs, the audit of runs), so it is upgraded, never rebuilt. Stays out:
running them (``migrate`` builds the Alembic ``Config`` in code, ``schema.ensure_schema`` and
``crpv upgrade`` call it under the write lock), dimensions and BI views (recreated after every
upgrade by ``schema``), downgrades (none).

``versions/0001_release_1.py`` is the schema of release 1 (frozen DDL); each later file is one
change, ``NNNN_what_changes.py`` with ``revision = "NNNN"`` and ``down_revision`` the one before.

To change the schema:

1. Edit ``sql/schema/`` (the readable statement of the current schema, whose comments feed
   ``docs/data_dictionary.md`` and PostgreSQL's comments); a new column goes at the end of its
   table, where ``ADD COLUMN`` puts it. Regenerate the dictionary
   (``python -m crpv_pipeline.warehouse.dictionary_page``).
2. Write ``versions/NNNN_….py``: the same change as ``op`` operations, keeping every row (add
   nullable columns, or fill them before making them NOT NULL; widen checks). SQLite cannot
   alter a column or a constraint: use ``op.batch_alter_table`` (it rebuilds the table; give
   its CHECK constraints again in ``table_args``, SQLite's are unnamed). On PostgreSQL a BI
   view reading a column whose type changes must be dropped first (it is recreated after).
   Copy the DDL into the revision: never read ``sql/`` from it (``sql/`` keeps changing).
3. Run ``crpv_pipeline_tests/warehouse/test_migrations.py``: it fails until a database
   migrated from empty and one created from ``sql/schema`` have the same tables, columns,
   keys, indexes and checks, on SQLite and PostgreSQL, and it upgrades release 1's warehouses.
"""
