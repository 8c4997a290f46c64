"""Corpora: verified downloads (`bachnet.data.download`), the chorale collections built from
them (`bachnet.data.corpus`), and Bach's own figures (`bachnet.data.reference`)."""

from bachnet.data.corpus import JSB_SPLITS, ConversionReport, Dataset
from bachnet.data.download import (
    ENV_DATA_DIR,
    ENV_MIRROR,
    JSB_ARCHIVE,
    LOCK_TIMEOUT,
    MAX_ARCHIVE_BYTES,
    MAX_ARCHIVE_MEMBERS,
    MAX_DOWNLOAD_BYTES,
    DownloadError,
    cache_lock,
    data_dir,
    fetch,
    registry,
    safe_extract,
)

__all__ = [
    "ENV_DATA_DIR",
    "ENV_MIRROR",
    "JSB_ARCHIVE",
    "JSB_SPLITS",
    "LOCK_TIMEOUT",
    "MAX_ARCHIVE_BYTES",
    "MAX_ARCHIVE_MEMBERS",
    "MAX_DOWNLOAD_BYTES",
    "ConversionReport",
    "Dataset",
    "DownloadError",
    "cache_lock",
    "data_dir",
    "fetch",
    "registry",
    "safe_extract",
]
