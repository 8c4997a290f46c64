"""Downloads: one `pooch` registry (``registry.txt``, shipped with the package), a verified cache.

Every file is verified by sha256 before use and cached under ``pooch.os_cache("bachnet")``, or
the folder named by ``BACHNET_DATA_DIR``. With ``BACHNET_MIRROR`` set to a base URL every file is
fetched from ``$BACHNET_MIRROR/<file name>`` instead. Nothing happens at import time.

Processes share the cache safely: a download and an unpack each hold a lock file
(``filelock``) in the cache, so a second process waits and then finds the finished file, and
a server that sends more bytes than the file can have, or that takes more than
`DOWNLOAD_DEADLINE` seconds in all, is cut off while streaming, before the hash check.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from bachnet.core.aliases import PathLike
from bachnet.core.files import atomic_path, sha256_of
from bachnet.errors import BachNetError, InputError, LimitError

__all__ = [
    "DOWNLOAD_DEADLINE",
    "ENV_DATA_DIR",
    "ENV_MIRROR",
    "JSB_ARCHIVE",
    "LOCK_TIMEOUT",
    "MAX_ARCHIVE_BYTES",
    "MAX_ARCHIVE_MEMBERS",
    "MAX_DOWNLOAD_BYTES",
    "READ_TIMEOUT",
    "DownloadError",
    "cache_lock",
    "data_dir",
    "fetch",
    "registry",
    "safe_extract",
]


ENV_DATA_DIR = "BACHNET_DATA_DIR"
ENV_MIRROR = "BACHNET_MIRROR"
JSB_ARCHIVE = "jsb_chorales.tgz"
KNOWN_SIZES = {JSB_ARCHIVE: 117_793}
"""Exact sizes of registry files: a server sending more is cut off at the first extra byte."""

MAX_DOWNLOAD_BYTES = 200_000_000
"""The most bytes any other download may stream (a bundled-size model zip is ~10 MB)."""

LOCK_TIMEOUT = 600.0
"""Seconds to wait for another process's download or unpack of the same file."""

DOWNLOAD_DEADLINE = 600.0
"""The most seconds one download may take in all, however steadily the server sends: a server
that trickles a few bytes at a time is cut off (checked after every read) and nothing is kept."""

READ_TIMEOUT = 30.0
"""The most seconds to wait for a connection or for any bytes at all (per read)."""


class DownloadError(BachNetError, RuntimeError):
    """A file could not be fetched, or its sha256 did not match the registry.

    Examples:
        >>> fetch("x.tgz")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        bachnet.data.download.DownloadError: 'x.tgz' is not in bachnet's registry; give sha256=...
    """


def data_dir() -> Path:
    """The cache folder: ``$BACHNET_DATA_DIR`` if set, else ``pooch.os_cache("bachnet")``.

    Examples:
        >>> import os, tempfile
        >>> from unittest import mock
        >>> folder = tempfile.mkdtemp()
        >>> with mock.patch.dict(os.environ, {"BACHNET_DATA_DIR": folder}):
        ...     data_dir() == Path(folder)
        True
    """
    return Path(_downloader().abspath)


def registry() -> dict[str, tuple[str, str]]:
    """The shipped download registry: file name -> (``sha256:<hex>``, url).

    ``registry.txt`` is pooch's registry format (name, hash, url per line), read with
    `pooch.Pooch.load_registry`.

    Examples:
        >>> digest, url = registry()["jsb_chorales.tgz"]
        >>> digest[:15], url.endswith("/jsb_chorales.tgz")
        ('sha256:e722fbc8', True)
    """
    downloader = _downloader()
    return {name: (digest, downloader.urls[name]) for name, digest in downloader.registry.items()}


