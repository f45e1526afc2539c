"""Which protocol versions and table features we can read and write."""

from __future__ import annotations

from .errors import UnsupportedFeature
from .log.actions import Protocol

READER_FEATURES = {"columnMapping", "deletionVectors", "timestampNtz", "v2Checkpoint", "vacuumProtocolCheck"}
WRITER_FEATURES = {
    "appendOnly", "invariants", "checkConstraints", "timestampNtz", "deletionVectors",
    "v2Checkpoint", "vacuumProtocolCheck", "domainMetadata", "changeDataFeed",
}  # fmt: skip


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
        unknown = sorted(set(protocol.writer_features or ()) - WRITER_FEATURES)
        if unknown:
            raise UnsupportedFeature(
                f"{where} uses Delta writer feature(s) {', '.join(unknown)}, which lakehouse cannot write "
                f"correctly; the table is read-only here",
                feature=unknown[0],
            )
    if config.get("delta.columnMapping.mode", "none") != "none":
        raise UnsupportedFeature(
            f"{where} uses column mapping; lakehouse reads it but does not write to it yet",
            feature="columnMapping",
        )


def protocol_for(*, constraints: bool, timestamp_ntz: bool, current: Protocol | None = None) -> Protocol:
    """The smallest protocol covering the features a table uses (never below ``current``)."""
    if timestamp_ntz or (current is not None and current.min_writer_version == 7):
        writer = set((current.writer_features or ()) if current else ())
        reader = set((current.reader_features or ()) if current else ())
        if timestamp_ntz:
            writer.add("timestampNtz")
            reader.add("timestampNtz")
        if constraints:
            writer.add("checkConstraints")
        return Protocol(3, 7, tuple(sorted(reader)), tuple(sorted(writer)))
    writer_version = 3 if constraints else 2
    if current is not None:
        writer_version = max(writer_version, current.min_writer_version)
        return Protocol(max(1, current.min_reader_version), writer_version)
    return Protocol(1, writer_version)
