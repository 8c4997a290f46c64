"""Style figures: how Bach-like a set of chorales is, measured on the 16th-note grid.

Every figure is computed from `Chorale.chords` alone (soprano, alto, tenor, bass per 16th
step, 0 = silence, step 0 on a beat) and pooled over a whole collection: counts are summed
over the pieces first and divided once, so a long piece weighs more than a short one.
`measure` gathers them in a `StyleFigures`; `compare` and `table` print several collections
side by side, by default against Bach's own JSB test split (`bachnet.data.reference`).

Two words recur in the definitions:

- a **chord change** is a pair of consecutive steps whose four values differ in at least one
  voice (a voice starting or ending a rest counts). Voice-leading figures are per chord
  change, so how long chords are held does not dilute them;
- a **note** is a run of consecutive steps in which a voice keeps the same pitch (not 0).
  The grid cannot tell a repeated note from a held one, so both are one note.

Examples:
    >>> from bachnet import Chorale
    >>> piece = Chorale([[72, 67, 64, 48]] * 4 + [[71, 69, 65, 50]] * 4)  # alto-bass fifths
    >>> figures = measure(piece, keys=False)
    >>> figures.chord_changes, figures.parallel_fifths, figures.parallel_octaves
    (1, 100.0, 0.0)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError, InputTypeError
from bachnet.music.chorale import Chorale
from bachnet.music.grid import STRONG_BEATS

__all__ = [
    "BACH_CHORDS",
    "INTERVALS",
    "PAIRS",
    "Column",
    "Pieces",
    "StyleFigures",
    "bar_figures",
    "chord_changes",
    "held_share",
    "interval_distance",
    "interval_histogram",
    "key_endings",
    "long_note_starts",
    "measure",
    "odd_lengths",
    "onset_positions",
    "parallel_fifths",
    "parallel_motion",
    "parallel_octaves",
    "silence",
    "spacing",
    "table",
    "voice_crossing",
    "voice_ranges",
]

BACH_CHORDS: tuple[tuple[int, ...], ...] = (
    (0, 4, 7), (0, 3, 7), (0, 3, 8), (0, 4, 9), (0, 3, 9), (0, 3, 6, 8),
    (0, 4, 7, 10), (0, 5, 7), (0, 2, 6, 9), (0, 4), (0, 4, 7, 9), (0, 5, 9),
    (0, 3, 7, 10), (0, 3, 7, 9), (0, 3, 6, 9), (0, 5, 8), (0, 3, 10), (0, 4, 10),
    (0, 2, 5, 9), (0, 3), (0, 1, 5, 8), (0, 2, 7), (0, 4, 7, 11), (0, 2, 4, 7),
)  # fmt: skip
"""Bach's 24 commonest chords, as pitch classes counted up from the bass (0 = the bass).

Measured on the 229 chorales of JSB's train split, over every step where all four voices
sound: in order of frequency, from the root-position major triad (33.0 %) down to
``(0, 2, 4, 7)`` (0.65 %); together 86.2 % of his chords. Computed by counting
``{(p - bass) % 12 for p in chord}`` over ``Dataset.jsb().split("train")``.
"""


Pieces = Chorale | Iterable[Chorale]
"""One `Chorale` or any iterable of them (a list, a `Dataset`, a generator)."""

INTERVALS: tuple[int, ...] = tuple(range(-12, 13))
"""The melodic intervals of `interval_histogram`'s bins, in semitones: -12 .. +12."""

PAIRS: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
"""The six voice pairs (upper, lower) that parallels are counted for, by column index."""


