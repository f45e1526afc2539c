"""Storage backends chosen by URI scheme: local paths / file://, memory://, s3://."""

from __future__ import annotations

import os
from typing import Any

from ..lazy import fsspec
from .base import FileInfo, Storage
from .local import LocalStorage
from .memory import MemoryStorage
from .s3 import S3Storage, check_credentials

__all__ = ["FileInfo", "Storage", "open_storage", "normalize_uri"]


def normalize_uri(uri: str) -> str:
    """Local paths become absolute paths; URIs keep their scheme, lose a trailing slash."""
    uri = str(uri)
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    if "://" not in uri:
        return os.path.abspath(os.path.expanduser(uri))
    return uri.rstrip("/")


def open_storage(uri: str, storage_options: dict[str, Any] | None = None) -> Storage:
    """The storage for a table root URI."""
    root = normalize_uri(uri)
    options = dict(storage_options or {})
    if "://" not in root:
        return LocalStorage(root, None, root, options)  # fsspec's filesystem made on first use
    scheme = root.split("://", 1)[0]
    if scheme == "memory":
        fs = fsspec.filesystem("memory")
        return MemoryStorage(root, fs, fs._strip_protocol(root), options)
    if scheme in ("s3", "s3a"):
        check_credentials(options)
        opts = {"use_listings_cache": False, **options}
        fs = fsspec.filesystem("s3", **opts)
        root = "s3://" + root.split("://", 1)[1]
        return S3Storage(root, fs, fs._strip_protocol(root), options)
    raise ValueError(
        f"unsupported storage scheme {scheme!r} in {uri!r}: use a local path, file://, memory:// or s3://"
    )
