"""The format table: every file format bachnet reads or writes, found by its suffix.

One `Format` per kind of file (MIDI, MusicXML, kern, CSV, audio, score) names its suffixes and
the functions that read a `Chorale` from such a file, write one to it, or read a one-part melody
from it. The table starts empty: ``import bachnet.formats`` (which ``import bachnet`` does)
registers bachnet's own formats, and `Chorale.read`, `Chorale.write`, the command line, the
web app and the melody reader all look suffixes up here, so each suffix is listed once.

The functions that turn a chorale into other objects and back (a music21 score, CSV text,
audio samples, SVG, a notebook view) are registered by `bachnet.formats` in `converters`:
this module, like all of `bachnet.music`, imports no renderer.

Examples:
    >>> [f.name for f in registered()]
    ['midi', 'musicxml', 'mxl', 'kern', 'csv', 'audio', 'score']
    >>> suffixes("read")
    ('.mid', '.midi', '.musicxml', '.xml', '.mxl', '.krn', '.csv')
    >>> lookup("chorale.wav", "write").extra
    'audio'
    >>> lookup("chorale.mp3", "read")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bachnet.errors.InputError: chorale.mp3: unknown file suffix '.mp3'; use one of .mid, ...
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from bachnet.core.aliases import PathLike
from bachnet.errors import InputError, LimitError

if TYPE_CHECKING:
    from bachnet.music.chorale import Chorale
    from bachnet.music.keys import Key

__all__ = [
    "MAX_FILE_BYTES",
    "Converters",
    "Format",
    "Line",
    "Purpose",
    "WriteOptions",
    "check_readable",
    "converters",
    "lookup",
    "need",
    "read_chorale",
    "read_line",
    "read_melody",
    "register",
    "registered",
    "suffixes",
]

MAX_FILE_BYTES = 20_000_000
"""The largest music file any reader opens (a JSB chorale is a few kilobytes)."""

Purpose = Literal["read", "write", "melody"]
"""What a file is for: a `Chorale` to read, one to write, or a one-part melody to read."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class WriteOptions:
    """The options of `Chorale.write`, handed to a format's ``write`` function.

    Args:
        tempo: quarter notes per minute (MIDI, MusicXML and audio).
        instrument: audio only: an instrument name or General MIDI program.
        soundfont: audio only: a ``.sf2`` file (``None``: the default one).
        sample_rate: audio only: samples per second.
        key: scores only (MusicXML, SVG, PNG, PDF): the key signature and spelling,
            ``"auto"`` (found by key analysis), a `bachnet.music.keys.Key` or ``None`` (none).
    """

    tempo: float = 60.0
    instrument: str | int = "choir"
    soundfont: PathLike | None = None
    sample_rate: int = 44100
    key: Key | str | None = "auto"


