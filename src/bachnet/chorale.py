"""The `Chorale`: one four-voice piece on a 16th-note grid, and its file formats."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .aliases import PathLike
from .errors import InputError, LimitError
from .files import atomic_path

if TYPE_CHECKING:
    import music21

    from .keys import Key

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_STEPS",
    "STEP_QUARTERS",
    "SUFFIXES",
    "VOICES",
    "Chorale",
    "parse_music_file",
]


VOICES: tuple[str, ...] = ("Soprano", "Alto", "Tenor", "Bass")
"""Voice names, top to bottom; column ``i`` of `Chorale.chords` is ``VOICES[i]``."""

STEP_QUARTERS = 0.25
"""Length of one grid step in quarter notes (a 16th note)."""

_MIDI_SUFFIXES = {".mid", ".midi"}
_XML_SUFFIXES = {".musicxml", ".xml"}
_CSV_SUFFIXES = {".csv"}
_READ_SUFFIXES = _MIDI_SUFFIXES | _XML_SUFFIXES | _CSV_SUFFIXES
_AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}  # bachnet.audio.AUDIO_SUFFIXES
_SCORE_SUFFIXES = {".svg", ".png", ".pdf"}  # bachnet.score.SCORE_SUFFIXES
SUFFIXES: tuple[str, ...] = (
    ".mid",
    ".midi",
    ".musicxml",
    ".xml",
    ".csv",
    ".wav",
    ".flac",
    ".ogg",
    ".svg",
    ".png",
    ".pdf",
)
"""File suffixes `Chorale.write` understands (a name ending in ``.roll.png``: a piano roll)."""

MAX_FILE_BYTES = 20_000_000
"""The largest music file `Chorale.read` opens (a JSB chorale is a few kilobytes)."""

MAX_STEPS = 65_536
"""The most 16th-note steps a chorale read from a CSV file may have (4,096 bars)."""


class Chorale:
    """A four-voice chorale: one row of MIDI pitches per 16th note.

    ``chords`` is an integer array of shape ``(steps, 4)``: soprano, alto, tenor and bass,
    MIDI numbers 1..127 with 0 for silence. A note held for several steps repeats its pitch in
    each row, so two repeated notes of the same pitch and one held note look the same: that is
    a property of the JSB data set, and `to_music21` merges them into one held note.

    Args:
        chords: anything ``numpy.asarray`` turns into a ``(steps, 4)`` integer array.
        name: an optional label (a file stem, a corpus id).
        fermatas: step indices that carry a fermata in the written score (kept sorted and
            unique). They are notation only: equality and hashing look at ``chords`` alone.

    Raises:
        InputError: wrong shape, no steps, non-integer values or values outside 0..127; a
            fermata step that is not an integer inside the chorale.

    Examples:
        >>> c = Chorale([[72, 67, 64, 48], [72, 67, 64, 48], [74, 67, 62, 43]])
        >>> len(c), c.chords[2, 0]
        (3, np.int16(74))
    """

    __slots__ = ("_chords", "_fermatas", "name")

    def __init__(
        self, chords: npt.ArrayLike, name: str | None = None, *, fermatas: Iterable[int] = ()
    ) -> None:
        self._chords = _validated(chords, where=name or "chords")
        self._chords.setflags(write=False)
        self._fermatas = _validated_fermatas(fermatas, len(self._chords), where=name or "chords")
        self.name = name

    @property
    def chords(self) -> npt.NDArray[np.int16]:
        """The ``(steps, 4)`` read-only array of MIDI pitches (0 = silence).

        Examples:
            >>> c = Chorale([[72, 67, 64, 48], [74, 0, 62, 43]])
            >>> c.chords.shape, c.chords[:, 0].tolist(), c.chords.flags.writeable
            ((2, 4), [72, 74], False)
        """
        return self._chords

    @property
    def fermatas(self) -> tuple[int, ...]:
        """Sorted step indices that carry a fermata (empty by default).

        `to_music21` writes a fermata on the note or rest of each part that holds such a step.

        Examples:
            >>> Chorale([[72, 67, 64, 48]] * 8, fermatas=[7, 4, 7]).fermatas
            (4, 7)
        """
        return self._fermatas

    def __len__(self) -> int:
        return int(self._chords.shape[0])

    def __iter__(self) -> Iterator[npt.NDArray[np.int16]]:
        return iter(self._chords)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Chorale):
            return NotImplemented
        return bool(np.array_equal(self._chords, other._chords))

    def __hash__(self) -> int:
        return hash(self._chords.tobytes())

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Chorale{label}: {len(self)} steps ({len(self) * STEP_QUARTERS:g} quarters)>"

    @property
    def duration(self) -> float:
        """Length in quarter notes.

        Examples:
            >>> Chorale([[72, 67, 64, 48]] * 6).duration  # six 16th notes
            1.5
        """
        return len(self) * STEP_QUARTERS

    def pitch_range(self) -> tuple[int, int]:
        """Lowest and highest sounding MIDI pitch over all voices.

        Raises:
            InputError: if the chorale is all silence.

        Examples:
            >>> Chorale([[72, 67, 64, 48], [74, 0, 62, 43]]).pitch_range()
            (43, 74)
        """
        notes = self._chords[self._chords > 0]
        if notes.size == 0:
            raise InputError("the chorale is all silence: it has no pitch range")
        return int(notes.min()), int(notes.max())

    def transpose(self, semitones: int) -> Chorale:
        """Return a copy shifted by ``semitones`` (silence stays silence; fermatas kept).

        Examples:
            >>> Chorale([[60, 0, 55, 48]]).transpose(2).chords.tolist()
            [[62, 0, 57, 50]]
        """
        shifted = np.where(self._chords > 0, self._chords.astype(np.int32) + semitones, 0)
        return Chorale(shifted, name=self.name, fermatas=self._fermatas)

    # ----------------------------------------------------------------------------- reading
    @classmethod
    def from_csv(cls, source: PathLike | io.TextIOBase, name: str | None = None) -> Chorale:
        """Read the JSB CSV format: a ``note0,note1,note2,note3`` header, one row per 16th.

        Args:
            source: a path or an open text file.
            name: label; defaults to the file stem.

        Raises:
            InputError: a missing header, a row without four integers, or bad pitches; the
                message names the file and line.

        Examples:
            >>> import io
            >>> Chorale.from_csv(io.StringIO("note0,note1,note2,note3\\n74,70,65,58\\n")).chords
            array([[74, 70, 65, 58]], dtype=int16)
        """
        if isinstance(source, io.TextIOBase):
            where, text = name or "<stream>", source.read()
        else:
            path = Path(source)
            _check_readable(path)
            where, text = str(path), path.read_text(encoding="utf-8-sig")  # a BOM is not data
            name = name or path.stem
        try:
            rows = list(csv.reader(io.StringIO(text)))
        except csv.Error as error:
            raise InputError(f"{where}: not CSV ({error})") from None
        if not rows or [h.strip() for h in rows[0]] != ["note0", "note1", "note2", "note3"]:
            raise InputError(f"{where}: expected the header 'note0,note1,note2,note3'")
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
        return cls(np.array(chords), name=name or where)

    @classmethod
    def from_music21(cls, score: music21.stream.Score, name: str | None = None) -> Chorale:
        """Sample a four-part music21 score onto the 16th-note grid.

        Each step takes the pitch sounding at its start (the highest note of a chord in the
        soprano and alto, the lowest in the tenor and bass). Notes shorter than a 16th that
        start between grid points are lost; grace notes are ignored. Trailing all-silent
        steps are dropped: MIDI files pad the last bar with rests. A fermata on a note or rest
        of any part becomes a fermata at the step where that note or rest starts.

        Args:
            score: a score with exactly four parts, top voice first.
            name: label; defaults to the score's title or corpus file path.

        Raises:
            InputError: the score does not have four parts, or has no notes.

        Examples:
            >>> c = Chorale([[72, 67, 64, 48]] * 4 + [[74, 67, 62, 43]] * 4)
            >>> Chorale.from_music21(c.to_music21()) == c
            True
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
        length = int(sounding[-1]) + 1
        kept = [step for step in fermatas if step < length]
        return cls(chords[:length], name=label, fermatas=kept)

    # ----------------------------------------------------------------------------- writing
    def to_csv(self) -> str:
        """The chorale as JSB-format CSV text.

        Examples:
            >>> print(Chorale([[72, 67, 64, 48], [74, 0, 62, 43]]).to_csv(), end="")
            note0,note1,note2,note3
            72,67,64,48
            74,0,62,43
        """
        lines = ["note0,note1,note2,note3"]
        lines += [",".join(str(int(v)) for v in row) for row in self._chords]
        return "\n".join(lines) + "\n"

    def to_music21(
        self,
        *,
        tempo: float = 60.0,
        time_signature: str | None = "4/4",
        key: Key | str | None = "auto",
        staves: int = 4,
    ) -> music21.stream.Score:
        """Build a music21 score with four named parts (or two staves of two voices).

        Consecutive equal pitches in a voice become one held note; silence becomes rests.
        Each step in `fermatas` puts a ``music21.expressions.Fermata`` on the note (or rest)
        that holds it, in every part. With a key, every part starts with its key signature and
        each pitch is spelled in that key (B- rather than A# in F major, see `Key.spell`).
        Clefs: treble for soprano and alto, octave treble for the tenor, bass for the bass.

        Args:
            tempo: quarter notes per minute.
            time_signature: written at the start of each part (``None`` for none). The JSB
                data does not record the metre; most chorales are in 4/4.
            key: ``"auto"`` (found by `find_key`), a `Key` or key name, or ``None`` (no key
                signature; music21's default spelling).
            staves: 4 (one part per voice, as `from_music21` reads back) or 2 (a choir score:
                soprano and alto on a treble staff, tenor and bass on a bass staff, stems up
                for the upper voice of each). Two staves need a time signature.

        Raises:
            InputError: a bad tempo, key or staves.

        Examples:
            >>> score = Chorale([[72, 67, 64, 48]] * 4).to_music21()
            >>> [p.partName for p in score.parts]
            ['Soprano', 'Alto', 'Tenor', 'Bass']
            >>> score = Chorale([[70, 65, 62, 46]] * 16).to_music21(staves=2)
            >>> key_signature = score.recurse().getElementsByClass("Key")[0]
            >>> [p.partName for p in score.parts], key_signature.sharps
            (['Soprano Alto', 'Tenor Bass'], -2)
            >>> [n.nameWithOctave for n in score.parts[0].recurse().notes]
            ['B-4', 'F4']
        """
        from music21 import clef, expressions, instrument, meter, note, pitch, stream
        from music21 import key as m21key
        from music21 import tempo as m21tempo

        from .keys import Key, find_key

        _check_tempo(tempo)
        if staves not in (2, 4):
            raise InputError(f"staves must be 4 (one per voice) or 2 (choir score), got {staves}")
        if staves == 2 and not time_signature:
            raise InputError("a two-staff score needs a time signature to make its bars")
        if key is None:
            found = None
        elif isinstance(key, str) and key == "auto":
            found = find_key(self._chords) if np.any(self._chords) else Key(0)
        else:
            found = Key.parse(key)
        names = [found.spell(pc) for pc in range(12)] if found is not None else None
        clefs = (clef.TrebleClef, clef.TrebleClef, clef.Treble8vbClef, clef.BassClef)
        score = stream.Score()
        if self.name:
            from music21 import metadata

            score.metadata = metadata.Metadata(title=self.name)
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
            for midi, start, steps in _runs(self._chords[:, voice]):
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
                if any(start <= step < start + steps for step in self._fermatas):
                    element.expressions.append(expressions.Fermata())
                part.insert(start * STEP_QUARTERS, element)
            score.insert(0, part)
        return _two_staves(score) if staves == 2 else score

    def write(
        self,
        path: PathLike,
        *,
        tempo: float = 60.0,
        instrument: str | int = "choir",
        soundfont: PathLike | None = None,
        sample_rate: int = 44100,
    ) -> Path:
        """Write the chorale, choosing the format by suffix, atomically.

        - ``.mid``/``.midi``: a standard MIDI file, four tracks;
        - ``.musicxml``/``.xml``: a score for MuseScore and friends, one part per voice, with
          the key signature found by key analysis;
        - ``.csv``: the JSB format;
        - ``.wav``/``.flac``/``.ogg``: audio rendered by FluidSynth (extra ``bachnet[audio]``,
          see `bachnet.audio.render`);
        - ``.svg``/``.png``/``.pdf``: the engraved two-staff score, and a name ending in
          ``.roll.png`` a piano roll (extra ``bachnet[score]``, see `bachnet.score`).

        The file is written to a temporary name beside the target and renamed into place, so
        a crash never leaves a half-written file.

        Args:
            path: target file.
            tempo: quarter notes per minute (MIDI, MusicXML and audio).
            instrument: audio only: an instrument name or General MIDI program.
            soundfont: audio only: a ``.sf2`` file.
            sample_rate: audio only: samples per second.

        Returns:
            The path written.

        Raises:
            InputError: an unknown suffix or a bad tempo.

        Examples:
            >>> import tempfile, pathlib
            >>> out = pathlib.Path(tempfile.mkdtemp()) / "c.mid"
            >>> Chorale([[72, 67, 64, 48]] * 8).write(out).exists()
            True
        """
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in SUFFIXES:
            raise InputError(
                f"{target}: unknown file suffix {suffix!r}; use one of {', '.join(SUFFIXES)}"
            )
        _check_tempo(tempo)
        if suffix in _AUDIO_SUFFIXES:
            from .audio import write_audio

            samples = self.to_audio(
                tempo=tempo, instrument=instrument, soundfont=soundfont, sample_rate=sample_rate
            )
            return write_audio(target, samples, sample_rate)
        if suffix in _SCORE_SUFFIXES:
            from .score import write_score

            return write_score(self, target)
        with atomic_path(target, suffix=suffix) as tmp:
            if suffix in _CSV_SUFFIXES:
                tmp.write_text(self.to_csv(), encoding="utf-8")
            else:
                score = self.to_music21(tempo=tempo)
                fmt = "midi" if suffix in _MIDI_SUFFIXES else "musicxml"
                score.write(fmt, fp=str(tmp))
        return target

    def to_audio(
        self,
        *,
        tempo: float = 60.0,
        sample_rate: int = 44100,
        instrument: str | int = "choir",
        soundfont: PathLike | None = None,
        tail: float = 1.0,
    ) -> npt.NDArray[np.float32]:
        """Render the chorale to stereo samples, shape ``(frames, 2)``, floats in -1..1.

        See `bachnet.audio.render` (extra ``bachnet[audio]`` and the FluidSynth library).

        Examples:
            >>> Chorale([[69, 0, 0, 0]] * 16).to_audio(tail=0).shape  # doctest: +SKIP
            (176400, 2)
        """
        from .audio import render

        return render(
            self,
            tempo=tempo,
            sample_rate=sample_rate,
            instrument=instrument,
            soundfont=soundfont,
            tail=tail,
        )

    def to_svg(self, *, key: Key | str | None = "auto") -> str:
        """The engraved two-staff score as SVG text (extra ``bachnet[score]``).

        See `bachnet.score.to_svg`.
        """
        from .score import to_svg

        return to_svg(self, key=key)

    def _repr_html_(self) -> str:
        """Jupyter's view: the score and an audio player, or text when an extra is missing."""
        from .notebook import chorale_html

        return chorale_html(self)

    @classmethod
    def read(cls, path: PathLike) -> Chorale:
        """Read a ``.csv``, ``.mid``/``.midi`` or ``.musicxml``/``.xml`` file.

        Raises:
            InputError: an unknown suffix, a missing, unreadable, damaged or
                oversized file, or a piece that is not four voices; the message names the file.

        Examples:
            >>> import tempfile, pathlib
            >>> folder = pathlib.Path(tempfile.mkdtemp())
            >>> c = Chorale([[72, 67, 64, 48]] * 4 + [[74, 67, 62, 43]] * 4)
            >>> Chorale.read(c.write(folder / "piece.csv"))
            <Chorale 'piece': 8 steps (2 quarters)>
            >>> Chorale.read(c.write(folder / "piece.mid")) == c
            True
        """
        source = Path(path)
        suffix = source.suffix.lower()
        if suffix in _CSV_SUFFIXES:
            return cls.from_csv(source)
        if suffix in _MIDI_SUFFIXES | _XML_SUFFIXES:
            try:
                return cls.from_music21(parse_music_file(source), name=source.stem)
            except ValueError as error:
                raise InputError(str(error)) from None
        raise InputError(
            f"{source}: unknown file suffix {suffix!r}; use one of "
            f"{', '.join(s for s in SUFFIXES if s in _READ_SUFFIXES)}"
        )