def fetch(
    name: str,
    *,
    sha256: str | None = None,
    url: str | None = None,
    progress: bool = True,
    max_bytes: int | None = None,
    cache_name: str | None = None,
) -> Path:
    """Download a file once, verify its sha256 and return its cached path.

    Files listed in ``registry.txt`` need only their name; others need ``sha256`` and ``url``.
    With ``BACHNET_MIRROR`` set, the file comes from ``$BACHNET_MIRROR/<name>``.

    Args:
        name: file name in the cache (and on a mirror).
        sha256: expected hex digest (with or without a ``sha256:`` prefix).
        url: where to fetch it from when no mirror is set.
        progress: show a progress bar when ``tqdm`` is installed.
        max_bytes: stop a download that streams more bytes than this (default: the file's
            size in `KNOWN_SIZES`, else `MAX_DOWNLOAD_BYTES`).
        cache_name: the file's name in the cache when it differs from ``name`` (models are
            kept apart from the corpora, so a model file cannot replace a verified corpus).

    Raises:
        DownloadError: the download failed, was too large, took more than
            `DOWNLOAD_DEADLINE` seconds, or the hash did not match (or another process held
            the file's lock for `LOCK_TIMEOUT` seconds); nothing is kept.

    Examples:
        >>> path = fetch("jsb_chorales.tgz")  # doctest: +SKIP
    """
    mirror = os.environ.get(ENV_MIRROR)
    downloader = _downloader(mirror)
    if name not in downloader.registry and (sha256 is None or url is None):
        raise DownloadError(f"{name!r} is not in bachnet's registry; give sha256= and url=")
    stored = cache_name or name
    if stored != name and (sha256 is None or url is None):
        raise DownloadError(f"a cache_name needs sha256= and url= (for {name!r})")
    if sha256 is not None:
        downloader.registry[stored] = _digest(sha256)
    if url is not None and not mirror:
        downloader.urls[stored] = url
    elif stored != name:
        # the mirror's copy, by its own name
        downloader.urls[stored] = downloader.urls.get(name, downloader.base_url + name)
    digest = downloader.registry[stored]
    source = downloader.get_url(stored)
    folder = Path(downloader.abspath)
    limit = max_bytes if max_bytes is not None else KNOWN_SIZES.get(name, MAX_DOWNLOAD_BYTES)
    with cache_lock(folder / stored):
        return _fetch(downloader, stored, digest, source, mirror, progress, limit, name)


@contextlib.contextmanager
def cache_lock(path: Path) -> Iterator[None]:
    """Hold ``.<name>.lock`` beside ``path`` (a `filelock.FileLock`) while it is written.

    A cache folder the user cannot write to (a read-only, pre-filled cache) is read without
    a lock: nothing is written there.

    Raises:
        DownloadError: another process held it for `LOCK_TIMEOUT` seconds.
    """
    import filelock

    lock = filelock.FileLock(str(path.parent / f".{path.name}.lock"), timeout=LOCK_TIMEOUT)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except filelock.Timeout:
        raise DownloadError(
            f"{path}: another process has held {lock.lock_file} for {LOCK_TIMEOUT:.0f} s "
            "(a download or unpack of the same file); try again, or remove the lock file if "
            "no bachnet process is running"
        ) from None
    except PermissionError:
        if not path.exists():
            raise
        yield  # read-only cache that already holds the file
        return
    try:
        yield
    finally:
        lock.release()


def _fetch(
    downloader: Any,
    name: str,
    digest: str,
    source: str,
    mirror: str | None,
    progress: bool,
    limit: int,
    mirror_name: str,
) -> Path:
    _sweep(Path(downloader.abspath))
    local = _local_mirror(mirror)
    if local is not None:
        return _copy_verified(local / mirror_name, Path(downloader.abspath) / name, digest)
    if not source.startswith(("http://", "https://", "ftp://")):
        raise DownloadError(
            f"cannot download {name} from {source!r}: not an http(s) or ftp URL"
            + (f" (check ${ENV_MIRROR})" if mirror else "")
        )
    try:
        bar: bool = progress and _has_tqdm()
        path = downloader.fetch(name, downloader=_CappedDownload(limit, progress=bar))
    except DownloadError:
        raise
    except ValueError as error:  # pooch's hash mismatch
        raise DownloadError(
            f"{name} downloaded from {source} does not match its sha256 {digest.split(':')[-1]} "
            f"(the file may be tampered with or truncated); nothing was kept. Pooch said: {error}"
        ) from None
    except Exception as error:
        raise DownloadError(
            f"could not download {name} from {source}: {error}. Offline? Set ${ENV_MIRROR} to "
            f"a folder (or URL) that holds {mirror_name}, or put the file (sha256 "
            f"{digest.split(':')[-1][:12]}...) into the cache folder {downloader.abspath} "
            f"(${ENV_DATA_DIR} chooses another)"
        ) from error
    finally:
        _sweep(Path(downloader.abspath))  # forget this download's own temporary file
    return Path(path)


