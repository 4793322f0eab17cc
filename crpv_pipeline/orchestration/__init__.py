"""Orchestration: the only Dagster wing. Plain functions of the other stages in, assets out.

``definitions`` is the code location (``workspace.yaml``, ``[tool.dg]``); ``assets`` and
``asset_metadata`` are the assets of one year's partition and what they show; ``asset_specs``
what the UI says of every asset besides (owners, the personal-data tag, code version, table
names, the BI views, the bilan's freshness policy); ``checks`` the asset checks; ``resources``
carries the inbox, the warehouse (the engine of a step) and the output folder; ``sensors``
watches the inbox and the bilans' deadlines; ``runs`` materialises a year in process for
``crpv run``. Stays out: any rule, SQL or wording, which live in ``intake``, ``warehouse`` and
``outputs``; nothing outside this package imports Dagster or this package
(``crpv_pipeline_tests/cross_cutting/test_layout.py`` checks it).
"""
