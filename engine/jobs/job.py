"""The job driver: pin the input, plan splits, run the map and reduce phases, commit once, clean up.

The output is committed as ONE new version of the output table, after every task has a winner. Until
then nothing is visible: a job that gives up (or whose commit fails) deletes every data file its
attempts wrote and the whole staging area, and the output table's version is unchanged.
"""

from __future__ import annotations

import datetime as dt
import pickle
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal

import pyarrow as pa

from lakehouse import CommitOutcomeUnknown, Snapshot, Table
from lakehouse.audit import audit
from lakehouse.protocol import check_writable
from lakehouse.schema import normalize_schema
from lakehouse.storage import normalize_uri
from lakehouse.write import DEFAULT_TARGET_FILE_SIZE

from ..runtime import runtime_of
from . import output as out
from .commit import cleanup, commit_output, new_location, table_exists
from .errors import JobFailed
from .executors import Executor, make_executor
from .grouping import check_aggregation
from .result import JobResult
from .scheduler import GaveUp, PhaseStats, TaskSpec, run_phase
from .splits import DEFAULT_SPLIT_SIZE, InputSpec, plan_splits, remember_snapshot
from .tasks import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAP_BUFFER,
    DEFAULT_MEMORY_LIMIT,
    AttemptResult,
    MapTask,
    ReduceTask,
    StagingSpec,
    UserFunctions,
    run_attempt,
)

Mode = Literal["overwrite", "append"]


