"""Outputs: what people receive, written from validated returns or from the warehouse.

In: ``model.ReturnResult`` (correction workbooks) and warehouse tables (the bilan, the stewards'
overview, the printed summary). Out: files written atomically (``atomic``): the correction
workbooks (``corrections``, named by ``correction_names``), the stewards' overview
(``steward_overview``), the return template (``template``), the national bilan (``report/``) and
the summary printed by ``crpv run`` and ``crpv demo`` (``summary``). Stays out: validating
(``intake``), SQL beyond reading tables (``warehouse``), Dagster.
"""
