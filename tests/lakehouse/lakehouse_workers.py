"""Writer processes for the concurrency and crash tests (run as ``python lakehouse_workers.py ...``).

append URI WORKER COUNT [OPTIONS_JSON]   COUNT appends of one row (worker, seq); prints "done"
crash-loop URI [OPTIONS_JSON]            append/overwrite forever, one batch per version (killed by the test)
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402

from lakehouse import Table  # noqa: E402

CRASH_SCHEMA = pa.schema([("tag", pa.int64()), ("i", pa.int64()), ("payload", pa.string())])


def crash_batch(tag: int) -> pa.Table:
    """The rows committed as version ``tag``: 1-7 rows, all tagged with the version."""
    n = 1 + tag % 7
    return pa.table(
        {"tag": [tag] * n, "i": list(range(n)), "payload": [f"{tag}-{i}" * 20 for i in range(n)]},
        schema=CRASH_SCHEMA,
    )


def is_overwrite(tag: int) -> bool:
    return tag % 5 == 0


def expected_crash_rows(version: int) -> list[tuple[int, int]]:
    """(tag, i) pairs of the crash table at ``version``: batches since the last overwrite."""
    start = max([t for t in range(1, version + 1) if is_overwrite(t)], default=1)
    return sorted((t, i) for t in range(start, version + 1) for i in range(1 + t % 7))


def append_loop(uri: str, worker: int, count: int, options: dict | None) -> None:
    table = Table.open(uri, storage_options=options)
    for seq in range(count):
        table.append(
            pa.table(
                {"worker": [worker], "seq": [seq]},
                schema=pa.schema([("worker", pa.int64()), ("seq", pa.int64())]),
            )
        )
    print("done", flush=True)


def crash_loop(uri: str, options: dict | None, ready=lambda: print("ready", flush=True)) -> None:
    table = Table.open(uri, storage_options=options)
    scratch = Table.create(f"memory://crash-warmup-{uuid.uuid4().hex}", CRASH_SCHEMA)
    scratch.append(crash_batch(1))  # lazy imports happen before "ready"
    scratch.overwrite(crash_batch(2))
    table.snapshot().scan().count()
    ready()
    while True:
        tag = table.version + 1  # the only writer: the next commit lands exactly there
        data = crash_batch(tag)
        version = table.overwrite(data) if is_overwrite(tag) else table.append(data)
        assert version == tag, (version, tag)


def main(argv: list[str]) -> int:
    cmd = argv[0]
    if cmd == "append":
        opts = json.loads(argv[4]) if len(argv) > 4 else None
        append_loop(argv[1], int(argv[2]), int(argv[3]), opts)
    elif cmd == "crash-loop":
        opts = json.loads(argv[2]) if len(argv) > 2 else None
        crash_loop(argv[1], opts)
    else:
        raise SystemExit(f"unknown command {cmd!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
