"""MIDI, MusicXML and Humdrum kern through music21: a `Chorale` to a score and back, and the
files.

Four formats for the table (`bachnet.music.table`): `MIDI` (``.mid``, ``.midi``),
`MUSICXML` (``.musicxml``, ``.xml``), `MXL` (compressed MusicXML, read only) and `KERN`
(Humdrum ``**kern``, ``.krn``, read only); and the converters behind `Chorale.to_music21`,
`Chorale.from_music21` and `bachnet.music.chorale.parse_music_file`. `bachnet.formats`
registers them. music21 itself is imported on first use.

A file is read (`read_reading`) as four parts, one a voice, or as two staves of two voices
each (a choir or piano score: soprano and alto on the upper staff, tenor and bass on the
lower), and sampled onto the 16th-note grid. What had to change to fit is listed in the
`Reading`'s notes; a file with more than 5 % of its notes off the grid is refused.

Examples:
    >>> from bachnet import Chorale
    >>> c = Chorale([[72, 67, 64, 48]] * 4 + [[74, 67, 62, 43]] * 4)
    >>> from_music21(to_music21(c)) == c
    True
    >>> from_music21(to_music21(c, staves=2)) == c  # two staves, two voices on each
    True
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
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
    Line,
    WriteOptions,
    check_readable,
)

if TYPE_CHECKING:
    import music21

__all__ = [
    "KERN",
    "MAX_OFF_GRID",
    "MIDI",
    "MUSICXML",
    "MXL",
    "Reading",
    "from_music21",
    "parse_music_file",
    "read_melody",
    "read_music21",
    "read_reading",
    "to_music21",
    "write_midi",
    "write_musicxml",
]

_GRID = Fraction(STEP_QUARTERS)

MAX_OFF_GRID = 0.05
"""The largest share of a file's notes that may be off the 16th-note grid (`read_reading`)."""

_STAVES = ("the upper staff (S, A)", "the lower staff (T, B)")


@dataclass(frozen=True)
class Reading:
    """A chorale read from a file, and what was changed to make it fit.

    Args:
        chorale: the four voices on the 16th-note grid, named after the file's stem.
        notes: one short plain-English line per kind of change, such as
            ``"3 grace notes dropped"`` or ``"2 notes off the 16th grid moved to the nearest
            16th"``; empty when nothing was changed.
    """

    chorale: Chorale
    notes: tuple[str, ...] = ()


@dataclass
class _Tally:
    """What sampling a score onto the grid counted and changed."""

    notes: int = 0  # note heads kept (a chord's notes each count)
    off_grid: int = 0  # note heads whose start or end is not on a 16th
    grace: int = 0  # grace note heads dropped
    chords: int = 0  # chords in a one-voice part reduced to one note
    pitch_order: bool = False  # a staff's voices told apart by pitch
    shared: int = 0  # notes of one voice given to its silent staff-mate
    reordered: str = ""  # how the parts were put top down, if they were not

    def notes_text(self) -> tuple[str, ...]:
        """The `Reading.notes` lines."""
        lines = []
        if self.reordered:
            lines.append(self.reordered)
        if self.grace:
            lines.append(f"{_count(self.grace, 'grace note')} dropped")
        if self.off_grid:
            lines.append(
                f"{_count(self.off_grid, 'note')} off the 16th grid moved to the nearest 16th"
            )
        if self.chords:
            lines.append(
                f"{_count(self.chords, 'chord')} in a one-voice part reduced to one note "
                "(the top one for S and A, the bottom one for T and B)"
            )
        if self.pitch_order:
            lines.append(
                "two staves split into S, A, T, B by pitch order (crossings cannot be seen; "
                "a note alone on a staff is sung by both of its voices)"
            )
        if self.shared:
            lines.append(
                f"{_count(self.shared, 'note')} of one voice also sung by the other voice of "
                "its staff, which had neither a note nor a visible rest there"
            )
        return tuple(lines)


@dataclass(frozen=True)
class _Event:
    """A note or chord of a part on the grid: steps ``start`` to ``stop`` (at least one)."""

    start: int
    stop: int
    pitches: tuple[int, ...]
    voice: int | None = None  # its music21 voice in a measure of two or more voices
    measure: int | None = None
    rest: bool = False  # a visible rest (of a voice), not a note
    tied: bool = False  # the continuation of a tied note: held on, not struck again


