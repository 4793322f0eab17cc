"""CRPV pipeline: the yearly activity returns of France's resource centres for urban policy.

The package implements version 1.1 of the external contract (``CONTRACT_VERSION``: version 1 and
the additions listed in ``docs/contract_additions.md``, nothing removed or renamed): it reads the
centres' workbooks, validates them, loads them into a SQL warehouse and derives the national
bilan. The data flows through subpackages named for their stage, each saying in its docstring
what comes in, what goes out and what stays out:

``reference`` (the contract's lists and rules) → ``intake`` (an inbox file → a validated return,
no database) → ``warehouse`` (SQL only) → ``outputs`` (what people receive); ``year`` runs one
year with them as plain functions; ``orchestration`` is the only Dagster wing (``definitions`` is
its entry point); ``demo`` writes the synthetic returns. Beside them: ``cli`` (the ``crpv``
command), ``settings`` (every ``CRPV_*`` variable), ``model`` (the vocabulary passed between the
stages), ``atomic`` (every file written) and ``testpoints`` (the fault tests' pause points).
Module paths from before this layout stay importable (``_moved``).
"""

from crpv_pipeline import _moved

CONTRACT_VERSION = "1.1"
__version__ = "0.1.0"

_moved.install()
