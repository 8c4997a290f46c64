"""What may be written where: the token masks of generation, built and checked here only.

A mask is a boolean array ``(..., tokens, vocab)``: ``True`` where an id may be drawn. The
user's constraint is checked once (`constraint_mask`); the masks bachnet builds itself (the
first step sounding, the opening tonic chord, a given soprano, the cadence) are right by
construction and are combined here, then handed to the compiled loop
(`bachnet.generation.decoder.decode`) without another check.

Examples:
    >>> from bachnet.music.ranges import JSB
    >>> from bachnet.music.vocab import Vocabulary
    >>> vocab = Vocabulary()
    >>> opening = opening_mask(vocab, None, JSB)  # no key asked for: the first step sounds
    >>> body = body_mask(2, 8, vocab.size, opening=opening)
    >>> body.shape, bool(body[:, :4, 0].any()), bool(body[:, 4:, 0].all())
    ((2, 8, 47), False, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError
from bachnet.generation.decoder import VOICES_PER_STEP
from bachnet.music.cadence import APPROACH_STEPS, cadence_masks, one_bass, tonic_mask
from bachnet.music.keys import Key
from bachnet.music.ranges import RangesSpec
from bachnet.music.vocab import Vocabulary

__all__ = [
    "body_mask",
    "cadence_constraint",
    "constraint_mask",
    "fill_mask",
    "narrow",
    "opening_mask",
    "soprano_mask",
    "sound_first_mask",
]


def constraint_mask(
    constraint: npt.ArrayLike, batch: int, new: int, vocab: int
) -> npt.NDArray[np.bool_]:
    """Check a user's per-token constraint and return it as a ``(1 or batch, new, vocab)`` mask.

    Args:
        constraint: forced ids ``(new,)`` with -1 = free, or a boolean mask of allowed ids
            ``(new, vocab)`` or ``(batch, new, vocab)``.
        batch: samples generated at once.
        new: new tokens.
        vocab: vocabulary size.

    Raises:
        InputError: a wrong shape or dtype, an id out of range, or a token with no allowed id.

    Examples:
        >>> constraint_mask([-1, 3], batch=1, new=2, vocab=4).astype(int).tolist()
        [[[1, 1, 1, 1], [0, 0, 0, 1]]]
    """
    array = np.asarray(constraint)
    if array.ndim == 1 and array.dtype.kind in "iu":
        if array.shape[0] != new:
            raise InputError(
                f"constraint has {array.shape[0]} forced ids, expected one per new token ({new})"
            )
        bad = (array < -1) | (array >= vocab)
        if bad.any():
            raise InputError(
                f"constraint id {array[bad][0]} is outside -1..{vocab - 1} (-1 = free)"
            )
        mask = np.ones((new, vocab), dtype=bool)
        forced = array >= 0
        mask[forced] = False
        mask[np.flatnonzero(forced), array[forced]] = True
        array = mask
    wrong_batch = array.ndim == 3 and array.shape[0] not in (1, batch)
    if (
        array.dtype != bool
        or array.shape[-2:] != (new, vocab)
        or array.ndim not in (2, 3)
        or wrong_batch
    ):
        raise InputError(
            f"constraint must be ({new},) forced ids or a boolean mask of shape ({new}, {vocab}) "
            f"or ({batch}, {new}, {vocab}); got dtype {array.dtype}, shape {array.shape}"
        )
    if not array.any(axis=-1).all():
        where = np.argwhere(~array.any(axis=-1))[0]
        raise InputError(f"constraint allows no id at new token {where[-1]}")
    return array.reshape((-1, new, vocab))


def sound_first_mask(vocab: int, steps: int) -> npt.NDArray[np.bool_]:
    """A ``(4 * steps, vocab)`` mask that forbids silence (id 0) in the first step only.

    Examples:
        >>> mask = sound_first_mask(47, 2)
        >>> mask.shape, bool(mask[0, 0]), bool(mask[4, 0])
        ((8, 47), False, True)
    """
    mask = np.ones((VOICES_PER_STEP * steps, vocab), dtype=bool)
    mask[:VOICES_PER_STEP, 0] = False
    return mask


def opening_mask(vocab: Vocabulary, key: Key | None, ranges: RangesSpec) -> npt.NDArray[np.bool_]:
    """The ``(4, vocab)`` first step of a piece with no prompt: the tonic triad of ``key``
    (`bachnet.music.cadence.tonic_mask`), or with no key, any chord in which all four voices
    sound.

    Examples:
        >>> from bachnet.music.ranges import JSB
        >>> vocab = Vocabulary()
        >>> int(opening_mask(vocab, Key.parse("C"), JSB)[3].sum())  # the bass: C2, C3 or C4
        3
    """
    if key is None:
        return sound_first_mask(vocab.size, 1)
    return tonic_mask(key, vocab, ranges)


def body_mask(
    rows: int,
    new: int,
    vocab: int,
    *,
    opening: npt.NDArray[np.bool_] | None = None,
    constraint: npt.NDArray[np.bool_] | None = None,
    tries: int = 1,
) -> npt.NDArray[np.bool_]:
    """The ``(rows, new, vocab)`` mask of a piece's body: ``opening`` on its first step, the
    user's ``constraint`` on its first tokens.

    Args:
        rows: bodies drawn at once (samples times ``tries``).
        new: new tokens in each body.
        vocab: vocabulary size.
        opening: ``(4, vocab)`` for the first step (or ``(rows, 4, vocab)``, one a row), or
            ``None``.
        constraint: a checked user constraint (`constraint_mask`) ``(1 or samples, k,
            vocab)`` with ``k <= new``; forced tokens win where they clash with the opening.
        tries: bodies drawn per sample (a constraint per sample repeats for each).

    Examples:
        >>> forced = constraint_mask([0, -1, -1, -1], batch=1, new=4, vocab=3)
        >>> body_mask(1, 8, 3, opening=sound_first_mask(3, 1), constraint=forced)[0, :2].tolist()
        [[True, False, False], [False, True, True]]
    """
    mask = np.ones((rows, new, vocab), dtype=bool)
    if opening is not None:
        mask[:, :VOICES_PER_STEP] = opening
    if constraint is not None:
        asked = np.ones_like(mask)
        asked[:, : constraint.shape[1]] = (
            np.repeat(constraint, tries, axis=0) if len(constraint) > 1 else constraint
        )
        both = asked & mask  # forced tokens win where they clash with the opening chord
        mask = np.where(both.any(axis=-1, keepdims=True), both, asked)
    return mask


def soprano_mask(vocab: Vocabulary, melody: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """``(4 * steps, vocab)``: the soprano forced to ``melody`` (MIDI pitches, 0 = rest), the
    other voices free, except that they sound where the melody sounds.

    Examples:
        >>> mask = soprano_mask(Vocabulary(), [72, 0])
        >>> [int(row.sum()) for row in mask]
        [1, 46, 46, 46, 1, 47, 47, 47]
    """
    pitches = np.asarray(melody)
    steps = len(pitches)
    allowed = np.ones((steps, VOICES_PER_STEP, vocab.size), dtype=bool)
    allowed[:, 0] = False
    allowed[np.arange(steps), 0, vocab.ids_of(pitches)] = True
    allowed[pitches > 0, 1:, 0] = False  # id 0 is silence
    return allowed.reshape(VOICES_PER_STEP * steps, vocab.size)


def fill_mask(
    vocab: Vocabulary, chords: npt.ArrayLike, write: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """``(4 * steps, vocab)``: every cell of ``chords`` kept where ``write`` is False, free where
    it is True (free cells sound: a written note is never a rest).

    Args:
        vocab: the vocabulary.
        chords: ``(steps, 4)`` MIDI pitches (0 = rest); only the kept cells are read.
        write: ``(steps, 4)`` booleans, True = write this cell.

    Raises:
        InputError: a kept pitch outside the vocabulary.

    Examples:
        >>> mask = fill_mask(Vocabulary(), [[72, 67, 64, 48]], [[False, True, True, False]])
        >>> [int(row.sum()) for row in mask]
        [1, 46, 46, 1]
    """
    pitches = np.asarray(chords)
    free = np.asarray(write, dtype=bool)
    kept = np.where(free, 0, pitches)
    ids = vocab.ids_of(kept)
    steps = len(pitches)
    allowed = np.zeros((steps, VOICES_PER_STEP, vocab.size), dtype=bool)
    step, voice = np.nonzero(~free)
    allowed[step, voice, ids[step, voice]] = True
    allowed[free] = True
    allowed[free, 0] = False  # id 0 is silence
    return allowed.reshape(VOICES_PER_STEP * steps, vocab.size)


def cadence_constraint(
    vocab: Vocabulary,
    ids: npt.NDArray[np.int32],
    low: int,
    begins: Sequence[int],
    keys: Sequence[Key],
    ranges: RangesSpec,
) -> npt.NDArray[np.bool_]:
    """``(rows, tokens, vocab)`` for the cadence pass: each row forced through its own tokens
    from ``low`` up to ``begins[row]``, then a V-I cadence in its key
    (`bachnet.music.cadence.cadence_masks`, its bass one pitch: `one_bass`), then free.

    Every row shares one call of the compiled loop this way, whatever its cadence point.

    Examples:
        >>> from bachnet.music.ranges import JSB
        >>> ids = np.full((2, 40), 5, dtype=np.int32)
        >>> mask = cadence_constraint(Vocabulary(), ids, 8, [8, 12], [Key(0), Key(7)], JSB)
        >>> mask.shape, int(mask[1, 3].sum()), int(mask[1, 4].sum()) > 1  # row 1: forced, V
        ((2, 24, 47), 1, True)
    """
    cadence_tokens = VOICES_PER_STEP * (APPROACH_STEPS + 1)
    high = max(begins) + cadence_tokens
    allowed = np.ones((len(ids), high - low, vocab.size), dtype=bool)
    masks = cadence_masks(keys, vocab, ranges)
    for rows in masks:  # the bass known ahead, so that the alto and tenor steer clear of it
        one_bass(rows, vocab)
    one_hot = np.eye(vocab.size, dtype=bool)  # forcing a row through its own body tokens
    for row, begin in enumerate(begins):
        start = begin - low
        allowed[row, :start] = one_hot[ids[row, low:begin]]
        allowed[row, start : start + cadence_tokens] = masks[row]
    return allowed


def narrow(mask: npt.NDArray[np.bool_], at: int, rows: npt.NDArray[np.bool_]) -> None:
    """``mask[at : at + len(rows)] &= rows``, in place, except where that would leave a token
    nothing to draw (a user's forced token wins)."""
    part = mask[at : at + len(rows)]
    both = part & rows[: len(part)]
    mask[at : at + len(rows)] = np.where(both.any(axis=-1, keepdims=True), both, part)