class _CappedDownload:
    """An HTTP(S) downloader for pooch that stops as soon as the server sends more than
    ``limit`` bytes or the whole download takes more than `DOWNLOAD_DEADLINE` seconds.

    It reads with ``requests`` (``stream=True``) whatever bytes have arrived, at most
    `READ_TIMEOUT` seconds per read, and checks the clock after every read: a server that
    trickles a few bytes at a time cannot hold a download open for ever.
    """

    def __init__(self, limit: int, *, progress: bool) -> None:
        self.limit = limit
        self.progress = progress

    def __call__(self, url: str, output_file: Any, pooch: Any, check_only: bool = False) -> Any:
        import requests

        if check_only:
            head = requests.head(url, timeout=READ_TIMEOUT, allow_redirects=True)
            return head.status_code == 200
        _record_partial(Path(output_file))
        started = time.monotonic()
        headers = {"Accept-Encoding": "identity"}  # the file's own bytes, as its sha256 has them
        with (
            open(output_file, "w+b") as raw,
            requests.get(url, stream=True, timeout=READ_TIMEOUT, headers=headers) as response,
        ):
            response.raise_for_status()
            encoded = response.headers.get("content-encoding", "").strip().lower()
            decode = encoded not in ("", "identity")  # a server that compresses anyway
            capped = _Capped(raw, self.limit, url)
            bar = _progress_bar(response.headers.get("content-length")) if self.progress else None
            try:
                while chunk := response.raw.read1(_CHUNK, decode_content=decode):
                    capped.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                    if time.monotonic() - started > DOWNLOAD_DEADLINE:
                        raise DownloadError(
                            f"{url}: the server was too slow: the download took more than "
                            f"{DOWNLOAD_DEADLINE:g} s ({capped.written:,} bytes received); "
                            "stopped it and kept nothing"
                        )
            finally:
                if bar is not None:
                    bar.close()
        return None


_CHUNK = 65_536
"""The most bytes one read takes from the connection."""


def _progress_bar(length: str | None) -> Any:
    """A ``tqdm`` bar in bytes, like pooch's, of ``length`` (the Content-Length) if known."""
    from tqdm import tqdm

    total = int(length) if length is not None and length.strip().isdigit() else None
    return tqdm(total=total, ncols=79, unit="B", unit_scale=True, leave=True)


class _Capped:
    """A file that refuses to grow past ``limit`` bytes."""

    def __init__(self, raw: Any, limit: int, url: str) -> None:
        self.raw, self.limit, self.url, self.written = raw, limit, url, 0

    def write(self, chunk: bytes) -> int:
        self.written += len(chunk)
        if self.written > self.limit:
            raise DownloadError(
                f"{self.url} sent more than the {self.limit:,} bytes the file can have; "
                "stopped the download and kept nothing"
            )
        return int(self.raw.write(chunk))

    def flush(self) -> None:
        self.raw.flush()


STALE_SECONDS = 3600
"""A download's temporary file older than this was left by a killed process."""


PARTIALS = "bachnet-partials.txt"
"""The cache's list of the temporary files bachnet's downloads write (one name a line)."""


def _record_partial(path: Path) -> None:
    """Note a download's temporary file in the cache's `PARTIALS` list before writing it."""
    ledger = path.parent / PARTIALS
    with (
        cache_lock(ledger),
        contextlib.suppress(OSError),
        ledger.open("a", encoding="utf-8") as handle,
    ):
        handle.write(path.name + "\n")


def _sweep(folder: Path) -> None:
    """Remove the temporary files a killed download left in the cache: only files that
    bachnet's own downloads wrote (listed in `PARTIALS`) and that are older than
    `STALE_SECONDS`; nothing else in the folder is touched."""
    ledger = folder / PARTIALS
    if not ledger.is_file():
        return
    now = time.time()
    with cache_lock(ledger), contextlib.suppress(OSError):
        kept = []
        for name in dict.fromkeys(ledger.read_text(encoding="utf-8").split()):
            leftover = folder / name
            if Path(name).name != name or not leftover.is_file():
                continue  # gone (renamed into place or cleaned), or not a plain name
            if now - leftover.stat().st_mtime > STALE_SECONDS:
                leftover.unlink()
            else:
                kept.append(name)  # a download under way in another process
        if kept:
            ledger.write_text("".join(f"{name}\n" for name in kept), encoding="utf-8")
        else:
            ledger.unlink()


def _local_mirror(mirror: str | None) -> Path | None:
    """The folder a ``file://`` URL or a local path mirror names (``None`` for a URL)."""
    if not mirror:
        return None
    if mirror.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(mirror).path))
    if "://" not in mirror and Path(mirror).is_dir():
        return Path(mirror)
    return None


def _copy_verified(source: Path, target: Path, digest: str) -> Path:
    """Copy a mirror's local file into the cache once its sha256 matches."""
    if target.is_file() and sha256_of(target) == digest.split(":")[-1]:
        return target
    if not source.is_file():
        raise DownloadError(f"{source}: no such file in the local mirror ${ENV_MIRROR}")
    actual = sha256_of(source)
    if actual != digest.split(":")[-1]:
        raise DownloadError(
            f"{source} does not match its sha256 {digest.split(':')[-1]} (found {actual}); "
            "nothing was copied"
        )
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return target


def _downloader(mirror: str | None = None) -> Any:
    """pooch's downloader for bachnet's cache, its registry loaded from ``registry.txt``.

    With a ``mirror``, every file comes from ``<mirror>/<name>`` (the registry's own URLs are
    dropped).
    """
    import pooch

    downloader = pooch.create(
        path=pooch.os_cache("bachnet"),
        base_url=f"{mirror.rstrip('/')}/" if mirror else "",
        env=ENV_DATA_DIR,
    )
    with resources.files("bachnet").joinpath("registry.txt").open(encoding="utf-8") as text:
        downloader.load_registry(text)
    if mirror:
        downloader.urls.clear()
    return downloader


