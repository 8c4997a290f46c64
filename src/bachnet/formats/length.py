"""How long a MIDI, MusicXML or kern file lasts, read from its bytes before music21 builds
anything.

music21 turns a file into a score of objects, and a 37-byte MIDI file whose one note lasts
a quarter of a billion ticks, or a 1 KB MusicXML file with one very long note, grows to
gigabytes on the way. `check_length` reads only the file's timing (MIDI delta times and
ticks per quarter; MusicXML durations, divisions, backups and forwards, measure by measure,
compressed ``.mxl`` included; Humdrum ``**kern`` durations, spine by spine) with a small
streaming reader, and refuses a piece longer than `bachnet.music.grid.MAX_STEPS` sixteenths,
the cap a CSV piece has, before music21 sees it.

Examples:
    >>> import struct
    >>> track = b"\\x00\\x90\\x3c\\x40\\x83\\x60\\x80\\x3c\\x00\\x00\\xff\\x2f\\x00"
    >>> header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480)
    >>> midi_quarters(header + b"MTrk" + struct.pack(">I", len(track)) + track)
    1.0
    >>> import io
    >>> kern = b"**kern\\t**kern\\n2C\\t4c\\n.\\t4d\\n2D\\t2e\\n*-\\t*-\\n"
    >>> kern_quarters(io.BytesIO(kern))  # a half and a half; two quarters and a half
    4.0
"""

from __future__ import annotations

import math
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

from bachnet.errors import InputError, LimitError
from bachnet.music.grid import MAX_STEPS, STEP_QUARTERS
from bachnet.music.table import MAX_FILE_BYTES

__all__ = ["check_length", "file_quarters", "kern_quarters", "midi_quarters", "musicxml_quarters"]


def check_length(
    path: Path, limit: int = MAX_STEPS, reader: str = "bachnet reads", label: str | None = None
) -> int:
    """Refuse a MIDI, MusicXML or kern file that lasts more than ``limit`` sixteenths (default
    `MAX_STEPS`); the message names the file as ``label`` (default: its path) and ends with
    ``reader`` (who refuses it).

    Returns:
        The file's length in sixteenths (rounded up).

    Raises:
        LimitError: the file lasts longer than ``limit`` sixteenths, or
            a compressed MusicXML file unpacks to more than `MAX_FILE_BYTES`.
        InputError: the file's timing cannot be read (a damaged file).
    """
    quarters = min(file_quarters(path), _LONGEST)
    steps = math.ceil(quarters / STEP_QUARTERS)
    if steps > limit:
        raise LimitError(
            f"{label or path}: the music lasts {steps:,} sixteenths, more than the {limit:,} "
            f"({limit // 16:,} bars of 4/4) {reader}"
        )
    return steps


def file_quarters(path: Path) -> float:
    """The length of a MIDI, MusicXML, compressed MusicXML or Humdrum kern file in quarter
    notes.

    The kind of file is told by its first bytes (``MThd``: MIDI; a zip: compressed MusicXML;
    ``!`` or ``*``: Humdrum; else MusicXML), and a ``.krn`` file is Humdrum whatever its bytes
    (music21 picks its parser by the suffix).

    Raises:
        LimitError: a compressed MusicXML file unpacks to more than `MAX_FILE_BYTES`.
        InputError: the timing cannot be read.
    """
    with path.open("rb") as handle:
        start = handle.read(4)
        handle.seek(0)
        if start == b"MThd":
            return midi_quarters(handle.read(), str(path))
        if start.startswith(b"PK"):
            return _mxl_quarters(handle, path)
        if path.suffix.lower() == ".krn" or _is_humdrum(handle.read(4096)):
            handle.seek(0)
            return kern_quarters(handle)
        handle.seek(0)
        return musicxml_quarters(handle, str(path))


def midi_quarters(data: bytes, where: str = "MIDI file") -> float:
    """The time of a Standard MIDI File's last event, in quarter notes.

    Tracks run side by side (formats 0 and 1) or one after another (format 2). A track cut
    short ends where its bytes end (music21 then says what is wrong with it).

    Raises:
        InputError: no header, or SMPTE time (frames per second, not ticks per quarter).
    """
    if len(data) < 14 or data[:4] != b"MThd":
        raise InputError(f"{where}: not a MIDI file (no MThd header)")
    size, kind, _, division = struct.unpack(">IHHH", data[4:14])
    if division & 0x8000:
        raise InputError(
            f"{where}: SMPTE (frames per second) timing is not supported; "
            "save the file with ticks per quarter note"
        )
    if division == 0:
        raise InputError(f"{where}: 0 ticks per quarter note")
    position, ends = 8 + size, []
    while position + 8 <= len(data):
        name, length = (
            data[position : position + 4],
            struct.unpack(">I", data[position + 4 : position + 8])[0],
        )
        body = data[position + 8 : position + 8 + length]
        position += 8 + length
        if name == b"MTrk":
            ends.append(_track_ticks(body))
    ticks = sum(ends) if kind == 2 else max(ends, default=0)
    return float(ticks / int(division))


