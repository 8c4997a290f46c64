"""One network reading every piece in several keys at once, its predictions averaged.

A model trained on randomly transposed pieces hears the same music a semitone higher a little
differently. Averaging what it predicts for the piece as written and for the piece moved by a
few semitones (each prediction moved back) is an ensemble that costs no training and no new
weights: `bachnet.ModelConfig.shifts` names the semitone shifts, and the network (built by
`bachnet.model.networks`) reads ``len(shifts)`` copies of each stream side by side.

For every token, each copy predicts a distribution over its own, shifted vocabulary; moved
back, the copies are mixed with equal weight (the mean of their probabilities) and
renormalised over the notes every copy can name. A copy drops out of the mean from the first
token that its shift pushes outside the vocabulary (it could not read that note), so the
unshifted copy always takes part. The model's output is the mixture's log-probability: logits
as every sampler, rule and score reads them.

The full model and the one-token step (`shifted_step`) compute the same figures; the step
keeps each copy's state side by side in one row per stream (``(batch, copies * width)``),
so a decoder that reorders or selects streams (beam search) moves the copies with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from bachnet.core.aliases import StepFn, Tensor

__all__ = [
    "NEVER",
    "TranspositionCopies",
    "TranspositionMixture",
    "copies_of",
    "mixture_of",
    "shifted_states",
    "shifted_step",
]

NEVER = -1e9
"""Log-probability given to a note a copy cannot name (finite, so that no NaN appears)."""


def _shift_ids(ids: Tensor, shift: Tensor, vocab_size: int) -> tuple[Tensor, Tensor]:
    """``ids`` (any shape; ``token + vocab_size * metre code``) moved by ``shift`` semitones
    (broadcast), silence (token 0) kept; and where a note fell outside the vocabulary (then
    clipped to it)."""
    code = ops.floor_divide(ids, vocab_size)
    token = ids - code * vocab_size
    moved = token + shift
    outside = ops.logical_and(token > 0, ops.logical_or(moved < 1, moved > vocab_size - 1))
    moved = ops.where(token > 0, ops.clip(moved, 1, vocab_size - 1), token)
    return moved + code * vocab_size, outside


def _copies(ids: Tensor, shifts: Sequence[int], vocab_size: int) -> tuple[Tensor, Tensor]:
    """``(batch, ...)`` ids -> ``(batch, copies, ...)``: each stream moved by each of ``shifts``,
    and where a note fell outside the vocabulary (`_shift_ids`)."""
    ids = ops.expand_dims(ops.cast(ids, "int32"), 1)
    shape = (1, len(shifts)) + (1,) * (len(ids.shape) - 2)
    return _shift_ids(
        ids, ops.reshape(ops.convert_to_tensor(list(shifts), "int32"), shape), vocab_size
    )


def copies_of(ids: Tensor, shifts: Sequence[int], vocab_size: int) -> tuple[Tensor, Tensor]:
    """``(batch, time)`` ids -> ``(batch * copies, time)`` ids, row ``b * copies + k`` being
    stream ``b`` moved by ``shifts[k]``, and ``(batch * copies, time)`` floats: 1 while copy
    ``k`` has read only notes inside the vocabulary, 0 from its first note outside.

    Examples:
        >>> import numpy as np
        >>> ids, valid = copies_of(np.array([[0, 1, 46]], "int32"), (-1, 0, 1), 47)
        >>> np.asarray(ids).tolist(), np.asarray(valid).tolist()
        ([[0, 1, 45], [0, 1, 46], [0, 2, 46]], [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    """
    moved, outside = _copies(ids, shifts, vocab_size)  # (batch, copies, time)
    seen = ops.cumsum(ops.cast(outside, "int32"), axis=-1)
    time = ops.shape(moved)[-1]
    return ops.reshape(moved, (-1, time)), ops.reshape(ops.cast(seen == 0, "float32"), (-1, time))


def _moved_back(log_probs: Tensor, shift: int) -> Tensor:
    """One copy's log-probabilities ``(..., vocab)`` over its own ids, as they name the notes of
    the original vocabulary: note ``x`` takes the copy's id ``x + shift``, silence stays
    silence, and a note the copy cannot name (moved onto silence or past the top) `NEVER`."""
    if shift == 0:
        return log_probs
    silence, notes = log_probs[..., :1], log_probs[..., 1:]
    size = notes.shape[-1]
    never = ops.full((*ops.shape(notes)[:-1], min(abs(shift), size)), NEVER, dtype=notes.dtype)
    if shift > 0:
        moved = ops.concatenate([notes[..., shift:], never], axis=-1)
    else:
        moved = ops.concatenate([never, notes[..., : size + shift]], axis=-1)
    return ops.concatenate([silence, moved], axis=-1)


def mixture_of(logits: Tensor, valid: Tensor, shifts: Sequence[int], vocab_size: int) -> Tensor:
    """The copies' predictions, moved back and mixed: ``(batch * copies, ..., vocab)`` logits
    and ``(batch * copies, ...)`` validity -> ``(batch, ..., vocab)`` log-probabilities.

    Examples:
        >>> import numpy as np
        >>> logits = np.zeros((2, 3), "float32")  # one stream, copies (0, 1), vocabulary 3
        >>> logits[0, 1] = logits[1, 2] = 10.0  # both copies are sure of note 1
        >>> mixed = mixture_of(logits, np.ones(2, "float32"), (0, 1), 3)
        >>> np.round(np.exp(np.asarray(mixed)), 3).tolist()
        [[0.0, 1.0, 0.0]]
    """
    count = len(shifts)
    shape = ops.shape(logits)
    grouped = ops.reshape(ops.cast(logits, "float32"), (-1, count, *shape[1:]))
    alive = ops.reshape(valid, (-1, count, *shape[1:-1]))
    log_probs = ops.log_softmax(grouped, axis=-1)
    parts = [
        _moved_back(log_probs[:, k], shift)
        + ops.expand_dims(ops.where(alive[:, k] > 0, 0.0, NEVER), -1)
        for k, shift in enumerate(shifts)
    ]
    mixed = ops.logsumexp(ops.stack(parts, axis=0), axis=0)
    return ops.log_softmax(mixed, axis=-1)


class _ShiftLayer(keras.layers.Layer):  # type: ignore[misc]
    """A layer that knows the shifts and the vocabulary size (its whole configuration)."""

    def __init__(self, shifts: Sequence[int], vocab_size: int = 47, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shifts = tuple(int(s) for s in shifts)
        self.vocab_size = int(vocab_size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "shifts": list(self.shifts), "vocab_size": self.vocab_size}


@keras.saving.register_keras_serializable(package="bachnet")
class TranspositionCopies(_ShiftLayer):
    """``(batch, time)`` ids -> their transposed copies and validity (`copies_of`)."""

    def call(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        return copies_of(ids, self.shifts, self.vocab_size)

    def compute_output_shape(
        self, input_shape: tuple[int | None, ...]
    ) -> tuple[tuple[int | None, ...], tuple[int | None, ...]]:
        return (None, input_shape[1]), (None, input_shape[1])


@keras.saving.register_keras_serializable(package="bachnet")
class TranspositionMixture(_ShiftLayer):
    """``[copies' logits, validity]`` -> the mixture's log-probabilities (`mixture_of`)."""

    def call(self, inputs: list[Tensor]) -> Tensor:
        logits, valid = inputs
        return mixture_of(logits, valid, self.shifts, self.vocab_size)

    def compute_output_shape(
        self, input_shape: list[tuple[int | None, ...]]
    ) -> tuple[int | None, ...]:
        return (None, *input_shape[0][1:])


def _side_by_side(states: list[Tensor], count: int) -> list[Tensor]:
    """States of ``batch * count`` rows (copy-major within each stream) as ``batch`` rows."""
    return [ops.reshape(state, (-1, count * state.shape[-1])) for state in states]


def shifted_states(states: list[Tensor], count: int) -> list[Tensor]:
    """A network's step states for ``batch * count`` streams (copy-major within each stream)
    as one row per stream, plus each copy's validity (all 1): the state of `shifted_step`,
    in NumPy (as `Network.initial_state` makes them)."""
    rows = [np.asarray(state).reshape(-1, count * state.shape[-1]) for state in states]
    return [*rows, np.ones((rows[0].shape[0], count), rows[0].dtype)]


def shifted_step(step: StepFn, shifts: Sequence[int], vocab_size: int) -> StepFn:
    """A one-token step over ``len(shifts)`` transposed copies of each stream, from the step
    of the network that reads one (its states from `shifted_states`)."""
    count = len(shifts)

    def advance(token: Tensor, index: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        moved, outside = _copies(token, shifts, vocab_size)  # (batch, copies)
        *inner, valid = states
        valid = valid * (1.0 - ops.cast(outside, valid.dtype))
        unrolled = [ops.reshape(state, (-1, state.shape[-1] // count)) for state in inner]
        logits, unrolled = step(ops.reshape(moved, (-1,)), index, unrolled)
        mixed = mixture_of(logits, ops.reshape(valid, (-1,)), shifts, vocab_size)
        return mixed, [*_side_by_side(unrolled, count), valid]

    return advance
