"""Batch jobs over tables: MapReduce (map, shuffle, reduce) and map-only jobs, committed atomically.

>>> job = db.mapreduce(input="docs.pages", map=split_words, reduce=count, key="word",   # doctest: +SKIP
...                    output="stats.word_counts")
>>> result = job.run()                                                                 # doctest: +SKIP
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