def _track_ticks(body: bytes) -> int:
    """The tick of a track's last event before its end-of-track (a damaged track: of the
    last event read)."""
    position, now, last, running = 0, 0, 0, 0
    while position < len(body):
        delta, position = _varlen(body, position)
        now += delta
        if position >= len(body):
            break
        status = body[position]
        if status & 0x80:
            position += 1
        elif running:
            status = running  # running status: the data byte belongs to the last message
        else:
            break
        if status == 0xFF:  # meta event
            if position >= len(body):
                break
            kind = body[position]
            length, position = _varlen(body, position + 1)
            position += length
            if kind == 0x2F:
                break  # end of track: its delta only pads the track
        elif status in (0xF0, 0xF7):  # system exclusive
            length, position = _varlen(body, position)
            position += length
        elif status >= 0xF0:
            break  # not a message a file holds
        else:
            running = status
            position += 1 if 0xC0 <= status < 0xE0 else 2
        last = now
    return last


def _varlen(body: bytes, position: int) -> tuple[int, int]:
    """A MIDI variable-length number (at most 4 bytes) and the position after it."""
    value = 0
    for _ in range(4):
        if position >= len(body):
            break
        byte = body[position]
        position += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return value, position


def musicxml_quarters(source: IO[bytes], where: str = "MusicXML file") -> float:
    """The length of a MusicXML score (partwise or timewise) in quarter notes.

    Each measure lasts as far as its notes, forwards and backups reach, counted in the
    part's ``divisions``; a part lasts the sum of its measures and the score its longest part.
    The file is read as a stream, one measure at a time.

    Raises:
        InputError: the file is not well-formed XML.
    """
    divisions: dict[str, float] = {}
    lengths: dict[str, float] = {}
    current = ""
    try:
        for event, element in ElementTree.iterparse(source, events=("start", "end")):
            tag = _tag(element)
            if event == "start":
                if tag == "part":
                    current = element.get("id", "")
                continue
            if tag != "measure":
                continue
            parts = [(p.get("id", ""), p) for p in element if _tag(p) == "part"]
            for part, measure in parts or [(current, element)]:
                lengths[part] = lengths.get(part, 0.0) + _measure_quarters(measure, divisions, part)
            element.clear()
    except ElementTree.ParseError as error:
        raise InputError(f"{where}: not well-formed MusicXML ({error})") from None
    return max(lengths.values(), default=0.0)


def _measure_quarters(
    measure: ElementTree.Element, divisions: dict[str, float], part: str
) -> float:
    position = furthest = 0.0
    for child in measure:
        tag = _tag(child)
        if tag == "attributes":
            for item in child:
                if _tag(item) == "divisions":
                    value = _number(item.text)
                    if value > 0:
                        divisions[part] = value
        elif tag == "note":
            names = {_tag(item) for item in child}
            if "chord" in names or "grace" in names:
                continue
            position += _duration(child)
        elif tag == "forward":
            position += _duration(child)
        elif tag == "backup":
            position = max(0.0, position - _duration(child))
        furthest = max(furthest, position)
    return furthest / divisions.get(part, 1.0)


def _duration(element: ElementTree.Element) -> float:
    for item in element:
        if _tag(item) == "duration":
            return max(0.0, _number(item.text))
    return 0.0


def _number(text: str | None) -> float:
    try:
        value = float(text or "")
    except ValueError:
        return 0.0
    return value if math.isfinite(value) else 0.0


def _tag(element: ElementTree.Element) -> str:
    return str(element.tag).rpartition("}")[2]


def _mxl_quarters(handle: IO[bytes], path: Path) -> float:
    """The length of the score in a compressed MusicXML (``.mxl``) file.

    The score is the container's first root file (``META-INF/container.xml``), else its first
    ``.xml`` or ``.musicxml`` member outside ``META-INF``.
    """
    try:
        with zipfile.ZipFile(handle) as zipped:
            names = zipped.namelist()
            score = None
            if "META-INF/container.xml" in names:
                container = ElementTree.fromstring(zipped.read("META-INF/container.xml"))
                roots = [e.get("full-path") for e in container.iter() if _tag(e) == "rootfile"]
                score = next((name for name in roots if name in names), None)
            if score is None:
                score = next(
                    (
                        name
                        for name in names
                        if name.endswith((".xml", ".musicxml")) and not name.startswith("META-INF")
                    ),
                    None,
                )
            if score is None:
                raise InputError(f"{path}: a zip without a MusicXML score in it")
            size = zipped.getinfo(score).file_size
            if size > MAX_FILE_BYTES:
                raise LimitError(
                    f"{path}: its score unpacks to {size:,} bytes, more than the "
                    f"{MAX_FILE_BYTES:,} allowed"
                )
            with zipped.open(score) as member:
                return musicxml_quarters(member, f"{path}:{score}")
    except (zipfile.BadZipFile, zlib.error, EOFError, ElementTree.ParseError) as error:
        raise InputError(f"{path}: a damaged compressed MusicXML file ({error})") from None


# ----------------------------------------------------------------------------- Humdrum kern
_LONGEST = 1e18
"""A length (in quarters) past any limit: what an endless (infinite) kern duration counts as."""

