"""Reading a file a stranger uploaded: in a child process, with a size, length, time and memory cap.

The web app reads every uploaded piece with `read_upload`. The file is refused when it has more
than `UPLOAD_BYTES` bytes; otherwise a fresh Python process (``spawn``: nothing of the app's
threads or models is copied) measures how long the music lasts from the file's bytes
(`bachnet.formats.length`), refuses more than `UPLOAD_STEPS` sixteenths, and only then lets
music21 read it, under an address-space limit of `UPLOAD_MEMORY` bytes. The app waits at most
`UPLOAD_SECONDS` for the answer and kills the child after that, so a hostile file costs one
child process a bounded time and never the app's memory or its other clients.

Examples:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from bachnet import Chorale
    >>> path = Chorale([[72, 67, 64, 48]] * 16).write(Path(tempfile.mkdtemp()) / "a.csv")
    >>> len(read_upload(path))
    16
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from bachnet.core.aliases import PathLike
from bachnet.errors import BachNetError, InputError, LimitError
from bachnet.formats import check_readable, lookup, read_line
from bachnet.formats.length import check_length
from bachnet.music.chorale import Chorale

__all__ = ["UPLOAD_BYTES", "UPLOAD_MEMORY", "UPLOAD_SECONDS", "UPLOAD_STEPS", "read_upload"]

UPLOAD_BYTES = 5_000_000
"""The largest upload the app reads (a 64-bar four-part MusicXML file is about 0.3 MB)."""

UPLOAD_STEPS = 1024
"""The longest uploaded piece, in sixteenths: 64 bars of 4/4 (Bach's longest chorale in the
JSB corpus has 640)."""

UPLOAD_SECONDS = 30.0
"""How long reading one upload may take, child process start included."""

UPLOAD_MEMORY = 2**31
"""The child's address-space limit in bytes (2 GiB; where the platform can set one)."""


def read_upload(
    path: PathLike,
    *,
    max_bytes: int | None = None,
    max_steps: int | None = None,
    seconds: float | None = None,
    memory: int | None = None,
    line: int | None = None,
) -> Chorale:
    """Read an uploaded MIDI, MusicXML or CSV piece in a child process, within every cap.

    Args:
        path: the uploaded file.
        max_bytes: the largest file (default `UPLOAD_BYTES`).
        max_steps: the longest piece in sixteenths (default `UPLOAD_STEPS`).
        seconds: the longest wait for the child (default `UPLOAD_SECONDS`).
        memory: the child's address-space limit in bytes (default `UPLOAD_MEMORY`).
        line: also take a one-part file (a melody or a bass line, as
            `bachnet.formats.read_melody` reads it) and put it in this voice (0 = soprano,
            3 = bass), the other voices silent: a line to harmonise.

    Returns:
        The piece, as `Chorale.read` reads it (or the one line).

    Raises:
        LimitError: too large, too long, too slow to read, or too much memory needed.
        InputError: any other reason the file cannot be read (the reader's own message).
    """
    source = Path(path)
    check_readable(source)
    max_bytes = UPLOAD_BYTES if max_bytes is None else max_bytes
    size = source.stat().st_size
    if size > max_bytes:
        raise LimitError(
            f"{source.name}: {size:,} bytes is more than the {max_bytes:,} an upload may have"
        )
    seconds = UPLOAD_SECONDS if seconds is None else seconds
    memory = UPLOAD_MEMORY if memory is None else memory
    steps = UPLOAD_STEPS if max_steps is None else max_steps
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_child,
        args=(str(source), steps, memory, line, send),
        name="bachnet-upload",
        daemon=True,
    )
    child.start()
    send.close()
    try:
        if not receive.poll(seconds):
            raise LimitError(
                f"{source.name}: reading it took more than {seconds:g} s; stopped "
                "(upload a shorter or simpler piece)"
            )
        try:
            kind, value = receive.recv()
        except EOFError:  # the child died without an answer: killed for its memory
            raise LimitError(
                f"{source.name}: reading it needed more than {memory / 2**20:,.0f} MiB of "
                "memory; stopped"
            ) from None
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join()
    if kind == "limit":
        raise LimitError(str(value))
    if kind == "error":
        raise InputError(str(value))
    assert isinstance(value, Chorale)
    return value


def _child(path: str, max_steps: int, memory: int, line: int | None, send: Connection) -> None:
    """The child process: cap its memory, measure, read, and send back the piece or the
    error's message (never a traceback)."""
    try:
        _limit_memory(memory)
        send.send(("ok", _read_capped(Path(path), max_steps, line)))
    except LimitError as error:
        send.send(("limit", str(error)))
    except (MemoryError, SystemError):
        # under the address-space limit an allocation that fails inside C code (an import, a
        # parser) surfaces as MemoryError or as "SystemError: error return without exception"
        send.send(("limit", f"{Path(path).name}: reading it needed more than the memory allowed"))
    except BachNetError as error:
        send.send(("error", str(error)))
    except Exception as error:  # a reader's unexpected failure still reaches the user as one line
        send.send(("error", f"{Path(path).name}: cannot read it ({type(error).__name__}: {error})"))
    finally:
        send.close()


def _read_capped(source: Path, max_steps: int, line: int | None = None) -> Chorale:
    """`Chorale.read` (or, with ``line``, a one-part file into that voice), after measuring
    a MIDI or MusicXML file's length from its bytes."""
    name = source.name
    if lookup(source, "read").name != "csv":
        check_length(source, max_steps, "the app takes", label=name)  # no server folder shown
    try:
        piece = Chorale.read(source)
    except InputError as error:
        if line is None:
            raise
        try:
            melody = read_line(source)
        except InputError:
            raise error from None  # neither four voices nor one line: the first complaint
        chords = np.zeros((len(melody.pitches), 4), dtype=np.int16)
        chords[:, line] = melody.pitches
        struck = None
        if melody.onsets is not None:  # the melody's repeated notes stay apart
            struck = np.zeros(chords.shape, dtype=bool)
            struck[:, line] = melody.onsets
        piece = Chorale(
            chords, name=source.stem, onsets=struck, meter=melody.meter, pickup=melody.pickup
        )
    if len(piece) > max_steps:
        raise LimitError(
            f"{name}: {len(piece):,} sixteenths, more than the {max_steps:,} "
            f"({max_steps // 16} bars of 4/4) the app takes"
        )
    return piece


def _limit_memory(memory: int) -> None:
    """Limit this process's address space to ``memory`` bytes where the platform allows."""
    try:
        import resource
    except ImportError:  # Windows: the time limit still holds
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        memory = min(memory, hard)
    resource.setrlimit(resource.RLIMIT_AS, (memory, hard))
