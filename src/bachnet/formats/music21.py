"""MIDI and MusicXML through music21: a `Chorale` to a score and back, and the files.

Three formats for the table (`bachnet.music.table`): `MIDI` (``.mid``, ``.midi``),
`MUSICXML` (``.musicxml``, ``.xml``) and `MXL` (compressed MusicXML, read only); and the
converters behind `Chorale.to_music21`, `Chorale.from_music21` and
`bachnet.music.chorale.parse_music_file`. `bachnet.formats` registers them. music21 itself
is imported on first use.

Examples:
    >>> from bachnet import Chorale
    >>> c = Chorale([[72, 67, 64, 48]] * 4 + [[74, 67, 62, 43]] * 4)
    >>> from_music21(to_music21(c)) == c
    True
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bachnet.core.aliases import PathLike
from bachnet.core.files import atomic_path
from bachnet.errors import InputError
from bachnet.formats.length import check_length
from bachnet.music.chorale import Chorale
from bachnet.music.grid import (
    METERS,
    STEP_QUARTERS,
    VOICES,
    bar_steps,
    check_tempo,
    melody_pitches,
    merge_fermatas,
    runs,
)
from bachnet.music.keys import Key, find_key
from bachnet.music.table import (
    Format,
    WriteOptions,
    check_readable,
)

if TYPE_CHECKING:
    import music21

__all__ = [
    "MIDI",
    "MUSICXML",
    "MXL",
    "from_music21",
    "parse_music_file",
    "read_melody",
    "read_music21",
    "to_music21",
    "write_midi",
    "write_musicxml",
]

_GRID = Fraction(STEP_QUARTERS)


def parse_music_file(path: PathLike) -> music21.stream.Score:
    """Parse a MIDI or MusicXML file with music21, from its source.

    music21 keeps pickled copies of parsed files in a cache folder shared by every user
    (``/tmp/music21``) and reads them back by name and date: a planted pickle would run code,
    and a stale one would return another piece. This parses the file itself every time and
    stores nothing. The file must pass `check_readable` (a regular file of at most
    `bachnet.music.table.MAX_FILE_BYTES`) and `bachnet.formats.length.check_length` (music
    of at most `bachnet.music.grid.MAX_STEPS` sixteenths, measured before music21 reads it).

    Raises:
        InputError: a missing, special (a FIFO, a folder), oversized or unparsable file.
        LimitError: music longer than `MAX_STEPS` sixteenths.
    """
    import music21

    source = Path(path)
    check_readable(source)
    check_length(source)
    try:
        return music21.converter.parse(str(source), forceSource=True, storePickle=False)
    except Exception as error:  # music21 raises many kinds of error on a damaged file
        raise InputError(
            f"{source}: cannot read it as MIDI or MusicXML ({type(error).__name__}: {error})"
        ) from None


def from_music21(score: music21.stream.Score, name: str | None = None) -> Chorale:
    """Sample a four-part music21 score onto the 16th-note grid (see `Chorale.from_music21`).

    Raises:
        InputError: the score does not have four parts, or has no notes.
    """
    from music21.expressions import Fermata

    parts = list(score.parts)
    label = name or _score_name(score)
    if len(parts) != 4:
        raise InputError(f"{label}: expected 4 parts, got {len(parts)}")
    end = float(score.highestTime)
    steps = round(end / STEP_QUARTERS)
    if steps <= 0:
        raise InputError(f"{label}: the score has no duration")
    chords = np.zeros((steps, 4), dtype=np.int16)
    fermatas: set[int] = set()
    for voice, part in enumerate(parts):
        for element in part.flatten().notesAndRests:
            length = float(element.quarterLength)
            if length <= 0:
                continue  # grace note
            if any(isinstance(e, Fermata) for e in element.expressions):
                fermatas.add(round(float(element.offset) / STEP_QUARTERS))
            if element.isRest:
                continue
            pitches = [p.midi for p in element.pitches]
            pitch = max(pitches) if voice < 2 else min(pitches)
            start = round(float(element.offset) / STEP_QUARTERS)
            stop = round((float(element.offset) + length) / STEP_QUARTERS)
            chords[start : max(stop, start + 1), voice] = pitch
    sounding = np.flatnonzero(chords.any(axis=1))
    if sounding.size == 0:
        raise InputError(f"{label}: the score has no notes")
    lead, length = int(sounding[0]), int(sounding[-1]) + 1
    meter, first_bar = _bars(parts[0])
    kept = [step - lead for step in merge_fermatas(fermatas) if lead <= step < length]
    pickup = (first_bar - lead) % bar_steps(meter)
    return Chorale(chords[lead:length], name=label, fermatas=kept, pickup=pickup, meter=meter)


def _bars(part: Any) -> tuple[str, int]:
    """A part's metre (4/4 when it has none bachnet knows) and its first bar line's step.

    The first bar line falls after a pickup measure (one shorter than a bar), else at 0.
    """
    signatures = list(part.recurse().getElementsByClass("TimeSignature"))
    meter = signatures[0].ratioString if signatures else "4/4"
    if meter not in METERS:
        return "4/4", 0
    measures = list(part.getElementsByClass("Measure"))
    if not measures:
        return meter, 0
    first = round(float(measures[0].duration.quarterLength) / STEP_QUARTERS)
    return meter, first if 0 < first < bar_steps(meter) else 0


def to_music21(
    chorale: Chorale,
    *,
    tempo: float = 60.0,
    time_signature: str | None = "auto",
    key: Key | str | None = "auto",
    staves: int = 4,
) -> music21.stream.Score:
    """Build a music21 score of ``chorale`` (see `Chorale.to_music21` for the options).

    ``key="auto"`` finds the key with `bachnet.music.keys.find_key` (C major for a silent
    piece); ``time_signature="auto"`` writes the chorale's own metre. A chorale with a pickup
    starts with a pickup measure (bar 0, as short as the pickup).

    Raises:
        InputError: a bad tempo, key, staves or time signature.
    """
    return _score(chorale, tempo, time_signature, key, staves, measured=True)


def _score(
    chorale: Chorale,
    tempo: float,
    time_signature: str | None,
    key: Key | str | None,
    staves: int,
    *,
    measured: bool,
) -> music21.stream.Score:
    """`to_music21`; ``measured=False`` leaves the bars to music21's writer (for MIDI, which
    has no pickup measure or fermata to place)."""
    from music21 import clef, expressions, instrument, meter, note, pitch, stream
    from music21 import key as m21key
    from music21 import tempo as m21tempo

    check_tempo(tempo)
    if staves not in (2, 4):
        raise InputError(f"staves must be 4 (one per voice) or 2 (choir score), got {staves}")
    if staves == 2 and not time_signature:
        raise InputError("a two-staff score needs a time signature to make its bars")
    if time_signature == "auto":
        time_signature = chorale.meter
    pickup = 0
    if time_signature:
        bar_steps(time_signature)  # an unknown metre is an InputError
        pickup = chorale.pickup % bar_steps(time_signature)
    chords = chorale.chords
    found: Key | None
    if key is None:
        found = None
    elif isinstance(key, str) and key == "auto":
        found = find_key(chords) if np.any(chords) else Key(0)
    else:
        found = Key.parse(key)
    names = [found.spell(pc) for pc in range(12)] if found is not None else None
    clefs = (clef.TrebleClef, clef.TrebleClef, clef.Treble8vbClef, clef.BassClef)
    score = stream.Score()
    if chorale.name:
        from music21 import metadata

        score.metadata = metadata.Metadata(title=chorale.name)
    for voice, voice_name in enumerate(VOICES):
        part = stream.Part(id=voice_name)
        part.partName = voice_name
        singer = instrument.Vocalist()
        singer.partName = voice_name
        singer.partId = voice_name  # fixed ids make MusicXML output repeatable
        singer.instrumentId = f"{voice_name}-voice"
        singer.midiProgram = 52  # "Choir Aahs": a choir sound in General MIDI players
        part.insert(0, singer)
        part.insert(0, clefs[voice]())
        if found is not None:
            part.insert(0, m21key.Key(found.spell(found.tonic), found.mode))
        if time_signature:
            part.insert(0, meter.TimeSignature(time_signature))
        if voice == 0:
            part.insert(0, m21tempo.MetronomeMark(number=tempo, referent=1.0))
        for midi, start, steps in runs(chords[:, voice]):
            length = steps * STEP_QUARTERS
            element: note.GeneralNote
            if midi == 0:
                element = note.Rest(quarterLength=length)
            elif names is None:
                element = note.Note(midi, quarterLength=length)
            else:
                spelled = pitch.Pitch(names[midi % 12] + "4")
                spelled.octave = 4 + (midi - spelled.midi) // 12
                element = note.Note(spelled, quarterLength=length)
            if any(start <= step < start + steps for step in chorale.fermatas):
                element.expressions.append(expressions.Fermata())
            part.insert(start * STEP_QUARTERS, element)
        if time_signature and measured:
            part = _measured(part, pickup, bar_steps(time_signature), chorale.fermatas)
        score.insert(0, part)
    return _two_staves(score) if staves == 2 else score


def _measured(
    part: music21.stream.Part, pickup: int, bar: int, fermatas: tuple[int, ...]
) -> music21.stream.Part:
    """The part in measures, the first one a pickup of ``pickup`` sixteenths (bar 0) if any,
    each fermata on the one tied note that sounds at its step in every voice.

    music21 makes measures from offset 0; so the notes are moved right by the rest of the
    pickup bar, measured (notes across bar lines tied, lengths no single note can show split
    into tied notes), and the first measure is then marked as padded on the left and
    everything moved back. The fermatas are put on after the split: music21 would otherwise
    leave them on the last note of a tie, after the fermata's chord.
    """
    from music21 import expressions, note, stream

    gap = (bar - pickup) % bar * STEP_QUARTERS
    moved = stream.Part(id=part.id)
    moved.partName = part.partName
    for element in part:
        shift = gap if isinstance(element, note.GeneralNote) else 0.0
        moved.insert(float(element.offset) + shift, element)
    measured = moved.makeMeasures()
    measured.makeTies(inPlace=True)
    measured = measured.splitAtDurations(recurse=True)[0]
    flat = measured.flatten()
    marks = [step * STEP_QUARTERS + gap for step in fermatas]
    for element in flat.notesAndRests:
        start = float(element.getOffsetBySite(flat))
        end = start + float(element.quarterLength)
        element.expressions = [e for e in element.expressions if "Fermata" not in e.classes]
        if any(start <= mark < end for mark in marks):
            element.expressions.append(expressions.Fermata())
    if gap:
        measures = list(measured.getElementsByClass(stream.Measure))
        first = measures[0]
        first.paddingLeft = gap
        for element in list(first.notesAndRests):
            first.setElementOffset(element, float(element.offset) - gap)
        for measure in measures:
            measure.number -= 1
            if measure is not first:
                measured.setElementOffset(measure, float(measure.offset) - gap)
    return measured


def read_music21(path: Path) -> Chorale:
    """Read a four-part MIDI or MusicXML file into a `Chorale` named after the file's stem.

    Raises:
        InputError: a missing, special, oversized or damaged file, or not four voices.
    """
    try:
        return from_music21(parse_music_file(path), name=path.stem)
    except InputError:
        raise  # bachnet's own (a LimitError stays one)
    except ValueError as error:
        raise InputError(str(error)) from None


def write_midi(chorale: Chorale, path: Path, options: WriteOptions) -> Path:
    """Write a standard MIDI file, four tracks, atomically (the table's ``midi`` writer)."""
    return _write(chorale, path, options, "midi")


def write_musicxml(chorale: Chorale, path: Path, options: WriteOptions) -> Path:
    """Write MusicXML, one part per voice, in the key found by analysis, atomically."""
    return _write(chorale, path, options, "musicxml")


def read_melody(path: Path) -> npt.NDArray[np.int16]:
    """Read a one-part MIDI or MusicXML melody (see `bachnet.music.table.read_melody`).

    Raises:
        InputError: not one part, a chord, two notes at once, an off-grid note or rest (the
            message names the measure and offset), or no notes.
    """
    score = parse_music_file(path)
    parts = list(getattr(score, "parts", [])) or [score]
    if len(parts) != 1:
        raise InputError(f"{path}: expected a one-part melody, got {len(parts)} parts")
    part = parts[0]
    notes: list[tuple[int, int, int, str]] = []  # (first step, end step, pitch, where)
    flat = part.flatten()  # offsets from the start (a fresh parse's hierarchy can mislead)
    for element in flat.notesAndRests:
        length = Fraction(element.quarterLength)
        if length == 0:
            continue  # a grace note
        offset = Fraction(element.getOffsetBySite(flat))
        where = f"{path}: measure {element.measureNumber}, offset {float(offset):g} quarters"
        if (offset / _GRID).denominator != 1 or ((offset + length) / _GRID).denominator != 1:
            kind = "rest" if element.isRest else "note"
            raise InputError(
                f"{where}: a {kind} of {float(length):g} quarters is not on the 16th-note grid"
            )
        if element.isRest:
            continue
        if len(element.pitches) != 1:
            names = " ".join(p.nameWithOctave for p in element.pitches)
            raise InputError(f"{where}: a chord ({names}); a melody has one note at a time")
        start, stop = int(offset / _GRID), int((offset + length) / _GRID)
        notes.append((start, stop, int(element.pitches[0].midi), where))
    if not notes:
        raise InputError(f"{path}: the melody is empty (no notes)")
    melody = np.zeros(max(note[1] for note in notes), dtype=np.int64)
    for start, stop, pitch, where in sorted(notes):
        if melody[start:stop].any():
            raise InputError(f"{where}: two notes sound at once; a melody has one note at a time")
        melody[start:stop] = pitch
    pitches = melody_pitches(melody, str(path))
    return pitches[: int(np.flatnonzero(pitches)[-1]) + 1]  # MIDI pads the last bar


def _write(chorale: Chorale, path: Path, options: WriteOptions, fmt: str) -> Path:
    if fmt == "midi" and chorale.pickup:
        chorale = _padded(chorale)
    score = _score(chorale, options.tempo, "auto", "auto", 4, measured=fmt != "midi")
    with atomic_path(path, suffix=path.suffix.lower()) as tmp:
        score.write(fmt, fp=str(tmp))
    return path


def _padded(chorale: Chorale) -> Chorale:
    """The chorale with rests before its pickup filling the first bar (for MIDI files).

    MIDI has no pickup measure: a DAW counts bars from the file's start. Reading the file
    drops the leading rests and finds the pickup again (`from_music21`).
    """
    rest = chorale.bar_steps - chorale.pickup
    rows = np.concatenate([np.zeros((rest, 4), np.int16), chorale.chords])
    marks = [step + rest for step in chorale.fermatas]
    return chorale.replace(rows, fermatas=marks, pickup=0)


def _two_staves(score: music21.stream.Score) -> music21.stream.Score:
    """Merge four one-voice parts into two staves of two voices each (a choir score): the
    upper voice's stems and fermatas up, the lower's down, a final bar line at the end."""
    from music21 import bar, clef, stream

    barred = [part.makeNotation() for part in score.parts]
    merged = stream.Score()
    if score.metadata is not None:
        merged.metadata = score.metadata
    for upper, lower, name, staff_clef in (
        (barred[0], barred[1], "Soprano Alto", clef.TrebleClef),
        (barred[2], barred[3], "Tenor Bass", clef.BassClef),
    ):
        part = stream.Part(id=name.replace(" ", ""))
        part.partName = name
        for number, (top, bottom) in enumerate(
            zip(
                upper.getElementsByClass(stream.Measure),
                lower.getElementsByClass(stream.Measure),
                strict=True,
            ),
            start=1,
        ):
            measure = stream.Measure(number=top.number)
            measure.paddingLeft = top.paddingLeft
            if number == 1:
                measure.insert(0, staff_clef())
                for element in top.getElementsByClass(("KeySignature", "TimeSignature")):
                    measure.insert(0, element)
                for mark in top.getElementsByClass("MetronomeMark"):
                    measure.insert(0, mark)
            for voice_id, source, stem in (("1", top, "up"), ("2", bottom, "down")):
                voice = stream.Voice(id=voice_id)
                for element in source.notesAndRests:
                    element.stemDirection = stem
                    for mark in element.expressions:
                        if "Fermata" in mark.classes:  # the upper voice's above the staff
                            mark.type = "upright" if stem == "up" else "inverted"
                    voice.insert(element.offset, element)
                measure.insert(0, voice)
            part.append(measure)
        last = part.getElementsByClass(stream.Measure).last()
        if last is not None:
            last.rightBarline = bar.Barline("final")
        merged.insert(0, part)
    return merged


def _score_name(score: Any) -> str:
    meta = getattr(score, "metadata", None)
    for attr in ("title", "corpusFilePath"):
        value = getattr(meta, attr, None) if meta is not None else None
        if value:
            return str(value)
    return "score"


MIDI = Format(
    "midi",
    (".mid", ".midi"),
    "a standard MIDI file, one track per voice",
    read=read_music21,
    write=write_midi,
    read_melody=read_melody,
)
"""``.mid``/``.midi``: read, written, and read as a melody."""

MUSICXML = Format(
    "musicxml",
    (".musicxml", ".xml"),
    "a MusicXML score, one part per voice, spelled in the key found by analysis",
    read=read_music21,
    write=write_musicxml,
    read_melody=read_melody,
)
"""``.musicxml``/``.xml``: read, written, and read as a melody."""

MXL = Format(
    "mxl",
    (".mxl",),
    "compressed MusicXML (read only)",
    read=read_music21,
    read_melody=read_melody,
)
"""``.mxl``: read, and read as a melody; never written."""