def _digest(sha256: str) -> str:
    return sha256 if ":" in sha256 else f"sha256:{sha256}"


def safe_extract(archive: PathLike, target: PathLike) -> Path:
    """Unpack a ``.tar(.gz)`` or ``.zip`` archive into ``target``, refusing unsafe members.

    A member with an absolute path, a ``..`` that climbs out of ``target``, a link or a
    device file is refused before anything is written, and so is an archive that would unpack
    to more than `MAX_ARCHIVE_BYTES` or hold more than `MAX_ARCHIVE_MEMBERS` members.
    Extraction goes to a temporary folder that is renamed into place, so ``target`` is either
    complete or absent.

    Returns:
        ``target`` (left as it is when it already exists).

    Raises:
        InputError: (a ``ValueError``) an unsafe member (named in the message), an unknown
            archive type, or a damaged one (a bad CRC, a member shorter than its header says,
            a truncated ``.tar.gz``).
        LimitError: more than `MAX_ARCHIVE_MEMBERS` members or `MAX_ARCHIVE_BYTES` unpacked.

    Examples:
        >>> import tempfile, zipfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> with zipfile.ZipFile(folder / "good.zip", "w") as archive:
        ...     archive.writestr("train/1.csv", "note0,note1,note2,note3\\n72,67,64,48\\n")
        >>> sorted(p.name for p in safe_extract(folder / "good.zip", folder / "good").rglob("*"))
        ['1.csv', 'train']
        >>> with zipfile.ZipFile(folder / "evil.zip", "w") as archive:
        ...     archive.writestr("../evil.txt", "escape")
        >>> safe_extract(folder / "evil.zip", folder / "evil")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        bachnet.errors.InputError: ...evil.zip: refusing member '../evil.txt': it would land ...
    """
    source, final = Path(archive), Path(target)
    if final.exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    try:
        try:
            _unpack(source, staging)
        except _DAMAGED as error:
            raise InputError(
                f"{source}: a damaged archive ({error or type(error).__name__}); "
                "nothing was unpacked"
            ) from None
        try:
            os.replace(staging, final)
        except OSError:
            if not final.is_dir():  # not another process having unpacked it first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


_DAMAGED = (
    zipfile.BadZipFile,  # a bad CRC, a member shorter or longer than its header says
    tarfile.TarError,
    zlib.error,
    EOFError,  # a truncated gzip stream
    gzip.BadGzipFile,
    NotImplementedError,  # a zip member's compression method that Python lacks
)
"""What reading a damaged or truncated archive raises; `safe_extract` turns each into an
`InputError` naming the archive."""


def _unpack(source: Path, staging: Path) -> None:
    """Check every member of the archive ``source`` (see `safe_extract`), then unpack it into
    the empty folder ``staging``."""
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zipped:
            infos = zipped.infolist()
            _check_size(source, len(infos), sum(info.file_size for info in infos))
            for info in infos:
                _check_member(info.filename, staging, source)
            zipped.extractall(staging)
    elif tarfile.is_tarfile(source):
        with tarfile.open(source) as tar:
            members = tar.getmembers()
            _check_size(source, len(members), sum(member.size for member in members))
            for member in members:
                _check_member(member.name, staging, source)
                if not (member.isfile() or member.isdir()):
                    raise InputError(f"{source}: refusing member {member.name!r}: not a plain file")
            for member in members:
                tar.extract(member, staging, set_attrs=False)
    else:
        raise InputError(f"{source}: not a tar or zip archive")


MAX_ARCHIVE_BYTES = 500_000_000
"""The most bytes an archive may unpack to (the JSB corpus: under 2 MB; a model: ~25 MB)."""

MAX_ARCHIVE_MEMBERS = 20_000
"""The most members an archive may hold."""


def _check_size(archive: Path, members: int, size: int) -> None:
    if members > MAX_ARCHIVE_MEMBERS:
        raise LimitError(
            f"{archive}: {members:,} members is more than the {MAX_ARCHIVE_MEMBERS:,} allowed"
        )
    if size > MAX_ARCHIVE_BYTES:
        raise LimitError(
            f"{archive}: unpacks to {size:,} bytes, more than the {MAX_ARCHIVE_BYTES:,} allowed"
        )


def _check_member(name: str, root: Path, archive: Path) -> None:
    resolved = (root / name).resolve()
    if os.path.isabs(name) or not resolved.is_relative_to(root.resolve()):
        raise InputError(f"{archive}: refusing member {name!r}: it would land outside {root.name}")


def _has_tqdm() -> bool:
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True
