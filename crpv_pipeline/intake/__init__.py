"""Intake: a file of the inbox in, a validated return (``model.ReturnResult``) out; no database.

In: ``<inbox>/<year>/`` (listed by ``inbox``, watched for changes by ``arrivals``) and the
reference lists. Each file goes through the guards before any parsing (``file_guards``,
``file_kinds``), is read with its cells' places (``reading``, ``cell_problems``,
``control_characters``), normalised value by value (``normalisation``) and validated row by row
(``validation``, with the file-level checks of ``file_checks``: which centre and year it is
for); ``cross_file`` rejects two files for one centre. Out: ``ReturnResult`` with its typed
activities and French findings. Stays out: SQL (``warehouse``), files for people (``outputs``),
Dagster (``orchestration``).
"""
