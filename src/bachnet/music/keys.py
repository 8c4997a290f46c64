"""Keys and cadences: find a chorale's key, move it to another, and end it on the tonic.

Everything here is plain numpy on MIDI pitches; music21 is not needed. `find_key` gives the
same answer as music21's default ``Stream.analyze("key")`` (the Krumhansl-Schmuckler method
with the Aarden-Essen profiles), `cadence_mask` restricts the token sampler to a cadence, and
`ends_on_tonic` checks that a piece ends on its tonic triad.

Examples:
    >>> cadence = [[72, 67, 64, 48]] * 4 + [[71, 67, 62, 43]] * 4 + [[72, 64, 55, 48]] * 8
    >>> key = find_key(cadence)
    >>> str(key), ends_on_tonic(cadence, key)
    ('C major', True)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError
from bachnet.music.chorale import VOICES, Chorale
from bachnet.music.ranges import RangesSpec, VoiceRanges
from bachnet.music.vocab import Vocabulary

__all__ = [
    "HOLD_STEPS",
    "Approach",
    "Key",
    "Mode",
    "Third",
    "cadence_mask",
    "chord_rows",
    "ends_on_tonic",
    "find_key",
    "hold",
    "key_shift",
    "nearest_plain_shift",
    "transpose_into",
]


Mode = Literal["major", "minor"]
"""A key's mode."""

Approach = Literal["dominant", "subdominant", "either"]
"""The chord before the final tonic: V (authentic cadence), IV (plagal) or either one."""

Third = Literal["either", "major", "minor", "open"]
"""The third of a cadence's final chord (see `cadence_mask`)."""

HOLD_STEPS = 8
"""Default number of extra steps `hold` gives the final chord: with it, a half note."""

_MODES: tuple[str, ...] = ("major", "minor")

# Conventional spelling, one per tonic pitch class: the signature with the fewest accidentals,
# F# major rather than Gb and Eb minor rather than D# minor on the 6-accidental ties (as
# music21's key analysis spells them).
_MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ALTER = {"#": 1, "♯": 1, "b": -1, "-": -1, "♭": -1}
_KEY_PATTERN = re.compile(r"([A-Ga-g])([#♯]*|[b\-♭]*)(?:\s*(major|minor))?", re.IGNORECASE)

# music21's default key profiles (``music21.analysis.discrete.AardenEssen``, which
# ``Stream.analyze("key")`` resolves to), tonic first.
_AARDEN_ESSEN_MAJOR = (
    17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587,
    0.291248, 22.062, 0.145624, 8.15494, 0.232998, 4.95122,
)  # fmt: skip
_AARDEN_ESSEN_MINOR = (
    18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362,
    0.702494, 18.6161, 4.56621, 1.93186, 7.37619, 1.75623,
)  # fmt: skip


def _profile_matrix() -> npt.NDArray[np.float64]:
    """The 24 profiles (12 major, then 12 minor tonics), centred and of unit length."""
    rows = [
        np.roll(np.asarray(profile, dtype=np.float64), tonic)
        for profile in (_AARDEN_ESSEN_MAJOR, _AARDEN_ESSEN_MINOR)
        for tonic in range(12)
    ]
    matrix = np.stack(rows)
    matrix -= matrix.mean(axis=1, keepdims=True)
    matrix /= np.sqrt((matrix**2).sum(axis=1, keepdims=True))
    return matrix


