"""JobResult: what a finished job did."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class JobResult:
    """What a finished job did.

    ``tasks``/``attempts``: task and attempt counts over both phases (attempts > tasks after retries
    or backups); ``retries``: attempts re-run after a failure or a lost worker; ``backups_launched``/
    ``backups_won``: speculative duplicates of stragglers and how many finished first;
    ``rows_shuffled``/``bytes_shuffled``: rows and bytes of the staged map output (after combining);
    ``seconds``: wall time per phase (plan, start, map, reduce, commit); ``seconds_total``: all of it.
    """

    job_id: str
    output: str
    output_version: int
    input: str
    input_version: int
    tasks: int
    map_tasks: int
    reduce_tasks: int
    attempts: int
    retries: int
    backups_launched: int
    backups_won: int
    rows_in: int
    rows_shuffled: int
    bytes_shuffled: int
    rows_out: int
    files_out: int
    bytes_out: int
    bytes_spilled: int
    executor: str
    workers: int
    seconds: dict[str, float] = field(default_factory=dict)
    seconds_total: float = 0.0

    def __str__(self) -> str:
        phases = ", ".join(f"{k} {v:.2f}s" for k, v in self.seconds.items())
        return (
            f"job {self.job_id}: {self.input}@{self.input_version} -> {self.output}@{self.output_version}; "
            f"{self.map_tasks} map + {self.reduce_tasks} reduce tasks, {self.attempts} attempts "
            f"({self.retries} retries, {self.backups_won}/{self.backups_launched} backups won); "
            f"{self.rows_in} rows in, {self.rows_shuffled} shuffled ({self.bytes_shuffled} bytes), "
            f"{self.rows_out} out in {self.files_out} files; {phases}; total {self.seconds_total:.2f}s"
        )
