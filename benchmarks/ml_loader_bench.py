"""ML loader throughput: our torch loader against raw pyarrow.dataset reads (the limit) and Ray Data.

python benchmarks/ml_loader_bench.py [--dir DIR] [--rows 5000000] [--features 16] [--batch-size 1024]

One run measures every case on the same table (5M rows x 16 float32 features + an int64 label by
default, written once under DIR): each case runs in a fresh Python process, so the reported peak RSS
(VmHWM) of that process and of every process it started is the case's own. Cases:

- limit: one process, ``pyarrow.dataset`` record batches -> numpy [n, F] -> torch, cut into batches
- ours: ``engine.ml.to_torch(...).loader(num_workers=0 | 2)``, shuffle off / on (10k-row buffer)
- ours, plain DataLoader(ds, batch_size=None, num_workers=2), shuffle on: batches cross processes
- ray: ``ray.data.read_parquet(...).iter_torch_batches`` when Ray is installed

Each case runs ``--repeat`` times (round robin over the cases; best figure kept, worst RSS), which
keeps a shared, busy machine from deciding the comparison. Reported: rows/s over the whole epoch (from having the snapshot / file list: planning, worker start and
Ray's planning included; Ray's cluster start is not), ratio to the limit, time to the first batch (from
the same point), peak RSS of the largest process and of all processes together.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FEATURES = [f"f{i}" for i in range(16)]


def make_table(uri: str, rows: int, features: int) -> None:
    import numpy as np
    import pyarrow as pa

    from lakehouse import Table
    from lakehouse.errors import TableNotFound

    try:
        t = Table.open(uri)
        if t.snapshot().scan().count() == rows:
            return
        raise SystemExit(f"{uri} holds another table; pass an empty --dir")
    except TableNotFound:
        pass
    schema = pa.schema(
        [("id", pa.int64()), *[(f"f{i}", pa.float32()) for i in range(features)], ("y", pa.int64())]
    )
    t = Table.create(uri, schema)
    rng = np.random.default_rng(0)
    chunk = 250_000  # one data file per append: ~16-20 files, two row groups each
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        cols = {"id": np.arange(start, start + n)}
        for i in range(features):
            cols[f"f{i}"] = rng.standard_normal(n, dtype=np.float32)
        cols["y"] = (cols["f0"] > 0).astype(np.int64)
        t.append(pa.table(cols, schema=schema))


# -- measuring ---------------------------------------------------------------------------------------
def _status(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        import psutil

        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except ImportError:
        pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    kids = [int(x) for x in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            continue
    return out


class PeakRss:
    """Peak RSS (VmHWM) of this process and of every child seen while it runs."""

    def __init__(self) -> None:
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for pid in _children(os.getpid()):
                hwm = _status(pid, "VmHWM")
                if hwm:
                    self.peaks[pid] = max(self.peaks.get(pid, 0), hwm)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peaks[os.getpid()] = _status(os.getpid(), "VmHWM")


def consume(batches, started: float, expected_batch: int) -> tuple[int, float]:
    rows, first = 0, None
    for b in batches:
        x = b[0] if isinstance(b, (tuple, list)) else b
        if first is None:
            first = time.perf_counter() - started
        assert x.shape[0] <= expected_batch
        rows += x.shape[0]
    return rows, first or 0.0


def case_limit(uri: str, batch_size: int) -> tuple[int, float]:
    import numpy as np
    import pyarrow.dataset as pds
    import torch

    from lakehouse import Table

    files = [f.uri for f in Table.open(uri).snapshot().files]
    started = time.perf_counter()

    def batches():
        for rb in pds.dataset(files, format="parquet").to_batches(columns=[*FEATURES, "y"]):
            x = torch.from_numpy(np.column_stack([rb.column(i).to_numpy() for i in range(len(FEATURES))]))
            y = torch.from_numpy(rb.column(len(FEATURES)).to_numpy())
            for i in range(0, rb.num_rows, batch_size):
                yield x[i : i + batch_size], y[i : i + batch_size]

    return consume(batches(), started, batch_size)


def case_ours(uri: str, batch_size: int, workers: int, shuffle: bool, plain: bool) -> tuple[int, float]:
    import torch

    from engine.ml import to_torch
    from lakehouse import Table

    snap = Table.open(uri).snapshot()
    started = time.perf_counter()
    ds = to_torch(
        snap, features="f*", label="y", batch_size=batch_size, shuffle=shuffle, shuffle_buffer=10_000
    )
    if plain:
        loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers)
    else:
        loader = ds.loader(num_workers=workers)
    return consume(loader, started, batch_size)


def case_ray(uri: str, batch_size: int) -> tuple[int, float]:
    import ray

    from lakehouse import Table

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        files = [f.uri for f in Table.open(uri).snapshot().files]
        started = time.perf_counter()
        ds = ray.data.read_parquet(files, columns=[*FEATURES, "y"])

        def batches():
            for b in ds.iter_torch_batches(batch_size=batch_size):
                yield torch_stack(b)

        def torch_stack(b):
            import torch

            return torch.stack([b[f] for f in FEATURES], dim=1), b["y"]

        return consume(batches(), started, batch_size)
    finally:
        ray.shutdown()


CASES = {
    "limit: pyarrow.dataset -> torch, 1 process": ("limit", {}),
    "ours: 0 workers, shuffle off": ("ours", {"workers": 0, "shuffle": False, "plain": False}),
    "ours: 0 workers, shuffle on (10k)": ("ours", {"workers": 0, "shuffle": True, "plain": False}),
    "ours: 2 workers, shuffle off": ("ours", {"workers": 2, "shuffle": False, "plain": False}),
    "ours: 2 workers, shuffle on (10k)": ("ours", {"workers": 2, "shuffle": True, "plain": False}),
    "plain DataLoader(ds), 2 workers, shuffle on": ("ours", {"workers": 2, "shuffle": True, "plain": True}),
    "ray.data iter_torch_batches": ("ray", {}),
}


def run_case(name: str, uri: str, batch_size: int) -> dict:
    kind, kwargs = CASES[name]
    with PeakRss() as rss:
        t0 = time.perf_counter()
        if kind == "limit":
            rows, first = case_limit(uri, batch_size)
        elif kind == "ours":
            rows, first = case_ours(uri, batch_size, **kwargs)
        else:
            rows, first = case_ray(uri, batch_size)
        seconds = time.perf_counter() - t0
    peaks = list(rss.peaks.values())
    return {
        "case": name,
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "first_batch_s": first,
        "max_rss_mb": max(peaks) / 2**20,
        "total_rss_mb": sum(peaks) / 2**20,
        "processes": len(peaks),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=None, help="where the table lives (kept between runs)")
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--features", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3, help="runs per case, best reported (Ray: one run)")
    ap.add_argument("--case", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    FEATURES[:] = [f"f{i}" for i in range(args.features)]
    base = Path(args.dir or Path(tempfile.gettempdir()) / "lakehouse-ml-bench")
    uri = str(base / f"train_{args.rows}x{args.features}")
    if args.case:  # a child run: one case, JSON on the last line
        print(json.dumps(run_case(args.case, uri, args.batch_size)))
        return
    t0 = time.perf_counter()
    make_table(uri, args.rows, args.features)
    print(
        f"table {uri}: {args.rows:,} rows x {args.features} float32 features + label ({time.perf_counter() - t0:.1f} s)"
    )
    try:
        import ray  # noqa: F401

        have_ray = True
    except ImportError:
        have_ray = False
    runs: dict[str, list[dict]] = {}
    for rep in range(args.repeat):  # round robin, so that a burst of load on the machine hits every case
        for name, (kind, _) in CASES.items():
            if kind == "ray" and (not have_ray or rep > 0):  # Ray is slow to start: one run
                if not have_ray and rep == 0:
                    print(f"{name}: skipped (ray is not installed)")
                continue
            cmd = [sys.executable, __file__, "--case", name, "--dir", str(base), "--rows", str(args.rows)]
            cmd += ["--features", str(args.features), "--batch-size", str(args.batch_size)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{name}: FAILED\n{proc.stderr[-3000:]}")
                continue
            runs.setdefault(name, []).append(json.loads(proc.stdout.strip().splitlines()[-1]))
    results = []
    for rs in runs.values():  # best of the repeats for speed and latency; worst for memory
        best = max(rs, key=lambda r: r["rows_per_s"])
        best["first_batch_s"] = min(r["first_batch_s"] for r in rs)
        best["max_rss_mb"] = max(r["max_rss_mb"] for r in rs)
        best["total_rss_mb"] = max(r["total_rss_mb"] for r in rs)
        best["runs"] = len(rs)
        results.append(best)
    limit = next((r["rows_per_s"] for r in results if r["case"].startswith("limit")), None)
    print(f"\n{'case':46} {'rows/s':>11} {'x limit':>8} {'1st batch':>10} {'max RSS':>9} {'all RSS':>9}")
    for r in results:
        ratio = f"{r['rows_per_s'] / limit:.2f}" if limit else "-"
        print(
            f"{r['case']:46} {r['rows_per_s'] / 1e6:>9.2f} M {ratio:>8} {r['first_batch_s']:>8.3f} s "
            f"{r['max_rss_mb']:>6.0f} MB {r['total_rss_mb']:>6.0f} MB  "
            f"({r['processes']} proc, {r['rows']:,} rows, best of {r['runs']})"
        )


if __name__ == "__main__":
    main()
