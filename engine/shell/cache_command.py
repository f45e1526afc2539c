"""``lakehouse cache info|clear``: the machine's cache of remote data files (``lakehouse.cache``)."""

from __future__ import annotations

import argparse
import json

from .cli import command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["info", "clear"], help="info: size, entries, hit rate; clear: empty it")
    p.add_argument(
        "--cache-dir",
        default=None,
        help="the cache directory (default: $LAKEHOUSE_CACHE_DIR or ~/.cache/lakehouse/data)",
    )
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def run(args: argparse.Namespace) -> int:
    from lakehouse.cache import open_data_cache

    disk = open_data_cache(args.cache_dir).disk
    if args.action == "clear":
        removed = disk.clear()
        out = {
            "directory": str(disk.root),
            "removed_entries": removed["entries"],
            "removed_bytes": removed["bytes"],
        }
        if args.json:
            print(json.dumps(out))
        else:
            print(f"cleared {disk.root}: {removed['entries']} entries, {_size(removed['bytes'])}")
        return 0
    info = disk.info()
    if args.json:
        print(json.dumps(info))
        return 0
    rate = "n/a" if info["hit_rate"] is None else f"{info['hit_rate']:.1%}"
    print(f"directory      {info['directory']}")
    print(f"size           {_size(info['bytes'])} of {_size(info['max_bytes'])}")
    print(f"entries        {info['entries']}")
    print(f"hit rate       {rate} ({info['hits']} hits, {info['misses']} misses)")
    print(f"bytes fetched  {_size(info['bytes_fetched'])}")
    return 0


run.add_arguments = add_arguments  # type: ignore[attr-defined]
command("cache", help="show (info) or empty (clear) the local cache of remote data files")(run)
