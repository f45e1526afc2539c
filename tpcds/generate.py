"""Generate TPC-DS data as Parquet files, plus the 99 query texts.

The project runs on DuckDB 2.0, but the TPC-DS generator (``dsdgen``) and the query texts come from the
PyPI package ``duckdb-extension-tpcds==1.5.5``, whose extension only loads into ``duckdb==1.5.5``.  So the
generation runs in a separate, cached *generator virtual environment* that this module creates on first
use (:func:`ensure_generator_env`), executing the standalone script ``tpcds/_gen_worker.py`` with that
environment's Python.  The project's own interpreter never imports the old DuckDB.

Layout written by :func:`generate_parquet` into ``out_dir``::

    <table>/part-<i>.parquet   one directory per table (24 tables), zstd, 122,880-row row groups,
                               split into several files only beyond ``max_file_bytes``
    queries.json               {"1": "<sql>", ..., "99": "<sql>"}
    _tpcds.json                completion marker, written last: sf, generator, row counts, files

Cache location: ``$LAKEHOUSE_CACHE`` if set, else ``~/.cache/lakehouse``.

Command line: ``python -m tpcds.generate --sf 0.1 --out ./tpcds-sf0.1 [--generator tpcgen]``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from tpcds.queries import QUERIES_FILE, load_queries

__all__ = [
    "TABLES",
    "MARKER_FILE",
    "cache_dir",
    "ensure_generator_env",
    "generate_parquet",
    "load_queries",
    "read_marker",
    "table_paths",
]

TABLES = (
    "call_center",
    "catalog_page",
    "catalog_returns",
    "catalog_sales",
    "customer",
    "customer_address",
    "customer_demographics",
    "date_dim",
    "household_demographics",
    "income_band",
    "inventory",
    "item",
    "promotion",
    "reason",
    "ship_mode",
    "store",
    "store_returns",
    "store_sales",
    "time_dim",
    "warehouse",
    "web_page",
    "web_returns",
    "web_sales",
    "web_site",
)
"""The 24 TPC-DS tables (``dbgen_version`` is not generated)."""

MARKER_FILE = "_tpcds.json"
GENERATOR_REQUIREMENTS = ("duckdb==1.5.5", "duckdb-extension-tpcds==1.5.5")
TPCGEN_REQUIREMENT = "tpcgen-cli==4.0.0"
_READY = ".lakehouse-ready.json"
_TPCGEN_READY = ".lakehouse-tpcgen-ready.json"
_FORMAT_VERSION = 1

Progress = Callable[[str], None]


def cache_dir() -> Path:
    """Root of the lakehouse cache: ``$LAKEHOUSE_CACHE`` or ``~/.cache/lakehouse``."""
    env = os.environ.get("LAKEHOUSE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lakehouse"


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive inter-process lock on ``path`` (created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: list[str], what: str, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + "\n" + proc.stderr).strip().splitlines()[-30:])
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")


def _is_ready(marker: Path, requirements: list[str]) -> bool:
    try:
        return json.loads(marker.read_text())["requirements"] == requirements
    except (OSError, ValueError, KeyError, TypeError):
        return False


def ensure_venv(name: str, requirements: Sequence[str], check: str, progress: Progress = print) -> Path:
    """Create (once) and return the cached virtual environment ``cache_dir() / name`` holding
    ``requirements``; ``check`` is Python code run in it that must succeed before it counts as ready.

    A marker file listing the requirements is written only after the install and the check succeeded,
    so a half-built environment (interrupted pip, missing wheel) is detected and rebuilt from scratch on
    the next call.  Concurrent callers are serialised with a file lock.  Idempotent and cheap once built.
    """
    venv = cache_dir() / name
    marker = venv / _READY
    reqs = list(requirements)
    t0 = time.perf_counter()
    with _file_lock(venv.with_name(venv.name + ".lock")):
        if not _is_ready(marker, reqs):
            if venv.exists():
                progress(f"removing incomplete environment {venv}")
                shutil.rmtree(venv)
            progress(f"creating environment {venv} (one time)")
            _run([sys.executable, "-m", "venv", str(venv)], "python -m venv")
            py = str(_venv_python(venv))
            _run([py, "-m", "pip", "install", "--quiet", *reqs], "pip install " + " ".join(reqs))
            _run([py, "-I", "-c", check], f"{name} environment check")
            marker.write_text(json.dumps({"requirements": reqs, "created": time.time()}))
            progress(f"environment {name} ready in {time.perf_counter() - t0:.1f} s")
    return venv


def ensure_generator_env(progress: Progress = print, *, with_tpcgen: bool = False) -> Path:
    """Create (once) and return the cached generator virtual environment (``ensure_venv``).

    It lives in ``cache_dir() / "tpcds-gen-venv"`` and holds ``duckdb==1.5.5`` and
    ``duckdb-extension-tpcds==1.5.5`` (plus ``tpcgen-cli`` when ``with_tpcgen``).
    """
    check = "import duckdb, duckdb_extension_tpcds; assert duckdb.__version__ == '1.5.5', duckdb.__version__"
    venv = ensure_venv("tpcds-gen-venv", GENERATOR_REQUIREMENTS, check, progress)
    t0 = time.perf_counter()
    with _file_lock(venv.with_name(venv.name + ".lock")):
        if with_tpcgen and not _is_ready(venv / _TPCGEN_READY, [TPCGEN_REQUIREMENT]):
            progress(f"installing {TPCGEN_REQUIREMENT} into {venv}")
            _run(
                [str(_venv_python(venv)), "-m", "pip", "install", "--quiet", TPCGEN_REQUIREMENT],
                "pip install",
            )
            if not (venv / "bin" / "tpcgen-cli").exists():
                raise RuntimeError(f"{TPCGEN_REQUIREMENT} installed no bin/tpcgen-cli in {venv}")
            (venv / _TPCGEN_READY).write_text(json.dumps({"requirements": [TPCGEN_REQUIREMENT]}))
            progress(f"tpcgen-cli ready in {time.perf_counter() - t0:.1f} s")
    return venv


def read_marker(out_dir: str | Path) -> dict | None:
    """The completion marker of a generated directory, or ``None`` if generation never completed there."""
    try:
        return json.loads((Path(out_dir) / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None


def table_paths(out_dir: str | Path) -> dict[str, Path]:
    """``{table: directory of its Parquet files}`` for a completely generated ``out_dir``."""
    marker = read_marker(out_dir)
    if marker is None:
        raise FileNotFoundError(f"{out_dir} holds no complete TPC-DS data set ({MARKER_FILE} missing)")
    return {name: Path(out_dir) / name for name in marker["tables"]}


def _is_complete(out_dir: Path, marker: dict) -> bool:
    return (out_dir / QUERIES_FILE).exists() and all(
        (out_dir / name / f).exists() for name, info in marker["tables"].items() for f in info["files"]
    )


def generate_parquet(
    sf: float,
    out_dir: str | Path,
    progress: Progress = print,
    *,
    generator: str = "duckdb",
    row_group_size: int = 122_880,
    max_file_bytes: int = 128 * 2**20,
    overwrite: bool = False,
    threads: int | None = None,
) -> dict[str, Path]:
    """Generate TPC-DS at scale factor ``sf`` into ``out_dir`` and return ``{table: Parquet directory}``.

    ``row_group_size`` is in rows (DuckDB rounds it up to a multiple of 2,048; the default 122,880 is one
    DuckDB row group); ``max_file_bytes`` splits big tables into several files.

    ``generator="duckdb"`` (default) runs DuckDB's ``dsdgen`` (fractional scale factors such as 0.01 work).
    ``generator="tpcgen"`` runs the much faster Rust ``tpcgen-cli`` and rewrites its output to the same
    schema (dsdgen's column names and types); its data differs from dsdgen's (other random streams).

    Idempotent: if ``out_dir`` already holds a complete data set for the same ``sf`` and generator, nothing
    is done (the row-group and file-size settings are not compared).  A complete data set for a *different*
    ``sf``/generator raises ``FileExistsError`` unless ``overwrite``.  Concurrent calls for the same
    directory are serialised with a lock file.  Files are first written to a hidden staging directory
    inside ``out_dir`` and moved into place; the marker ``_tpcds.json`` is written last, so an interrupted
    run is simply redone.
    """
    sf = float(sf)
    if sf < 0:
        raise ValueError(f"scale factor must not be negative, got {sf}")
    if generator not in ("duckdb", "tpcgen"):
        raise ValueError(f"generator must be 'duckdb' or 'tpcgen', not {generator!r}")
    out_dir = Path(out_dir).resolve()
    t0 = time.perf_counter()

    def step(msg: str) -> None:
        progress(f"[{time.perf_counter() - t0:6.1f}s] {msg}")

    if _already_there(out_dir, sf, generator, overwrite, step):
        return table_paths(out_dir)
    venv = ensure_generator_env(step, with_tpcgen=generator == "tpcgen")
    out_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(out_dir / ".tpcds.lock"):  # a concurrent call for the same directory waits, then skips
        if _already_there(out_dir, sf, generator, overwrite, step):
            return table_paths(out_dir)
        _generate_locked(sf, out_dir, venv, generator, row_group_size, max_file_bytes, threads, step, t0)
    step(f"TPC-DS sf={sf:g} complete in {out_dir}")
    return table_paths(out_dir)


def _already_there(out_dir: Path, sf: float, generator: str, overwrite: bool, step: Progress) -> bool:
    """True if ``out_dir`` is complete for this sf/generator; raise if complete for another one."""
    marker = read_marker(out_dir)
    if marker is None or not _is_complete(out_dir, marker):
        return False
    if marker.get("sf") == sf and marker.get("generator") == generator:
        step(f"{out_dir} already holds TPC-DS sf={sf:g} ({generator}); nothing to do")
        return True
    if not overwrite:
        raise FileExistsError(
            f"{out_dir} holds TPC-DS sf={marker.get('sf')} ({marker.get('generator')}), not sf={sf:g} "
            f"({generator}); pass overwrite=True or choose another directory"
        )
    return False


def _generate_locked(
    sf: float,
    out_dir: Path,
    venv: Path,
    generator: str,
    row_group_size: int,
    max_file_bytes: int,
    threads: int | None,
    step: Progress,
    t0: float,
) -> None:
    """Generate into a staging directory inside ``out_dir``, move the results in, write the marker."""
    (out_dir / MARKER_FILE).unlink(missing_ok=True)
    for leftover in out_dir.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    staging = out_dir / f".staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        args = {
            "sf": sf,
            "out": str(staging),
            "row_group_size": int(row_group_size),
            "max_file_bytes": int(max_file_bytes),
            "generator": generator,
            "tpcgen_dir": None,
            # dsdgen materialises all tables before we copy them out: beyond ~SF 3 spill to a file.
            "database": str(staging / "gen.duckdb") if sf > 3 else ":memory:",
            "threads": threads,
        }
        if generator == "tpcgen":
            raw = staging / "tpcgen-raw"
            step(f"running tpcgen-cli sf={sf:g}")
            _run(
                [
                    str(venv / "bin" / "tpcgen-cli"),
                    "tpcds",
                    "parquet",
                    "-s",
                    f"{sf:g}",
                    "--output-dir",
                    str(raw),
                ],
                "tpcgen-cli",
            )
            step("tpcgen-cli done")
            args["tpcgen_dir"] = str(raw)
        done = _run_worker(venv, args, step)
        if generator == "tpcgen":
            shutil.rmtree(staging / "tpcgen-raw", ignore_errors=True)
        (staging / "gen.duckdb").unlink(missing_ok=True)
        missing = set(TABLES) - set(done["tables"])
        if missing:
            raise RuntimeError(f"generator produced no {sorted(missing)}")
        for name in done["tables"]:
            target = out_dir / name
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging / name, target)
        os.replace(staging / QUERIES_FILE, out_dir / QUERIES_FILE)
        marker = {
            "format_version": _FORMAT_VERSION,
            "sf": sf,
            "generator": generator,
            "generator_duckdb": done["duckdb"],
            "row_group_size": int(row_group_size),
            "tables": done["tables"],
            "queries": done["queries"],
            "seconds": round(time.perf_counter() - t0, 3),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        tmp_marker = out_dir / (MARKER_FILE + ".tmp")
        tmp_marker.write_text(json.dumps(marker, indent=1))
        os.replace(tmp_marker, out_dir / MARKER_FILE)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run_worker(venv: Path, args: dict, step: Progress) -> dict:
    """Run ``_gen_worker.py`` with the generator interpreter, relaying its progress; return its result."""
    script = Path(__file__).with_name("_gen_worker.py")
    cmd = [str(_venv_python(venv)), "-I", str(script), json.dumps(args)]
    result = None
    other: list[str] = []
    with tempfile.TemporaryFile("w+") as err:  # a file, not a pipe: a chatty stderr cannot block the worker
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                other.append(line.rstrip())
                continue
            if msg.get("event") == "step":
                step(msg["msg"])
            elif msg.get("event") == "done":
                result = msg
        proc.wait()
        err.seek(0)
        stderr = err.read()
    if proc.returncode != 0 or result is None:
        tail = "\n".join((other + stderr.strip().splitlines())[-30:])
        raise RuntimeError(f"TPC-DS generator failed (exit {proc.returncode}):\n{tail}")
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m tpcds.generate --sf SF --out DIR [--generator duckdb|tpcgen] [--overwrite]``."""
    parser = argparse.ArgumentParser(prog="python -m tpcds.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--sf", type=float, required=True, help="scale factor, e.g. 0.1 or 1")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--generator", choices=("duckdb", "tpcgen"), default="duckdb")
    parser.add_argument("--overwrite", action="store_true", help="replace data of another sf/generator")
    ns = parser.parse_args(argv)
    paths = generate_parquet(ns.sf, ns.out, generator=ns.generator, overwrite=ns.overwrite)
    print(f"{len(paths)} tables and {len(load_queries(ns.out))} queries in {ns.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