_PROFILES = _profile_matrix()
# music21 sorts (correlation, tonic, mode) descending: on an exact tie the higher tonic pitch
# class wins, then minor over major. This is the order of preference among tied keys.
_TIE_RANK = np.array([2 * (i % 12) + i // 12 for i in range(24)])


@dataclass(frozen=True)
class Key:
    """A major or minor key: a tonic pitch class and a mode.

    Args:
        tonic: pitch class of the tonic, 0 (C) .. 11 (B).
        mode: ``"major"`` or ``"minor"``.

    Raises:
        InputError: a tonic outside 0..11 or an unknown mode.

    Examples:
        >>> key = Key(2, "minor")
        >>> str(key), key.accidentals, key.triad, key.dominant, key.subdominant
        ('D minor', -1, (2, 5, 9), 9, 7)
        >>> Key.parse("Bb") == Key(10, "major"), str(Key.parse("g#"))
        (True, 'G# minor')
    """

    tonic: int
    mode: Mode = "major"

    def __post_init__(self) -> None:
        if isinstance(self.tonic, bool) or not isinstance(self.tonic, int | np.integer):
            raise InputError(f"a key's tonic must be a pitch class 0..11, got {self.tonic!r}")
        if not 0 <= self.tonic <= 11:
            raise InputError(f"a key's tonic must be a pitch class 0..11, got {self.tonic}")
        if self.mode not in _MODES:
            raise InputError(f"a key's mode must be 'major' or 'minor', got {self.mode!r}")
        object.__setattr__(self, "tonic", int(self.tonic))

    @classmethod
    def parse(cls, text: str | Key) -> Key:
        """Read a key name: ``"D minor"``, ``"F# major"``, ``"Bb"``, ``"g"``, ``"E- major"``.

        A tonic letter, optional accidentals (``#``, or ``b``/``-`` for flats, as in music21)
        and an optional ``major``/``minor``. Without the mode word the letter's case decides,
        as in music21: upper case is major, lower case minor. A `Key` is returned unchanged. Only
        the pitch class is kept: ``str`` spells the key its conventional way (Ab minor is G# minor).

        Raises:
            InputError: anything else; the message repeats the text.

        Examples:
            >>> [str(Key.parse(s)) for s in ("D minor", "F# major", "Bb", "g", "E- major", "a-")]
            ['D minor', 'F# major', 'Bb major', 'G minor', 'Eb major', 'G# minor']
            >>> Key.parse("H dur")  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            bachnet.errors.InputError: cannot read a key from 'H dur': expected a tonic letter ...
        """
        if isinstance(text, Key):
            return text
        match = _KEY_PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise InputError(
                f"cannot read a key from {text!r}: expected a tonic letter A-G, optional "
                "accidentals (# or b) and an optional 'major' or 'minor', e.g. 'D minor', "
                "'Bb', 'f#'"
            )
        letter, accidentals, mode_word = match.groups()
        tonic = (_LETTERS[letter.upper()] + sum(_ALTER[a] for a in accidentals)) % 12
        if mode_word:
            mode: Mode = "minor" if mode_word.lower() == "minor" else "major"
        else:
            mode = "minor" if letter.islower() else "major"
        return cls(tonic, mode)

    def __str__(self) -> str:
        names = _MAJOR_NAMES if self.mode == "major" else _MINOR_NAMES
        return f"{names[self.tonic]} {self.mode}"

    @property
    def accidentals(self) -> int:
        """Sharps (positive) or flats (negative) in the key signature, as `str` spells it.

        Examples:
            >>> Key.parse("D").accidentals, Key.parse("c").accidentals, Key.parse("F#").accidentals
            (2, -3, 6)
        """
        if self.mode == "major":
            fifths = 7 * self.tonic % 12
            return fifths - 12 if fifths > 6 else fifths
        fifths = (7 * self.tonic + 9) % 12  # the relative major's
        return fifths - 12 if fifths >= 6 else fifths

    @property
    def triad(self) -> tuple[int, int, int]:
        """Pitch classes of the tonic triad: root, third, fifth.

        Examples:
            >>> Key.parse("A").triad, Key.parse("a").triad
            ((9, 1, 4), (9, 0, 4))
        """
        third = 4 if self.mode == "major" else 3
        return self.tonic, (self.tonic + third) % 12, (self.tonic + 7) % 12

    @property
    def dominant(self) -> int:
        """Pitch class of the fifth degree.

        Examples:
            >>> Key.parse("F").dominant  # C
            0
        """
        return (self.tonic + 7) % 12

    @property
    def subdominant(self) -> int:
        """Pitch class of the fourth degree.

        Examples:
            >>> Key.parse("F").subdominant  # B flat
            10
        """
        return (self.tonic + 5) % 12

    def spell(self, pitch_class: int, resolves: int = 0) -> str:
        """The name of a pitch class in this key, as music21 writes it (``"B-"``, ``"F#"``).

        The scale's own notes take the key's letters; in minor the raised sixth and seventh
        are sharpened degrees (G# in A minor). The other chromatic notes follow common
        practice: in major the raised first, fourth and fifth degrees (leading notes of secondary
        dominants), the lowered third and seventh; in minor the lowered second (Neapolitan),
        the raised third (Picardy third) and the raised fourth. A chromatic note that moves on
        by a semitone is spelled the way it goes (``resolves``: +1 when the next note is a
        semitone higher, -1 lower): a raised degree leading up (D# to E in C major), a lowered
        one leading down (A- to G). A name that would need a double sharp or flat takes its
        single-accidental neighbour instead.

        Examples:
            >>> [Key.parse("F").spell(pc) for pc in (10, 6, 3)]
            ['B-', 'F#', 'E-']
            >>> [Key.parse("a").spell(pc) for pc in (8, 6, 1, 10)]
            ['G#', 'F#', 'C#', 'B-']
            >>> Key.parse("F#").spell(5), Key.parse("Db").spell(11), Key.parse("E").spell(7)
            ('E#', 'C-', 'G')
            >>> [Key.parse("C").spell(3, resolves=r) for r in (0, 1, -1)]  # E- or D#
            ['E-', 'D#', 'E-']
            >>> [Key.parse("C").spell(8, resolves=r) for r in (0, 1, -1)]  # G# or A-
            ['G#', 'G#', 'A-']
        """
        name = str(self).split()[0]
        letter = "CDEFGAB".index(name[0])
        minor = self.mode == "minor"
        degrees = (0, 2, 3, 5, 7, 8, 10) if minor else (0, 2, 4, 5, 7, 9, 11)
        chromatic = (
            {1: 1, 4: 2, 6: 3, 9: 5, 11: 6}  # lowered 2nd, raised 3rd, 4th, 6th, 7th
            if minor
            else {
                1: 0,
                3: 2,
                6: 3,
                8: 4,
                10: 6,
            }  # raised 1st, lowered 3rd, raised 4th, 5th, lowered 7th
        )
        interval = (int(pitch_class) - self.tonic) % 12
        degree = degrees.index(interval) if interval in degrees else chromatic[interval]
        if interval not in degrees and resolves > 0 and (interval - 1) % 12 in degrees:
            degree = degrees.index((interval - 1) % 12)  # raised, leading up
        elif interval not in degrees and resolves < 0 and (interval + 1) % 12 in degrees:
            degree = degrees.index((interval + 1) % 12)  # lowered, leading down
        step = "CDEFGAB"[(letter + degree) % 7]
        alter = (int(pitch_class) - _LETTERS[step] + 6) % 12 - 6
        if abs(alter) > 1:  # F## -> G, E-- -> D
            step = "CDEFGAB"[(letter + degree + (1 if alter > 0 else -1)) % 7]
            alter = (int(pitch_class) - _LETTERS[step] + 6) % 12 - 6
        return step + ("#" * alter if alter > 0 else "-" * -alter)

    def transpose(self, semitones: int) -> Key:
        """The key ``semitones`` higher (same mode).

        Examples:
            >>> str(Key.parse("D minor").transpose(-2))
            'C minor'
        """
        return Key((self.tonic + int(semitones)) % 12, self.mode)


def find_key(chorale_or_chords: Chorale | npt.ArrayLike) -> Key:
    """The key of a piece, as music21's default key analysis finds it, in numpy.

    The Krumhansl-Schmuckler method with music21's default (Aarden-Essen) profiles: count how
    long each pitch class sounds (all voices, in steps), correlate that histogram with the
    profile of each of the 24 keys (Pearson) and keep the best. This is what
    ``chorale.to_music21().analyze("key")`` computes; ties go the same way as there.

    Args:
        chorale_or_chords: a `Chorale` or a ``(steps, 4)`` array of MIDI pitches (0 = silence).

    Raises:
        InputError: if nothing sounds.

    Examples:
        >>> str(find_key([[69, 64, 60, 45]] * 8 + [[68, 64, 59, 40]] * 4 + [[69, 64, 61, 45]]))
        'A minor'
    """
    chords = _chords_of(chorale_or_chords)
    notes = chords[chords > 0]
    if notes.size == 0:
        raise InputError("cannot find the key of silence: the piece has no notes")
    histogram = np.bincount(notes % 12, minlength=12).astype(np.float64)
    histogram -= histogram.mean()
    scale = np.sqrt((histogram**2).sum())
    correlations = _PROFILES @ histogram / scale if scale > 0 else np.zeros(24)
    best = np.flatnonzero(correlations == correlations.max())
    index = int(best[np.argmax(_TIE_RANK[best])])
    return Key(index % 12, "major" if index < 12 else "minor")


def key_shift(current: Key, target: Key) -> int:
    """Semitones (-6..+5) that move ``current``'s tonic to ``target``'s.

    Raises:
        InputError: if the modes differ (a transposition keeps the mode).

    Examples:
        >>> key_shift(Key.parse("D"), Key.parse("Bb")), key_shift(Key.parse("a"), Key.parse("e"))
        (-4, -5)
    """
    if current.mode != target.mode:
        raise InputError(
            f"cannot transpose {current} into {target}: a transposition keeps the mode"
        )
    return (target.tonic - current.tonic + 6) % 12 - 6


def nearest_plain_shift(key: Key, max_accidentals: int = 4) -> int:
    """The smallest shift (in semitones) into a key with at most ``max_accidentals``.

    0 when ``key`` already qualifies. Between two shifts of the same size, the one into the
    key with fewer accidentals wins, then the downward one.

    Raises:
        InputError: ``max_accidentals`` outside 0..7.

    Examples:
        >>> nearest_plain_shift(Key.parse("E")), nearest_plain_shift(Key.parse("B"))
        (0, 1)
        >>> nearest_plain_shift(Key.parse("F#")), nearest_plain_shift(Key.parse("eb"))
        (-1, -1)
    """
    if isinstance(max_accidentals, bool) or not 0 <= max_accidentals <= 7:
        raise InputError(f"max_accidentals must be 0..7, got {max_accidentals!r}")
    shifts = sorted(range(-6, 6), key=lambda s: (abs(s), abs(key.transpose(s).accidentals), s))
    return next(s for s in shifts if abs(key.transpose(s).accidentals) <= max_accidentals)


def transpose_into(
    chords: Chorale | npt.ArrayLike, shift: int, ranges: RangesSpec
) -> npt.NDArray[np.int16]:
    """Transpose by ``shift``, ``shift - 12`` or ``shift + 12``: whichever fits the ranges best.

    "Best" is the fewest notes outside their voice's range, then the fewest semitones outside
    in all, then the smallest move. Silence stays silence; a shift that would leave MIDI
    1..127 is never chosen.

    Args:
        chords: a `Chorale` or a ``(steps, 4)`` array of MIDI pitches (0 = silence).
        shift: the wanted transposition in semitones (its pitch classes are kept).
        ranges: the voice ranges (`bachnet.music.ranges.VoiceRanges` or four pairs).

    Returns:
        A new ``(steps, 4)`` int16 array.

    Raises:
        InputError: bad ranges, or no candidate stays inside MIDI 1..127.

    Examples:
        >>> from bachnet.music.ranges import JSB
        >>> transpose_into([[79, 74, 71, 55]], 4, JSB).tolist()  # +4 is too high: -8
        [[71, 66, 63, 47]]
    """
    array = _chords_of(chords).astype(np.int32)
    bounds = VoiceRanges.of(ranges)
    low, high = bounds.low, bounds.high
    sounding = array > 0
    best: tuple[tuple[int, int, int], npt.NDArray[np.int32]] | None = None
    for candidate in (shift, shift - 12, shift + 12):
        moved = np.where(sounding, array + candidate, 0)
        if np.any(sounding & ((moved < 1) | (moved > 127))):
            continue
        below = np.where(sounding, np.maximum(low - moved, 0), 0)
        above = np.where(sounding, np.maximum(moved - high, 0), 0)
        score = (
            int(np.count_nonzero(below + above)),
            int((below + above).sum()),
            abs(candidate),
        )
        if best is None or score < best[0]:
            best = (score, moved)
    if best is None:
        raise InputError(f"no transposition by {shift} (+-12) keeps the notes inside MIDI 1..127")
    return best[1].astype(np.int16)


def cadence_mask(
    key: Key,
    vocab: Vocabulary,
    ranges: RangesSpec,
    *,
    approach_steps: int = 4,
    approach: Approach = "either",
    seventh: bool = True,
    third: Third = "either",
) -> npt.NDArray[np.bool_]:
    """Which token ids each voice may take in a cadence: ``approach_steps`` then the tonic.

    Row ``4 * i + v`` is voice ``v`` (soprano, alto, tenor, bass) at step ``i`` of the
    cadence, in the token order of `Vocabulary.encode`; ``True`` means allowed. Silence is
    never allowed, and only pitches inside the voice's range (and the vocabulary) are.

    - Steps ``0 .. approach_steps - 1`` (the approach, a beat by default): the bass takes the
      dominant and/or the subdominant (per ``approach``); the upper voices take the pitch
      classes of the chord on it: V (the major dominant triad, also in minor, plus its
      seventh when ``seventh``) and/or IV (iv in minor). The mask is fixed while the bass is
      drawn last in each step, so with ``approach="either"`` the upper voices get the union of
      both chords; pick one cadence to get a chord that always agrees with its bass.
    - The last step: the bass takes the tonic, the upper voices the tonic triad with the
      ``third`` asked for: ``"either"`` lets each voice take the minor or the major third
      (in minor), ``"major"`` (Bach's Picardy third), ``"minor"`` or ``"open"`` (root and
      fifth only). One third for all voices keeps a chord from holding both.

    Args:
        key: the key to cadence in.
        vocab: the token vocabulary (its ``size`` is the mask's width).
        ranges: the voice ranges (`bachnet.music.ranges.VoiceRanges` or four pairs).
        approach_steps: steps of the approach chord (>= 0).
        approach: ``"dominant"`` (V-I), ``"subdominant"`` (IV-I) or ``"either"``.
        seventh: allow the dominant's seventh (V7) in the upper voices.
        third: the final chord's third (see above); in major only ``"either"`` and
            ``"major"`` are the key's own.

    Returns:
        A boolean array of shape ``(4 * (approach_steps + 1), vocab.size)``.

    Raises:
        InputError: bad arguments, or a row that leaves a voice no pitch inside its range.

    Examples:
        >>> from bachnet.music.ranges import JSB
        >>> vocab = Vocabulary()
        >>> mask = cadence_mask(Key.parse("C"), vocab, JSB)
        >>> mask.shape
        (20, 47)
        >>> sorted({int(p) % 12 for p in vocab.pitch_of(np.flatnonzero(mask[3]))})  # bass: F, G
        [5, 7]
        >>> sorted({int(p) % 12 for p in vocab.pitch_of(np.flatnonzero(mask[-1]))})  # bass: C
        [0]
    """
    if isinstance(approach_steps, bool) or not (
        isinstance(approach_steps, int | np.integer) and approach_steps >= 0
    ):
        raise InputError(f"approach_steps must be an integer >= 0, got {approach_steps!r}")
    if approach not in ("dominant", "subdominant", "either"):
        raise InputError(
            f"approach must be 'dominant', 'subdominant' or 'either', got {approach!r}"
        )
    bounds = VoiceRanges.of(ranges)
    low, high = bounds.low, bounds.high
    five = key.dominant
    four = key.subdominant
    iv_third = 4 if key.mode == "major" else 3
    chord_v = {five, (five + 4) % 12, (five + 7) % 12} | ({(five + 10) % 12} if seventh else set())
    chord_iv = {four, (four + iv_third) % 12, (four + 7) % 12}
    bass: set[int] = set()
    upper: set[int] = set()
    if approach in ("dominant", "either"):
        bass.add(five)
        upper |= chord_v
    if approach in ("subdominant", "either"):
        bass.add(four)
        upper |= chord_iv
    root, fifth = key.tonic, (key.tonic + 7) % 12
    thirds = {
        "either": set(key.triad) | {(root + 4) % 12},
        "major": {root, (root + 4) % 12, fifth},
        "minor": {root, (root + 3) % 12, fifth},
        "open": {root, fifth},
    }
    if third not in thirds:
        raise InputError(f"third must be one of {', '.join(thirds)}, got {third!r}")
    final_upper = thirds[third]
    rows = []
    if approach_steps > 0:
        approach_rows = _step_mask(vocab, low, high, (upper, upper, upper, bass), "approach")
        rows.append(np.tile(approach_rows, (int(approach_steps), 1)))
    final = (final_upper, final_upper, final_upper, {key.tonic})
    rows.append(_step_mask(vocab, low, high, final, "final"))
    return np.concatenate(rows)


def hold(chords: Chorale | npt.ArrayLike, steps: int = HOLD_STEPS) -> npt.NDArray[np.int16]:
    """Append the last chord ``steps`` more times (a final chord held longer).

    Raises:
        InputError: negative ``steps``.

    Examples:
        >>> hold([[71, 67, 62, 43], [72, 64, 55, 48]], 2).tolist()
        [[71, 67, 62, 43], [72, 64, 55, 48], [72, 64, 55, 48], [72, 64, 55, 48]]
    """
    if isinstance(steps, bool) or not (isinstance(steps, int | np.integer) and steps >= 0):
        raise InputError(f"steps must be an integer >= 0, got {steps!r}")
    array = _chords_of(chords)
    return np.concatenate([array, np.repeat(array[-1:], int(steps), axis=0)]).astype(np.int16)


def ends_on_tonic(chords: Chorale | npt.ArrayLike, key: Key) -> bool:
    """Whether the last sounding chord is the tonic triad with the tonic in the bass.

    The last step where any voice sounds must have the bass on the tonic and every sounding
    voice on a pitch class of the tonic triad; in minor the major third counts too (a
    Picardy third). The triad need not be complete. All silence gives ``False``.

    Examples:
        >>> key = Key.parse("a")
        >>> ends_on_tonic([[76, 72, 69, 45], [0, 0, 0, 0]], key)
        True
        >>> ends_on_tonic([[73, 69, 64, 45]], key), ends_on_tonic([[72, 69, 64, 52]], key)
        (True, False)
    """
    array = _chords_of(chords)
    sounding = np.flatnonzero(array.any(axis=1))
    if sounding.size == 0:
        return False
    last = array[sounding[-1]]
    if last[3] == 0 or int(last[3]) % 12 != key.tonic:
        return False
    allowed = set(key.triad) | {(key.tonic + 4) % 12}
    return all(int(p) % 12 in allowed for p in last if p > 0)


# ------------------------------------------------------------------------------- helpers
def _chords_of(source: Chorale | npt.ArrayLike) -> npt.NDArray[np.int16]:
    """The ``(steps, 4)`` pitch array of a `Chorale` or of anything array-like."""
    if isinstance(source, Chorale):
        return source.chords
    array = np.asarray(source)
    if array.ndim != 2 or array.shape[1] != 4:
        raise InputError(f"expected chords of shape (steps, 4), got {array.shape}")
    if array.shape[0] == 0:
        raise InputError("expected at least one step of chords, got none")
    if array.dtype.kind not in "iu":
        raise InputError(f"expected integer MIDI pitches, got dtype {array.dtype}")
    return array.astype(np.int16, copy=False)


def chord_rows(
    vocab: Vocabulary, ranges: RangesSpec, upper: set[int], bass: set[int], where: str
) -> npt.NDArray[np.bool_]:
    """A ``(4, vocab.size)`` mask of one step: the upper voices on pitch classes ``upper``,
    the bass on ``bass``, each inside its range.

    Raises:
        InputError: a voice left with no pitch in its range (the message names ``where``).

    Examples:
        >>> from bachnet.music.ranges import JSB
        >>> rows = chord_rows(Vocabulary(), JSB, {7, 11, 2}, {7}, "dominant")
        >>> sorted({int(p) % 12 for p in Vocabulary().pitch_of(np.flatnonzero(rows[3]))})
        [7]
    """
    bounds = VoiceRanges.of(ranges)
    return _step_mask(vocab, bounds.low, bounds.high, (upper, upper, upper, bass), where)


def _step_mask(
    vocab: Vocabulary,
    low: npt.NDArray[np.int32],
    high: npt.NDArray[np.int32],
    pitch_classes: Iterable[set[int]],
    where: str,
) -> npt.NDArray[np.bool_]:
    """A ``(4, vocab.size)`` mask: each voice's pitch classes inside its range."""
    pitches = np.arange(vocab.low, vocab.high + 1)
    rows = np.zeros((4, vocab.size), dtype=bool)
    for voice, classes in enumerate(pitch_classes):
        ok = (pitches >= low[voice]) & (pitches <= high[voice])
        ok &= np.isin(pitches % 12, sorted(classes))
        if not ok.any():
            raise InputError(
                f"the {where} chord leaves the {VOICES[voice].lower()} no pitch: pitch classes "
                f"{sorted(classes)} have no note in its range {int(low[voice])}..{int(high[voice])}"
                f" within the vocabulary {vocab.low}..{vocab.high}"
            )
        rows[voice, vocab.ids_of(pitches[ok])] = True
    return rows
