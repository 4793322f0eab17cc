"""One year as plain functions: an inbox folder in, loaded returns and files for people out.

What the Dagster assets, ``crpv run``, the tests and the benchmarks call stage by stage, without
Dagster: ``validate`` reads the returns (those known by SHA-256 are taken as recorded), by
worker processes when there is enough to read (``workers``: the pool, its fork server and read
budget); ``load`` loads each validated return while the next ones are read; ``outputs`` writes the
correction workbooks and the stewards' overview. Stays out: the rules of a file (``intake``),
SQL (``warehouse``), what a file for people holds (``outputs``), Dagster (``orchestration``).
"""