class Job:
    """A configured MapReduce (or map-only) job; ``run()`` executes it and commits its output.

    >>> def words(batch):
    ...     w = pc.utf8_split_whitespace(batch.column("text")).flatten()
    ...     return pa.table({"word": w, "n": pa.repeat(1, len(w))})
    >>> job = db.mapreduce(input="docs.pages", map=words, key="word",
    ...                    reduce=lambda w, v: {"word": w, "n": pc.sum(v["n"]).as_py()},
    ...                    output="word_counts", executor="serial")
    >>> job.run().output_version
    1
    """

    def __init__(
        self,
        session: Any,
        *,
        input: Any,  # noqa: A002 - the public keyword
        map: Callable,  # noqa: A002
        reduce: Callable | dict[str, str] | None = None,
        key: str | Sequence[str] | None = None,
        combine: Callable | dict[str, str] | None = None,
        output: str,
        mode: Mode = "overwrite",
        num_reducers: int | None = None,
        executor: str | Executor = "local",
        max_attempts: int = 3,
        speculative: bool = True,
        input_version: int | None = None,
        columns: Sequence[str] | None = None,
        where: str | None = None,
        output_schema: pa.Schema | None = None,
        partition: Callable | None = None,
        workers: int | None = None,
        ray_address: str | None = None,
        staging: str | None = None,
        staging_options: dict | None = None,
        batch_size: int | None = DEFAULT_BATCH_SIZE,
        split_size: int = DEFAULT_SPLIT_SIZE,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        map_buffer: int = DEFAULT_MAP_BUFFER,
        progress: bool | None = None,
        map_only: bool = False,
    ):
        if mode not in ("overwrite", "append"):
            raise ValueError(f"mode must be 'overwrite' or 'append', not {mode!r}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        if num_reducers is not None and num_reducers < 1:
            raise ValueError(f"num_reducers must be at least 1, not {num_reducers}")
        if not callable(map):
            raise TypeError(f"map must be a function taking a pyarrow RecordBatch, not {type(map).__name__}")
        for what, fn in (("reduce", reduce), ("combine", combine)):
            if isinstance(fn, dict):
                check_aggregation(fn, what)
            elif fn is not None and not callable(fn):
                raise TypeError(
                    f"{what} must be a function (key, values) -> rows, or an aggregation spec such as "
                    f"{{'n': 'sum'}}, not {type(fn).__name__}"
                )
        if not output or not isinstance(output, str):
            raise ValueError("output= must name the table the job writes (e.g. 'stats.word_counts')")
        self.session = session
        self.input = input
        self.map_fn, self.reduce_fn, self.combine_fn, self.partition_fn = map, reduce, combine, partition
        if isinstance(key, str):
            key = (key,)
        self.keys: tuple[str, ...] = tuple(key) if key else (() if map_only else ("key",))
        self.output, self.mode = output, mode
        self.num_reducers, self.executor = num_reducers, executor
        self.max_attempts, self.speculative = max_attempts, speculative
        self.input_version, self.columns, self.where = input_version, columns, where
        self.output_schema = output_schema
        self.workers, self.ray_address = workers, ray_address
        self.staging, self.staging_options = staging, dict(staging_options or {})
        self.batch_size, self.split_size = batch_size, split_size
        self.memory_limit, self.map_buffer = memory_limit, map_buffer
        self.progress, self.map_only = progress, map_only
        self.id: str | None = None

    @property
    def catalog(self) -> Any:
        return self.session.catalog

    # ---------------------------------------------------------------------------------- planning

    def _resolve_input(self) -> tuple[str, Any]:
        src = self.input
        columns, where = self.columns, self.where
        if isinstance(src, str):
            name = src
            snap = self.catalog.load_table(src).snapshot(version=self.input_version)
        elif hasattr(src, "scan_spec"):  # a DataFrame: its table, pinned snapshot and pushed-down scan
            if self.input_version is not None:
                raise ValueError(
                    "input_version= cannot re-pin a DataFrame input; pin it with db.table(name, version=...)"
                )
            name, snap, df_columns, df_where = src.scan_spec()
            if not isinstance(snap, Snapshot):
                snap = self.catalog.load_table(name).snapshot(version=snap)
            columns = columns if columns is not None else df_columns
            where = (
                df_where if where is None else (where if df_where is None else f"({df_where}) AND ({where})")
            )
        elif isinstance(src, Table):
            name, snap = src.uri, src.snapshot(version=self.input_version)
        elif isinstance(src, Snapshot):
            name, snap = src.uri, src
        else:
            raise TypeError(
                f"input must be a table name, a DataFrame, a Table or a Snapshot, not {type(src).__name__}"
            )
        return name, snap.scan(columns=columns, where=where)

    def _plan_output(self) -> tuple[out.OutputSpec, Table | None]:
        cat = self.catalog
        if table_exists(cat, self.output):
            table = cat.load_table(self.output)
            snap = table.snapshot()
            check_writable(snap.protocol, snap.properties, table.uri)
            props = snap.properties
            spec = out.OutputSpec(
                name=self.output,
                uri=table.uri,
                schema=snap.schema,
                partition_by=tuple(snap.partition_columns),
                properties=dict(props),
                target_file_size=int(props.get("delta.targetFileSize", DEFAULT_TARGET_FILE_SIZE)),
                storage_options=dict(table.storage.options),
            )
            return spec, table
        location = normalize_uri(new_location(cat, self.output))
        options = dict(getattr(cat, "storage_options", {}) or {})
        if Table.exists(location, options or None):  # an orphaned table sits there: do as the catalog does
            location = f"{location}-{uuid.uuid4().hex[:8]}"
        schema = normalize_schema(self.output_schema) if self.output_schema is not None else None
        return out.OutputSpec(name=self.output, uri=location, schema=schema, storage_options=options), None

    def _staging_root(self, executor: str, output_uri: str, job_id: str) -> tuple[str, str | None]:
        """(staging URI for this job, local temp dir to remove afterwards or None)."""
        if self.staging is not None:
            return f"{normalize_uri(self.staging)}/{job_id}", None
        if executor == "ray" and self.ray_address is not None:
            return f"{output_uri}/_lakehouse_staging/{job_id}", None  # visible to every node
        tmp = tempfile.mkdtemp(prefix=f"lakehouse-{job_id}-")
        return tmp, tmp

    def _pack(self, executor: Executor) -> UserFunctions:
        fns = (self.map_fn, self.reduce_fn, self.combine_fn, self.partition_fn)
        if executor.name == "serial":
            return UserFunctions(objects=fns)
        try:
            if executor.name == "ray":
                import ray.cloudpickle as cp

                return UserFunctions(blob=cp.dumps(fns))
            try:
                import cloudpickle as cp  # lambdas and closures too, when installed
            except ImportError:
                cp = pickle
            return UserFunctions(blob=cp.dumps(fns))
        except (pickle.PicklingError, AttributeError, TypeError) as e:
            raise TypeError(
                f"the job's functions must be picklable to run on executor={executor.name!r} ({e}); define "
                f"them at the top level of a module or script (not lambdas or nested functions), or use "
                f"executor='serial'"
            ) from None

    # ---------------------------------------------------------------------------------- running

    def run(self) -> JobResult:
        """Run the job; returns a JobResult, or raises JobFailed having committed nothing."""
        t0 = time.perf_counter()
        job_id = self.id = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
        input_name, scan = self._resolve_input()
        snap = scan.snapshot
        splits = plan_splits(scan, self.split_size)
        spec, table = self._plan_output()
        kind = self.executor if isinstance(self.executor, str) else self.executor.name
        if kind != "serial":
            for what, uri in (("input table", snap.uri), ("output table", spec.uri)):
                if uri.startswith("memory://"):
                    raise ValueError(
                        f"executor={kind!r} runs tasks in other processes, which cannot see the {what} at "
                        f"{uri}; use executor='serial' for memory:// tables"
                    )
        else:
            remember_snapshot(snap)
        staging_uri, tmp_dir = self._staging_root(kind, spec.uri, job_id)
        staging = StagingSpec(staging_uri, self.staging_options)
        staging_storage = staging.storage()
        seconds = {"plan": time.perf_counter() - t0}
        attempts: list[str] = []
        committed: set[str] = set()
        executor: Executor | None = None
        owned = isinstance(self.executor, str)  # an Executor instance passed in stays open for reuse
        try:
            t_start = time.perf_counter()
            executor = make_executor(self.executor, workers=self.workers, ray_address=self.ray_address)
            seconds["start"] = time.perf_counter() - t_start  # Ray's start-up, when it starts one
            functions = self._pack(executor)
            inp = InputSpec.from_scan(input_name, scan)
            num_reducers = self.num_reducers or executor.workers
            map_tasks = [
                TaskSpec(
                    f"map task {s.index}",
                    f"{s.describe()} of {input_name}@{snap.version}",
                    MapTask(
                        index=s.index,
                        split=s,
                        input=inp,
                        functions=functions,
                        keys=self.keys,
                        num_partitions=num_reducers,
                        staging=staging,
                        output=spec if self.map_only else None,
                        batch_size=self.batch_size,
                        buffer_bytes=self.map_buffer,
                    ),
                )
                for s in splits
            ]
            try:
                map_results, map_stats = self._phase("map", map_tasks, executor, attempts)
                seconds["map"] = map_stats.seconds
                reduce_results, reduce_stats = [], PhaseStats()
                if not self.map_only:
                    reduce_tasks = self._reduce_tasks(map_results, num_reducers, functions, staging, spec)
                    reduce_results, reduce_stats = self._phase("reduce", reduce_tasks, executor, attempts)
                    seconds["reduce"] = reduce_stats.seconds
            except GaveUp as g:
                raise self._failed(job_id, g) from g.error
            finally:
                if owned:
                    executor.close()
            t_commit = time.perf_counter()
            writers = reduce_results if not self.map_only else map_results
            outputs = [r.output for r in writers if r.output is not None]
            params = {
                "jobId": job_id,
                "mode": self.mode,
                "input": input_name,
                "inputVersion": snap.version,
                "inputPredicate": scan.where,
                "numMapTasks": len(map_tasks),
                "numReduceTasks": reduce_stats.tasks,
                "executor": executor.name,
            }
            ours = {r.attempt_id for r in writers} | {"driver-conform", "driver-relocate"}
            kind = "MAP_BATCHES" if self.map_only else "MAPREDUCE"
            try:
                with audit(user=runtime_of(self.session).user, statement=kind):  # who, in commitInfo
                    version, files = commit_output(
                        self.catalog,
                        self.output,
                        self.mode,
                        spec,
                        table,
                        outputs,
                        staging_storage,
                        params,
                        read=scan if self.input_version is None else None,  # time travel reads history
                    )
            except CommitOutcomeUnknown:
                committed = ours  # the commit may have landed: its files must stay
                raise
            committed = ours
            seconds["commit"] = time.perf_counter() - t_commit
        finally:
            if executor is not None and owned:
                executor.close()  # no worker may still write when the cleanup runs
            cleanup(spec, staging_storage, committed, tmp_dir)
        staged = [s for r in map_results for s in r.staged.values()]
        return JobResult(
            job_id=job_id,
            output=self.output,
            output_version=version,
            input=input_name,
            input_version=snap.version,
            tasks=map_stats.tasks + reduce_stats.tasks,
            map_tasks=map_stats.tasks,
            reduce_tasks=reduce_stats.tasks,
            attempts=map_stats.attempts + reduce_stats.attempts,
            retries=map_stats.retries + reduce_stats.retries,
            backups_launched=map_stats.backups_launched + reduce_stats.backups_launched,
            backups_won=map_stats.backups_won + reduce_stats.backups_won,
            rows_in=sum(r.rows_in for r in map_results),
            rows_shuffled=sum(s.rows for s in staged),
            bytes_shuffled=sum(s.bytes for s in staged),
            rows_out=sum(o.rows for o in outputs),
            files_out=len(files),
            bytes_out=sum(a.size for a in files),
            bytes_spilled=sum(r.spilled_bytes for r in reduce_results),
            executor=executor.name,
            workers=executor.workers,
            seconds=seconds,
            seconds_total=time.perf_counter() - t0,
        )

    def _phase(
        self, name: str, tasks: list[TaskSpec], executor: Executor, attempts: list[str]
    ) -> tuple[list[AttemptResult], PhaseStats]:
        return run_phase(
            name,
            tasks,
            run_attempt,
            executor,
            max_attempts=self.max_attempts,
            speculative=self.speculative,
            progress=self.progress,
            attempt_log=attempts,
        )

    def _reduce_tasks(
        self,
        map_results: list[AttemptResult],
        num_reducers: int,
        functions: UserFunctions,
        staging: StagingSpec,
        spec: out.OutputSpec,
    ) -> list[TaskSpec]:
        inputs: dict[int, list[str]] = {}
        for r in map_results:  # winners only: a loser's staged files are never read
            for p, s in r.staged.items():
                inputs.setdefault(p, []).append(s.path)
        return [
            TaskSpec(
                f"reduce task {p}",
                f"partition {p} of {num_reducers} ({len(paths)} staged map output file(s))",
                ReduceTask(
                    index=p,
                    inputs=tuple(paths),
                    functions=functions,
                    keys=self.keys,
                    staging=staging,
                    output=spec,
                    memory_limit=self.memory_limit,
                ),
            )
            for p, paths in sorted(inputs.items())
        ]

    def _failed(self, job_id: str, g: GaveUp) -> JobFailed:
        e = g.error
        last = f"{type(e).__name__}: {e}"
        return JobFailed(
            f"job {job_id} failed: {g.spec.label} (input: {g.spec.input}) failed {g.attempts} attempt(s); "
            f"last error: {last}. Nothing was committed to {self.output}.",
            job_id=job_id,
            task=g.spec.label,
            split=g.spec.input,
            attempts=g.attempts,
            last_error=last,
        )

    # ---------------------------------------------------------------------------------- commit


# ------------------------------------------------------------------------------------------ public


def mapreduce(
    session: Any,
    *,
    input: Any,  # noqa: A002
    map: Callable,  # noqa: A002
    reduce: Callable | dict[str, str] | None = None,
    key: str | Sequence[str] | None = None,
    combine: Callable | dict[str, str] | None = None,
    output: str,
    mode: Mode = "overwrite",
    num_reducers: int | None = None,
    executor: str | Executor = "local",
    max_attempts: int = 3,
    speculative: bool = True,
    **options: Any,
) -> Job:
    """A MapReduce job over a table; call ``.run()`` on it (what ``db.mapreduce`` returns).

    ``map(batch: pa.RecordBatch)`` returns a pyarrow Table/RecordBatch holding the ``key`` column(s), or
    an iterable of ``(key, value)`` pairs (columns ``key`` and ``value``; ``key`` defaults to ``"key"``)
    or of row dicts. ``reduce(key, values: pa.Table)`` gets each key once (a scalar, or a tuple for
    several key columns) with the other columns of its rows, and returns a dict, a list of dicts, a
    pyarrow Table or None; ``reduce=None`` writes the rows themselves, sorted by key within each
    partition. ``combine`` has reduce's signature and runs map-side on each task's buffered output
    (possibly more than once per key); key columns it leaves out are filled in. Either may instead be
    an aggregation spec, ``{"n": "sum"}`` (value column -> Arrow hash aggregation), run vectorised
    without a Python call per key.

    Options: ``input_version``, ``columns``, ``where`` (pushed into the input scan), ``output_schema``,
    ``partition`` (``fn(keys: pa.Table, n) -> ints``; default a stable hash), ``workers``,
    ``ray_address``, ``staging`` (URI of the shuffle area), ``batch_size``, ``split_size``,
    ``memory_limit`` (per reducer, before spilling), ``progress``.

    >>> def m(batch):
    ...     w = pc.utf8_split_whitespace(batch["text"]).flatten()
    ...     return pa.table({"word": w, "n": pa.repeat(1, len(w))})
    >>> job = db.mapreduce(input="logs.pages", map=m, reduce={"n": "sum"}, key="word",
    ...                    output="word_counts", executor="serial")
    >>> job.run().rows_out
    6
    """
    return Job(
        session,
        input=input,
        map=map,
        reduce=reduce,
        key=key,
        combine=combine,
        output=output,
        mode=mode,
        num_reducers=num_reducers,
        executor=executor,
        max_attempts=max_attempts,
        speculative=speculative,
        **options,
    )


def map_batches(
    session: Any,
    input: Any,  # noqa: A002
    fn: Callable,
    *,
    output: str,
    mode: Mode = "append",
    executor: str | Executor = "local",
    **options: Any,
) -> JobResult:
    """Run ``fn(batch) -> pa.Table | RecordBatch | None`` over every batch of ``input`` and commit all
    results to ``output`` in one version (Spark's mapPartitions, Ray's map_batches). Runs immediately.

    >>> db.map_batches("logs.pages", lambda b: b.filter(pc.match_substring(b["text"], "error")),
    ...                output="logs.errors", executor="serial").rows_out
    2
    """
    return Job(
        session, input=input, map=fn, output=output, mode=mode, executor=executor, map_only=True, **options
    ).run()