def parallel_motion(
    before: npt.ArrayLike, after: npt.ArrayLike
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Where consecutive chords make parallel fifths and parallel octaves, per voice pair.

    ``before`` and ``after`` are ``(changes, 4)`` MIDI pitches (0 = silence), row ``k`` of one
    moving to row ``k`` of the other. A pair (`PAIRS`, in order) makes parallels when both
    voices sound in both chords, both move in the same direction, and they are a fifth (or an
    octave or unison), mod 12, apart in both chords: the definition of `parallel_fifths`.

    Returns:
        ``(fifths, octaves)``: two ``(changes, 6)`` boolean arrays, a column per pair.

    Examples:
        >>> fifths, octaves = parallel_motion([[72, 67, 64, 48]], [[71, 69, 65, 50]])
        >>> fifths.astype(int).tolist(), octaves.any()
        ([[0, 0, 0, 0, 1, 0]], np.False_)
    """
    a, b = np.asarray(before, dtype=np.int64), np.asarray(after, dtype=np.int64)
    fifths = np.zeros((len(a), len(PAIRS)), dtype=bool)
    octaves = np.zeros_like(fifths)
    for k, (i, j) in enumerate(PAIRS):
        sounding = (a[:, i] > 0) & (a[:, j] > 0) & (b[:, i] > 0) & (b[:, j] > 0)
        first, second = np.abs(a[:, i] - a[:, j]) % 12, np.abs(b[:, i] - b[:, j]) % 12
        move_i, move_j = np.sign(b[:, i] - a[:, i]), np.sign(b[:, j] - a[:, j])
        similar = sounding & (move_i != 0) & (move_i == move_j)
        fifths[:, k] = similar & (first == 7) & (second == 7)
        octaves[:, k] = similar & (first == 0) & (second == 0)
    return fifths, octaves


@dataclass
class _Tally:
    """Integer counts of one collection; every public figure is a ratio of two of them."""

    pieces: int = 0
    steps: int = 0
    changes: int = 0
    fifths: int = 0
    octaves: int = 0
    crossings: int = 0
    spacings: int = 0
    low: list[int] = field(default_factory=lambda: [128] * 4)
    high: list[int] = field(default_factory=lambda: [0] * 4)
    held: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(4, np.int64))
    later: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(4, np.int64))
    silent: int = 0
    onsets: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(4, np.int64))
    notes: int = 0
    odd: int = 0
    intervals: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros((4, len(INTERVALS)), np.int64)
    )
    long_notes: int = 0
    long_strong: int = 0
    bar_changes: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(5, np.int64))

    def add(self, piece: Chorale) -> None:
        self._bars(piece)
        c = piece.chords.astype(np.int64)
        self.pieces += 1
        self.steps += len(c)
        before, after = c[:-1], c[1:]
        changed = (before != after).any(axis=1)
        a, b = before[changed], after[changed]
        self.changes += len(a)
        fifths, octaves = parallel_motion(a, b)
        self.fifths += int(fifths.sum())
        self.octaves += int(octaves.sum())
        crossed = np.zeros(len(b), dtype=bool)
        for i, j in PAIRS:
            crossed |= (b[:, i] > 0) & (b[:, j] > b[:, i])
        self.crossings += int(crossed.sum())
        upper, lower = b[:, :2], b[:, 1:3]
        wide = (upper > 0) & (lower > 0) & (upper - lower > 12)
        self.spacings += int(wide.any(axis=1).sum())
        for voice in range(4):
            column = c[:, voice]
            notes = column[column > 0]
            if notes.size:
                self.low[voice] = min(self.low[voice], int(notes.min()))
                self.high[voice] = max(self.high[voice], int(notes.max()))
            self._runs(voice, column)
        self.held += ((after == before) & (after > 0)).sum(axis=0)
        self.later += (after > 0).sum(axis=0)
        self.silent += int((c == 0).sum())

    def _bars(self, piece: Chorale) -> None:
        """Where in the bar soprano long notes start, and (4/4) where chords change."""
        positions = piece.bar_positions()
        bar = piece.bar_steps
        long = long_note_starts(piece)
        self.long_notes += len(long)
        self.long_strong += int(np.isin(positions[long], STRONG_BEATS[piece.meter]).sum())
        if bar == 16:
            changed = np.flatnonzero((piece.chords[1:] != piece.chords[:-1]).any(axis=1)) + 1
            where = positions[changed]
            beats = np.where(where % 4 == 0, where // 4, 4)
            self.bar_changes += np.bincount(beats, minlength=5)

    def _runs(self, voice: int, column: npt.NDArray[np.int64]) -> None:
        starts = np.concatenate([[0], np.flatnonzero(np.diff(column)) + 1])
        lengths = np.diff(np.concatenate([starts, [len(column)]]))
        pitches = column[starts]
        sounding = pitches > 0
        self.onsets += np.bincount(starts[sounding & (starts > 0)] % 4, minlength=4)
        self.notes += int(sounding.sum())
        self.odd += int((sounding & (lengths > 1) & (lengths % 2 == 1)).sum())
        first, second = pitches[:-1], pitches[1:]
        leaps = (second - first)[(first > 0) & (second > 0)]
        self.intervals[voice] += np.bincount(np.clip(leaps, -12, 12) + 12, minlength=25)


def long_note_starts(piece: Chorale) -> npt.NDArray[np.int64]:
    """The steps where the soprano starts a note of a half note (8 steps) or longer.

    Examples:
        >>> half, quarter = [[72, 67, 64, 48]] * 8, [[71, 67, 62, 43]] * 4
        >>> long_note_starts(Chorale(quarter + half + quarter)).tolist()
        [4]
    """
    soprano = piece.chords[:, 0].astype(np.int64)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(soprano)) + 1])
    lengths = np.diff(np.concatenate([starts, [len(soprano)]]))
    long: npt.NDArray[np.int64] = starts[(soprano[starts] > 0) & (lengths >= 8)]
    return long


def _collect(pieces: Pieces) -> list[Chorale]:
    chorales = [pieces] if isinstance(pieces, Chorale) else list(pieces)
    if not chorales:
        raise InputError("no pieces to measure: give a Chorale or a non-empty collection")
    for piece in chorales:
        if not isinstance(piece, Chorale):
            raise InputTypeError(f"expected Chorale objects, got {type(piece).__name__}")
    return chorales


def _tally(pieces: Pieces) -> _Tally:
    tally = _Tally()
    for piece in _collect(pieces):
        tally.add(piece)
    return tally


def _ratio(count: float, total: float, scale: float = 100.0) -> float:
    return scale * float(count) / float(total) if total else 0.0


# ---------------------------------------------------------------------------- the figures
def chord_changes(pieces: Pieces) -> int:
    """Number of chord changes: consecutive steps whose four values differ in any voice.

    Examples:
        >>> chord_changes(Chorale([[72, 67, 64, 48]] * 4 + [[72, 0, 64, 48], [74, 67, 62, 43]]))
        2
    """
    return _tally(pieces).changes


def parallel_fifths(pieces: Pieces) -> float:
    """Parallel fifths per 100 chord changes.

    At a chord change, a pair of voices makes a parallel fifth when both voices sound in both
    chords, are a perfect fifth apart in both (``abs(upper - lower) % 12 == 7``, so compound
    fifths such as a twelfth count too), and both move, in the same direction. Each of the six
    voice pairs is counted separately, so one chord change can add several. A pair with a
    silent voice in either chord is skipped, but the change still counts in the denominator.
    Oblique motion (one voice stays) and contrary motion never count.

    Examples:
        >>> parallel_fifths(Chorale([[72, 67, 64, 48], [71, 69, 65, 50]]))  # alto, bass up
        100.0
        >>> oblique = Chorale([[72, 67, 64, 48], [71, 67, 65, 36]])  # the alto stays
        >>> contrary = Chorale([[72, 67, 64, 48], [84, 79, 65, 36]])  # alto up, bass down
        >>> parallel_fifths(oblique), parallel_fifths(contrary)
        (0.0, 0.0)
    """
    tally = _tally(pieces)
    return _ratio(tally.fifths, tally.changes)


def parallel_octaves(pieces: Pieces) -> float:
    """Parallel octaves and unisons per 100 chord changes.

    As `parallel_fifths`, with ``abs(upper - lower) % 12 == 0`` in both chords: unisons,
    octaves and compound octaves, both voices moving in the same direction.

    Examples:
        >>> parallel_octaves(Chorale([[72, 67, 64, 48], [74, 67, 62, 50]]))  # S-B octaves
        100.0
    """
    tally = _tally(pieces)
    return _ratio(tally.octaves, tally.changes)


def voice_crossing(pieces: Pieces) -> float:
    """Percentage of chord changes whose second chord has two voices crossed.

    Crossed: a lower voice sounds strictly above a higher one (both sounding). When all four
    voices sound this is the same as an adjacent pair (soprano-alto, alto-tenor, tenor-bass)
    crossing; a silent voice does not hide a crossing of its neighbours. A change counts once,
    however many pairs cross. Unisons are not crossings.

    Examples:
        >>> voice_crossing(Chorale([[72, 67, 64, 48], [72, 64, 67, 48], [71, 62, 67, 43]]))
        100.0
    """
    tally = _tally(pieces)
    return _ratio(tally.crossings, tally.changes)


def spacing(pieces: Pieces) -> float:
    """Percentage of chord changes whose second chord is spaced wider than an octave.

    Wide: soprano above alto, or alto above tenor, by more than 12 semitones (both sounding).
    Tenor and bass may be any distance apart.

    Examples:
        >>> spacing(Chorale([[72, 67, 64, 48], [79, 67, 64, 48], [79, 67, 52, 48]]))
        50.0
    """
    tally = _tally(pieces)
    return _ratio(tally.spacings, tally.changes)


def voice_ranges(pieces: Pieces) -> tuple[tuple[int, int], ...]:
    """Lowest and highest MIDI pitch each voice sings, soprano first; ``(0, 0)`` if it never does.

    Examples:
        >>> voice_ranges(Chorale([[72, 67, 0, 48], [74, 65, 0, 43]]))
        ((72, 74), (65, 67), (0, 0), (43, 48))
    """
    return _ranges(_tally(pieces))


def _ranges(tally: _Tally) -> tuple[tuple[int, int], ...]:
    pairs = zip(tally.low, tally.high, strict=True)
    return tuple((low, high) if high else (0, 0) for low, high in pairs)


def held_share(pieces: Pieces, voice: int | None = None) -> float:
    """Percentage of 16th steps in which a voice holds its pitch.

    Counted over the steps after the first of each piece in which the voice sounds: voice
    ``v`` holds at step ``t`` when ``chords[t, v] == chords[t - 1, v]``; otherwise a new note
    starts there (see `onset_positions`). Silent steps are left out of both counts.

    Args:
        pieces: the chorales.
        voice: ``0`` (soprano) .. ``3`` (bass), or ``None`` for all four voices together.

    Raises:
        InputError: a voice outside 0..3.

    Examples:
        >>> piece = Chorale([[72, 67, 64, 48]] * 4 + [[72, 65, 62, 0]] * 4)
        >>> held_share(piece, 0), held_share(piece, 1), held_share(piece)
        (100.0, 85.71428571428571, 91.66666666666667)
    """
    if voice is not None and voice not in range(4):
        raise InputError(f"voice must be 0 (soprano) .. 3 (bass) or None, got {voice!r}")
    tally = _tally(pieces)
    if voice is None:
        return _ratio(tally.held.sum(), tally.later.sum())
    return _ratio(tally.held[voice], tally.later[voice])


def silence(pieces: Pieces) -> float:
    """Percentage of voice-steps (steps x 4 voices) that are silent (0).

    Examples:
        >>> silence(Chorale([[72, 67, 64, 48], [72, 0, 0, 48]]))
        25.0
    """
    tally = _tally(pieces)
    return _ratio(tally.silent, 4 * tally.steps)


def onset_positions(pieces: Pieces) -> tuple[float, float, float, float]:
    """Where notes start in the beat: the percentage of note onsets at each 16th position.

    A note starts at step ``t >= 1`` when the voice sounds there and had another value (pitch
    or silence) at ``t - 1``. Its position is ``t % 4`` (step 0 is on a beat): 0 on the beat,
    2 on the eighth after it, 1 and 3 on off-beat 16ths. The opening chord (step 0) is left
    out, as in `held_share`: every sounding voice-step after the first is either held or an
    onset.

    Examples:
        >>> c, d = [[72, 67, 64, 48]], [[74, 65, 64, 48]]
        >>> onset_positions(Chorale(c * 2 + d * 2 + c * 2))  # S and A move at steps 2 and 4
        (50.0, 0.0, 50.0, 0.0)
    """
    tally = _tally(pieces)
    shares = [_ratio(count, tally.onsets.sum()) for count in tally.onsets]
    return shares[0], shares[1], shares[2], shares[3]


def bar_figures(pieces: Pieces) -> tuple[float, tuple[float, ...]]:
    """Where long notes and chord changes fall in the bar.

    Bars are placed by each piece's `Chorale.pickup` and `Chorale.meter` (the JSB pieces
    carry them from music21's edition, see `bachnet.data.form`).

    Returns:
        ``(long_on_strong, bar_changes)``: % of soprano notes of a half note or longer that
        start on a strong beat (`bachnet.music.grid.STRONG_BEATS`: beats 1 and 3 of 4/4, the
        downbeat of 3/4), and % of chord
        changes in 4/4 pieces on beats 1, 2, 3, 4 and off the beat.

    Examples:
        >>> rows = [[72, 67, 64, 48]] * 8 + [[74, 67, 62, 43]] * 8
        >>> bar_figures(Chorale(rows))[0], bar_figures(Chorale(rows, pickup=4))[0]
        (100.0, 0.0)
    """
    tally = _tally(pieces)
    changes = tuple(_ratio(n, tally.bar_changes.sum()) for n in tally.bar_changes)
    return _ratio(tally.long_strong, tally.long_notes), changes


def odd_lengths(pieces: Pieces) -> float:
    """Percentage of notes whose length in 16ths is odd and more than one: 3, 5, 7, ...

    Such notes (a dotted eighth, ...) end or start off the eighth-note grid: rare in Bach. A
    note cut short by the end of the piece counts with the length it has.

    Examples:
        >>> odd_lengths(Chorale([[72, 67, 64, 48]] * 3 + [[74, 67, 64, 48]]))  # 5 notes
        20.0
    """
    tally = _tally(pieces)
    return _ratio(tally.odd, tally.notes)


def interval_histogram(pieces: Pieces) -> npt.NDArray[np.float64]:
    """Melodic intervals per voice: a ``(4, 25)`` array, one row per voice, bins -12 .. +12.

    A voice's melody is its sequence of notes (repeated and held notes merged, as on the
    grid); each pair of consecutive notes adds the interval ``second - first`` in semitones.
    Pairs separated by a rest are skipped. Leaps larger than an octave are counted in the end
    bins (-12 or +12). Bin 0 stays empty: consecutive notes always differ. Each row is
    normalised to sum to 1 (all zeros for a voice with fewer than two notes). Bin ``k`` is
    interval ``INTERVALS[k] = k - 12``.

    Examples:
        >>> h = interval_histogram(Chorale([[72, 67, 64, 48], [74, 67, 64, 43], [72, 67, 64, 62]]))
        >>> h.shape, h[0, 12 + 2], h[0, 12 - 2], h[1].sum(), h[3, 12 + 12]
        ((4, 25), np.float64(0.5), np.float64(0.5), np.float64(0.0), np.float64(0.5))
    """
    return _histogram(_tally(pieces))


def _histogram(tally: _Tally) -> npt.NDArray[np.float64]:
    counts = tally.intervals.astype(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    shares: npt.NDArray[np.float64] = np.divide(
        counts, totals, out=np.zeros_like(counts), where=totals > 0
    )
    return shares


def interval_distance(first: npt.ArrayLike, second: npt.ArrayLike) -> float:
    """L1 distance between two interval histograms, averaged over the four voices.

    ``mean over voices of sum over bins |first - second|``: 0 for identical melodic
    intervals, 2 for voices that share no interval at all.

    Args:
        first: a ``(4, 25)`` histogram from `interval_histogram` (or `StyleFigures.intervals`).
        second: another one.

    Raises:
        InputError: either is not of shape ``(4, 25)``.

    Examples:
        >>> up, down = np.zeros((4, 25)), np.zeros((4, 25))
        >>> up[:, 14], down[:, 10] = 1.0, 1.0
        >>> interval_distance(up, down), interval_distance(up, up)
        (2.0, 0.0)
    """
    a, b = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    shape = (4, len(INTERVALS))
    if a.shape != shape or b.shape != shape:
        raise InputError(f"expected two histograms of shape {shape}, got {a.shape} and {b.shape}")
    return float(np.abs(a - b).sum(axis=1).mean())


def key_endings(pieces: Pieces) -> tuple[float, float, float]:
    """Keys and endings, from music21's key analysis of each whole piece (slow: ~0.1 s each).

    Each piece's key is ``chorale.to_music21().analyze("key")`` (Krumhansl-Schmuckler with
    music21's default profiles). Its last sounding chord is its last step where any voice
    sounds. Returns three percentages of the pieces:

    1. the bass (column 3) of the last sounding chord is on the key's tonic;
    2. that chord is a tonic triad: the bass on the tonic and every sounding voice on the
       tonic, third or fifth (in minor the major third counts too: a Picardy third; the triad
       need not be complete);
    3. the key has five or more sharps or flats.

    A piece that is all silence has no key and counts in none of the three.

    Examples:
        >>> tonic, dominant = [[72, 67, 64, 48]], [[71, 67, 62, 43]]
        >>> key_endings(Chorale(tonic * 4 + dominant * 4 + tonic * 8))
        (100.0, 100.0, 0.0)
    """
    chorales = _collect(pieces)
    bass = triad = remote = 0
    for piece in chorales:
        sounding = np.flatnonzero(piece.chords.any(axis=1))
        if sounding.size == 0:
            continue  # no key: counted in none of the three
        key = piece.to_music21().analyze("key")
        tonic = int(key.tonic.pitchClass)
        third = 4 if key.mode == "major" else 3
        allowed = {tonic, (tonic + third) % 12, (tonic + 4) % 12, (tonic + 7) % 12}
        remote += abs(int(key.sharps)) >= 5
        last = piece.chords[sounding[-1]]
        if last[3] > 0 and int(last[3]) % 12 == tonic:
            bass += 1
            triad += all(int(p) % 12 in allowed for p in last if p > 0)
    n = len(chorales)
    return _ratio(bass, n), _ratio(triad, n), _ratio(remote, n)


# --------------------------------------------------------------------------- all of them
@dataclass(frozen=True)
class StyleFigures:
    """The style figures of one collection of chorales, as `measure` computes them.

    Attributes:
        pieces: number of pieces.
        steps: number of 16th steps, all pieces together.
        chord_changes: see `chord_changes`.
        parallel_fifths: per 100 chord changes, see `parallel_fifths`.
        parallel_octaves: per 100 chord changes, see `parallel_octaves`.
        voice_crossing: % of chord changes, see `voice_crossing`.
        spacing: % of chord changes, see `spacing`.
        ranges: ``(low, high)`` MIDI pitch per voice, see `voice_ranges`.
        held: % of sounding voice-steps (after a piece's first step) that hold the pitch of
            the step before, all voices together, see `held_share`.
        voice_held: the same per voice, soprano first.
        silence: % of voice-steps, see `silence`.
        onsets: % of note onsets at 16th positions 0, 1, 2, 3, see `onset_positions`.
        odd_lengths: % of notes 3, 5, 7, ... 16ths long, see `odd_lengths`.
        intervals: per-voice melodic-interval histogram, see `interval_histogram`.
        tonic_bass: % of pieces ending with the key's tonic in the bass, see `key_endings`
            (``None`` when keys were not analysed).
        tonic_triad: % of pieces ending on a tonic triad, tonic in the bass (or ``None``).
        remote_keys: % of pieces in keys of five or more sharps or flats (or ``None``).
        long_on_strong: % of soprano notes of a half note or longer that start on a strong
            beat of the bar (beats 1 and 3 of 4/4, the downbeat of 3/4), bars placed by each
            piece's `Chorale.pickup` and `Chorale.meter`; see `bar_figures`.
        bar_changes: % of chord changes (4/4 pieces) on beats 1, 2, 3, 4 of the bar and off
            the beat.

    Examples:
        >>> figures = measure(Chorale([[72, 67, 64, 48]] * 8), keys=False)
        >>> figures.held, figures.silence, figures.to_dict()["ranges"][0]
        (100.0, 0.0, [72, 72])
    """

    pieces: int
    steps: int
    chord_changes: int
    parallel_fifths: float
    parallel_octaves: float
    voice_crossing: float
    spacing: float
    ranges: tuple[tuple[int, int], ...]
    held: float
    voice_held: tuple[float, ...]
    silence: float
    onsets: tuple[float, ...]
    odd_lengths: float
    intervals: tuple[tuple[float, ...], ...]
    tonic_bass: float | None = None
    tonic_triad: float | None = None
    remote_keys: float | None = None
    long_on_strong: float = 0.0
    bar_changes: tuple[float, ...] = (0.0,) * 5

    def to_dict(self) -> dict[str, Any]:
        """The figures as plain JSON-ready values (tuples become lists).

        Examples:
            >>> import json
            >>> figures = measure(Chorale([[72, 67, 64, 48]] * 8), keys=False)
            >>> json.loads(json.dumps(figures.to_dict()))["tonic_bass"] is None
            True
        """
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def measure(pieces: Pieces, *, keys: bool = True) -> StyleFigures:
    """Every style figure of a collection of chorales.

    Args:
        pieces: a `Chorale` or an iterable of them.
        keys: also run music21's key analysis (`key_endings`), the slow part; with
            ``False`` the three key figures are ``None``.

    Raises:
        InputError: no pieces.

    Examples:
        >>> piece = Chorale([[72, 67, 64, 48]] * 4 + [[74, 67, 62, 43]] * 4)
        >>> figures = measure(piece, keys=False)
        >>> figures.pieces, figures.chord_changes, figures.held, figures.tonic_bass
        (1, 1, 89.28571428571429, None)
    """
    chorales = _collect(pieces)
    tally = _tally(chorales)
    endings = key_endings(chorales) if keys else (None, None, None)
    return StyleFigures(
        pieces=tally.pieces,
        steps=tally.steps,
        chord_changes=tally.changes,
        parallel_fifths=_ratio(tally.fifths, tally.changes),
        parallel_octaves=_ratio(tally.octaves, tally.changes),
        voice_crossing=_ratio(tally.crossings, tally.changes),
        spacing=_ratio(tally.spacings, tally.changes),
        ranges=_ranges(tally),
        held=_ratio(tally.held.sum(), tally.later.sum()),
        voice_held=tuple(_ratio(h, n) for h, n in zip(tally.held, tally.later, strict=True)),
        silence=_ratio(tally.silent, 4 * tally.steps),
        onsets=tuple(_ratio(count, tally.onsets.sum()) for count in tally.onsets),
        odd_lengths=_ratio(tally.odd, tally.notes),
        intervals=tuple(tuple(float(v) for v in row) for row in _histogram(tally)),
        tonic_bass=endings[0],
        tonic_triad=endings[1],
        remote_keys=endings[2],
        long_on_strong=_ratio(tally.long_strong, tally.long_notes),
        bar_changes=tuple(_ratio(n, tally.bar_changes.sum()) for n in tally.bar_changes),
    )


# ------------------------------------------------------------------ Bach, side by side
def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _slashed(values: Iterable[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


_Show = Callable[[StyleFigures, float], str]
_ROWS: tuple[tuple[str, _Show], ...] = (
    ("pieces", lambda f, _: f"{f.pieces:,}"),
    ("16th steps", lambda f, _: f"{f.steps:,}"),
    ("chord changes", lambda f, _: f"{f.chord_changes:,}"),
    ("parallel fifths per 100 chord changes", lambda f, _: f"{f.parallel_fifths:.2f}"),
    ("parallel octaves/unisons per 100 chord changes", lambda f, _: f"{f.parallel_octaves:.2f}"),
    ("voice crossing, % of chord changes", lambda f, _: _percent(f.voice_crossing)),
    ("spacing over an octave (S-A or A-T), % of chord changes", lambda f, _: _percent(f.spacing)),
    ("16th steps where a voice holds its pitch, %", lambda f, _: _percent(f.held)),
    ("held steps S / A / T / B, %", lambda f, _: _slashed(f.voice_held)),
    ("range S / A / T / B (MIDI)", lambda f, _: " / ".join(f"{a}-{b}" for a, b in f.ranges)),
    ("silence, % of voice-steps", lambda f, _: _percent(f.silence)),
    ("note onsets at 16th position 0 / 1 / 2 / 3, %", lambda f, _: _slashed(f.onsets)),
    ("notes 3, 5, 7... 16ths long, %", lambda f, _: _percent(f.odd_lengths)),
    ("melodic intervals, L1 distance to {reference}", lambda _, l1: f"{l1:.3f}"),
    ("last chord: key's tonic in the bass, %", lambda f, _: _percent(f.tonic_bass)),
    ("last chord: tonic triad, tonic in the bass, %", lambda f, _: _percent(f.tonic_triad)),
    ("keys with 5 or more sharps or flats, %", lambda f, _: _percent(f.remote_keys)),
    ("soprano half notes and longer on beats 1 or 3, %", lambda f, _: _percent(f.long_on_strong)),
    (
        "chord changes on beats 1 / 2 / 3 / 4 / off the beat, %",
        lambda f, _: _slashed(f.bar_changes),
    ),
)


def table(
    columns: Mapping[str, StyleFigures], *, reference: str | None = None, as_json: bool = False
) -> str:
    """Several collections' figures side by side: a Markdown table, or JSON.

    Args:
        columns: column name -> figures, in the order to show.
        reference: the column that the melodic-interval L1 distance (`interval_distance`)
            is measured against; default: the last column.
        as_json: return ``{"reference": name, "columns": {name: figures}}`` as JSON instead,
            each column's `StyleFigures.to_dict` plus its ``interval_l1``.

    Raises:
        InputError: no columns, or a reference that is not one of them.

    Examples:
        >>> a = measure(Chorale([[72, 67, 64, 48]] * 4 + [[74, 67, 62, 43]] * 4), keys=False)
        >>> b = measure(Chorale([[72, 67, 64, 48]] * 2 + [[71, 67, 62, 43]] * 6), keys=False)
        >>> print(table({"mine": a, "theirs": b}).splitlines()[5])
        | parallel fifths per 100 chord changes | 0.00 | 0.00 |
    """
    if not columns:
        raise InputError("nothing to show: give at least one column of figures")
    names = list(columns)
    chosen = names[-1] if reference is None else reference
    if chosen not in columns:
        raise InputError(f"reference {chosen!r} is not a column; the columns are {names}")
    base = columns[chosen].intervals
    l1 = {name: interval_distance(f.intervals, base) for name, f in columns.items()}
    if as_json:
        shown = {name: {**f.to_dict(), "interval_l1": l1[name]} for name, f in columns.items()}
        return json.dumps({"reference": chosen, "columns": shown}, indent=2)
    rows = [["figure", *names], ["---"] + ["---:"] * len(names)]
    for label, show in _ROWS:
        cells = [show(f, l1[name]) for name, f in columns.items()]
        if any(cell != "n/a" for cell in cells):  # key rows are left out when keys were skipped
            rows.append([label.format(reference=chosen), *cells])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


Column = Pieces | StyleFigures
"""What `compare` accepts for one column: pieces to `measure`, or their figures."""
