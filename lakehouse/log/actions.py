"""Delta log actions as frozen values with to_json/from_json (field names as in PROTOCOL.md)."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@dataclass(frozen=True)
class Protocol:
    min_reader_version: int = 1
    min_writer_version: int = 2
    reader_features: tuple[str, ...] | None = None
    writer_features: tuple[str, ...] | None = None

    def to_json(self) -> dict:
        d: dict[str, Any] = {
            "minReaderVersion": self.min_reader_version,
            "minWriterVersion": self.min_writer_version,
        }
        if self.reader_features is not None:
            d["readerFeatures"] = list(self.reader_features)
        if self.writer_features is not None:
            d["writerFeatures"] = list(self.writer_features)
        return {"protocol": d}

    @classmethod
    def from_json(cls, d: dict) -> Protocol:
        rf, wf = d.get("readerFeatures"), d.get("writerFeatures")
        return cls(
            int(d.get("minReaderVersion", 1)),
            int(d.get("minWriterVersion", 2)),
            tuple(rf) if rf is not None else None,
            tuple(wf) if wf is not None else None,
        )


@dataclass(frozen=True)
class Metadata:
    id: str
    schema_string: str
    partition_columns: tuple[str, ...] = ()
    configuration: tuple[tuple[str, str], ...] = ()
    name: str | None = None
    description: str | None = None
    created_time: int | None = None
    format_provider: str = "parquet"

    @property
    def config(self) -> dict[str, str]:
        return dict(self.configuration)

    def to_json(self) -> dict:
        return {
            "metaData": _clean(
                {
                    "id": self.id,
                    "name": self.name,
                    "description": self.description,
                    "format": {"provider": self.format_provider, "options": {}},
                    "schemaString": self.schema_string,
                    "partitionColumns": list(self.partition_columns),
                    "configuration": dict(self.configuration),
                    "createdTime": self.created_time,
                }
            )
        }

    @classmethod
    def from_json(cls, d: dict) -> Metadata:
        return cls(
            id=d.get("id") or str(uuid.uuid4()),
            schema_string=d["schemaString"],
            partition_columns=tuple(d.get("partitionColumns") or ()),
            configuration=tuple(sorted((d.get("configuration") or {}).items())),
            name=d.get("name"),
            description=d.get("description"),
            created_time=d.get("createdTime"),
            format_provider=(d.get("format") or {}).get("provider", "parquet"),
        )

    def replace(self, **changes: Any) -> Metadata:
        values = {f: getattr(self, f) for f in self.__dataclass_fields__}
        values.update(changes)
        return Metadata(**values)


@dataclass(frozen=True)
class DeletionVector:
    storage_type: str
    path_or_inline_dv: str
    size_in_bytes: int
    cardinality: int
    offset: int | None = None

    def to_json(self) -> dict:
        return _clean(
            {
                "storageType": self.storage_type,
                "pathOrInlineDv": self.path_or_inline_dv,
                "offset": self.offset,
                "sizeInBytes": self.size_in_bytes,
                "cardinality": self.cardinality,
            }
        )

    @classmethod
    def from_json(cls, d: dict | None) -> DeletionVector | None:
        if not d:
            return None
        return cls(
            d["storageType"],
            d["pathOrInlineDv"],
            int(d["sizeInBytes"]),
            int(d["cardinality"]),
            d.get("offset"),
        )

    @property
    def unique_id(self) -> str:
        return f"{self.storage_type}{self.path_or_inline_dv}" + (
            f"@{self.offset}" if self.offset is not None else ""
        )


@dataclass(frozen=True)
class Add:
    path: str
    size: int
    partition_values: tuple[tuple[str, str | None], ...] = ()
    modification_time: int = 0
    data_change: bool = True
    stats: str | None = None
    tags: tuple[tuple[str, str], ...] | None = None
    deletion_vector: DeletionVector | None = None

    def to_json(self) -> dict:
        return {
            "add": _clean(
                {
                    "path": self.path,
                    "partitionValues": dict(self.partition_values),
                    "size": self.size,
                    "modificationTime": self.modification_time,
                    "dataChange": self.data_change,
                    "stats": self.stats,
                    "tags": dict(self.tags) if self.tags is not None else None,
                    "deletionVector": self.deletion_vector.to_json() if self.deletion_vector else None,
                }
            )
        }

    @classmethod
    def from_json(cls, d: dict) -> Add:
        tags = d.get("tags")
        return cls(
            path=d["path"],
            size=int(d.get("size") or 0),
            partition_values=tuple((d.get("partitionValues") or {}).items()),
            modification_time=int(d.get("modificationTime") or 0),
            data_change=bool(d.get("dataChange", True)),
            stats=d.get("stats"),
            tags=tuple(tags.items()) if tags else None,
            deletion_vector=DeletionVector.from_json(d.get("deletionVector")),
        )

    def remove(self, timestamp: int | None = None, data_change: bool = True) -> Remove:
        return Remove(
            path=self.path,
            deletion_timestamp=timestamp if timestamp is not None else now_ms(),
            data_change=data_change,
            extended_file_metadata=True,
            partition_values=self.partition_values,
            size=self.size,
            deletion_vector=self.deletion_vector,
        )


@dataclass(frozen=True)
class Remove:
    path: str
    deletion_timestamp: int | None = None
    data_change: bool = True
    extended_file_metadata: bool | None = None
    partition_values: tuple[tuple[str, str | None], ...] | None = None
    size: int | None = None
    deletion_vector: DeletionVector | None = None

    def stamped(self, now: int) -> Remove:
        """This remove with ``deletionTimestamp`` set to ``now`` unless it has one."""
        return (
            self if self.deletion_timestamp is not None else dataclasses.replace(self, deletion_timestamp=now)
        )

    def to_json(self) -> dict:
        return {
            "remove": _clean(
                {
                    "path": self.path,
                    "deletionTimestamp": self.deletion_timestamp,
                    "dataChange": self.data_change,
                    "extendedFileMetadata": self.extended_file_metadata,
                    "partitionValues": dict(self.partition_values)
                    if self.partition_values is not None
                    else None,
                    "size": self.size,
                    "deletionVector": self.deletion_vector.to_json() if self.deletion_vector else None,
                }
            )
        }

    @classmethod
    def from_json(cls, d: dict) -> Remove:
        pv = d.get("partitionValues")
        return cls(
            path=d["path"],
            deletion_timestamp=d.get("deletionTimestamp"),
            data_change=bool(d.get("dataChange", True)),
            extended_file_metadata=d.get("extendedFileMetadata"),
            partition_values=tuple(pv.items()) if pv is not None else None,
            size=d.get("size"),
            deletion_vector=DeletionVector.from_json(d.get("deletionVector")),
        )


@dataclass(frozen=True)
class Cdc:
    """A change data file (``_change_data/...``): the rows a commit changed, with ``_change_type``."""

    path: str
    size: int
    partition_values: tuple[tuple[str, str | None], ...] = ()
    data_change: bool = False
    tags: tuple[tuple[str, str], ...] | None = None

    def to_json(self) -> dict:
        return {
            "cdc": _clean(
                {
                    "path": self.path,
                    "partitionValues": dict(self.partition_values),
                    "size": self.size,
                    "dataChange": self.data_change,
                    "tags": dict(self.tags) if self.tags is not None else None,
                }
            )
        }

    @classmethod
    def from_json(cls, d: dict) -> Cdc:
        tags = d.get("tags")
        return cls(
            path=d["path"],
            size=int(d.get("size") or 0),
            partition_values=tuple((d.get("partitionValues") or {}).items()),
            data_change=bool(d.get("dataChange", False)),
            tags=tuple(tags.items()) if tags else None,
        )


@dataclass(frozen=True)
class Txn:
    app_id: str
    version: int
    last_updated: int | None = None

    def to_json(self) -> dict:
        return {
            "txn": _clean({"appId": self.app_id, "version": self.version, "lastUpdated": self.last_updated})
        }

    @classmethod
    def from_json(cls, d: dict) -> Txn:
        return cls(d["appId"], int(d["version"]), d.get("lastUpdated"))


@dataclass(frozen=True)
class CommitInfo:
    operation: str
    operation_parameters: dict = field(default_factory=dict)
    timestamp: int = 0
    txn_id: str = ""
    read_version: int | None = None
    isolation_level: str | None = None
    is_blind_append: bool | None = None
    operation_metrics: dict = field(default_factory=dict)
    engine_info: str = "lakehouse/0.1.0"
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        d = _clean(
            {
                "timestamp": self.timestamp,
                "operation": self.operation,
                "operationParameters": {k: _param(v) for k, v in self.operation_parameters.items()},
                "readVersion": self.read_version,
                "isolationLevel": self.isolation_level,
                "isBlindAppend": self.is_blind_append,
                "operationMetrics": {k: str(v) for k, v in self.operation_metrics.items()},
                "engineInfo": self.engine_info,
                "txnId": self.txn_id,
            }
        )
        d.update(self.extra)
        return {"commitInfo": d}

    @classmethod
    def from_json(cls, d: dict) -> CommitInfo:
        known = {
            "timestamp", "operation", "operationParameters", "readVersion", "isolationLevel",
            "isBlindAppend", "operationMetrics", "engineInfo", "txnId",
        }  # fmt: skip
        return cls(
            operation=d.get("operation", "UNKNOWN"),
            operation_parameters=d.get("operationParameters") or {},
            timestamp=int(d.get("timestamp") or 0),
            txn_id=d.get("txnId") or "",
            read_version=d.get("readVersion"),
            isolation_level=d.get("isolationLevel"),
            is_blind_append=d.get("isBlindAppend"),
            operation_metrics=d.get("operationMetrics") or {},
            engine_info=d.get("engineInfo") or "",
            extra={k: v for k, v in d.items() if k not in known},
        )


def _param(v: Any) -> str:
    # Delta stores operation parameters as JSON-encoded strings.
    return v if isinstance(v, str) else json.dumps(v)


Action = Protocol | Metadata | Add | Remove | Cdc | Txn | CommitInfo

_PARSERS = {
    "protocol": Protocol.from_json,
    "metaData": Metadata.from_json,
    "add": Add.from_json,
    "remove": Remove.from_json,
    "cdc": Cdc.from_json,
    "txn": Txn.from_json,
    "commitInfo": CommitInfo.from_json,
}


def parse_action(obj: dict) -> Action | None:
    """One parsed JSON line -> action; None for action kinds a reader may ignore (domainMetadata...)."""
    for key, value in obj.items():
        parser = _PARSERS.get(key)
        if parser is not None:
            return parser(value)
    return None


def encode_commit(actions: list[Action]) -> bytes:
    """Newline-delimited JSON of the actions (commitInfo first, as Delta writers do)."""
    ordered = sorted(actions, key=lambda a: 0 if isinstance(a, CommitInfo) else 1)
    return ("\n".join(json.dumps(a.to_json(), separators=(",", ":")) for a in ordered) + "\n").encode()


def now_ms() -> int:
    return int(time.time() * 1000)
