"""Which protocol versions and table features we can read and write."""

from __future__ import annotations

from collections.abc import Iterable

from .errors import UnsupportedFeature
from .log.actions import Protocol

READER_FEATURES = {"columnMapping", "deletionVectors", "timestampNtz", "v2Checkpoint", "vacuumProtocolCheck"}
WRITER_FEATURES = {
    "appendOnly", "invariants", "checkConstraints", "timestampNtz", "deletionVectors",
    "v2Checkpoint", "vacuumProtocolCheck", "domainMetadata", "columnMapping", "changeDataFeed",
    "generatedColumns", "identityColumns", "allowColumnDefaults", "inCommitTimestamp", "lakehouseCatalogManaged",
}  # fmt: skip

# Writer-only feature of tables whose commits a catalog ratifies (lakehouse.log.coordinated): writers that
# do not know it (delta-rs, Spark) must refuse to write, readers ignore it (reader version unchanged).
CATALOG_MANAGED = "lakehouseCatalogManaged"


def is_catalog_managed(protocol: Protocol) -> bool:
    return protocol.min_writer_version >= 7 and CATALOG_MANAGED in (protocol.writer_features or ())


def without_catalog_managed(protocol: Protocol) -> Protocol:
    """``protocol`` for a copy of a table outside its catalog (a clone): the feature dropped."""
    if not is_catalog_managed(protocol):
        return protocol
    writer = tuple(f for f in protocol.writer_features or () if f != CATALOG_MANAGED)
    if not writer and not protocol.reader_features:  # it was the only feature: the legacy minimum
        return Protocol(1, 2)
    return Protocol(protocol.min_reader_version, 7, protocol.reader_features, writer)


def check_readable(protocol: Protocol, where: str) -> None:
    if protocol.min_reader_version > 3:
        raise UnsupportedFeature(
            f"{where} needs Delta reader version {protocol.min_reader_version}; this reader supports up to 3",
            feature=f"readerVersion{protocol.min_reader_version}",
        )
    if protocol.min_reader_version == 3:
        unknown = sorted(set(protocol.reader_features or ()) - READER_FEATURES)
        if unknown:
            raise UnsupportedFeature(
                f"{where} uses Delta reader feature(s) {', '.join(unknown)}, which this reader does not "
                f"implement; read it with Spark or upgrade lakehouse",
                feature=unknown[0],
            )


def check_writable(protocol: Protocol, config: dict[str, str], where: str) -> None:
    check_readable(protocol, where)
    if protocol.min_writer_version > 7:
        raise UnsupportedFeature(f"{where} needs Delta writer version {protocol.min_writer_version}")
    if protocol.min_writer_version == 7:
        unknown = set(protocol.writer_features or ()) - WRITER_FEATURES
        if config.get("delta.enableChangeDataFeed", "false").lower() != "true":
            unknown.discard("changeDataFeed")  # supported by the table but not in use
        unknown = sorted(unknown)
        if unknown:
            raise UnsupportedFeature(
                f"{where} uses Delta writer feature(s) {', '.join(unknown)}, which lakehouse cannot write "
                f"correctly; the table is read-only here",
                feature=unknown[0],
            )
    if str(config.get("delta.columnMapping.mode", "none")).lower() == "id":
        raise UnsupportedFeature(
            f"{where} uses column mapping in id mode; lakehouse reads it but writes only name mode",
            feature="columnMapping",
        )


# The writer features each legacy writer version implies (PROTOCOL.md "Writer Version Requirements").
_LEGACY_WRITER = {
    2: ("appendOnly", "invariants"),
    3: ("checkConstraints",),
    4: ("changeDataFeed", "generatedColumns"),
    5: ("columnMapping",),
    6: ("identityColumns",),
}
_READER_FEATURES = {"columnMapping", "deletionVectors", "timestampNtz", "v2Checkpoint", "vacuumProtocolCheck"}


def _legacy_version(feature: str) -> int | None:
    return next((v for v, names in _LEGACY_WRITER.items() if feature in names), None)


def protocol_for(
    *,
    constraints: bool,
    timestamp_ntz: bool,
    current: Protocol | None = None,
    features: Iterable[str] = (),
) -> Protocol:
    """The smallest protocol covering the features a table uses (never below ``current``).

    ``features``: other table features in use (``columnMapping``, ``generatedColumns`` ...). Legacy
    versions are kept while they cover everything; moving to writer version 7 lists the features the
    legacy versions implied, as the protocol requires.
    """
    need = set(features)
    if constraints:
        need.add("checkConstraints")
    if timestamp_ntz:
        need.add("timestampNtz")
    cur_reader = current.min_reader_version if current else 1
    cur_writer = current.min_writer_version if current else 1
    if cur_writer < 7 and all(_legacy_version(f) is not None for f in need):
        writer = max([2, cur_writer, *(_legacy_version(f) or 2 for f in need)])
        reader = max(cur_reader, 2 if "columnMapping" in need else 1)
        return Protocol(reader, writer)
    writer_features = set((current.writer_features or ()) if current else ()) | need
    reader_features = set((current.reader_features or ()) if current else ())
    for v, names in _LEGACY_WRITER.items():
        if cur_writer < 7 and v <= cur_writer:
            writer_features.update(names)
    if cur_reader == 2:
        reader_features.add("columnMapping")
    reader_features |= need & _READER_FEATURES
    reader = 3 if reader_features or cur_reader == 3 else max(1, cur_reader)
    return Protocol(
        reader, 7, tuple(sorted(reader_features)) if reader == 3 else None, tuple(sorted(writer_features))
    )
