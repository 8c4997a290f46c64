"""How a generated piece begins and ends: its key, an opening tonic chord and a cadence.

A language model stops wherever it is told to; a chorale ends with a cadence. `plan` turns
the wishes of `bachnet.generate.generate` (``steps``, ``key``, ``cadence``) into one mask of
allowed token ids per new token, per sample, which the compiled loop applies like any
constraint (rules still choose among the allowed pitches), and `finish` writes the held
final chord and its fermata.

* **Key.** Without a prompt, each piece gets a key: the one asked for (``key="D minor"``),
  or one drawn from the seed among the 18 major and minor keys of at most four sharps or
  flats. Its first step is the tonic triad with the tonic in the bass. A prompt keeps its own
  key (`bachnet.keys.find_key`), or is transposed into the key asked for (same mode).
* **Cadence.** The new music is rounded up to a whole beat, then one beat on the dominant
  (V or V7: bass on the dominant, upper voices in its chord) and the tonic triad with the
  tonic in the bass (in minor, with either third, as Bach often ends on a major chord), held
  for a half note (8 steps) under a fermata. ``steps`` is then a minimum: a piece is at most
  ``3 + 4 + 8 = 15`` steps longer than asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .chorale import Chorale
from .keys import HOLD_STEPS, Key, cadence_mask, find_key, key_shift, transpose_into
from .vocab import Vocabulary

__all__ = ["APPROACH_STEPS", "PLAIN_KEYS", "Plan", "finish", "plan", "tonic_mask"]

APPROACH_STEPS = 4
"""Steps of the dominant chord before the final tonic: one beat."""

PLAIN_KEYS: tuple[Key, ...] = tuple(
    Key(tonic, mode)
    for mode in ("major", "minor")
    for tonic in range(12)
    if abs(Key(tonic, mode).accidentals) <= 4
)
"""The keys a piece without a prompt or a ``key`` is drawn from: at most four accidentals."""


@dataclass(frozen=True)
class Plan:
    """What `plan` decided: new steps, keys, the mask, and the held ending.

    Attributes:
        new_steps: new 16th steps the model draws (the body plus the cadence).
        keys: the key of each sample.
        mask: ``(num_samples, 4 * new_steps, vocab)`` allowed ids, or ``None`` for no limit.
        prompt: the prompt as it is continued (transposed into ``key`` if asked).
        cadence: whether the pieces end with a cadence (`finish` then holds the last chord).
    """

    new_steps: int
    keys: tuple[Key, ...]
    mask: npt.NDArray[np.bool_] | None
    prompt: Chorale | None
    cadence: bool


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


def _chosen_keys(
    key: str | Key | None, prompt: Chorale | None, count: int, seed: int | None
) -> tuple[tuple[Key, ...], Chorale | None]:
    wanted = None if key is None else Key.parse(key)
    if prompt is None:
        if wanted is not None:
            return (wanted,) * count, None
        rng = np.random.default_rng(None if seed is None else [seed, 12])
        return tuple(PLAIN_KEYS[int(i)] for i in rng.integers(len(PLAIN_KEYS), size=count)), None
    found = find_key(prompt)
    if wanted is None:
        return (found,) * count, prompt
    if wanted.mode != found.mode:
        raise ValueError(
            f"the prompt is in {found}: it can be moved to a {found.mode} key, not {wanted}"
        )
    return (wanted,) * count, prompt


def plan(
    vocab: Vocabulary,
    ranges: Sequence[tuple[int, int]],
    *,
    prompt: Chorale | None,
    steps: int,
    num_samples: int,
    seed: int | None,
    key: str | Key | None,
    cadence: bool,
) -> Plan:
    """Decide keys, new steps and the mask of allowed ids for a generation.

    Args:
        vocab: the model's vocabulary.
        ranges: the voice ranges (soprano first).
        prompt: the piece to continue, or ``None``.
        steps: the new steps asked for (a minimum with ``cadence``).
        num_samples: pieces in the batch.
        seed: draws the keys of pieces without prompt or ``key``.
        key: ``None``, or a key (``"D minor"``, a `bachnet.keys.Key`).
        cadence: end on a cadence.

    Raises:
        ValueError: a key the prompt's mode cannot be moved to, or a bad key name.

    Examples:
        >>> from bachnet.generate import JSB_VOICE_RANGES
        >>> p = plan(Vocabulary(), JSB_VOICE_RANGES, prompt=None, steps=30, num_samples=2,
        ...          seed=0, key="G major", cadence=True)
        >>> p.new_steps, [str(k) for k in p.keys], p.mask.shape
        (37, ['G major', 'G major'], (2, 148, 47))
    """
    plain = key is None and not cadence
    if plain:
        return Plan(steps, (), None, prompt, False)
    keys, prompt = _chosen_keys(key, prompt, num_samples, seed)
    if prompt is not None and key is not None:
        shift = key_shift(find_key(prompt), keys[0])
        moved = transpose_into(prompt, shift, ranges)
        prompt = Chorale(moved, name=prompt.name, fermatas=prompt.fermatas)
    done = len(prompt) if prompt is not None else 0
    body = steps + (-(done + steps)) % 4 if cadence else steps
    new_steps = body + (APPROACH_STEPS + 1 if cadence else 0)
    mask = np.ones((num_samples, 4 * new_steps, vocab.size), dtype=bool)
    for row, chosen in enumerate(keys):
        if prompt is None:
            mask[row, :4] = tonic_mask(chosen, vocab, ranges)
        if cadence:
            ending = cadence_mask(
                chosen, vocab, ranges, approach_steps=APPROACH_STEPS, approach="dominant"
            )
            mask[row, 4 * body :] = ending
    return Plan(new_steps, keys, mask, prompt, cadence)


def finish(piece: Chorale, planned: Plan) -> Chorale:
    """Hold the final chord for a half note under a fermata (when the plan has a cadence).

    Examples:
        >>> from bachnet.keys import Key
        >>> p = Plan(1, (Key(0, "major"),), None, None, True)
        >>> done = finish(Chorale([[67, 64, 60, 43], [72, 64, 55, 48]]), p)
        >>> len(done), done.fermatas
        (9, (1,))
    """
    if not planned.cadence:
        return piece
    last = len(piece) - 1
    from .keys import hold

    return Chorale(hold(piece, HOLD_STEPS - 1), name=piece.name, fermatas=(*piece.fermatas, last))
