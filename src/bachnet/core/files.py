"""Safe file writing: every file bachnet writes appears whole or not at all."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bachnet.core.aliases import PathLike

__all__ = [
    "atomic_path",
    "sha256_of",
    "write_json",
]


@contextmanager
def atomic_path(path: PathLike, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces ``path`` when the block succeeds.

    Write to the yielded path; on success it gets the permissions of the file it replaces (or
    for a new file the usual ``0o666`` less the umask) and is renamed over ``path`` in one
    step, so readers never see half a file. On an error the temporary file is removed and
    ``path`` is left as it was.

    Args:
        path: the file to write.
        suffix: an ending the temporary name must have (some writers choose the format by it).

    Examples:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "notes.txt"
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_text("S A T B")
        >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
        ('S A T B', ['notes.txt'])
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        try:  # an existing file keeps its permissions (a private 0600 file stays private)
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: PathLike, document: Mapping[str, Any] | Sequence[Any]) -> None:
    """Write JSON atomically: two-space indent, key order kept, a final newline.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "facts.json"
        >>> write_json(path, {"epochs": 3, "units": [8]})
        >>> json.loads(path.read_text()) == {"epochs": 3, "units": [8]}
        True
    """
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def sha256_of(path: PathLike) -> str:
    """Hex sha256 of a file.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "abc.txt"
        >>> path.write_bytes(b"abc")
        3
        >>> sha256_of(path)[:16]
        'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
