"""Helpers for the catalog tests: one warehouse environment per (backend, storage) pair."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from catalog import Catalog, load_catalog
from lakehouse.storage import open_storage

SCHEMA = pa.schema([("id", pa.int64()), ("region", pa.string())])


def rows(n: int, start: int = 0) -> pa.Table:
    return pa.table(
        {"id": list(range(start, start + n)), "region": ["eu", "us"] * (n // 2) + ["eu"] * (n % 2)}
    )


@dataclass
class CatalogEnv:
    """A warehouse ``<base>/wh`` on one storage, with room for tables outside it under ``<base>/ext``."""

    backend: str  # "sqlite" | "postgres" | "path"
    storage: str  # "local" | "memory" | "s3"
    base: str
    storage_options: dict | None
    db: str | None  # the SQLite file (kept outside the warehouse), or the Postgres URL

    @property
    def warehouse(self) -> str:
        return f"{self.base}/wh"

    @property
    def uri(self) -> str:
        if self.backend == "postgres":
            return self.db
        return f"sqlite:///{self.db}" if self.backend == "sqlite" else self.warehouse

    def open(self) -> Catalog:
        """A fresh catalog object on the same database/warehouse (as another program would open it)."""
        if self.backend != "path":
            return load_catalog(self.uri, warehouse=self.warehouse, storage_options=self.storage_options)
        return load_catalog(self.uri, storage_options=self.storage_options)

    def managed_location(self, namespace: str, table: str) -> str:
        """A regex for where a catalog creates ``namespace.table``: the name itself in the path catalog,
        a fresh ``<table>-<id>`` directory per incarnation in the SQLite catalog."""
        base = re.escape(f"{self.warehouse}/{namespace}/{table}")
        return base if self.backend == "path" else base + "-[0-9a-f]{16}"

    def external(self, name: str) -> str:
        return f"{self.base}/ext/{name}"

    def files(self) -> list[str]:
        """Every object under the base (warehouse and outside), relative paths; the SQLite file excluded."""
        return [f.path for f in open_storage(self.base, self.storage_options).walk()]

    def exists(self, location: str) -> bool:
        """True if any object lies under ``location``."""
        return bool(open_storage(location, self.storage_options).walk())


def make_env(
    backend: str, storage: str, tmp_path: Path, s3_options: dict | None = None, pg_server=None
) -> CatalogEnv:
    tag = uuid.uuid4().hex[:12]
    db = str(tmp_path / "db" / "catalog.db") if backend == "sqlite" else None
    if backend == "postgres":
        db = pg_server.catalog_url(f"cat_{tag}")
    if storage == "local":
        base = str(tmp_path / "lake")
        os.makedirs(base, exist_ok=True)
        return CatalogEnv(backend, storage, base, None, db)
    if storage == "memory":
        return CatalogEnv(backend, storage, f"memory://cat-{tag}", None, db)
    return CatalogEnv(backend, storage, f"s3://lake/cat-{tag}", s3_options, db)


def delta_rs_options(storage_options: dict | None) -> dict | None:
    """deltalake (object_store) options equivalent to our s3fs options."""
    if not storage_options:
        return None
    return {
        "AWS_ENDPOINT_URL": storage_options["endpoint_url"],
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": storage_options["key"],
        "AWS_SECRET_ACCESS_KEY": storage_options["secret"],
        "AWS_REGION": (storage_options.get("client_kwargs") or {}).get("region_name", "us-east-1"),
    }


def read_with_deltalake(uri: str, storage_options: dict | None) -> pa.Table:
    """The table as delta-rs reads it (explicit pyarrow filesystem: deltalake's default one can leave
    threads that abort the interpreter at exit)."""
    import deltalake
    import pyarrow.fs as pafs

    dt = deltalake.DeltaTable(uri, storage_options=delta_rs_options(storage_options))
    if uri.startswith("s3://"):
        scheme, host = storage_options["endpoint_url"].split("://", 1)
        fs = pafs.S3FileSystem(
            access_key=storage_options["key"],
            secret_key=storage_options["secret"],
            endpoint_override=host,
            scheme=scheme,
            region=(storage_options.get("client_kwargs") or {}).get("region_name", "us-east-1"),
        )
        return dt.to_pyarrow_table(filesystem=pafs.SubTreeFileSystem(uri[len("s3://") :], fs))
    return dt.to_pyarrow_table(filesystem=pafs.SubTreeFileSystem(uri, pafs.LocalFileSystem()))