def parse_music_file(path: PathLike) -> music21.stream.Score:
    """Parse a MIDI, MusicXML or Humdrum kern file with music21, from its source.

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
    kind = "Humdrum kern" if source.suffix.lower() == ".krn" else "MIDI or MusicXML"
    try:
        return music21.converter.parse(str(source), forceSource=True, storePickle=False)
    except Exception as error:  # music21 raises many kinds of error on a damaged file
        raise InputError(
            f"{source}: cannot read it as {kind} ({type(error).__name__}: {error})"
        ) from None


def from_music21(
    score: music21.stream.Score, name: str | None = None, *, voices: bool = True
) -> Chorale:
    """Sample a four-voice music21 score onto the 16th-note grid (see `Chorale.from_music21`).

    Four parts are soprano, alto, tenor and bass, top down (parts listed from the bass up
    are turned over); a chord in a part gives its top note (S, A) or its bottom note (T, B).
    Two parts are two staves of two voices each, the upper staff S and A, the lower T and B;
    see `read_reading` for how a staff is split. ``voices=False`` ignores music21's voices
    and splits every staff by pitch order (music21 makes the voices of a MIDI file out of
    overlapping notes, not out of the singers' parts). Notes off the grid are moved to the
    nearest 16th and grace notes dropped, as many as there are (`read_reading` refuses a
    file with too many).

    Raises:
        InputError: the score does not have four parts or two staves of two voices each, a
            staff has three notes at once, or the score has no notes.
    """
    return _sample(score, name or _score_name(score), voices=voices)[0]


def read_reading(path: PathLike) -> Reading:
    """Read a four-voice MIDI, MusicXML (``.mxl`` too) or Humdrum kern file into a `Reading`:
    a `Chorale` named after the file's stem, and what was changed to fit the 16th-note grid.

    The file holds four parts (one a voice) or two staves of two voices each. On a staff,
    two music21 voices in a measure are the upper and the lower voice (voice 1 above); where
    one of them has neither a note nor a visible rest (a gap or a hidden rest) it sings the
    other's note. A measure without voices, every measure of a MIDI file, and a chord within
    a voice are split by pitch order: of two notes at once the higher is the upper voice,
    and a note alone is sung by both voices (a unison: a rest of one voice under the other's
    note cannot be told from it), so voices never cross there. A staff whose two voices never
    differ holds one voice, and is refused. Grace notes are dropped; a note that starts or
    ends off the 16th-note grid (a triplet, a 32nd) is moved to the nearest 16th, and one that
    would vanish keeps one 16th; more than `MAX_OFF_GRID` of the notes off the grid refuses
    the file. (music21 has already rounded a MIDI file's times to 16ths or triplets.)

    Raises:
        InputError: a missing, special, oversized or damaged file; not four voices; a staff
            with three notes at once; too many notes off the grid. The message names the file.
        LimitError: music longer than `bachnet.music.grid.MAX_STEPS` sixteenths.

    Examples:
        >>> import pathlib, tempfile
        >>> from bachnet import Chorale
        >>> c = Chorale([[72, 67, 64, 48]] * 4 + [[74, 67, 62, 43]] * 4)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "hymn.musicxml"
        >>> _ = to_music21(c, staves=2).write("musicxml", fp=str(path))
        >>> reading = read_reading(path)
        >>> reading.chorale == c, reading.chorale.name, reading.notes
        (True, 'hymn', ())
    """
    source = Path(path)
    try:
        score = parse_music_file(source)
        midi = source.suffix.lower() in MIDI.suffixes
        chorale, tally = _sample(score, str(source), name=source.stem, voices=not midi)
    except InputError:
        raise  # bachnet's own (a LimitError stays one)
    except ValueError as error:
        raise InputError(f"{source}: {error}") from None
    if tally.off_grid and tally.off_grid > MAX_OFF_GRID * tally.notes:
        share = 100 * tally.off_grid / tally.notes
        percent = f"{share:.0f}" if round(share) > 100 * MAX_OFF_GRID else f"{share:.1f}"
        raise InputError(
            f"{source}: {tally.off_grid} of {tally.notes} notes ({percent} %) are off the "
            f"16th-note grid (triplets or shorter notes); at most "
            f"{100 * MAX_OFF_GRID:.0f} % may be moved to the nearest 16th"
        )
    return Reading(chorale, tally.notes_text())


def _sample(
    score: Any, label: str, *, name: str | None = None, voices: bool = True
) -> tuple[Chorale, _Tally]:
    """`from_music21`, with what it counted; messages start with ``label``."""
    parts = list(getattr(score, "parts", None) or [])
    if len(parts) not in (2, 4):
        raise InputError(_not_four(label, len(parts)))
    tally = _Tally()
    fermatas: set[int] = set()
    events = [_events(part, tally, fermatas, voices=voices and len(parts) == 2) for part in parts]
    events = [events[i] for i in _top_down(events, tally)]
    size = max((e.stop for part in events for e in part), default=0)
    if len(events) == 4:
        columns = [_one_voice(part, voice, size, tally) for voice, part in enumerate(events)]
    else:
        columns = [
            c for staff, part in enumerate(events) for c in _staff(part, staff, size, label, tally)
        ]
    chords = np.stack(columns, axis=1) if size else np.zeros((0, 4), dtype=np.int16)
    if round(float(score.highestTime) / STEP_QUARTERS) <= 0:
        raise InputError(f"{label}: the score has no duration")
    sounding = np.flatnonzero(chords.any(axis=1))
    if sounding.size == 0:
        raise InputError(f"{label}: the score has no notes")
    lead, length = int(sounding[0]), int(sounding[-1]) + 1
    meter, first_bar = _bars(parts[0])
    kept = [step - lead for step in merge_fermatas(fermatas) if lead <= step < length]
    pickup = (first_bar - lead) % bar_steps(meter)
    struck = _struck(events, chords)
    chorale = Chorale(
        chords[lead:length],
        name=name or label,
        fermatas=kept,
        pickup=pickup,
        meter=meter,
        onsets=struck[lead:length],
    )
    return chorale, tally


def _struck(parts: list[list[_Event]], chords: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
    """Where each voice strikes a note: at the start of every note of its part (of its staff,
    for the voice of the staff that sings that note), so repeated notes stay apart."""
    struck = np.zeros(chords.shape, dtype=bool)
    per_part = len(VOICES) // len(parts)
    for index, events in enumerate(parts):
        voices = range(index * per_part, (index + 1) * per_part)
        for event in events:
            if event.rest or event.tied or event.start >= len(chords):
                continue
            for voice in voices:
                if per_part == 2 and event.voice in (0, 1) and voice % 2 != event.voice:
                    continue
                if chords[event.start, voice] in event.pitches:
                    struck[event.start, voice] = True
    return struck


def _not_four(label: str, parts: int, why: str = "") -> str:
    return (
        f"{label}: expected 4 parts, got {_count(parts, 'part')}{why}; four voices are 4 parts "
        "(one a voice) or 2 staves of two voices each"
    )


def _in_measure(number: int | None) -> str:
    return "" if number is None else f", measure {number}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _events(part: Any, tally: _Tally, fermatas: set[int], *, voices: bool) -> list[_Event]:
    """A part's notes (and, with ``voices``, its voices' visible rests) on the grid, counted
    in ``tally``; the steps of its fermatas are added to ``fermatas``.

    With ``voices``, an element in a measure of two or more music21 voices carries its
    voice's index there (0 the first); otherwise none.
    """
    from music21.expressions import Fermata

    voice_of: dict[int, tuple[int, int | None]] = {}
    if voices:
        for measure in part.getElementsByClass("Measure"):
            found = list(measure.voices)
            if len(found) >= 2:
                for index, voice in enumerate(found):
                    for element in voice.notesAndRests:
                        voice_of[id(element)] = (index, measure.number)
    events = []
    flat = part.flatten()  # offsets from the start (a fresh parse's hierarchy can mislead)
    for element in flat.notesAndRests:
        length = Fraction(element.quarterLength)
        if length <= 0:  # a grace note
            tally.grace += 0 if element.isRest else len(element.pitches)
            continue
        offset = Fraction(element.getOffsetBySite(flat))
        if any(isinstance(e, Fermata) for e in element.expressions):
            fermatas.add(round(float(offset) / STEP_QUARTERS))
        voice, measure = voice_of.get(id(element), (None, element.measureNumber))
        start = round(float(offset) / STEP_QUARTERS)
        stop = max(round(float(offset + length) / STEP_QUARTERS), start + 1)
        if element.isRest:
            if voice is not None and not element.style.hideObjectOnPrint:
                events.append(_Event(start, stop, (), voice, measure, rest=True))
            continue
        pitches = tuple(int(p.midi) for p in element.pitches)
        tally.notes += len(pitches)
        if (offset / _GRID).denominator != 1 or ((offset + length) / _GRID).denominator != 1:
            tally.off_grid += len(pitches)
        tied = element.tie is not None and element.tie.type in ("stop", "continue")
        events.append(_Event(start, stop, pitches, voice, measure, tied=tied))
    return events


def _one_voice(events: list[_Event], voice: int, size: int, tally: _Tally) -> npt.NDArray[np.int16]:
    """One part of four on the grid: a chord gives its top note (S, A) or bottom (T, B)."""
    column = np.zeros(size, dtype=np.int16)
    for event in events:
        if event.rest:
            continue
        if len(set(event.pitches)) > 1:
            tally.chords += 1
        column[event.start : event.stop] = max(event.pitches) if voice < 2 else min(event.pitches)
    return column


def _staff(
    events: list[_Event], staff: int, size: int, label: str, tally: _Tally
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
    """A staff's upper and lower voice on the grid (see `read_reading` for the rules)."""
    upper, lower = np.zeros(size, dtype=np.int16), np.zeros(size, dtype=np.int16)
    loose: dict[int, set[int]] = {}  # step -> pitches to split by pitch order
    where: dict[int, int | None] = {}  # step -> measure number, for messages
    voiced: list[_Event] = []
    rested = [np.zeros(size, dtype=bool), np.zeros(size, dtype=bool)]
    for event in events:
        if event.voice is not None and event.voice >= 2 and not event.rest:
            raise InputError(
                f"{label}: {_STAVES[staff]}{_in_measure(event.measure)}: a note in a third "
                "voice; a staff holds two voices"
            )
        if event.rest:
            if event.voice is not None and event.voice < 2:
                rested[event.voice][event.start : event.stop] = True
        elif event.voice is not None and len(set(event.pitches)) == 1:
            voiced.append(event)
        else:
            for step in range(event.start, event.stop):
                loose.setdefault(step, set()).update(event.pitches)
                where.setdefault(step, event.measure)
    for step, heard in sorted(loose.items()):
        if len(heard) > 2:
            raise InputError(
                f"{label}: {_STAVES[staff]}{_in_measure(where[step])}: {len(heard)} notes at "
                "once; a staff holds two voices"
            )
        upper[step], lower[step] = max(heard), min(heard)
    tally.pitch_order = tally.pitch_order or bool(loose)
    for event in voiced:
        (upper, lower)[event.voice or 0][event.start : event.stop] = event.pitches[0]
    for event in voiced:
        own, other = (upper, lower) if event.voice == 0 else (lower, upper)
        span = slice(event.start, event.stop)
        silent = (other[span] == 0) & ~rested[1 - (event.voice or 0)][span] & (own[span] > 0)
        if silent.any():
            other[span] = np.where(silent, own[span], other[span])
            tally.shared += 1
    if not (upper != lower).any():
        raise InputError(_not_four(label, 2, f", and {_STAVES[staff]} does not hold two voices"))
    return upper, lower


def _top_down(parts: list[list[_Event]], tally: _Tally) -> list[int]:
    """The parts' order top down: as given, or turned over when they are listed from the
    bottom up (four parts whose mean pitches rise from the first to the last; two staves, the
    first one lower than the second). A part without notes keeps the order as given."""
    means = []
    for events in parts:
        notes = [(p, e.stop - e.start) for e in events for p in e.pitches]
        if not notes:
            return list(range(len(parts)))
        means.append(sum(p * steps for p, steps in notes) / sum(steps for _, steps in notes))
    if all(low < high for low, high in itertools.pairwise(means)):
        tally.reordered = (
            "parts listed from the bass up: read top down as S, A, T, B"
            if len(parts) == 4
            else "staves listed from the bottom up: read top down as S, A, T, B"
        )
        return list(reversed(range(len(parts))))
    return list(range(len(parts)))


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
        notes = list(runs(chords[:, voice], chorale.onsets[:, voice]))
        for index, (midi, start, steps) in enumerate(notes):
            length = steps * STEP_QUARTERS
            element: note.GeneralNote
            if midi == 0:
                element = note.Rest(quarterLength=length)
            elif found is None:
                element = note.Note(midi, quarterLength=length)
            else:
                following = notes[index + 1][0] if index + 1 < len(notes) else 0
                step = following - midi if following and abs(following - midi) == 1 else 0
                spelled = pitch.Pitch(found.spell(midi % 12, resolves=step) + "4")
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
    # Accidentals decided here, bar by bar against the key signature: left to music21's
    # writer, the upper parts showed a flat on every B-flat of a B-flat major score.
    measured.makeAccidentals(inPlace=True, overrideStatus=True)
    return measured


def read_music21(path: Path) -> Chorale:
    """Read a four-voice MIDI, MusicXML or kern file into a `Chorale` named after the file's
    stem (`read_reading`, without its notes; the table's reader).

    Raises:
        InputError: a missing, special, oversized or damaged file, not four voices, or too
            many notes off the 16th-note grid.
    """
    return read_reading(path).chorale


def write_midi(chorale: Chorale, path: Path, options: WriteOptions) -> Path:
    """Write a standard MIDI file, four tracks, atomically (the table's ``midi`` writer)."""
    return _write(chorale, path, options, "midi")


def write_musicxml(chorale: Chorale, path: Path, options: WriteOptions) -> Path:
    """Write MusicXML, one part per voice, in the key found by analysis, atomically."""
    return _write(chorale, path, options, "musicxml")


def read_melody(path: Path) -> Line:
    """Read a one-part MIDI, MusicXML or kern melody, with where each note is struck (see
    `bachnet.music.table.read_line`).

    Raises:
        InputError: not one part, a chord, two notes at once, an off-grid note or rest (the
            message names the measure and offset), or no notes.
    """
    from music21.expressions import Fermata

    score = parse_music_file(path)
    parts = list(getattr(score, "parts", [])) or [score]
    if len(parts) != 1:
        raise InputError(f"{path}: expected a one-part melody, got {len(parts)} parts")
    part = parts[0]
    notes: list[tuple[int, int, int, str]] = []  # (first step, end step, pitch, where)
    fermatas: set[int] = set()
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
        if any(isinstance(e, Fermata) for e in element.expressions):
            fermatas.add(start)
    if not notes:
        raise InputError(f"{path}: the melody is empty (no notes)")
    melody = np.zeros(max(note[1] for note in notes), dtype=np.int64)
    struck = np.zeros(len(melody), dtype=bool)
    for start, stop, pitch, where in sorted(notes):
        if melody[start:stop].any():
            raise InputError(f"{where}: two notes sound at once; a melody has one note at a time")
        melody[start:stop] = pitch
        struck[start] = True
    pitches = melody_pitches(melody, str(path))
    end = int(np.flatnonzero(pitches)[-1]) + 1  # MIDI pads the last bar
    meter, first_bar = _bars(part)
    return Line(pitches[:end], struck[:end], meter, first_bar, tuple(sorted(fermatas)))


def _write(chorale: Chorale, path: Path, options: WriteOptions, fmt: str) -> Path:
    if fmt == "midi" and chorale.pickup:
        chorale = _padded(chorale)
    score = _score(chorale, options.tempo, "auto", options.key, 4, measured=fmt != "midi")
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
    struck = np.concatenate([np.zeros((rest, 4), bool), chorale.onsets])
    return chorale.replace(rows, fermatas=marks, pickup=0, onsets=struck)


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


KERN = Format(
    "kern",
    (".krn",),
    "a Humdrum **kern score, one spine per voice (read only)",
    read=read_music21,
    read_melody=read_melody,
)
"""``.krn``: read, and read as a melody; never written."""
