"""Byte-range GETs against object storage: length-checked, retried with backoff, hedged.

- A GET can come back short with no error: every answer's length is checked against what was asked,
  and a short or cut-off body is fetched again.
- 503 Slow Down, timeouts and dropped connections are retried with exponential backoff and jitter, the
  whole request bounded by ``max_seconds``; then ``StorageUnavailable`` names the object, the range, the
  attempts and the last error.
- Hedging ("The Tail at Scale", CACM 2013): when a request has not answered after the p95 latency seen
  so far for requests of its size (never less than ``hedge_floor``), a second identical request is sent;
  the first answer wins and the other is cancelled. Hedges are capped at ``hedge_budget`` (5%) of
  requests, so a store that is slow for everyone is not sent twice the load.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..errors import StorageUnavailable

HEDGE_FLOOR = 0.1  # seconds: never hedge a request younger than this
HEDGE_BUDGET = 0.05  # extra requests, as a fraction of requests sent
MAX_SECONDS = 60.0  # one range's total time over every retry
CONCURRENCY = 16  # range requests in flight per fetch_many
# What a GET costs before any were measured: a near object store (the local S3 server measures 5-15 ms
# per request up to 1 MiB and 250-600 MB/s beyond; S3 from EC2 30-50 ms and 80-100 MB/s per stream).
DEFAULT_LATENCY = 0.015  # seconds per request
DEFAULT_BANDWIDTH = 200e6  # bytes per second of one request


class ObjectSizeMismatch(OSError):
    """The object is smaller than the bytes asked of it: it is not the file the Delta log describes
    (damaged or replaced). Not transient: never retried."""

    def __init__(self, path: str, size: int, wanted_end: int):
        super().__init__(
            f"{path} is {size} bytes but bytes up to {wanted_end} were expected (the size the Delta log "
            f"records): the object was damaged or replaced"
        )
        self.path, self.size, self.wanted_end = path, size, wanted_end


@dataclass
class FetchStats:
    requests: int = 0
    hedges: int = 0
    hedge_wins: int = 0
    retries: int = 0
    bytes: int = 0


class _Latencies:
    """Recent request latencies per size class (powers of 4 of the length); p95 per class."""

    def __init__(self, keep: int = 512):
        self.keep = keep
        self.samples: dict[int, list[float]] = {}
        self.large: deque[tuple[int, float]] = deque(maxlen=64)  # (length, seconds) of GETs >= 1 MiB
        self.lock = threading.Lock()

    @staticmethod
    def _cls(length: int) -> int:
        return max(0, (max(length, 1).bit_length() - 1) // 2)

    def add(self, length: int, seconds: float) -> None:
        with self.lock:
            s = self.samples.setdefault(self._cls(length), [])
            bisect.insort(s, seconds)
            if len(s) > self.keep:
                s.pop(random.randrange(len(s)))
            if length >= 1 << 20:
                self.large.append((length, seconds))

    def cost(self) -> tuple[float, float]:
        """(seconds per request, bytes per second) from the GETs seen: the median latency of requests
        under 256 KiB, and the median rate of requests of 1 MiB or more beyond that latency."""
        with self.lock:
            small = [x for c, s in self.samples.items() if c <= 8 for x in s]
            large = list(self.large)
        latency = statistics.median(small) if len(small) >= 5 else DEFAULT_LATENCY
        rates = [n / (t - latency) for n, t in large if t > latency]
        return latency, (statistics.median(rates) if len(rates) >= 3 else DEFAULT_BANDWIDTH)

    def p95(self, length: int) -> float | None:
        with self.lock:
            s = self.samples.get(self._cls(length))
            if not s or len(s) < 20:
                return None
            return s[min(len(s) - 1, int(len(s) * 0.95))]


@dataclass
class RangeFetcher:
    """GETs byte ranges of objects of one fsspec filesystem (async s3fs natively, others in threads).

    >>> f = RangeFetcher(fs)                                  # doctest: +SKIP
    >>> f.fetch("bucket/t/part-0.parquet", 0, 1024)           # doctest: +SKIP
    """

    fs: object
    hedge: bool = True
    hedge_floor: float = HEDGE_FLOOR
    hedge_budget: float = HEDGE_BUDGET
    max_seconds: float = MAX_SECONDS
    attempts: int = 5
    stats: FetchStats = field(default_factory=FetchStats)
    latencies: _Latencies = field(default_factory=_Latencies)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._async = bool(getattr(self.fs, "async_impl", False)) and hasattr(self.fs, "_cat_file")

    # ------------------------------------------------------------------------------ public

    def fetch(self, path: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of ``path`` (exactly ``end - start`` of them, or an error)."""
        out: list[bytes] = []
        self.fetch_many([(path, start, end)], lambda _i, data: out.append(data))
        return out[0]

    def fetch_many(
        self,
        requests: Sequence[tuple[str, int, int]],
        done: Callable[[int, bytes], None],
        concurrency: int = CONCURRENCY,
    ) -> None:
        """Fetch every ``(path, start, end)`` concurrently; ``done(i, data)`` is called (in a worker
        thread) as each completes, so a large scan never holds every file in memory at once."""
        if not requests:
            return
        if self._async:
            from fsspec.asyn import sync

            sync(self.fs.loop, self._run_all, list(requests), done, concurrency)
            return
        from concurrent.futures import ThreadPoolExecutor

        def one(i: int) -> None:
            path, start, end = requests[i]
            done(i, self._retrying_sync(path, start, end))

        with ThreadPoolExecutor(min(concurrency, len(requests))) as pool:
            for f in [pool.submit(one, i) for i in range(len(requests))]:
                f.result()

    def cost(self) -> tuple[float, float]:
        """(seconds per request, bytes per second) measured on this store so far (defaults before)."""
        return self.latencies.cost()

    # ------------------------------------------------------------------------------ async path

    async def _run_all(self, requests, done, concurrency) -> None:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            path, start, end = requests[i]
            async with sem:
                data = await self._retrying(path, start, end)
            await asyncio.to_thread(done, i, data)

        tasks = [asyncio.ensure_future(one(i)) for i in range(len(requests))]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()

    async def _get(self, path: str, start: int, end: int) -> bytes:
        t0 = time.monotonic()
        data = await self.fs._cat_file(path, start=start, end=end)
        if len(data) != end - start:  # a GET can come back short with no error ...
            size = int((await asyncio.to_thread(self.fs.info, path))["size"])
            if size < end:  # ... or the object is not the one the log describes
                raise ObjectSizeMismatch(path, size, end)
            raise ConnectionError(f"short read: got {len(data)} of {end - start} bytes")
        self.latencies.add(end - start, time.monotonic() - t0)
        return data

    def _may_hedge(self) -> bool:
        with self._lock:
            if self.stats.hedges + 1 > self.hedge_budget * self.stats.requests + 1:
                return False
            self.stats.hedges += 1
            self.stats.requests += 1
            return True

    async def _hedged(self, path: str, start: int, end: int) -> bytes:
        with self._lock:
            self.stats.requests += 1
        first = asyncio.ensure_future(self._get(path, start, end))
        if not self.hedge:
            return await first
        # Until requests of this size have a p95, assume a slow-ish link (50 MB/s): a large first GET is
        # not a straggler just because it takes longer than a small one.
        p95 = self.latencies.p95(end - start)
        delay = max(self.hedge_floor, p95 if p95 is not None else self.hedge_floor + (end - start) / 50e6)
        done, _ = await asyncio.wait({first}, timeout=delay)
        if done or not self._may_hedge():
            return await first
        second = asyncio.ensure_future(self._get(path, start, end))
        pending = {first, second}
        error: BaseException | None = None
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    if t.exception() is None:
                        if t is second:
                            with self._lock:
                                self.stats.hedge_wins += 1
                        return t.result()
                    error = t.exception()
            assert error is not None
            raise error
        finally:
            for t in pending:
                t.cancel()

    async def _retrying(self, path: str, start: int, end: int) -> bytes:
        deadline = time.monotonic() + self.max_seconds
        for attempt in range(self.attempts):
            try:
                data = await self._hedged(path, start, end)
                with self._lock:
                    self.stats.bytes += len(data)
                return data
            except Exception as e:
                wait = self._backoff(path, start, end, attempt, e, deadline)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------------------ sync path

    def _retrying_sync(self, path: str, start: int, end: int) -> bytes:
        deadline = time.monotonic() + self.max_seconds
        for attempt in range(self.attempts):
            try:
                with self._lock:
                    self.stats.requests += 1
                t0 = time.monotonic()
                data = self.fs.cat_file(path, start=start, end=end)
                if len(data) != end - start:
                    size = int(self.fs.info(path)["size"])
                    if size < end:
                        raise ObjectSizeMismatch(path, size, end)
                    raise ConnectionError(f"short read: got {len(data)} of {end - start} bytes")
                self.latencies.add(end - start, time.monotonic() - t0)
                with self._lock:
                    self.stats.bytes += len(data)
                return data
            except Exception as e:
                time.sleep(self._backoff(path, start, end, attempt, e, deadline))
        raise AssertionError("unreachable")

    def _backoff(self, path: str, start: int, end: int, attempt: int, e: Exception, deadline: float) -> float:
        """Seconds to wait before the next attempt; raises when ``e`` is final or time or attempts ran out."""
        from ..storage.s3 import is_transient

        short = isinstance(e, ConnectionError) and "short read" in str(e)
        final = isinstance(e, FileNotFoundError | ObjectSizeMismatch)
        if final or not (short or is_transient(e) or _is_slow_down(e)):
            raise e
        wait = min(2.0, 0.05 * 2**attempt) * (0.5 + random.random())
        if attempt + 1 >= self.attempts or time.monotonic() + wait > deadline:
            raise StorageUnavailable(
                f"GET of bytes {start}-{end - 1} of {path} failed after {attempt + 1} attempts "
                f"({self.max_seconds:g} s at most): the storage kept answering {type(e).__name__}: {e} "
                f"(503 Slow Down, timeouts, dropped connections or short bodies). Nothing is wrong with "
                f"the request; retry when the store recovers",
                operation="GET of",
                path=path,
                attempts=attempt + 1,
            ) from e
        with self._lock:
            self.stats.retries += 1
        return wait


def _is_slow_down(e: BaseException) -> bool:
    text = f"{type(e).__name__} {e}"
    return "SlowDown" in text or "503" in text or "Service Unavailable" in text or "Please reduce" in text
