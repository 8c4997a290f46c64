"""The `Chorale`: one four-voice piece on a 16th-note grid.

`Chorale` holds the notes and knows nothing of files: reading and writing go through the
format table (`bachnet.music.table`), which `bachnet.formats` fills when it is imported (as
``import bachnet`` does). The grid facts (`VOICES`, `STEP_QUARTERS`, `MAX_STEPS`) live in
`bachnet.music.grid` and are re-exported here.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from bachnet.core.aliases import PathLike
from bachnet.errors import InputError
from bachnet.music.grid import (
    MAX_STEPS,
    STEP_QUARTERS,
    VOICES,
    bar_steps,
    check_pickup,
    check_tempo,
)
from bachnet.music.regions import region_mask
from bachnet.music.table import (
    MAX_FILE_BYTES,
    WriteOptions,
    converters,
    lookup,
    need,
    read_chorale,
    suffixes,
)

if TYPE_CHECKING:
    import music21

    from bachnet.music.keys import Key

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_STEPS",
    "STEP_QUARTERS",
    "SUFFIXES",
    "VOICES",
    "Chorale",
    "parse_music_file",
]

SUFFIXES: tuple[str, ...]
"""File suffixes `Chorale.write` understands (a name ending in ``.roll.png``: a piano roll).

Read from the format table when asked for: ``suffixes("write")`` of `bachnet.music.table`.
"""

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        if name == "SUFFIXES":
            return suffixes("write")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Chorale:
    """A four-voice chorale: one row of MIDI pitches per 16th note.

    ``chords`` is an integer array of shape ``(steps, 4)``: soprano, alto, tenor and bass,
    MIDI numbers 1..127 with 0 for silence. A note held for several steps repeats its pitch in
    each row, so two repeated notes of the same pitch and one held note look the same: that is
    a property of the JSB data set (and of what the models see). Where the articulation is
    known (a file read, a melody given), ``onsets`` says where each note is struck, and every
    file written keeps repeated notes apart; without it a run of one pitch is one held note.
    Fermatas, pickup, metre and onsets are notation: equality and hashing look at ``chords``
    alone.

    Args:
        chords: anything ``numpy.asarray`` turns into a ``(steps, 4)`` integer array.
        name: an optional label (a file stem, a corpus id).
        fermatas: step indices that carry a fermata in the written score (kept sorted and
            unique).
        pickup: sixteenths before the first bar line (an upbeat; 0: the piece starts on a
            bar line). Bach's chorales mostly start with a one-beat pickup (4).
        meter: the time signature, one of `bachnet.music.grid.METERS` (``"4/4"``,
            ``"3/4"``...).
        onsets: a ``(steps, 4)`` boolean array, True where a voice strikes a note (``None``:
            a note is struck only where the pitch changes). A change of pitch is always an
            onset and silence never is, whatever is given.

    Raises:
        InputError: wrong shape, no steps, non-integer values or values outside 0..127; a
            fermata step that is not an integer inside the chorale; an unknown metre, or a
            pickup that is not 0 up to a bar.

    Examples:
        >>> c = Chorale([[72, 67, 64, 48], [72, 67, 64, 48], [74, 67, 62, 43]])
        >>> len(c), c.chords[2, 0]
        (3, np.int16(74))
    """

    __slots__ = ("_chords", "_fermatas", "_meter", "_onsets", "_pickup", "name")

    def __init__(
        self,
        chords: npt.ArrayLike,
        name: str | None = None,
        *,
        fermatas: Iterable[int] = (),
        pickup: int = 0,
        meter: str = "4/4",
        onsets: npt.ArrayLike | None = None,
    ) -> None:
        self._chords = _validated(chords, where=name or "chords")
        self._chords.setflags(write=False)
        self._onsets = None if onsets is None else _validated_onsets(onsets, self._chords, name)
        self._fermatas = _validated_fermatas(fermatas, len(self._chords), where=name or "chords")
        self._meter = meter.replace(" ", "") if isinstance(meter, str) else meter
        self._pickup = check_pickup(pickup, self._meter)
        self.name = name

    def replace(
        self,
        chords: npt.ArrayLike | None = None,
        *,
        name: str | None = None,
        fermatas: Iterable[int] | None = None,
        pickup: int | None = None,
        meter: str | None = None,
        onsets: npt.ArrayLike | None = None,
    ) -> Chorale:
        """A copy with some fields changed; the others (name, fermatas, pickup, metre,
        onsets) kept.

        Fermatas past the end of new, shorter ``chords`` are dropped. With new ``chords`` and
        no new ``onsets``, each step keeps its articulation where its pitch is unchanged (a
        kept voice keeps its repeated notes) and is struck where the pitch changed.

        Examples:
            >>> piece = Chorale([[72, 67, 64, 48]] * 8, "hymn", fermatas=[7], pickup=4)
            >>> short = piece.replace(piece.chords[:4])
            >>> short.name, short.fermatas, short.pickup, len(short)
            ('hymn', (), 4, 4)
        """
        rows = self._chords if chords is None else np.asarray(chords)
        kept = self._fermatas if fermatas is None else fermatas
        if fermatas is None and rows.ndim:
            kept = tuple(step for step in kept if step < len(rows))
        struck = onsets
        if struck is None and self._onsets is not None:
            struck = self._onsets
            if chords is not None and rows.ndim == 2 and rows.shape[1:] == (4,):
                steps = min(len(rows), len(self._chords))
                struck = np.zeros(rows.shape, dtype=bool)
                same = rows[:steps] == self._chords[:steps]
                struck[:steps] = self._onsets[:steps] & same
        return type(self)(
            rows,
            name=self.name if name is None else name,
            fermatas=kept,
            pickup=self._pickup if pickup is None else pickup,
            meter=self._meter if meter is None else meter,
            onsets=struck,
        )

    @property
    def onsets(self) -> npt.NDArray[np.bool_]:
        """``(steps, 4)`` booleans: where each voice strikes a note.

        Without articulation (`articulated` False) a note is struck where the pitch changes.

        Examples:
            >>> c = Chorale([[72, 67, 64, 48]] * 2 + [[0, 67, 64, 48]])
            >>> c.onsets[:, 0].tolist(), c.articulated
            ([True, False, False], False)
            >>> Chorale(c.chords, onsets=[[1, 1, 1, 1]] * 3).onsets[:, 0].tolist()
            [True, True, False]
        """
        return self._onsets if self._onsets is not None else _pitch_onsets(self._chords)

    @property
    def articulated(self) -> bool:
        """Whether the piece knows where its notes are struck (``onsets`` was given)."""
        return self._onsets is not None

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

    @property
    def pickup(self) -> int:
        """Sixteenths before the first bar line (0: the piece starts on a bar line).

        Examples:
            >>> Chorale([[72, 67, 64, 48]] * 20, pickup=4).pickup
            4
        """
        return self._pickup

    @property
    def meter(self) -> str:
        """The time signature, such as ``"4/4"`` or ``"3/4"``.

        Examples:
            >>> Chorale([[72, 67, 64, 48]] * 12, meter="3/4").meter
            '3/4'
        """
        return self._meter

    @property
    def bar_steps(self) -> int:
        """Sixteenths in one bar of the piece's metre (16 in 4/4, 12 in 3/4).

        Examples:
            >>> Chorale([[72, 67, 64, 48]], meter="3/4").bar_steps
            12
        """
        return bar_steps(self._meter)

    def bar_positions(self) -> npt.NDArray[np.int64]:
        """Each step's 16th within its bar (0 = on the bar line), the pickup taken into account.

        Examples:
            >>> Chorale([[72, 67, 64, 48]] * 8, pickup=4).bar_positions().tolist()
            [12, 13, 14, 15, 0, 1, 2, 3]
        """
        return (np.arange(len(self)) - self._pickup) % self.bar_steps

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

    def mask(
        self, bars: str | int | None = None, voices: str = "SATB", *, pickup: int | None = None
    ) -> npt.NDArray[np.bool_]:
        """The ``(steps, 4)`` mask of some bars and voices, for `BachNet.fill` (True = write).

        Bars are numbered as in the score: bar 1 is the first full bar, the pickup (the
        piece's own, or ``pickup`` sixteenths when given) is bar 0; bars are as long as the
        piece's metre makes them (see `bachnet.music.regions.region_mask`).

        Raises:
            InputError: a bad bar or voice spec, or a bar the piece does not have.

        Examples:
            >>> piece = Chorale([[72, 67, 64, 48]] * 64)
            >>> mask = piece.mask(bars="2-3", voices="AT")
            >>> mask.shape, int(mask.sum()), bool(mask[16:48, 1:3].all())
            ((64, 4), 64, True)
        """
        upbeat = self._pickup if pickup is None else pickup
        return region_mask(len(self), bars=bars, voices=voices, pickup=upbeat, meter=self._meter)

    def transpose(self, semitones: int) -> Chorale:
        """Return a copy shifted by ``semitones`` (silence stays silence; notation kept).

        Examples:
            >>> Chorale([[60, 0, 55, 48]]).transpose(2).chords.tolist()
            [[62, 0, 57, 50]]
        """
        shifted = np.where(self._chords > 0, self._chords.astype(np.int32) + semitones, 0)
        return self.replace(shifted, onsets=self._onsets)

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
        return _as(cls, need(converters.from_csv, "Chorale.from_csv")(source, name))

    @classmethod
    def from_music21(cls, score: music21.stream.Score, name: str | None = None) -> Chorale:
        """Sample a four-voice music21 score onto the 16th-note grid.

        Each step takes the pitch sounding at its start (the highest note of a chord in the
        soprano and alto, the lowest in the tenor and bass). Notes shorter than a 16th that
        start between grid points are lost; grace notes are ignored. Trailing all-silent
        steps are dropped (MIDI files pad the last bar with rests), and so are leading ones
        (a MIDI file's rests before a pickup). Fermatas marked on notes or rests of any part
        become one fermata per chord (`bachnet.music.grid.merge_fermatas`). The metre is the
        first time signature (4/4 when there is none, or one outside
        `bachnet.music.grid.METERS`); a first measure shorter than a bar is a pickup.

        Args:
            score: a score of four parts, top voice first, or of two staves with two voices
                each (soprano and alto above, tenor and bass below; see
                `bachnet.formats.music21.read_reading`).
            name: label; defaults to the score's title or corpus file path.

        Raises:
            InputError: the score does not hold four voices, or has no notes.

        Examples:
            >>> c = Chorale([[72, 67, 64, 48]] * 4 + [[74, 67, 62, 43]] * 4)
            >>> Chorale.from_music21(c.to_music21()) == c
            True
        """
        return _as(cls, need(converters.from_music21, "Chorale.from_music21")(score, name))

    # ----------------------------------------------------------------------------- writing
    def to_csv(self) -> str:
        """The chorale as JSB-format CSV text.

        Examples:
            >>> print(Chorale([[72, 67, 64, 48], [74, 0, 62, 43]]).to_csv(), end="")
            note0,note1,note2,note3
            72,67,64,48
            74,0,62,43
        """
        return need(converters.to_csv, "Chorale.to_csv")(self)

    def to_music21(
        self,
        *,
        tempo: float = 60.0,
        time_signature: str | None = "auto",
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
            time_signature: written at the start of each part: ``"auto"`` (the chorale's
                `meter`), a time signature, or ``None`` (none). A chorale with a `pickup`
                starts with a pickup measure (bar 0).
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
        to_music21 = need(converters.to_music21, "Chorale.to_music21")
        return to_music21(self, tempo=tempo, time_signature=time_signature, key=key, staves=staves)

    def write(
        self,
        path: PathLike,
        *,
        tempo: float = 60.0,
        instrument: str | int = "choir",
        soundfont: PathLike | None = None,
        sample_rate: int = 44100,
        key: Key | str | None = "auto",
    ) -> Path:
        """Write the chorale, choosing the format by suffix, atomically.

        - ``.mid``/``.midi``: a standard MIDI file, four tracks;
        - ``.musicxml``/``.xml``: a score for MuseScore and friends, one part per voice, with
          the key signature of ``key`` (by default the key found by key analysis);
        - ``.csv``: the JSB format;
        - ``.wav``/``.flac``/``.ogg``: audio rendered by FluidSynth or midirenderer (extra
          ``bachnet[audio]``, see `bachnet.formats.audio.render`);
        - ``.svg``/``.png``/``.pdf``: the engraved two-staff score, and a name ending in
          ``.roll.png`` a piano roll (extra ``bachnet[score]``, see `bachnet.formats.score`).

        The file is written to a temporary name beside the target and renamed into place, so
        a crash never leaves a half-written file.

        Args:
            path: target file.
            tempo: quarter notes per minute (MIDI, MusicXML and audio).
            instrument: audio only: an instrument name or General MIDI program.
            soundfont: audio only: a ``.sf2`` file.
            sample_rate: audio only: samples per second.
            key: scores only (MusicXML, SVG, PNG, PDF): ``"auto"`` (found by
                `bachnet.music.keys.find_key`), the key the piece is in (a `Key` or a key name
                such as ``"Bb"`` or ``"D minor"``: its signature and spelling), or ``None``
                (no key signature).

        Returns:
            The path written.

        Raises:
            InputError: an unknown suffix, a bad tempo or key.

        Examples:
            >>> import tempfile, pathlib
            >>> out = pathlib.Path(tempfile.mkdtemp()) / "c.mid"
            >>> Chorale([[72, 67, 64, 48]] * 8).write(out).exists()
            True
        """
        target = Path(path)
        writer = need(lookup(target, "write").write, "a writer")
        check_tempo(tempo)
        if key is not None and not (isinstance(key, str) and key == "auto"):
            from bachnet.music import keys

            key = keys.Key.parse(key)  # a bad key fails before anything is written
        options = WriteOptions(
            tempo=tempo,
            instrument=instrument,
            soundfont=soundfont,
            sample_rate=sample_rate,
            key=key,
        )
        return writer(self, target, options)

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

        See `bachnet.formats.audio.render` (extra ``bachnet[audio]``: FluidSynth where its
        library loads, else midirenderer).

        Examples:
            >>> Chorale([[69, 0, 0, 0]] * 16).to_audio(tail=0).shape  # doctest: +SKIP
            (176400, 2)
        """
        return need(converters.to_audio, "Chorale.to_audio")(
            self,
            tempo=tempo,
            sample_rate=sample_rate,
            instrument=instrument,
            soundfont=soundfont,
            tail=tail,
        )

    def to_svg(self, *, key: Key | str | None = "auto") -> str:
        """The engraved two-staff score as SVG text (extra ``bachnet[score]``).

        See `bachnet.formats.score.to_svg`.
        """
        return need(converters.to_svg, "Chorale.to_svg")(self, key=key)

    def _repr_html_(self) -> str:
        """Jupyter's view: the score and an audio player, or text when an extra is missing."""
        return need(converters.to_html, "Chorale._repr_html_")(self)

    @classmethod
    def read(cls, path: PathLike) -> Chorale:
        """Read a ``.csv``, ``.mid``/``.midi``, ``.musicxml``/``.xml`` or ``.mxl`` file.

        The suffix picks the reader in the format table (``suffixes("read")`` of
        `bachnet.music.table`).

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
        return _as(cls, read_chorale(path))


def parse_music_file(path: PathLike) -> music21.stream.Score:
    """Parse a MIDI or MusicXML file with music21, from its source.

    music21 keeps pickled copies of parsed files in a cache folder shared by every user
    (``/tmp/music21``) and reads them back by name and date: a planted pickle would run code,
    and a stale one would return another piece. This parses the file itself every time and
    stores nothing. The file must be a regular file of at most `MAX_FILE_BYTES`. The parser is
    `bachnet.formats.music21.parse_music_file`.

    Raises:
        InputError: a missing, special (a FIFO, a folder), oversized or unparsable file.
    """
    return need(converters.parse_music_file, "parse_music_file")(Path(path))


def _as(cls: type[Chorale], piece: Chorale) -> Chorale:
    """``piece`` as an instance of ``cls`` (a subclass of `Chorale` reads as itself)."""
    if type(piece) is cls:
        return piece
    return cls(
        piece.chords,
        name=piece.name,
        fermatas=piece.fermatas,
        pickup=piece.pickup,
        meter=piece.meter,
    )


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


def _pitch_onsets(chords: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
    """True where a voice sounds a pitch other than the step before's (a new note)."""
    change = np.ones(chords.shape, dtype=bool)
    change[1:] = chords[1:] != chords[:-1]
    onsets = change & (chords > 0)
    onsets.setflags(write=False)
    return onsets


def _validated_onsets(
    onsets: npt.ArrayLike, chords: npt.NDArray[np.int16], where: str | None
) -> npt.NDArray[np.bool_]:
    array = np.asarray(onsets)
    if array.shape != chords.shape:
        raise InputError(
            f"{where or 'chords'}: onsets must have the chords' shape {chords.shape}, "
            f"got {array.shape}"
        )
    merged = (array.astype(bool) & (chords > 0)) | _pitch_onsets(chords)
    merged.setflags(write=False)
    return merged


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
