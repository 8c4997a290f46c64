"""File formats: importing this package fills the format table of `bachnet.music.table`.

The modules define the formats and the converters; this package registers them, in the order
of `FORMATS` (the order in which suffixes are listed to users): MIDI, MusicXML, compressed
MusicXML and Humdrum kern (`bachnet.formats.music21`), the JSB CSV format
(`bachnet.formats.csv`), audio (`bachnet.formats.audio`) and the engraved score and piano roll
(`bachnet.formats.score`).
``import bachnet`` imports this package, so `Chorale.read`, `Chorale.write`, `Chorale.to_music21`
and the rest always find what they delegate to.

Examples:
    >>> [(f.name, f.suffixes) for f in registered()][:2]
    [('midi', ('.mid', '.midi')), ('musicxml', ('.musicxml', '.xml'))]
    >>> suffixes("write")
    ('.mid', '.midi', '.musicxml', '.xml', '.csv', '.wav', '.flac', '.ogg', '.svg', '.png', '.pdf')
    >>> suffixes("read")
    ('.mid', '.midi', '.musicxml', '.xml', '.mxl', '.krn', '.csv')
"""

from __future__ import annotations

from bachnet.formats import audio, csv, music21, notebook, score
from bachnet.music.table import (
    MAX_FILE_BYTES,
    Format,
    Purpose,
    WriteOptions,
    check_readable,
    converters,
    lookup,
    read_chorale,
    read_line,
    read_melody,
    register,
    registered,
    suffixes,
)

__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "Format",
    "Purpose",
    "WriteOptions",
    "audio",
    "check_readable",
    "csv",
    "lookup",
    "music21",
    "notebook",
    "read_chorale",
    "read_line",
    "read_melody",
    "register",
    "registered",
    "score",
    "suffixes",
]

FORMATS: tuple[Format, ...] = (
    music21.MIDI,
    music21.MUSICXML,
    music21.MXL,
    music21.KERN,
    csv.CSV,
    audio.AUDIO,
    score.SCORE,
)
"""bachnet's own formats, registered in this order when the package is imported."""

for _format in FORMATS:
    register(_format)

converters.from_csv = csv.read_csv
converters.to_csv = csv.csv_text
converters.parse_music_file = music21.parse_music_file
converters.from_music21 = music21.from_music21
converters.to_music21 = music21.to_music21
converters.to_audio = audio.render
converters.to_svg = score.to_svg
converters.to_html = notebook.chorale_html
