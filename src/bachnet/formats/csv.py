"""The JSB CSV format: a ``note0,note1,note2,note3`` header, one row of pitches per 16th note.

The `CSV` format (``.csv``) of the table (`bachnet.music.table`) and the converters behind
`Chorale.from_csv` and `Chorale.to_csv`. As a melody, a ``.csv`` file is one column of MIDI
pitches (a header line is optional) or the ``note0`` column of a JSB file.

Examples:
    >>> import io
    >>> from bachnet import Chorale
    >>> text = csv_text(Chorale([[72, 67, 64, 48]]))
    >>> text
    'note0,note1,note2,note3\\n72,67,64,48\\n'
    >>> read_csv(io.StringIO(text)).chords.tolist()
    [[72, 67, 64, 48]]
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from bachnet.core.aliases import PathLike
from bachnet.core.files import atomic_path
from bachnet.errors import InputError, LimitError
from bachnet.music.chorale import Chorale
from bachnet.music.grid import MAX_STEPS, melody_pitches
from bachnet.music.table import Format, Line, WriteOptions, check_readable

__all__ = ["CSV", "HEADER", "csv_text", "read_csv", "read_melody", "write_csv"]

HEADER: tuple[str, ...] = ("note0", "note1", "note2", "note3")
"""The header of a JSB CSV file: soprano, alto, tenor, bass."""


def read_csv(source: PathLike | io.TextIOBase, name: str | None = None) -> Chorale:
    """Read the JSB CSV format (see `Chorale.from_csv`).

    Args:
        source: a path or an open text file.
        name: label; defaults to the file stem.

    Raises:
        InputError: a missing, special or oversized file; a missing header, a row without
            four integers, or bad pitches; the message names the file and line.
        LimitError: more than `bachnet.music.grid.MAX_STEPS` rows.
    """
    if isinstance(source, io.TextIOBase):
        where, text = name or "<stream>", source.read()
    else:
        path = Path(source)
        check_readable(path)
        where, text = str(path), path.read_text(encoding="utf-8-sig")  # a BOM is not data
        name = name or path.stem
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise InputError(f"{where}: not CSV ({error})") from None
    if not rows or tuple(h.strip() for h in rows[0]) != HEADER:
        raise InputError(f"{where}: expected the header '{','.join(HEADER)}'")
    if len(rows) - 1 > MAX_STEPS:
        raise LimitError(f"{where}: {len(rows) - 1} rows is more than {MAX_STEPS} steps")
    chords = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        try:
            values = [int(v) for v in row]
        except ValueError:
            raise InputError(f"{where}, line {line}: {row!r} is not four integers") from None
        if len(values) != 4:
            raise InputError(f"{where}, line {line}: expected 4 values, got {len(values)}")
        chords.append(values)
    if not chords:
        raise InputError(f"{where}: no rows after the header (an empty chorale)")
    # the JSB layout starts on the first note and ends on a bar line: the pickup is what
    # the length leaves over whole 4/4 bars
    return Chorale(np.array(chords), name=name or where, pickup=len(chords) % 16)


def csv_text(chorale: Chorale) -> str:
    """The chorale as JSB-format CSV text (see `Chorale.to_csv`)."""
    lines = [",".join(HEADER)]
    lines += [",".join(str(int(v)) for v in row) for row in chorale.chords]
    return "\n".join(lines) + "\n"


def write_csv(chorale: Chorale, path: Path, options: WriteOptions) -> Path:
    """Write `Chorale.to_csv` atomically (the table's ``csv`` writer; no option applies)."""
    with atomic_path(path, suffix=path.suffix.lower()) as tmp:
        tmp.write_text(chorale.to_csv(), encoding="utf-8")
    return path


def read_melody(path: Path) -> Line:
    """Read a melody from CSV: one column of MIDI pitches (a header line is optional), or the
    ``note0`` column (the soprano) of a JSB-style file. A CSV column cannot say where a
    repeated note is struck again: a note is struck where the pitch changes (``onsets`` None).

    Raises:
        InputError: no pitches, several columns without a ``note0`` header, a cell that is not
            a MIDI pitch (the message names the line), or a pitch outside 0..127.
    """
    text = path.read_text(encoding="utf-8-sig")  # a BOM is not data
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise InputError(f"{path}: the melody is empty")
    first = [cell.strip() for cell in rows[0]]
    header = not all(cell.lstrip("-").isdigit() for cell in first)
    if len(first) == 1:
        column = 0
    elif header and HEADER[0] in first:
        column = first.index(HEADER[0])
    else:
        raise InputError(
            f"{path}: expected one column of MIDI pitches, or a 'note0' column (the soprano)"
        )
    values = []
    for line, row in enumerate(rows[1:] if header else rows, start=2 if header else 1):
        cell = row[column].strip() if column < len(row) else ""
        if not cell.lstrip("-").isdigit():
            raise InputError(f"{path}, line {line}: {cell!r} is not a MIDI pitch")
        values.append(int(cell))
    return Line(melody_pitches(np.array(values, dtype=np.int64), str(path)))


CSV = Format(
    "csv",
    (".csv",),
    "the JSB CSV format: a note0..note3 header, one row of MIDI pitches per 16th note",
    read=read_csv,
    write=write_csv,
    read_melody=read_melody,
)
"""``.csv``: read, written, and read as a melody."""
