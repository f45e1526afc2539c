"""TPC-DS for the lakehouse: data generation, the 99 queries, running, verification and reports.

Modules:

- :mod:`tpcds.generate` -- create the data (Parquet) and the query texts with DuckDB's TPC-DS extension,
  run in a cached side environment with ``duckdb==1.5.5``.
- :mod:`tpcds.load` -- load the generated Parquet into lakehouse tables through a catalog (idempotent).
- :mod:`tpcds.queries` -- read the stored query texts; split multi-statement texts; qualify table names.
- :mod:`tpcds.run` -- run the queries through any engine given as a callable, with a baseline, real
  per-query timeouts, and verification; a plain-DuckDB connection over the Parquet files.
- :mod:`tpcds.verify` -- compare two result tables (multiset or ordered, type- and tolerance-aware) and
  decide from a query text whether its result order is deterministic.
- :mod:`tpcds.report` -- CSV / Markdown / chart reports and a terminal summary.
- :mod:`tpcds.cli` -- ``lakehouse tpcds generate | run | all`` (also ``python -m tpcds ...``).

Submodules are imported on demand; ``import tpcds`` itself is cheap.
"""
