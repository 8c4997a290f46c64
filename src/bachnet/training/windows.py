"""Training windows: token windows cut from chorales, as tf.data or as NumPy batches.

A window is ``length + 1`` consecutive tokens of one chorale (windows never cross chorale
boundaries); the model reads the first ``length`` and predicts the last ``length``, the
target being the input shifted by one token.

Two ways to cut windows:

* **stride** (the original BachNet's): every window starting at ``0, stride, 2*stride, ...``.
  A chorale of ``n`` tokens gives ``(n - length - 1) // stride + 1`` windows (none if
  ``n <= length``).
* **random** (the default for training): each epoch, a chorale of ``n`` tokens gives
  ``(n - 1) // length`` windows at uniformly random starts, each transposed by a random shift
  in ``-transpose..transpose`` that keeps every note inside the vocabulary. This took the
  original architecture's test NLL from 0.635 to 0.406 (the model card's table).

Each epoch's *plan* (chorale, start, shift of every window, in shuffled order) is drawn with
NumPy from ``(seed, epoch)`` alone. The tf.data pipeline turns plan rows into windows in-graph
(a batched gather from one token tensor, then the shift), and the NumPy path does the same
gather in NumPy: both yield identical windows for the same seed, and a resumed training run
sees exactly the windows it would have seen without the interruption.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError
from bachnet.music.chorale import Chorale
from bachnet.music.vocab import Vocabulary

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = [
    "Batch",
    "Windows",
]


Batch = tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]


class Windows:
    """Cuts fixed-length training windows from chorales.

    Args:
        chorales: the pieces (each encoded with ``vocab``).
        vocab: token vocabulary.
        length: tokens the model reads per window (the original BachNet's 256).
        stride: cut every ``stride`` tokens (the original BachNet used 1), rounded down to a
            multiple of a piece's ``align``; ``None`` for random windows.
        transpose: largest transposition in semitones for random windows (0 = none).
        seed: seeds every epoch's plan.
        align: random windows start at multiples of ``align`` tokens into a piece (16: on a
            beat, for models that know the beat), or one number per piece (a whole bar of
            its own metre, for a model that knows metres).
        lead: silence tokens put before every piece (16: a beat, so that a model learns
            how a piece begins after silence), or one number per piece (a model that knows
            the bar reads each piece from the bar line before its pickup).
        codes: added, times the vocabulary's size, to every input id of a piece (one
            number for all or one per piece): the metre code a model that knows metres
            reads (`bachnet.model.networks.Network.encode`); the targets stay plain ids.
        marks: per piece, a code for each of its tokens (the lead included), added as
            ``codes`` are, or ``None`` for none: the phrase rows a model that hears phrases
            reads (`bachnet.model.networks.Network.encode`).
        unplanned: the chance that a window of a piece with ``marks`` is read without them
            (drawn per window with the plan), so that the model also learns to write
            without a phrase plan.

    Raises:
        InputError: bad settings, or no chorale long enough for one window.

    Examples:
        >>> from bachnet import Chorale, Vocabulary
        >>> piece = Chorale([[72, 67, 64, 48], [74, 67, 62, 43]] * 40)  # 320 tokens
        >>> w = Windows([piece], Vocabulary(), length=64, stride=32)
        >>> w.per_epoch, next(w.batches(batch_size=8))[0].shape
        (8, (8, 64))
    """

    def __init__(
        self,
        chorales: Iterable[Chorale],
        vocab: Vocabulary,
        *,
        length: int = 256,
        stride: int | None = None,
        transpose: int = 6,
        seed: int = 0,
        align: int | Sequence[int] = 1,
        lead: int | Sequence[int] = 0,
        codes: int | Sequence[int] = 0,
        marks: Sequence[npt.NDArray[np.int32] | None] | None = None,
        unplanned: float = 0.0,
    ) -> None:
        pieces = list(chorales)
        leads, aligns, metres = (
            [value] * len(pieces) if isinstance(value, int | np.integer) else list(value)
            for value in (lead, align, codes)
        )
        for name, values in (("leads", leads), ("aligns", aligns), ("codes", metres)):
            if len(values) != len(pieces):
                raise InputError(
                    f"{len(values)} {name} for {len(pieces)} chorales: give one per piece"
                )
        if any(n < 1 for n in aligns) or any(n < 0 for n in leads) or any(n < 0 for n in metres):
            raise InputError(
                f"align must be >= 1, lead and codes >= 0, got {align}, {lead}, {codes}"
            )
        if length < 1:
            raise InputError(f"window length must be >= 1, got {length}")
        if not 0.0 <= unplanned <= 1.0:
            raise InputError(f"unplanned must be a chance in [0, 1], got {unplanned}")
        if stride is not None and stride < 1:
            raise InputError(f"stride must be >= 1 (or None for random windows), got {stride}")
        if transpose < 0:
            raise InputError(f"transpose must be >= 0 semitones, got {transpose}")
        encoded = [
            np.concatenate([np.zeros(n, np.int32), vocab.encode(c)])
            for n, c in zip(leads, pieces, strict=True)
        ]
        self.vocab, self.length, self.stride = vocab, length, stride
        self.align = np.array(aligns, dtype=np.int64)
        self.codes = np.array(metres, dtype=np.int32) * np.int32(vocab.size)
        self.transpose, self.seed = transpose if stride is None else 0, seed
        self.sizes = np.array([len(t) for t in encoded], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
        self.tokens = np.concatenate(encoded).astype(np.int32) if encoded else np.zeros(0, np.int32)
        self.marks = self._marks(marks, encoded)
        self.unplanned = unplanned
        shifts = [
            vocab.transpositions(c, self.transpose) if c.chords.any() else range(0, 1)
            for c in pieces
        ]
        self.shift_low = np.array([r.start for r in shifts], dtype=np.int64)
        self.shift_high = np.array([r.stop - 1 for r in shifts], dtype=np.int64)
        self.counts = self._counts()
        if self.per_epoch == 0:
            longest = int(self.sizes.max()) if len(self.sizes) else 0
            raise InputError(
                f"no chorale is long enough for one window of {length}+1 tokens "
                f"(the longest has {longest} tokens)"
            )

    def _marks(
        self,
        marks: Sequence[npt.NDArray[np.int32] | None] | None,
        encoded: list[npt.NDArray[np.int32]],
    ) -> npt.NDArray[np.int32] | None:
        """Every token's mark times the vocabulary's size, in `tokens`' order, or ``None``."""
        if marks is None:
            return None
        if len(marks) != len(encoded):
            raise InputError(f"{len(marks)} marks for {len(encoded)} chorales: give one per piece")
        rows = []
        for mark, tokens in zip(marks, encoded, strict=True):
            if mark is None:
                rows.append(np.zeros(len(tokens), np.int32))
            elif len(mark) != len(tokens) or (len(mark) and int(np.min(mark)) < 0):
                raise InputError(
                    f"marks of {len(mark)} tokens for a piece of {len(tokens)} (lead included): "
                    "give one code >= 0 per token"
                )
            else:
                rows.append(np.asarray(mark, np.int32))
        joined = np.concatenate(rows) if rows else np.zeros(0, np.int32)
        scaled: npt.NDArray[np.int32] = (joined * np.int32(self.vocab.size)).astype(np.int32)
        return scaled

    @property
    def strides(self) -> npt.NDArray[np.int64]:
        """Each piece's stride: `stride` rounded down to a multiple of the piece's align
        (at least one align), so that every window starts where the model expects."""
        stride = self.stride or 1
        return np.maximum(stride // self.align, 1) * self.align

    def _counts(self) -> npt.NDArray[np.int64]:
        span = self.sizes - (self.length + 1)
        if self.stride is None:
            counts = (self.sizes - 1) // self.length
        else:
            counts = span // self.strides + 1
        return np.where(span >= 0, counts, 0).astype(np.int64)

    @property
    def per_epoch(self) -> int:
        """Number of windows in one epoch.

        Examples:
            >>> piece = Chorale([[72, 67, 64, 48], [74, 67, 62, 43]] * 40)  # 320 tokens
            >>> Windows([piece], Vocabulary(), length=64, stride=32).per_epoch  # 0, 32, ..., 224
            8
            >>> Windows([piece], Vocabulary(), length=64).per_epoch  # random: (320 - 1) // 64
            4
        """
        return int(self.counts.sum())

    def batches_per_epoch(self, batch_size: int, *, drop_remainder: bool = False) -> int:
        """Batches per epoch.

        Args:
            batch_size: windows per batch.
            drop_remainder: do not count a last partial batch.

        Examples:
            >>> piece = Chorale([[72, 67, 64, 48], [74, 67, 62, 43]] * 40)  # 320 tokens
            >>> w = Windows([piece], Vocabulary(), length=64, stride=32)  # 8 windows
            >>> w.batches_per_epoch(3), w.batches_per_epoch(3, drop_remainder=True)
            (3, 2)
        """
        full, rest = divmod(self.per_epoch, batch_size)
        return full + (1 if rest and not drop_remainder else 0)

    def plan(self, epoch: int) -> npt.NDArray[np.int64]:
        """The shuffled ``(windows, 4)`` rows ``(first token, shift, chorale, marked)`` of one
        epoch (``marked``: 1 when the window reads its piece's marks).

        The plan depends only on ``seed`` and ``epoch``, so a resumed run sees the same windows.

        Examples:
            >>> piece = Chorale([[72, 67, 64, 48], [74, 67, 62, 43]] * 40)  # 320 tokens
            >>> w = Windows([piece], Vocabulary(), length=64, stride=32)
            >>> sorted(w.plan(0)[:, 0].tolist())  # first tokens; no shift with a stride
            [0, 32, 64, 96, 128, 160, 192, 224]
            >>> bool((w.plan(3) == w.plan(3)).all())
            True
        """
        rng = np.random.default_rng([self.seed, epoch])
        chorale = np.repeat(np.arange(len(self.counts)), self.counts)
        if self.stride is None:
            align = self.align[chorale]
            room = (self.sizes[chorale] - (self.length + 1)) // align
            start = (rng.random(len(chorale)) * (room + 1)).astype(np.int64) * align
            low, high = self.shift_low[chorale], self.shift_high[chorale]
            shift = low + (rng.random(len(chorale)) * (high - low + 1)).astype(np.int64)
        else:
            first = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
            start = (np.arange(len(chorale)) - first[chorale]) * self.strides[chorale]
            shift = np.zeros(len(chorale), dtype=np.int64)
        marked = np.ones(len(chorale), dtype=np.int64)
        if self.marks is not None and self.unplanned > 0:  # its own draws: the rest unchanged
            dropped = np.random.default_rng([self.seed, epoch, 1]).random(len(chorale))
            marked = (dropped >= self.unplanned).astype(np.int64)
        rows = np.stack([self.offsets[chorale] + start, shift, chorale, marked], axis=1)
        return rows[rng.permutation(len(rows))]

    def _gather(self, rows: npt.NDArray[np.int64]) -> Batch:
        index = rows[:, :1] + np.arange(self.length + 1)
        window = self.tokens[index]
        window = np.where(window > 0, window + rows[:, 1:2], 0).astype(np.int32)
        inputs = window[:, :-1] + self.codes[rows[:, 2:3]]
        if self.marks is not None:
            inputs = inputs + self.marks[index[:, :-1]] * rows[:, 3:4].astype(np.int32)
        return inputs, window[:, 1:]

    def batches(
        self, batch_size: int = 256, *, epochs: range | None = None, drop_remainder: bool = False
    ) -> Iterator[Batch]:
        """NumPy ``(inputs, targets)`` batches, epoch after epoch (for any Keras backend).

        Args:
            batch_size: windows per batch.
            epochs: which epochs' plans to follow (default: epoch 0 only).
            drop_remainder: skip each epoch's last partial batch.

        Yields:
            ``(inputs, targets)`` int32 arrays of shape ``(batch, length)``; the targets are
            the inputs shifted by one token.

        Examples:
            >>> piece = Chorale([[72, 67, 64, 48], [74, 67, 62, 43]] * 40)  # 320 tokens
            >>> w = Windows([piece], Vocabulary(), length=64, stride=32)
            >>> [x.shape for x, y in w.batches(batch_size=3, epochs=range(2))]
            [(3, 64), (3, 64), (2, 64), (3, 64), (3, 64), (2, 64)]
            >>> x, y = next(w.batches(batch_size=3))
            >>> bool((x[:, 1:] == y[:, :-1]).all())
            True
        """
        for epoch in epochs if epochs is not None else range(1):
            rows = self.plan(epoch)
            for begin in range(0, len(rows), batch_size):
                chunk = rows[begin : begin + batch_size]
                if drop_remainder and len(chunk) < batch_size:
                    break
                yield self._gather(chunk)

    def tf_dataset(
        self, batch_size: int = 256, *, epochs: range | None = None, drop_remainder: bool = False
    ) -> tf.data.Dataset:
        """The same batches as `batches`, as an in-graph tf.data pipeline with prefetching.

        Each epoch's plan comes from NumPy (one small array per epoch); cutting, shifting and
        batching the windows happen in TensorFlow.

        Examples:
            >>> piece = Chorale([[72, 67, 64, 48], [74, 67, 62, 43]] * 40)  # 320 tokens
            >>> w = Windows([piece], Vocabulary(), length=64, transpose=2, seed=1)
            >>> x, y = next(iter(w.tf_dataset(batch_size=4)))
            >>> x.shape, y.dtype.name
            (TensorShape([4, 64]), 'int32')
            >>> bool((x.numpy() == next(w.batches(batch_size=4))[0]).all())  # same windows
            True
        """
        import tensorflow as tf

        epochs = epochs if epochs is not None else range(1)
        tokens = tf.constant(self.tokens, dtype=tf.int32)
        codes = tf.constant(self.codes, dtype=tf.int32)
        marks = tf.constant(self.marks if self.marks is not None else np.zeros(1, np.int32))
        has_marks = self.marks is not None
        ramp = tf.range(self.length + 1, dtype=tf.int64)

        def epoch_plan(epoch: tf.Tensor) -> tf.data.Dataset:
            rows = tf.numpy_function(lambda e: self.plan(int(e)), [epoch], tf.int64, stateful=False)
            rows = tf.reshape(rows, (-1, 4))
            return tf.data.Dataset.from_tensor_slices(rows).batch(
                batch_size, drop_remainder=drop_remainder
            )

        def cut(rows: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            index = rows[:, :1] + ramp[tf.newaxis, :]
            window = tf.gather(tokens, index)
            shift = tf.cast(rows[:, 1:2], tf.int32)
            window = tf.where(window > 0, window + shift, 0)
            inputs = window[:, :-1] + tf.gather(codes, rows[:, 2:3])
            if has_marks:
                inputs += tf.gather(marks, index[:, :-1]) * tf.cast(rows[:, 3:4], tf.int32)
            return inputs, window[:, 1:]

        dataset = tf.data.Dataset.range(epochs.start, epochs.stop, epochs.step)
        dataset = dataset.flat_map(epoch_plan)
        dataset = dataset.map(cut, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return dataset.prefetch(tf.data.AUTOTUNE)
