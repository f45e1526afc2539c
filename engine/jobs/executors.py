"""Executors run task attempts: ``serial`` (in the driver), ``local`` (a process pool), ``ray``.

The interface they implement, ``Executor``, is in ``executor``.

The stdlib process pool dies whole when one worker dies (``BrokenProcessPool`` for every running
attempt). The local executor then works out which attempt's worker died -- each attempt leaves a pid
file while it runs, and a worker killed from outside exits with another code than the SIGTERM the
pool sends the survivors -- charges that attempt with the failure, re-creates the pool, and reports the
other attempts as collateral (re-run without counting against ``max_attempts``).
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import shutil
import signal
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .errors import WorkerLost
from .executor import Executor


class SerialExecutor(Executor):
    """Runs every attempt in the driver, one at a time (debugging, memory:// tables, tiny inputs)."""

    name = "serial"
    parallel = False

    def submit(self, attempt_id: str, fn: Callable, task: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(attempt_id, task))
        except Exception as e:  # a task failure, reported like any other executor's
            fut.set_exception(e)
        return fut


def _run_with_pid(pid_dir: str, attempt_id: str, fn: Callable, task: Any) -> Any:
    marker = os.path.join(pid_dir, attempt_id)
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    try:
        return fn(attempt_id, task)
    finally:
        os.unlink(marker)


class LocalExecutor(Executor):
    """A stdlib process pool (forkserver: workers never inherit the driver's DuckDB connections)."""

    name = "local"

    def __init__(self, workers: int | None = None, *, start_method: str = "forkserver"):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            # Imported once in the fork server, so a (replacement) worker starts in milliseconds. pandas:
            # pyarrow imports it lazily on some conversions (0.3 s per fresh worker otherwise).
            # pyarrow, numpy, duckdb: ``import lakehouse`` no longer loads them, and every task needs them.
            preload = ["__main__", "engine.jobs.tasks", "numpy", "pyarrow", "pyarrow.parquet", "duckdb"]
            if importlib.util.find_spec("pandas") is not None:
                preload.append("pandas")
            self._ctx.set_forkserver_preload(preload)
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0
        self._procs: dict[int, multiprocessing.Process] = {}
        self._pid_dir = tempfile.mkdtemp(prefix="lakehouse-job-")
        self._attempt_generation: dict[str, int] = {}
        self._verdicts: dict[int, dict[str, WorkerLost]] = {}
        self._killed: set[int] = set()

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=self._ctx)
        return self._pool

    def submit(self, attempt_id: str, fn: Callable, task: Any) -> Future:
        for _ in range(2):
            pool = self._ensure_pool()
            try:
                fut = pool.submit(_run_with_pid, self._pid_dir, attempt_id, fn, task)
            except BrokenProcessPool:  # broke since the last look: settle it, then use a fresh pool
                self._settle(self._generation)
                continue
            self._procs.update(getattr(pool, "_processes", None) or {})
            self._attempt_generation[attempt_id] = self._generation
            return fut
        raise RuntimeError("could not start a worker process pool")

    def failure(self, attempt_id: str, exc: BaseException) -> BaseException:
        if not isinstance(exc, BrokenProcessPool):
            return exc
        generation = self._attempt_generation.get(attempt_id, self._generation)
        if generation == self._generation and generation not in self._verdicts:
            self._settle(generation)
        verdict = self._verdicts.get(generation, {}).get(attempt_id)
        return verdict or WorkerLost(
            "its worker pool was restarted before the attempt started", charged=False
        )

    def _running(self) -> dict[str, int]:
        """attempt id -> pid of the attempts whose pid file exists (started, not finished)."""
        out = {}
        for name in os.listdir(self._pid_dir):
            try:
                with open(os.path.join(self._pid_dir, name)) as f:
                    out[name] = int(f.read() or 0)
            except (OSError, ValueError):
                continue
        return out

    def _settle(self, generation: int) -> None:
        """The pool broke (or we killed it): decide who is to blame, then drop the pool."""
        pool = self._pool
        for p in self._procs.values():
            p.join(timeout=30)
        codes = {pid: p.exitcode for pid, p in self._procs.items()}
        running = self._running()
        culprits = {
            a
            for a, pid in running.items()
            if pid not in self._killed and codes.get(pid) not in (None, -signal.SIGTERM)
        }
        if not culprits and not (self._killed & set(running.values())):
            culprits = set(running)  # cannot tell which one died: charge them all
        verdicts = {}
        for a, pid in running.items():
            code = codes.get(pid)
            if a in culprits:
                how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                verdicts[a] = WorkerLost(f"its worker process (pid {pid}) died ({how})", charged=True)
            else:
                verdicts[a] = WorkerLost("its worker was stopped when another worker died", charged=False)
            os.unlink(os.path.join(self._pid_dir, a))
        self._verdicts[generation] = verdicts
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None
        self._procs = {}
        self._killed = set()
        self._generation += 1

    def cancel(self, attempt_ids: list[str]) -> None:
        """Kill the pool's workers (the losers cannot be told apart from idle ones reliably)."""
        if self._pool is None or not attempt_ids:
            return
        for pid, p in list(self._procs.items()):
            if p.is_alive():
                self._killed.add(pid)
                try:
                    os.kill(pid, signal.SIGKILL)  # our own worker, by pid
                except ProcessLookupError:
                    pass
        self._settle(self._generation)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        shutil.rmtree(self._pid_dir, ignore_errors=True)


def make_executor(
    executor: str | Executor, *, workers: int | None = None, ray_address: str | None = None
) -> Executor:
    """An executor by name: ``"local"`` (default), ``"serial"`` or ``"ray"``; instances pass through."""
    if isinstance(executor, Executor):
        return executor
    if executor == "local":
        return LocalExecutor(workers)
    if executor == "serial":
        return SerialExecutor()
    if executor == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(workers, address=ray_address)
    raise ValueError(f"unknown executor {executor!r}: use 'local', 'serial' or 'ray'")
