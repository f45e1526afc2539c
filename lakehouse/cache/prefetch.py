"""Fetch what a query will read, all at once, before the engine starts reading.

Once a query's files are known (pruning done), ``prefetch`` sends every GET they need with up to
``fetch.CONCURRENCY`` in flight, instead of the one-at-a-time reads of a Parquet reader that asks for a
footer, then a column chunk, then the next: on an object store each request costs a round trip
(``RangeFetcher.cost()`` measures it), so their latencies overlap instead of adding up.

Per file, whole or ranges:

- cached whole already: nothing to do;
- at most ``DataCache.whole_file_below`` bytes, every column needed, or ranges not allowed: the whole file;
- otherwise its footer first (the last ``FOOTER_TAIL`` bytes, one round of GETs for all such files), then
  the column chunks of the needed columns in every row group, chunks closer than ``COALESCE_GAP`` joined
  into one GET. The whole file instead when that costs no more time — one GET of ``size`` bytes against
  the range GETs (``concurrency`` in flight) of the needed bytes, at the measured latency and bandwidth —
  or when at least ``WHOLE_FRACTION`` of its bytes are needed anyway (later queries then read it locally).

Range entries are found by containment (``DataCache.read_range`` assembles a read from several), so the
Parquet reader's own reads are served from them whatever the boundaries it picks. Everything here is an
optimisation: a file it could not prefetch is fetched by the reader as before, errors included.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .fetch import CONCURRENCY
from .files import DataCache, remote_name
from .store import entry_key

FOOTER_TAIL = 64 << 10  # bytes read from the end of a file for its footer (most footers are smaller)
COALESCE_GAP = 64 << 10  # column chunks closer than this are fetched by one GET (less than a round trip)
WHOLE_FRACTION = 0.5  # a file of which this fraction is needed is fetched whole


@dataclass
class PrefetchFile:
    """One file a query reads: ``path`` on the filesystem, ``size`` from the log, ``columns`` the top-level
    physical columns needed (None: all of them)."""

    path: str
    size: int
    columns: frozenset[str] | None = None


@dataclass
class PrefetchReport:
    whole: int = 0  # files fetched whole
    ranged: int = 0  # files fetched by column chunks
    requests: int = 0  # GETs sent


def prefetch(
    cache: DataCache,
    fs: object,
    files: Iterable[PrefetchFile],
    *,
    ranges: bool = True,
    concurrency: int = CONCURRENCY,
) -> PrefetchReport:
    """Fetch into ``cache`` what reading ``files`` needs (see the module docs); returns what it did."""
    report = PrefetchReport()
    whole: list[PrefetchFile] = []
    footers: list[PrefetchFile] = []
    seen: set[str] = set()
    for f in files:
        if f.path in seen:
            continue
        seen.add(f.path)
        remote = remote_name(fs, f.path)
        if cache.disk.path(entry_key(remote, f.size)).exists():
            continue
        if not ranges or f.size <= cache.whole_file_below or f.columns is None:
            whole.append(f)
        else:
            footers.append(f)
    fetcher = cache.fetcher(fs)
    with ThreadPoolExecutor(2) as pool:
        # Whole files start now, in the background, while the footers, then the column chunks are read.
        pending = [pool.submit(_fetch_whole, cache, fs, whole)] if whole else []
        try:
            tails = []
            for f in footers:
                begin = max(0, f.size - FOOTER_TAIL)
                remote = remote_name(fs, f.path)
                tails += [(f, s, e) for s, e in cache.missing(remote, f.size, begin, f.size)]
            _fetch_ranges(cache, fs, tails, concurrency)
            latency, bandwidth = fetcher.cost()
            chunks: list[tuple[PrefetchFile, int, int]] = []
            later: list[PrefetchFile] = []
            for f in footers:
                wanted = _needed_ranges(cache, fs, f)
                if wanted is None:  # not a Parquet footer we can read: the reader will manage
                    continue
                needed = sum(e - s for s, e in wanted)
                whole_cost = latency + f.size / bandwidth
                range_cost = math.ceil(len(wanted) / concurrency) * latency + needed / bandwidth
                if needed >= WHOLE_FRACTION * f.size or whole_cost <= range_cost:
                    later.append(f)
                    continue
                remote = remote_name(fs, f.path)
                for s, e in wanted:
                    chunks += [(f, a, b) for a, b in cache.missing(remote, f.size, s, e)]
                report.ranged += 1
            if later:
                pending.append(pool.submit(_fetch_whole, cache, fs, later))
            _fetch_ranges(cache, fs, chunks, concurrency)
            report.whole = len(whole) + len(later)
            report.requests = len(tails) + len(chunks) + report.whole
        finally:
            for p in pending:
                p.result()  # waits; raises what the fetch raised
    return report


def _needed_ranges(cache: DataCache, fs: object, f: PrefetchFile) -> list[tuple[int, int]] | None:
    """The byte ranges of the needed columns' chunks in every row group, near ones joined; None if the
    footer cannot be read."""
    import pyarrow.parquet as pq

    try:
        with cache.open(fs, f.path, f.size) as handle:
            md = pq.read_metadata(handle)
    except Exception:  # damaged, or not Parquet: reading it reports it properly
        return None
    spans = []
    for r in range(md.num_row_groups):
        rg = md.row_group(r)
        for c in range(rg.num_columns):
            col = rg.column(c)
            if f.columns is not None and col.path_in_schema.split(".", 1)[0] not in f.columns:
                continue
            first = col.data_page_offset
            if col.has_dictionary_page and col.dictionary_page_offset:
                first = min(first, col.dictionary_page_offset)
            spans.append((first, min(f.size, first + col.total_compressed_size)))
    spans.sort()
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and s - out[-1][1] <= COALESCE_GAP:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _fetch_whole(cache: DataCache, fs: object, files: Sequence[PrefetchFile]) -> None:
    def done(i: int, data: bytes) -> None:
        f = files[i]
        cache.disk.fill(entry_key(remote_name(fs, f.path), f.size), f.size, lambda out: out.write(data))

    cache.fetcher(fs).fetch_many([(f.path, 0, f.size) for f in files], done)


def _fetch_ranges(
    cache: DataCache, fs: object, wanted: Sequence[tuple[PrefetchFile, int, int]], concurrency: int
) -> None:
    def done(i: int, data: bytes) -> None:
        f, start, _ = wanted[i]
        cache.store_range(remote_name(fs, f.path), f.size, start, data)

    if wanted:
        cache.fetcher(fs).fetch_many([(f.path, s, e) for f, s, e in wanted], done, concurrency)
