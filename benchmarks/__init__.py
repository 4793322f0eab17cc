"""Performance benchmarks of the CRPV pipeline (issue 6): corpus, contenders, harness.

Run with ``python3 dev.py bench`` (or ``python -m benchmarks`` in the project's environment);
results go to ``benchmarks/RESULTS.md``. Not part of the installed package.
"""
