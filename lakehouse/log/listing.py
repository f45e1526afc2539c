"""A table log's listing: which commits and complete checkpoints ``_delta_log/`` holds (with each file's
content tag where the store gives one: the key of the log-file cache)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..storage import Storage
from .files import LOG_DIR, parse_checkpoint_name, parse_commit_name


@dataclass(frozen=True)
class LogListing:
    """What _delta_log holds: commit versions -> (path, mtime), complete checkpoints -> file paths."""

    commits: dict[int, tuple[str, int]]  # version -> (path, mtime ms or -1 if not listed)
    checkpoints: dict[int, list[str]]
    # path -> (size, content tag) where the store names contents (S3 ETags): such files are read
    # through the local cache of published log files (``log_cache``)
    tags: dict[str, tuple[int, str]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def latest(self) -> int | None:
        candidates = list(self.commits) + list(self.checkpoints)
        return max(candidates) if candidates else None

    @property
    def earliest_commit(self) -> int | None:
        return min(self.commits) if self.commits else None


def list_log(storage: Storage, names: list[tuple[str, int]] | None = None) -> LogListing:
    """What ``_delta_log`` holds: one listing (with each file's content tag on S3). ``names``: (path,
    mtime) entries already listed (log.tail)."""
    if names is not None:
        return parse_listing(names)
    tagged = storage.list_tagged(LOG_DIR)
    if tagged is None:
        return parse_listing(storage.list_names(LOG_DIR))
    return tagged_listing(tagged)


def tagged_listing(tagged: list[tuple[str, int, int, str]]) -> LogListing:
    """A ``LogListing`` of ``Storage.list_tagged`` entries (path, mtime, size, content tag)."""
    return parse_listing(
        [(p, m) for p, m, _, _ in tagged], {p: (size, tag) for p, _, size, tag in tagged if tag}
    )


def parse_listing(names: list[tuple[str, int]], tags: dict[str, tuple[int, str]] | None = None) -> LogListing:
    """A ``LogListing`` of listed ``(path, mtime)`` pairs (other files are ignored)."""
    commits: dict[int, tuple[str, int]] = {}
    parts: dict[int, dict] = {}
    for path, mtime in names:
        name = path.rpartition("/")[2]
        if len(name) == 25 and name.endswith(".json") and name[:20].isdigit():  # N.json, the common case
            commits[int(name[:20])] = (path, mtime)
            continue
        v = parse_commit_name(name)
        if v is not None:
            commits[v] = (path, mtime)
            continue
        cp = parse_checkpoint_name(name)
        if cp is None:
            continue
        version, part, nparts, _v2 = cp
        entry = parts.setdefault(version, {"single": None, "multi": {}})
        if part is None:
            entry["single"] = path
        else:
            entry["multi"].setdefault(nparts, {})[part] = path
    checkpoints: dict[int, list[str]] = {}
    for version, entry in parts.items():
        if entry["single"]:
            checkpoints[version] = [entry["single"]]
            continue
        for nparts, got in entry["multi"].items():
            if len(got) == nparts:  # a multi-part checkpoint counts only when complete
                checkpoints[version] = [got[i] for i in sorted(got)]
                break
    return LogListing(commits, checkpoints, dict(tags or {}))


def commit_mtime(storage: Storage, listing: LogListing, version: int) -> int:
    path, mtime = listing.commits[version]
    return mtime if mtime >= 0 else storage.mtime_ms(path)
