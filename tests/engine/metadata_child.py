"""A separate process for tests/engine/test_metadata_cache_s3.py: runs statements on a warehouse and
prints, as one JSON line, each statement's rows and the S3 requests each one sent (by kind).

    python metadata_child.py '{"warehouse": ..., "options": {...}, "catalog": ..., "cache_dir": ...,
                               "statements": [...], "kill_point": null}'
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> None:
    cfg = json.loads(sys.argv[1])
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "benchmarks"))
    from s3_bench import count_requests  # counts S3 requests by kind (patches s3fs)

    counts = count_requests()
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
