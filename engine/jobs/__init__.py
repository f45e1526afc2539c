"""Batch jobs over tables: MapReduce (map, shuffle, reduce) and map-only jobs, committed atomically.

>>> def split_words(batch):
...     w = pc.utf8_split_whitespace(batch["text"]).flatten()
...     return pa.table({"word": w, "n": pa.repeat(1, len(w))})
>>> job = db.mapreduce(input="docs.pages", map=split_words, reduce={"n": "sum"}, key="word",
...                    output="word_counts", executor="serial")
>>> job.run().rows_out
3
"""

from .errors import JobFailed
from .executors import Executor, LocalExecutor, SerialExecutor
from .job import Job, map_batches, mapreduce
from .result import JobResult
from .shuffle import hash_keys

__all__ = [
    "Executor",
    "Job",
    "JobFailed",
    "JobResult",
    "LocalExecutor",
    "SerialExecutor",
    "hash_keys",
    "map_batches",
    "mapreduce",
]