@dataclass(frozen=True)
class Format:
    """One kind of file: its suffixes and what bachnet can do with it.

    Args:
        name: a short identifier (``"midi"``, ``"csv"``), unique in the table.
        suffixes: lower-case file suffixes with their dot (``(".mid", ".midi")``); each
            suffix belongs to one format.
        description: one line for humans.
        read: reads a `Chorale` from a file that `check_readable` has passed.
        write: writes a `Chorale` to a path (atomically), returns the path written.
        read_melody: reads a one-part melody: a `Line` of MIDI pitches per 16th step (0 =
            rest) and, where the file knows them, the steps where notes are struck.
        extra: the ``pip install 'bachnet[EXTRA]'`` extra the format needs, if any.
        require: checks, before any work, that a file of this format can be written
            (raises naming what to install).

    Raises:
        InputError: a format without suffixes, or a suffix that is not lower case with a dot.

    Examples:
        >>> Format("text", (".txt",), "plain text").can("write")
        False
    """

    name: str
    suffixes: tuple[str, ...]
    description: str
    read: Callable[[Path], Chorale] | None = field(default=None, repr=False)
    write: Callable[[Chorale, Path, WriteOptions], Path] | None = field(default=None, repr=False)
    read_melody: Callable[[Path], Line] | None = field(default=None, repr=False)
    extra: str | None = None
    require: Callable[[Path], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.suffixes:
            raise InputError(f"format {self.name!r}: no suffixes")
        for suffix in self.suffixes:
            if not suffix.startswith(".") or suffix != suffix.lower() or len(suffix) < 2:
                raise InputError(
                    f"format {self.name!r}: a suffix is lower case with its dot, got {suffix!r}"
                )

    def can(self, purpose: Purpose) -> bool:
        """Whether this format serves ``purpose`` (``"read"``, ``"write"`` or ``"melody"``)."""
        function = {"read": self.read, "write": self.write, "melody": self.read_melody}
        return function[purpose] is not None


_BY_SUFFIX: dict[str, Format] = {}
"""The table: suffix -> format, in the order the formats were registered."""


def register(fmt: Format) -> Format:
    """Add ``fmt`` to the end of the table and return it; it replaces, in place, a format of
    the same name.

    Raises:
        InputError: one of its suffixes belongs to another format.
    """
    for suffix in fmt.suffixes:
        owner = _BY_SUFFIX.get(suffix)
        if owner is not None and owner.name != fmt.name:
            raise InputError(f"suffix {suffix!r} already belongs to the format {owner.name!r}")
    table: dict[str, Format] = {}
    for suffix, known in _BY_SUFFIX.items():
        if known.name != fmt.name:
            table[suffix] = known
        elif not table.keys() & fmt.suffixes:  # a replacement keeps its place
            table.update(dict.fromkeys(fmt.suffixes, fmt))
    table.update(dict.fromkeys(fmt.suffixes, fmt))
    _BY_SUFFIX.clear()
    _BY_SUFFIX.update(table)
    return fmt


def registered() -> tuple[Format, ...]:
    """Every registered format, in the order of registration."""
    return tuple({id(f): f for f in _BY_SUFFIX.values()}.values())


def suffixes(purpose: Purpose | None = None) -> tuple[str, ...]:
    """The suffixes of the formats that serve ``purpose`` (all of them for ``None``), in order.

    Examples:
        >>> suffixes("melody")
        ('.mid', '.midi', '.musicxml', '.xml', '.mxl', '.krn', '.csv')
    """
    return tuple(s for s, f in _BY_SUFFIX.items() if purpose is None or f.can(purpose))


def lookup(path: PathLike, purpose: Purpose) -> Format:
    """The format of ``path``, by its suffix (any case), that serves ``purpose``.

    Raises:
        InputError: no registered format serves the suffix for ``purpose``; the message names
            the file, the suffix and the suffixes that would do.
        RuntimeError: no format is registered at all (`bachnet.formats` was never imported).
    """
    _check_filled()
    suffix = Path(path).suffix.lower()
    fmt = _BY_SUFFIX.get(suffix)
    if fmt is None or not fmt.can(purpose):
        noun = "melody file" if purpose == "melody" else "file"
        raise InputError(
            f"{path}: unknown {noun} suffix {suffix!r}; use one of {', '.join(suffixes(purpose))}"
        )
    return fmt


def check_readable(path: Path) -> None:
    """Refuse a missing file, a special one (a folder, a FIFO, a device) or an oversized one.

    Raises:
        InputError: a missing or special file.
        LimitError: a file of more than `MAX_FILE_BYTES`.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file (a folder, a FIFO or a device)")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise LimitError(f"{path}: {size:,} bytes is more than the {MAX_FILE_BYTES:,} allowed")


def read_chorale(path: PathLike) -> Chorale:
    """Read a `Chorale` from ``path`` with the reader its suffix names (see `Chorale.read`).

    Raises:
        InputError: an unknown suffix; a missing, special, oversized or damaged file.
    """
    source = Path(path)
    reader = need(lookup(source, "read").read, "a reader")
    check_readable(source)
    return reader(source)


class Line(NamedTuple):
    """A one-voice line on the 16th-note grid (`read_line`).

    Attributes:
        pitches: MIDI pitch per step, 0 = rest.
        onsets: True where a note is struck (a repeated note is struck again); ``None`` where
            the file cannot say (a CSV column): then a note is struck where the pitch changes.
        meter: the file's time signature (4/4 where it gives none bachnet knows).
        pickup: 16ths before the first bar line (0: the line starts on one).
        fermatas: the steps of the notes marked with a fermata (none where the file cannot
            say).
    """

    pitches: npt.NDArray[np.int16]
    onsets: npt.NDArray[np.bool_] | None = None
    meter: str = "4/4"
    pickup: int = 0
    fermatas: tuple[int, ...] = ()


def read_melody(path: PathLike) -> npt.NDArray[np.int16]:
    """Read a one-part melody onto the 16th-note grid: MIDI pitches per step, 0 = rest.

    ``.csv``: one column of MIDI pitches (a header line is optional), or the ``note0``
    column of a JSB-style file. ``.mid``/``.midi``/``.musicxml``/``.xml``/``.mxl``/``.krn``:
    parsed with music21; the file must hold one part, one note at a time, every note and rest
    starting and ending on a 16th. Rests after the last note are dropped (MIDI files pad the
    last bar). The file passes the checks `Chorale.read` makes (suffix, regular file, size).

    Raises:
        InputError: an unknown suffix; a missing, special, oversized or unparsable file; a
            chord, an off-grid rhythm (the message names the measure and offset), no notes,
            or a pitch outside 0..127.

    Examples:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "tune.csv"
        >>> _ = path.write_text("pitch\\n72\\n72\\n0\\n74\\n")
        >>> read_melody(path).tolist()
        [72, 72, 0, 74]
    """
    return read_line(path).pitches


def read_line(path: PathLike) -> Line:
    """Read a one-part melody as `read_melody` does, with where its notes are struck.

    Examples:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "tune.csv"
        >>> _ = path.write_text("pitch\\n72\\n72\\n0\\n74\\n")
        >>> read_line(path).onsets is None  # a CSV column cannot say
        True
    """
    source = Path(path)
    reader = need(lookup(source, "melody").read_melody, "a melody reader")
    check_readable(source)
    return reader(source)


def _check_filled() -> None:
    if not _BY_SUFFIX:
        raise RuntimeError(
            "no file formats are registered: import bachnet.formats (import bachnet does)"
        )


# ------------------------------------------------------------------------------ converters
class _ToMusic21(Protocol):
    def __call__(
        self,
        chorale: Chorale,
        *,
        tempo: float = ...,
        time_signature: str | None = ...,
        key: Key | str | None = ...,
        staves: int = ...,
    ) -> Any: ...


class _ToAudio(Protocol):
    def __call__(
        self,
        chorale: Chorale,
        *,
        tempo: float = ...,
        sample_rate: int = ...,
        instrument: str | int = ...,
        soundfont: PathLike | None = ...,
        tail: float = ...,
    ) -> npt.NDArray[np.float32]: ...


class _ToSvg(Protocol):
    def __call__(self, chorale: Chorale, *, key: Key | str | None = ...) -> str: ...


@dataclass
class Converters:
    """The functions behind `Chorale`'s conversions, registered by `bachnet.formats`.

    `Chorale.from_csv`, `Chorale.to_csv`, `Chorale.from_music21`, `Chorale.to_music21`,
    `Chorale.to_audio`, `Chorale.to_svg`, `Chorale._repr_html_` and `parse_music_file` call
    these; `need` names the missing one if `bachnet.formats` was never imported.
    """

    from_csv: Callable[[PathLike | io.TextIOBase, str | None], Chorale] | None = None
    to_csv: Callable[[Chorale], str] | None = None
    parse_music_file: Callable[[Path], Any] | None = None
    from_music21: Callable[[Any, str | None], Chorale] | None = None
    to_music21: _ToMusic21 | None = None
    to_audio: _ToAudio | None = None
    to_svg: _ToSvg | None = None
    to_html: Callable[[Chorale], str] | None = None


converters = Converters()
"""The registered `Converters` (filled when `bachnet.formats` is imported)."""


def need(function: _T | None, what: str) -> _T:
    """``function``, or a `RuntimeError` saying that `bachnet.formats` must register ``what``.

    Examples:
        >>> need(len, "len")([1, 2])
        2
    """
    if function is None:
        raise RuntimeError(
            f"{what} is registered by bachnet.formats, which was never imported: "
            "import bachnet.formats (import bachnet does)"
        )
    return function
