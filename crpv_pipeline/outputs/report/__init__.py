"""The national bilan (``crpv report``, asset ``bilan_report``): warehouse in, HTML and .xlsx out.

``build`` reads the warehouse into a ``bilan.Bilan``; ``tables`` and ``annex`` lay out its tables;
``coverage`` says in French what a figure covers (« 14 centres sur 16 », « non renseigné »);
``charts`` draws them (matplotlib, imported only when a report is written); ``html`` and ``xlsx``
write the page and the workbook. Stays out: computing what the warehouse derives.
"""
