"""How a generated piece begins and ends: its key, an opening tonic chord and a cadence.

A language model stops wherever it is told to; a chorale ends with a cadence in its key.
`bachnet.generation.compose.generate` composes in two passes when a piece has a cadence or a key:

1. **The body**: at least ``steps`` steps, up to the first point where a cadence would put
   the final chord on a half bar (beat 1 or 3, counted from the piece's first step), plus
   half a bar to choose from (`first_cadence`, `LOOKAHEAD_STEPS`); opening (without a
   prompt) on the tonic triad of the key asked for (`tonic_mask`).
2. **Its key**: each body's key as music21's analysis finds it (`bachnet.music.keys.find_key`).
   With ``key=...``, several bodies are drawn per piece and the first in the mode asked for
   is kept.
3. **Where to cadence** (`cadence_point`): of the two candidate points, the first after
   which the bass lies within a whole tone of the dominant, so that it can step into the
   cadence instead of leaping into a chord it did not see coming (else the earlier one).
   The rest of the body is dropped.
4. **The cadence**: one beat on the dominant (V or V7: bass on the dominant, upper voices in
   its chord) and the tonic triad with the tonic in the bass (in minor, with either third, as
   Bach often ends on a major chord), drawn by the model under those masks (`cadence_masks`),
   then held under a fermata to the end of its bar: a half note on beat 3, a whole note on
   beat 1 (`final_length`, `finish`).
5. **The key**: the piece is transposed into the key asked for, or else into the nearest key
   of at most four sharps or flats that keeps the voices in their ranges (`move_into_key`;
   of two such keys equally near, the one nearer Bach's register).

``steps`` is thus a minimum: a piece is at most ``7 + 8 + 4 + 16 = 35`` steps longer than
asked (rounding to a half bar, the later cadence point, the dominant beat, a whole-note final
chord), and ends with a complete bar.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError
from bachnet.music.chorale import Chorale
from bachnet.music.grid import VOICES
from bachnet.music.keys import (
    Approach,
    Key,
    Third,
    cadence_mask,
    chord_rows,
    hold,
    key_shift,
    transpose_into,
)
from bachnet.music.ranges import JSB_MEAN_PITCH, RangesSpec, VoiceRanges
from bachnet.music.vocab import Vocabulary

__all__ = [
    "APPROACH_STEPS",
    "BAR_STEPS",
    "LEAD_IN",
    "LOOKAHEAD_STEPS",
    "cadence_masks",
    "cadence_point",
    "cadence_rows",
    "final_length",
    "finish",
    "first_cadence",
    "loosen_approach",
    "move_into_key",
    "one_bass",
    "scale_rows",
    "tonic_mask",
]

APPROACH_STEPS = 4
"""Steps of the dominant chord before the final tonic: one beat."""

BAR_STEPS = 16
"""Steps in a 4/4 bar; the final chord falls on beat 1 or 3 (a multiple of half of it)."""

LOOKAHEAD_STEPS = BAR_STEPS // 2
"""Extra body steps drawn so that `cadence_point` has a second place to choose."""


def tonic_mask(key: Key, vocab: Vocabulary, ranges: RangesSpec) -> npt.NDArray[np.bool_]:
    """A ``(4, vocab)`` mask for one step of the tonic triad, the tonic in the bass.

    Raises:
        InputError: a voice whose range holds no pitch of the chord.

    Examples:
        >>> from bachnet.music.ranges import JSB
        >>> vocab = Vocabulary()
        >>> mask = tonic_mask(Key.parse("C major"), vocab, JSB)
        >>> sorted({int(p) % 12 for p in vocab.pitch_of(np.flatnonzero(mask[0]))})
        [0, 4, 7]
        >>> sorted({int(p) % 12 for p in vocab.pitch_of(np.flatnonzero(mask[3]))})
        [0]
    """
    pitches = vocab.pitch_of(np.arange(vocab.size)).astype(np.int32)
    rows = np.zeros((4, vocab.size), dtype=bool)
    for voice, (low, high) in enumerate(VoiceRanges.of(ranges)):
        classes = key.triad if voice < 3 else (key.tonic,)
        rows[voice] = (pitches >= low) & (pitches <= high) & np.isin(pitches % 12, classes)
        if not rows[voice].any():
            raise InputError(f"voice range {low}..{high} holds no note of the {key} tonic chord")
    return rows


def first_cadence(done: int, steps: int) -> int:
    """New steps before the earliest cadence: at least ``steps``, and the final chord (one
    beat after the cadence starts) on a half bar of the whole piece.

    Args:
        done: steps already written (the prompt's).
        steps: the new steps asked for.

    Examples:
        >>> first_cadence(0, 28), first_cadence(0, 30), first_cadence(6, 30)
        (28, 36, 30)
    """
    half = BAR_STEPS // 2
    return steps + (-(done + steps + APPROACH_STEPS)) % half


def cadence_point(chords: npt.ArrayLike, key: Key, earliest: int) -> int:
    """Where the cadence starts (a step index of ``chords``): ``earliest`` or half a bar later.

    The first candidate before which the bass's last pitch is within two semitones of the
    key's dominant (so it steps, or stays, into the dominant chord); ``earliest`` if neither.

    Args:
        chords: ``(steps, 4)`` MIDI pitches of the piece so far (at least ``earliest +
            LOOKAHEAD_STEPS`` steps).
        key: the piece's key.
        earliest: the first candidate (`first_cadence` plus the prompt's steps).

    Examples:
        >>> from bachnet.music.keys import Key
        >>> body = np.array([[67, 64, 60, 48]] * 8 + [[69, 65, 60, 53]] * 8)  # C, then F (IV)
        >>> cadence_point(body, Key.parse("C major"), 8)  # after C: a leap; after F: a step
        16
        >>> cadence_point(body[:, [0, 1, 2, 0]] * 0 + 60, Key.parse("C major"), 8)
        8
    """
    rows = np.asarray(chords)
    for point in (earliest, earliest + LOOKAHEAD_STEPS):
        bass = rows[:point, 3]
        sounding = bass[bass > 0]
        if len(sounding):
            distance = (int(sounding[-1]) - key.dominant) % 12
            if min(distance, 12 - distance) <= 2:
                return point
    return earliest


def final_length(position: int, bar: int = BAR_STEPS) -> int:
    """Steps the final chord lasts when it starts at step ``position`` (counted from a bar
    line): to the end of its bar, a half note on beat 3 of 4/4, a whole note on beat 1
    (``bar``: sixteenths a bar, 12 in 3/4).

    Examples:
        >>> final_length(24), final_length(32), final_length(24, bar=12)
        (8, 16, 12)
    """
    return bar - position % bar


def cadence_masks(
    keys: Sequence[Key], vocab: Vocabulary, ranges: RangesSpec
) -> npt.NDArray[np.bool_]:
    """``(len(keys), 4 * (APPROACH_STEPS + 1), vocab)``: a V-I cadence in each piece's key.

    Examples:
        >>> from bachnet.music.ranges import JSB
        >>> cadence_masks([Key(0), Key(9, "minor")], Vocabulary(), JSB).shape
        (2, 20, 47)
    """
    bounds = VoiceRanges.of(ranges)
    return np.stack(
        [
            cadence_mask(
                key,
                vocab,
                bounds,
                approach_steps=APPROACH_STEPS,
                approach="dominant",
                third="major",  # in minor, Bach's usual Picardy third (132 of 183 pieces)
            )
            for key in keys
        ]
    )


def _triad(root: int, third: int) -> set[int]:
    return {root % 12, (root + third) % 12, (root + 7) % 12}


def cadence_rows(
    kind: str,
    key: Key,
    vocab: Vocabulary,
    ranges: RangesSpec,
    held: int = APPROACH_STEPS,
    third: Third | None = None,
) -> npt.NDArray[np.bool_]:
    """The token mask of a cadence of ``kind`` in ``key``: a beat of approach, then the
    fermata chord for ``held`` steps; ``(4 * (APPROACH_STEPS + held), vocab.size)``.

    - ``"authentic"``: V (or V7) with the dominant in the bass, then I (in minor, i or I);
    - ``"half"``: any approach, then V with its root in the bass;
    - ``"phrygian"``: iv6 (the minor subdominant over the sixth degree), then V;
    - ``"deceptive"``: V, then vi (in minor, VI) over the bass a step up;
    - ``"plagal"``: IV (iv in minor) in root position, then I.

    The final chord of an authentic or plagal cadence takes one ``third`` in every voice
    (default: the key's own; `bachnet.music.keys.cadence_mask`), so it never holds both.

    Raises:
        InputError: another kind, or a chord with no note in a voice's range.

    Examples:
        >>> from bachnet.music.ranges import JSB
        >>> vocab = Vocabulary()
        >>> rows = cadence_rows("deceptive", Key(0), vocab, JSB)
        >>> rows.shape, sorted({int(p) % 12 for p in vocab.pitch_of(np.flatnonzero(rows[-1]))})
        ((32, 47), [9])
    """
    bounds = VoiceRanges.of(ranges)
    tonic, minor = key.tonic, key.mode == "minor"
    five = (tonic + 7) % 12
    dominant = _triad(five, 4)
    free = np.ones((4, vocab.size), dtype=bool)
    free[:, 0] = False  # every voice sounds
    if kind in ("authentic", "plagal"):
        side: Approach = "dominant" if kind == "authentic" else "subdominant"
        own: Third = "minor" if minor else "major"
        rows = cadence_mask(key, vocab, bounds, approach_steps=1, approach=side, third=third or own)
        before, final = rows[:4], rows[4:]
    elif kind == "half":
        before = free
        final = chord_rows(vocab, bounds, dominant, {five}, "half cadence")
    elif kind == "phrygian":
        four = (tonic + 5) % 12
        before = chord_rows(vocab, bounds, _triad(four, 3), {(tonic + 8) % 12}, "iv6")
        final = chord_rows(vocab, bounds, dominant, {five}, "Phrygian cadence")
    elif kind == "deceptive":
        six = (tonic + (8 if minor else 9)) % 12
        before = chord_rows(vocab, bounds, dominant | {(five + 10) % 12}, {five}, "dominant")
        final = chord_rows(vocab, bounds, _triad(six, 4 if minor else 3), {six}, "deceptive")
    else:
        raise InputError(
            f"unknown cadence {kind!r}: use authentic, half, phrygian, deceptive or plagal"
        )
    return np.concatenate([np.tile(before, (APPROACH_STEPS, 1)), np.tile(final, (held, 1))])


def one_bass(
    rows: npt.NDArray[np.bool_], vocab: Vocabulary, target: float = JSB_MEAN_PITCH[3]
) -> npt.NDArray[np.bool_]:
    """Where a cadence's rows name the bass's pitch class, one pitch of it: the nearest to
    ``target`` (Bach's mean bass pitch), in place; ``rows`` are ``(4 * steps, vocab.size)``
    (S,A,T,B per step) and are returned.

    A voice is drawn after the voices above it, and the voice-leading rules see a voice below
    the one being drawn only where it is known. A cadence that fixes the bass's pitch class
    but not its octave leaves the alto and tenor blind to it, and they moved into its chords
    in parallel fifths and octaves with it about ten times as often as elsewhere; with its
    pitch known they steer clear.

    Examples:
        >>> from bachnet.music.ranges import JSB
        >>> vocab = Vocabulary()
        >>> rows = one_bass(cadence_rows("authentic", Key(0), vocab, JSB), vocab)
        >>> [vocab.pitch_of(np.flatnonzero(row)).tolist() for row in rows[3::4]][3:5]  # V, I
        [[55], [48]]
    """
    pitches = vocab.pitch_of(np.arange(vocab.size)).astype(np.int64)
    for row in rows[len(VOICES) - 1 :: len(VOICES)]:
        ids = np.flatnonzero(row[1:]) + 1
        if len(ids) > 1 and len(np.unique(pitches[ids] % 12)) == 1:
            best = ids[np.argmin(np.abs(pitches[ids] - target))]
            row[:] = False
            row[best] = True
    return rows


LEAD_IN = 8
"""Steps before a planned cadence's approach in which the voices keep to its key's scale."""


APPROACH_LOOSE = 2
"""Steps at the start of the approach beat of each cadence of a phrase plan
(``generate(phrases=...)``) in which the alto and tenor may take any note of the scale of
the key it cadences in (`loosen_approach`); the approach chord is asked for in the rest of
the beat, and in the soprano and bass throughout. (Measured and not taken for the default
ending's cadence and a harmonisation's: see the form guide.)"""


def loosen_approach(
    rows: npt.NDArray[np.bool_], key: Key, vocab: Vocabulary, steps: int | None = None
) -> npt.NDArray[np.bool_]:
    """The first ``steps`` (default `APPROACH_LOOSE`) of a cadence's approach (``rows`` of
    `cadence_rows`) opened to the alto and tenor: each may also take any note of the scale
    of ``key`` (in minor, with the raised sixth and seventh); the soprano and bass keep
    their rows. In place; ``rows`` are returned.

    Bach's music moves most in the beat before a fermata: in 72 % of JSB test's 375 inner
    approaches the chord on its last 16th is not the chord on its first (a 6/4 or a
    suspension resolving over the dominant's bass, a seventh added, a passing note), and
    the alto and tenor strike a new note inside the beat 35 % and 43 % of the time, the
    soprano 9 % and the bass 21 %.

    Examples:
        >>> from bachnet.music.ranges import JSB
        >>> vocab = Vocabulary()
        >>> rows = one_bass(cadence_rows("authentic", Key(0), vocab, JSB), vocab)
        >>> loose = loosen_approach(rows.copy(), Key(0), vocab, 2)
        >>> [sorted({int(p) % 12 for p in vocab.pitch_of(np.flatnonzero(r))}) for r in loose[:4]]
        [[2, 5, 7, 11], [0, 2, 4, 5, 7, 9, 11], [0, 2, 4, 5, 7, 9, 11], [7]]
        >>> bool((loose[8:] == rows[8:]).all())
        True
    """
    steps = min(APPROACH_LOOSE if steps is None else steps, APPROACH_STEPS)
    if steps <= 0:
        return rows
    upper = scale_rows(key, vocab, steps)
    upper[:, 0] = False  # every voice sounds
    for voice in (1, 2):  # alto, tenor
        rows[voice : len(VOICES) * steps : len(VOICES)] |= upper[voice :: len(VOICES)]
    return rows


def scale_rows(key: Key, vocab: Vocabulary, steps: int) -> npt.NDArray[np.bool_]:
    """``(4 * steps, vocab.size)``: every voice on the scale of ``key`` (in minor, with the
    raised sixth and seventh too) or silent.

    Examples:
        >>> rows = scale_rows(Key(0), Vocabulary(), 2)
        >>> pitches = Vocabulary().pitch_of(np.flatnonzero(rows[0]))
        >>> rows.shape, sorted({int(p) % 12 for p in pitches if p})
        ((8, 47), [0, 2, 4, 5, 7, 9, 11])
    """
    steps_up = (0, 2, 4, 5, 7, 9, 11) if key.mode == "major" else (0, 2, 3, 5, 7, 8, 9, 10, 11)
    classes = {(key.tonic + s) % 12 for s in steps_up}
    pitches = np.arange(vocab.low, vocab.high + 1)
    row = np.zeros(vocab.size, dtype=bool)
    row[vocab.ids_of(pitches[np.isin(pitches % 12, sorted(classes))])] = True
    row[0] = True  # a rest stays possible
    return np.tile(row, (len(VOICES) * max(steps, 0), 1))


def move_into_key(piece: Chorale, found: Key, wanted: Key | None, ranges: RangesSpec) -> Chorale:
    """Transpose a piece analysed in ``found`` into ``wanted`` (its tonic, in the piece's own
    mode), or else into the nearest key of at most four sharps or flats that keeps every
    note inside its voice's range (the piece stays as it is if none does).

    Examples:
        >>> from bachnet.music.ranges import JSB
        >>> low = Chorale([[66, 61, 58, 42]] * 4)  # F# major, low: up to G
        >>> move_into_key(low, Key.parse("F#"), None, JSB).chords[0].tolist()
        [67, 62, 59, 43]
        >>> high = Chorale([[78, 73, 66, 54]] * 4)  # F# major, high: down to F
        >>> move_into_key(high, Key.parse("F#"), None, JSB).chords[0].tolist()
        [77, 72, 65, 53]
    """
    bounds = VoiceRanges.of(ranges)

    def moved(shift: int) -> npt.NDArray[np.int16]:
        return transpose_into(piece, shift, bounds)

    if wanted is not None:
        chords = moved(key_shift(found, Key(wanted.tonic, found.mode)))
    else:
        # Of two shifts of one size, the one that brings the piece nearer Bach's register
        # (always shifting down on a tie left generated pieces 0.7 semitones low on average).
        offset = _register(piece) - float(np.mean(JSB_MEAN_PITCH))
        shifts = sorted(range(-6, 6), key=lambda s: (abs(s), abs(offset + s), s))
        plain = [s for s in shifts if abs(found.transpose(s).accidentals) <= 4]
        chords = next((c for c in map(moved, plain) if bounds.contains(c)), piece.chords)
    return piece.replace(chords, onsets=piece.onsets if piece.articulated else None)


def _register(piece: Chorale) -> float:
    """The mean sounding pitch of a piece, all voices together (0 for a silent piece)."""
    sounding = piece.chords[piece.chords > 0]
    return float(sounding.mean()) if sounding.size else float(np.mean(JSB_MEAN_PITCH))


def finish(piece: Chorale, cadence: bool, length: int = BAR_STEPS // 2) -> Chorale:
    """Hold the final chord for ``length`` steps under a fermata (when there is a cadence).

    Examples:
        >>> done = finish(Chorale([[67, 64, 60, 43], [72, 64, 55, 48]]), True)
        >>> len(done), done.fermatas
        (9, (1,))
    """
    if not cadence:
        return piece
    last = len(piece) - 1
    return piece.replace(hold(piece, length - 1), fermatas=(*piece.fermatas, last))
