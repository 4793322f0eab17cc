"""The synthetic demo returns of ``crpv demo``: a calibration plan in, workbooks out.

``plan`` draws every centre's activities for 2019–2021 so that the pipeline's own output
reproduces the published 2021 figures, with the mistakes people make; ``returns`` writes each
year's inbox (the mistakes planted, one centre missing, one file rejected) as centres write
them: ``centre_style`` (each centre's layout and spellings: loose labels, extra sheets) and
``workbook`` (the ``.xlsx`` itself, same seed, same bytes). Stays out: running the
pipeline (the command line runs it on what this writes).
"""

from crpv_pipeline._moved import lazy_names

__getattr__ = lazy_names(__name__, ("returns", "plan"))
