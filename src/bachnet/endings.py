"""How a generated piece begins and ends: its key, an opening tonic chord and a cadence.

A language model stops wherever it is told to; a chorale ends with a cadence in its key.
`bachnet.generate.generate` composes in two passes when a piece has a cadence or a key:

1. **The body**: ``steps`` steps rounded up to a whole beat (`body_steps`), opening (without
   a prompt) on the tonic triad of the key asked for (`tonic_mask`).
2. **Its key**: each body's key as music21's analysis finds it (`bachnet.keys.find_key`).
   With ``key=...``, several bodies are drawn per piece and the first in the mode asked for
   is kept.
3. **The cadence**: one beat on the dominant (V or V7: bass on the dominant, upper voices in
   its chord) and the tonic triad with the tonic in the bass (in minor, with either third, as
   Bach often ends on a major chord), drawn by the model under those masks (`cadence_masks`),
   then held for a half note (8 steps) under a fermata (`finish`).
4. **The key**: the piece is transposed into the key asked for, or else into the nearest key
   of at most four sharps or flats that keeps the voices in their ranges (`move_into_key`).

``steps`` is thus a minimum: a piece is at most ``3 + 4 + 8 = 15`` steps longer than asked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .chorale import Chorale
from .keys import HOLD_STEPS, Key, cadence_mask, hold, key_shift, transpose_into
from .vocab import Vocabulary

__all__ = [
    "APPROACH_STEPS",
    "body_steps",
    "cadence_masks",
    "finish",
    "move_into_key",
    "tonic_mask",
]

APPROACH_STEPS = 4
"""Steps of the dominant chord before the final tonic: one beat."""


def tonic_mask(
    key: Key, vocab: Vocabulary, ranges: Sequence[tuple[int, int]]
) -> npt.NDArray[np.bool_]:
    """A ``(4, vocab)`` mask for one step of the tonic triad, the tonic in the bass.

    Raises:
        ValueError: a voice whose range holds no pitch of the chord.

    Examples:
        >>> from bachnet.generate import JSB_VOICE_RANGES
        >>> vocab = Vocabulary()
        >>> mask = tonic_mask(Key.parse("C major"), vocab, JSB_VOICE_RANGES)
        >>> sorted({int(p) % 12 for p in vocab.pitch_of(np.flatnonzero(mask[0]))})
        [0, 4, 7]
        >>> sorted({int(p) % 12 for p in vocab.pitch_of(np.flatnonzero(mask[3]))})
        [0]
    """
    pitches = vocab.pitch_of(np.arange(vocab.size)).astype(np.int32)
    rows = np.zeros((4, vocab.size), dtype=bool)
    for voice, (low, high) in enumerate(ranges):
        classes = key.triad if voice < 3 else (key.tonic,)
        rows[voice] = (pitches >= low) & (pitches <= high) & np.isin(pitches % 12, classes)
        if not rows[voice].any():
            raise ValueError(f"voice range {low}..{high} holds no note of the {key} tonic chord")
    return rows


def body_steps(done: int, steps: int) -> int:
    """New steps before the cadence: ``steps``, rounded up so the cadence starts on a beat.

    Args:
        done: steps already written (the prompt's).
        steps: the new steps asked for.

    Examples:
        >>> body_steps(0, 30), body_steps(6, 30), body_steps(0, 32)
        (32, 30, 32)
    """
    return steps + (-(done + steps)) % 4


def cadence_masks(
    keys: Sequence[Key], vocab: Vocabulary, ranges: Sequence[tuple[int, int]]
) -> npt.NDArray[np.bool_]:
    """``(len(keys), 4 * (APPROACH_STEPS + 1), vocab)``: a V-I cadence in each piece's key.

    Examples:
        >>> from bachnet.generate import JSB_VOICE_RANGES
        >>> cadence_masks([Key(0), Key(9, "minor")], Vocabulary(), JSB_VOICE_RANGES).shape
        (2, 20, 47)
    """
    return np.stack(
        [
            cadence_mask(key, vocab, ranges, approach_steps=APPROACH_STEPS, approach="dominant")
            for key in keys
        ]
    )


def move_into_key(
    piece: Chorale, found: Key, wanted: Key | None, ranges: Sequence[tuple[int, int]]
) -> Chorale:
    """Transpose a piece analysed in ``found`` into ``wanted`` (its tonic, in the piece's own
    mode), or else into the nearest key of at most four sharps or flats that keeps every
    note inside its voice's range (the piece stays as it is if none does).

    Examples:
        >>> from bachnet.generate import JSB_VOICE_RANGES
        >>> piece = Chorale([[66, 61, 58, 42]] * 4)  # F# major
        >>> move_into_key(piece, Key.parse("F#"), None, JSB_VOICE_RANGES).chords[0].tolist()
        [65, 60, 57, 41]
    """
    low = np.array([r[0] for r in ranges])
    high = np.array([r[1] for r in ranges])

    def moved(shift: int) -> npt.NDArray[np.int16]:
        return transpose_into(piece, shift, ranges)

    def fits(chords: npt.NDArray[np.int16]) -> bool:
        sounding = chords > 0
        return bool(np.all(~sounding | ((chords >= low) & (chords <= high))))

    if wanted is not None:
        chords = moved(key_shift(found, Key(wanted.tonic, found.mode)))
    else:
        shifts = sorted(range(-6, 6), key=lambda s: (abs(s), s))
        plain = [s for s in shifts if abs(found.transpose(s).accidentals) <= 4]
        chords = next((c for c in map(moved, plain) if fits(c)), piece.chords)
    return Chorale(chords, name=piece.name, fermatas=piece.fermatas)


def finish(piece: Chorale, cadence: bool) -> Chorale:
    """Hold the final chord for a half note under a fermata (when there is a cadence).

    Examples:
        >>> done = finish(Chorale([[67, 64, 60, 43], [72, 64, 55, 48]]), True)
        >>> len(done), done.fermatas
        (9, (1,))
    """
    if not cadence:
        return piece
    last = len(piece) - 1
    return Chorale(hold(piece, HOLD_STEPS - 1), name=piece.name, fermatas=(*piece.fermatas, last))
