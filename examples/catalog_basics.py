"""Catalog basics: namespaces, named tables, rename, drop, register, and the path catalog view.

python examples/catalog_basics.py [WAREHOUSE_DIR]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pyarrow as pa

from catalog import load_catalog
from lakehouse import Table
from lakehouse.errors import TableNotFound


def main(warehouse: str = "./warehouse") -> None:
    root = Path(warehouse) / "catalog_basics"
    shutil.rmtree(root, ignore_errors=True)  # the demo starts from scratch each run
    wh = root / "wh"

    # The embedded default: a SQLite file next to the tables it names.
    cat = load_catalog(f"sqlite:///{wh}/catalog.db", warehouse=str(wh))
    cat.create_namespace("sales", {"owner": "analytics"})
    schema = pa.schema([("id", pa.int64()), ("region", pa.string()), ("amount", pa.float64())])
    orders = cat.create_table("sales.orders", schema, partition_by=["region"])
    orders.append(pa.table({"id": [1, 2, 3], "region": ["eu", "us", "eu"], "amount": [9.5, 20.0, 3.25]}))
    cat.create_table("events", pa.schema([("ts", pa.timestamp("us", tz="UTC"))]))  # namespace main
    print("namespaces:", cat.list_namespaces())
    print("tables:", cat.list_tables())
    print("sales.orders lives at", cat.table_location("sales.orders"))

    # Names are case-insensitive; unknown names suggest close matches.
    print("rows:", cat.load_table("SALES.Orders").snapshot().scan().count())
    try:
        cat.load_table("sales.ordres")
    except TableNotFound as e:
        print("error:", e)

    # Rename is a metadata change: the files stay where they are.
    cat.rename_table("sales.orders", "sales.orders_2026")
    print("after rename:", cat.list_tables("sales"), "at", cat.table_location("sales.orders_2026"))

    # Adopt a Delta table written elsewhere, without copying it.
    external = root / "elsewhere" / "clicks"
    Table.create(str(external), pa.schema([("url", pa.string())])).append(pa.table({"url": ["/a", "/b"]}))
    clicks = cat.register_table("clicks", str(external))
    print("registered clicks:", clicks.snapshot().scan().count(), "rows at", cat.table_location("clicks"))

    # Drop without purge forgets the name and keeps the files; purge deletes them too.
    cat.drop_table("clicks")
    print("clicks dropped; files still there:", Table.exists(str(external)))
    cat.drop_table("events", purge=True)

    # A dropped name is free at once: every table the SQLite catalog creates gets its own directory
    # (<namespace>/<table>-<id>), so nothing left of the old table can block or leak into the new one.
    cat.create_table("events", pa.schema([("id", pa.int64())]))
    print("events re-created at", cat.table_location("events"))

    # The path catalog (no database) finds tables at <namespace>/<table>: a directory is a name.
    path_view = load_catalog(str(root / "plain"))
    Table.create(str(root / "plain" / "main" / "logs"), pa.schema([("line", pa.string())]))
    print("path catalog sees:", path_view.list_tables())
    print("done")


if __name__ == "__main__":
    main(*sys.argv[1:])
