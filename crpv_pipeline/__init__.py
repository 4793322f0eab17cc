"""CRPV pipeline: the yearly activity returns of France's resource centres for urban policy.

The package implements version 1 of the external contract (``CONTRACT_VERSION``): it reads the
centres' workbooks, validates them, loads them into a SQL warehouse and derives the national
bilan. Domain modules never import Dagster; ``definitions`` is the only Dagster entry point.
"""

CONTRACT_VERSION = "1"
__version__ = "0.1.0"