_PATHS = frozenset({"*+", "*-", "*^", "*v", "*x"})
"""Humdrum spine-path tokens: add, end, split, join and exchange spines."""

_RATIONAL = re.compile(r"(\d+)%(\d+)")
_NUMBER = re.compile(r"\d+")


@dataclass
class _Spine:
    """One open Humdrum spine: its kind (``kern``, another, or ``None`` before its ``**``
    record) and how far its notes and rests have reached, in quarters."""

    kind: str | None
    quarters: float


def _is_humdrum(start: bytes) -> bool:
    """Whether a file's first bytes look like Humdrum (a comment or an interpretation)."""
    text = start.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith((b"!", b"*"))


def kern_quarters(source: IO[bytes]) -> float:
    """The length of a Humdrum ``**kern`` score in quarter notes: its longest spine.

    music21 strings each spine's notes and rests one after another, whatever the records'
    alignment, so each spine is timed alone: the sum of its durations (``4`` a quarter,
    ``8.`` a dotted eighth, ``0`` a breve, ``3%2`` a rational duration; grace notes none; a
    chord as long as its longest note). Spine paths are followed (a split spine's voices
    start where it was, a join goes on from the later voice); a spine of unknown kind counts
    as kern, and one added or found with no ``**`` record starts where the furthest spine has
    reached, so the result never falls short of the length music21 reads (several pieces in
    one file add up). Read line by line; never more than ``1e18``. Nothing here refuses a
    file: music21 judges a damaged one.
    """
    spines: list[_Spine] = []
    furthest = 0.0
    known: dict[str, float] = {}  # token -> quarters: a piece repeats few tokens
    for raw in source:
        line = raw.decode("utf-8", "replace").rstrip()
        if not line or line[0] == "!":
            continue  # a blank line or a comment
        tokens = line.split("\t")
        if "" in tokens:
            tokens = [token for token in tokens if token]  # music21 splits at runs of tabs
        while len(spines) < len(tokens):
            spines.append(_Spine(None, furthest))
        if "*" in line and not _PATHS.isdisjoint(tokens):
            spines = _follow_paths(tokens, spines, furthest)
            continue
        for token, spine in zip(tokens, spines, strict=False):
            if token.startswith("**"):
                spine.kind = spine.kind or token[2:]
            elif spine.kind in (None, "kern") and token != "." and token[0] not in "*=!":
                quarters = known.get(token)
                if quarters is None:
                    quarters = known[token] = _kern_token_quarters(token)
                spine.quarters = min(spine.quarters + quarters, _LONGEST)
                furthest = max(furthest, spine.quarters)
    return furthest


def _follow_paths(tokens: list[str], spines: list[_Spine], furthest: float) -> list[_Spine]:
    """The spines after a spine-path record: ``*^`` splits a spine in two, a run of ``*v``
    joins into one (from the furthest of them), ``*x *x`` exchanges two, ``*-`` ends one,
    ``*+`` adds one (from ``furthest``); a spine with no token here goes on."""
    after: list[_Spine] = []
    joined: _Spine | None = None
    exchanged: _Spine | None = None
    for index, spine in enumerate(spines):
        token = tokens[index] if index < len(tokens) else "*"
        if token != "*v" and joined is not None:
            after.append(joined)
            joined = None
        if token == "*-":
            continue
        if token == "*^":
            after += [_Spine(spine.kind, spine.quarters), _Spine(spine.kind, spine.quarters)]
        elif token == "*v":
            if joined is None:
                joined = _Spine(spine.kind, spine.quarters)
            else:
                joined.quarters = max(joined.quarters, spine.quarters)
                if spine.kind in (None, "kern"):
                    joined.kind = joined.kind if joined.kind == "kern" else spine.kind
        elif token == "*x":
            if exchanged is None:
                exchanged = spine
            else:
                after += [spine, exchanged]
                exchanged = None
        elif token == "*+":
            after += [spine, _Spine(None, furthest)]
        else:
            if token.startswith("**"):
                spine.kind = spine.kind or token[2:]
            after.append(spine)
    if joined is not None:
        after.append(joined)
    if exchanged is not None:
        after.append(exchanged)  # an exchange without its pair: music21 refuses the file
    return after


def _kern_token_quarters(token: str) -> float:
    """The quarters a kern data token lasts: its longest note (the notes of a chord are
    separated by spaces); a grace note (``q``, ``Q``, ``P``) lasts none; no number, none."""
    longest = 0.0
    for note in token.split(" "):
        if "q" in note or "Q" in note or "P" in note:
            continue
        dots = 2.0 - 0.5 ** note.count(".")
        rational = _RATIONAL.search(note)
        number = _NUMBER.search(note)
        if rational:
            quarters = 4.0 * float(rational[2]) / max(float(rational[1]), 1.0) * dots
        elif number is None:
            continue
        elif float(number[0]) == 0:
            quarters = {"000": 32.0, "00": 16.0}.get(number[0], 8.0) * dots
        else:
            quarters = 4.0 / float(number[0]) * dots
        longest = max(longest, quarters)
    return longest if math.isfinite(longest) else _LONGEST
