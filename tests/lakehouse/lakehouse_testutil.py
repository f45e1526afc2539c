"""Helpers shared by the table-format tests: canonical row lists, outside readers (delta-rs, Polars)."""

from __future__ import annotations

import json
import math
from typing import Any

import pyarrow as pa

from lakehouse import Table


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def canon(rows: list[dict], key: str | None = "id") -> list[dict]:
    """Rows in a deterministic order (by ``key`` when given, else by their JSON text)."""
    if key is not None:
        return sorted(rows, key=lambda r: (r[key] is None, r[key]))
    return sorted(rows, key=_key)


def rows_of(data: pa.Table | Any, key: str | None = "id") -> list[dict]:
    if not isinstance(data, pa.Table):
        data = pa.table(data)
    return canon(data.to_pylist(), key)


def version_rows(table: Table, version: int, key: str | None = "id") -> list[dict]:
    return rows_of(table.snapshot(version=version).scan().to_arrow(), key)


def same_floats(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


# ----------------------------------------------------------------------------------- outside readers


def delta_rs_options(storage_options: dict | None) -> dict | None:
    """deltalake (object_store) options equivalent to our s3fs options; None for local paths."""
    if not storage_options:
        return None
    region = (storage_options.get("client_kwargs") or {}).get("region_name", "us-east-1")
    return {
        "AWS_ENDPOINT_URL": storage_options["endpoint_url"],
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": storage_options["key"],
        "AWS_SECRET_ACCESS_KEY": storage_options["secret"],
        "AWS_REGION": region,
        # SeaweedFS supports If-None-Match: * so delta-rs can commit without a lock table.
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
        "conditional_put": "etag",
    }


def _pyarrow_fs(uri: str, storage_options: dict | None):
    """An explicit pyarrow filesystem rooted at the table.

    deltalake's default filesystem handler for ``to_pyarrow_table`` leaves threads behind that make the
    interpreter abort ("terminate called without an active exception") at exit now and then.
    """
    import pyarrow.fs as pafs

    if uri.startswith("s3://"):
        region = (storage_options.get("client_kwargs") or {}).get("region_name", "us-east-1")
        endpoint = storage_options["endpoint_url"]
        scheme, host = endpoint.split("://", 1)
        fs = pafs.S3FileSystem(
            access_key=storage_options["key"],
            secret_key=storage_options["secret"],
            endpoint_override=host,
            scheme=scheme,
            region=region,
        )
        return pafs.SubTreeFileSystem(uri[len("s3://") :], fs)
    return pafs.SubTreeFileSystem(uri, pafs.LocalFileSystem())


def read_deltalake(uri: str, storage_options: dict | None, version: int | None = None) -> pa.Table:
    """The table at ``version`` as delta-rs reads it."""
    import deltalake

    dt = deltalake.DeltaTable(uri, version=version, storage_options=delta_rs_options(storage_options))
    return dt.to_pyarrow_table(filesystem=_pyarrow_fs(uri, storage_options))


def read_polars(uri: str, storage_options: dict | None, version: int | None = None) -> pa.Table:
    import polars as pl

    return (
        pl.scan_delta(uri, version=version, storage_options=delta_rs_options(storage_options))
        .collect()
        .to_arrow()
    )


def normalise(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast an outside reader's result to our schema (large strings, ns timestamps, column order)."""
    return table.select(schema.names).cast(schema)
