"""The Ray executor: the same task code on a Ray cluster (``pip install 'lakehouse[ray]'``).

Without ``address`` it starts a private local Ray instance (``address="local"``, loopback only, no
dashboard) and shuts it down when the job ends; with ``address`` it connects to that cluster and only
disconnects. A Ray that is already initialised in this process is used as is and left running. The
driver's ``sys.path`` travels to the workers (``PYTHONPATH`` in the runtime environment), so map and
reduce functions from the user's own modules and scripts resolve there. Ray's own task retries are
off: the job's scheduler does the retries, so it can count them and give up cleanly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .errors import WorkerLost
from .executor import Executor


def _import_ray():
    # Keep a local cluster on loopback (a fact measured here; the default may advertise other interfaces).
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ImportError(
            "executor='ray' needs Ray: pip install 'lakehouse[ray]' (or 'ray[default]')"
        ) from None
    return ray


def driver_path() -> str:
    return os.pathsep.join(os.path.abspath(p) if p else os.getcwd() for p in sys.path)


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, workers: int | None = None, *, address: str | None = None):
        ray = _import_ray()
        self._ray = ray
        self._owned = False
        if not ray.is_initialized():
            runtime_env = {"env_vars": {"PYTHONPATH": driver_path()}}
            if address is None:
                ray.init(
                    address="local",
                    num_cpus=workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    runtime_env=runtime_env,
                    log_to_driver=False,
                )
            else:
                ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
            self._owned = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, min(workers, cpus) if workers else cpus)
        from .tasks import run_attempt

        self._remote = ray.remote(num_cpus=1, max_retries=0, retry_exceptions=False)(run_attempt)
        self._refs: dict[str, Any] = {}

    def submit(self, attempt_id: str, fn: Callable, task: Any) -> Future:
        ref = self._remote.remote(attempt_id, task)
        self._refs[attempt_id] = ref
        return ref.future()

    def finished(self, attempt_id: str) -> None:
        self._refs.pop(attempt_id, None)

    def failure(self, attempt_id: str, exc: BaseException) -> BaseException:
        self._refs.pop(attempt_id, None)
        rex = self._ray.exceptions
        if isinstance(exc, rex.TaskCancelledError):
            return WorkerLost("the attempt was cancelled", charged=False)
        lost = tuple(
            getattr(rex, n)
            for n in ("WorkerCrashedError", "NodeDiedError", "OutOfMemoryError", "LocalRayletDiedError")
            if hasattr(rex, n)
        )
        if isinstance(exc, lost):
            return WorkerLost(f"its Ray worker died ({type(exc).__name__}: {str(exc).strip()[:300]})")
        if isinstance(exc, rex.RayTaskError):
            cause = getattr(exc, "cause", None)
            return cause if isinstance(cause, BaseException) else exc
        return exc

    def cancel(self, attempt_ids: list[str]) -> None:
        refs = [self._refs.pop(a) for a in attempt_ids if a in self._refs]
        for ref in refs:
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # already finished or gone
                pass
        if refs:
            self._ray.wait(refs, num_returns=len(refs), timeout=60)

    def close(self) -> None:
        self._refs.clear()
        if self._owned:
            self._ray.shutdown()
            self._owned = False
