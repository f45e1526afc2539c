"""Fixtures for the TPC-DS tests: small generated data sets, shared by the whole session.

Generation uses the cached generator environment (``$LAKEHOUSE_CACHE`` or ``~/.cache/lakehouse``); the
first run creates it with pip, which takes a few seconds more.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tpcds_sf01(tmp_path_factory):
    """TPC-DS at SF 0.1 (about 26 MB; most queries return rows at this size)."""
    from tpcds.generate import generate_parquet

    out = tmp_path_factory.mktemp("tpcds") / "sf0.1"
    generate_parquet(0.1, out, progress=lambda msg: None)
    return out