def parse_music_file(path: PathLike) -> music21.stream.Score:
    """Parse a MIDI or MusicXML file with music21, from its source.

    music21 keeps pickled copies of parsed files in a cache folder shared by every user
    (``/tmp/music21``) and reads them back by name and date: a planted pickle would run code,
    and a stale one would return another piece. This parses the file itself every time and
    stores nothing. The file must be a regular file of at most `MAX_FILE_BYTES`.

    Raises:
        InputError: a missing, special (a FIFO, a folder), oversized or unparsable file.
    """
    import music21

    source = Path(path)
    _check_readable(source)
    try:
        return music21.converter.parse(str(source), forceSource=True, storePickle=False)
    except Exception as error:  # music21 raises many kinds of error on a damaged file
        raise InputError(
            f"{source}: cannot read it as MIDI or MusicXML ({type(error).__name__}: {error})"
        ) from None


def _check_tempo(tempo: float) -> None:
    """Refuse a tempo that is not a finite number of quarter notes per minute above 0."""
    if not (np.isfinite(tempo) and tempo > 0):
        raise InputError(f"tempo must be a finite number > 0 quarter notes per minute, got {tempo}")


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file (a folder, a FIFO or a device)")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise LimitError(f"{path}: {size:,} bytes is more than the {MAX_FILE_BYTES:,} allowed")


