"""A separate process for tests/engine/test_metadata_cache_s3.py: runs statements on a warehouse and
prints, as one JSON line, each statement's rows and the S3 requests each one sent (by kind).

    python metadata_child.py '{"warehouse": ..., "options": {...}, "catalog": ..., "cache_dir": ...,
                               "statements": [...], "kill_point": null}'
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter


def main() -> None:
    cfg = json.loads(sys.argv[1])
    import s3fs

    counts: Counter = Counter()
    real = s3fs.S3FileSystem._call_s3

    async def counted(self, method, *args, **kwargs):
        counts[method if isinstance(method, str) else getattr(method, "__name__", "?")] += 1
        return await real(self, method, *args, **kwargs)

    s3fs.S3FileSystem._call_s3 = counted
    import engine

    kwargs = {"catalog": cfg["catalog"]} if cfg.get("catalog") else {}
    out = []
    with engine.connect(
        cfg["warehouse"], storage_options=cfg["options"], cache_dir=cfg["cache_dir"], **kwargs
    ) as db:
        for sql in cfg["statements"]:
            if sql == "KILL_AFTER_RATIFY":  # the next statement dies between ratify and publish
                os.environ["LAKEHOUSE_KILL_POINT"] = "after-ratify"
                continue
            counts.clear()
            rows = db.sql(sql).to_arrow().to_pylist()
            out.append({"rows": rows, "requests": dict(counts)})
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
