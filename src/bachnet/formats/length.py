"""How long a MIDI or MusicXML file lasts, read from its bytes before music21 builds anything.

music21 turns a file into a score of objects, and a 37-byte MIDI file whose one note lasts
a quarter of a billion ticks, or a 1 KB MusicXML file with one very long note, grows to
gigabytes on the way. `check_length` reads only the file's timing (MIDI delta times and
ticks per quarter; MusicXML durations, divisions, backups and forwards, measure by measure,
compressed ``.mxl`` included) with a small streaming reader, and refuses a piece longer than
`bachnet.music.grid.MAX_STEPS` sixteenths, the cap a CSV piece has, before music21 sees it.

Examples:
    >>> import struct
    >>> track = b"\\x00\\x90\\x3c\\x40\\x83\\x60\\x80\\x3c\\x00\\x00\\xff\\x2f\\x00"
    >>> header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480)
    >>> midi_quarters(header + b"MTrk" + struct.pack(">I", len(track)) + track)
    1.0
"""

from __future__ import annotations

import math
import struct
import zipfile
import zlib
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

from bachnet.errors import InputError, LimitError
from bachnet.music.grid import MAX_STEPS, STEP_QUARTERS
from bachnet.music.table import MAX_FILE_BYTES

__all__ = ["check_length", "file_quarters", "midi_quarters", "musicxml_quarters"]


def check_length(
    path: Path, limit: int = MAX_STEPS, reader: str = "bachnet reads", label: str | None = None
) -> int:
    """Refuse a MIDI or MusicXML file that lasts more than ``limit`` sixteenths (default
    `MAX_STEPS`); the message names the file as ``label`` (default: its path) and ends with
    ``reader`` (who refuses it).

    Returns:
        The file's length in sixteenths (rounded up).

    Raises:
        LimitError: the file lasts longer than ``limit`` sixteenths, or
            a compressed MusicXML file unpacks to more than `MAX_FILE_BYTES`.
        InputError: the file's timing cannot be read (a damaged file).
    """
    quarters = file_quarters(path)
    steps = math.ceil(quarters / STEP_QUARTERS)
    if steps > limit:
        raise LimitError(
            f"{label or path}: the music lasts {steps:,} sixteenths, more than the {limit:,} "
            f"({limit // 16:,} bars of 4/4) {reader}"
        )
    return steps


def file_quarters(path: Path) -> float:
    """The length of a MIDI, MusicXML or compressed MusicXML file in quarter notes.

    The kind of file is told by its first bytes (``MThd``: MIDI; a zip: compressed MusicXML;
    else MusicXML), not by its name.

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