def _runs(voice: npt.NDArray[np.int16]) -> Iterator[tuple[int, int, int]]:
    """Yield ``(pitch, start, steps)`` for each run of equal values."""
    edges = np.flatnonzero(np.diff(voice)) + 1
    starts = np.concatenate([[0], edges])
    stops = np.concatenate([edges, [len(voice)]])
    for start, stop in zip(starts, stops, strict=True):
        yield int(voice[start]), int(start), int(stop - start)


def _validated(chords: npt.ArrayLike, where: str) -> npt.NDArray[np.int16]:
    array = np.asarray(chords)
    if array.ndim != 2 or array.shape[1] != 4:
        raise InputError(f"{where}: expected shape (steps, 4), got {array.shape}")
    if array.shape[0] == 0:
        raise InputError(f"{where}: the chorale is empty (0 steps)")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            bad = np.argwhere(~np.isfinite(array) | (array != np.round(array)))[0]
            raise InputError(
                f"{where}: chords[{bad[0]}, {bad[1]}] = {array[tuple(bad)]} is not an integer"
            )
    elif array.dtype.kind not in "iub":
        raise InputError(f"{where}: expected integer MIDI pitches, got dtype {array.dtype}")
    outside = (array < 0) | (array > 127)
    if outside.any():
        step, voice = np.argwhere(outside)[0]
        raise InputError(
            f"{where}: chords[{step}, {voice}] = {array[step, voice]} "
            f"({VOICES[voice]}, step {step}) is outside 0..127 (0 = silence)"
        )
    return array.astype(np.int16)


def _validated_fermatas(fermatas: Iterable[int], steps: int, where: str) -> tuple[int, ...]:
    if isinstance(fermatas, str | bytes):
        raise InputError(f"{where}: fermatas must be step indices, got {fermatas!r}")
    kept = set()
    for step in fermatas:
        if isinstance(step, bool) or not isinstance(step, int | np.integer):
            raise InputError(f"{where}: a fermata step must be an integer, got {step!r}")
        if not 0 <= step < steps:
            raise InputError(f"{where}: fermata at step {step} is outside 0..{steps - 1}")
        kept.add(int(step))
    return tuple(sorted(kept))


def _two_staves(score: music21.stream.Score) -> music21.stream.Score:
    """Merge four one-voice parts into two staves of two voices each (a choir score)."""
    from music21 import clef, stream

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
            measure = stream.Measure(number=number)
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
                    voice.insert(element.offset, element)
                measure.insert(0, voice)
            part.append(measure)
        merged.insert(0, part)
    return merged


def _score_name(score: Any) -> str:
    meta = getattr(score, "metadata", None)
    for attr in ("title", "corpusFilePath"):
        value = getattr(meta, attr, None) if meta is not None else None
        if value:
            return str(value)
    return "score"
