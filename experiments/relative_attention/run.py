"""Relative attention vs the meter LSTM at equal CPU time, on JSB (issue: Music Transformer).

One variant trains per process invocation, on the library's random transposed training
windows (`bachnet.Windows`, 256 tokens, placed as ``meter_lstm`` places them: each piece read
from the bar line of its own metre before its pickup, windows starting on bar lines), until the
process has used ``--minutes`` of CPU time (``time.process_time``, all threads, counted from
the start of training and checked after every batch). Then it is scored on the whole chorales
of the JSB *valid* split, in nats per token, over the tokens `bachnet.BachNet.evaluate` scores.

Variants:

* ``meter-360``: the library's ``meter_lstm`` (2 x 360, dropout 0.3, embedding 128, dense
  256), Nadam at 1e-3 held, clipnorm 1.0, batch 64; scored by `bachnet.BachNet.evaluate`
  (each chorale read whole in one pass).
* ``rel-transformer``: a decoder-only Transformer (pre-LayerNorm, 4 layers, d_model 256,
  4 heads, FFN 1024, dropout 0.1) whose self-attention adds learned relative-position
  embeddings per head (distances 0..255) through the memory-efficient "skewing" of Huang et
  al., *Music Transformer*, ICLR 2019, with a causal mask. It reads the same inputs as
  ``meter_lstm``: token, place in the metre's bar (voice x 16th), and the voice's previous
  token and how long it has held it (the library's `MeterPosition` rows and `VoiceContext`).
  Adam (beta_2 0.98) at 1e-3 after a linear warmup, clipnorm 1.0, batch 32. Scored with a
  sliding window: context 256, stride 128; the first window scores all its tokens, every
  later one only its last 128, so each token is scored once (past the first window, with
  128-255 tokens of context).

Run (one variant per process, each pinned to one core):
    python experiments/relative_attention/run.py --selftest
    taskset -c 1 python experiments/relative_attention/run.py --variant meter-360 \
        --minutes 15 --out experiments/relative_attention/meter-360.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import numpy.typing as npt
from keras import ops

from bachnet.model.networks import HELD, METER_ROWS, VoiceContext, meter_rows
from bachnet.music.grid import METERS

if TYPE_CHECKING:
    from bachnet import Chorale, Vocabulary
    from bachnet.model.networks import Network

VARIANTS = ("meter-360", "rel-transformer")
WINDOW = 256
STRIDE = 128
SEED = 0

LSTM_SPEC: dict[str, Any] = {
    "architecture": "meter_lstm",
    "lstm_units": [360, 360],
    "dropout": 0.3,
    "embedding_dim": 128,
    "dense_units": 256,
    "window": WINDOW,
}
TRANSFORMER_SPEC: dict[str, Any] = {
    "layers": 4,
    "width": 256,
    "heads": 4,
    "ffn": 1024,
    "dropout": 0.1,
    "max_length": WINDOW,
    "learning_rate": 1e-3,
    "warmup": 25,
    "batch_size": 32,
}


# ----------------------------------------------------------------------------- attention
def skew(relative: Any) -> Any:
    """Huang et al.'s skewing: ``(batch, heads, L, L)`` query-by-distance logits, column ``m``
    the distance ``m - (L - 1)``, to query-by-key logits ``S[i, j] = relative[i, j - i + L - 1]``
    (valid for ``j <= i``; the entries above the diagonal are garbage, to be masked).

    Pad one column on the left, read the ``(L, L + 1)`` matrix as ``(L + 1, L)`` and drop its
    first row: O(L) extra memory instead of gathering an ``(L, L, d)`` tensor.

    Args:
        relative: ``Q @ Er^T`` of shape ``(batch, heads, L, L)``.

    Returns:
        The relative logits in key order, same shape.
    """
    shape = ops.shape(relative)
    batch, heads, length = shape[0], shape[1], shape[2]
    padded = ops.pad(relative, [[0, 0], [0, 0], [0, 0], [1, 0]])
    folded = ops.reshape(padded, (batch, heads, length + 1, length))
    return folded[:, :, 1:, :]


def naive_relative(query: npt.NDArray[np.float64], table: npt.NDArray[np.float64]) -> Any:
    """The O(L^2) reference of `skew`: ``S[b, h, i, j] = q[b, h, i] . Er[h, L - 1 - (i - j)]``
    for ``j <= i`` (zero above the diagonal).

    Args:
        query: ``(batch, heads, L, d)``.
        table: ``(heads, L, d)``, row ``m`` the distance ``m - (L - 1)``.

    Returns:
        ``(batch, heads, L, L)`` NumPy array.
    """
    batch, heads, length, _ = query.shape
    out = np.zeros((batch, heads, length, length))
    for i in range(length):
        for j in range(i + 1):
            out[:, :, i, j] = np.einsum("bhd,hd->bh", query[:, :, i], table[:, length - 1 - i + j])
    return out


class RelativeSelfAttention(keras.layers.Layer):  # type: ignore[misc]
    """Causal multi-head self-attention with learned relative-position embeddings per head.

    Logits ``(Q K^T + skew(Q Er^T)) / sqrt(d_head)``, ``Er`` one ``(max_length, d_head)`` table
    per head (distances ``-(max_length - 1)..0``; a window of ``L`` tokens uses its last ``L``
    rows), then the causal mask, softmax, dropout on the weights, and the output projection.

    Args:
        heads: attention heads.
        max_length: longest window (rows of each relative table).
        dropout: dropout on the attention weights.
        **kwargs: passed to `keras.layers.Layer`.
    """

    def __init__(self, heads: int, max_length: int, dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.heads, self.max_length, self.rate = heads, max_length, dropout

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create the projections and the relative tables."""
        width = int(input_shape[-1])  # type: ignore[arg-type]
        if width % self.heads:
            raise ValueError(f"width {width} is not a multiple of {self.heads} heads")
        self.width, self.head_width = width, width // self.heads
        self.qkv = keras.layers.Dense(3 * width, name="qkv")
        self.qkv.build(input_shape)
        self.project = keras.layers.Dense(width, name="project")
        self.project.build(input_shape)
        self.table = self.add_weight(
            name="relative",
            shape=(self.heads, self.max_length, self.head_width),
            initializer=keras.initializers.RandomNormal(stddev=self.head_width**-0.5),
        )
        self.drop = keras.layers.Dropout(self.rate)

    def scores(self, x: Any) -> tuple[Any, Any]:
        """Masked attention logits ``(batch, heads, L, L)`` and the values ``(batch, heads,
        L, d_head)`` of ``x`` ``(batch, L, width)``."""
        shape = ops.shape(x)
        batch, length = shape[0], shape[1]
        qkv = ops.reshape(self.qkv(x), (batch, length, 3, self.heads, self.head_width))
        qkv = ops.transpose(qkv, (2, 0, 3, 1, 4))
        query, key, value = qkv[0], qkv[1], qkv[2]
        table = ops.slice(
            self.table, (0, self.max_length - length, 0), (self.heads, length, self.head_width)
        )
        relative = skew(ops.einsum("bhld,hmd->bhlm", query, table))
        logits = (ops.einsum("bhld,bhmd->bhlm", query, key) + relative) * self.head_width**-0.5
        where = ops.arange(length)
        causal = ops.expand_dims(where, 1) >= ops.expand_dims(where, 0)
        return ops.where(causal[None, None], logits, ops.full_like(logits, -1e9)), value

    def call(self, x: Any, training: bool | None = None) -> Any:
        """``(batch, L, width)`` -> ``(batch, L, width)``."""
        shape = ops.shape(x)
        logits, value = self.scores(x)
        weights = self.drop(ops.softmax(logits, axis=-1), training=training)
        mixed = ops.transpose(ops.einsum("bhlm,bhmd->bhld", weights, value), (0, 2, 1, 3))
        return self.project(ops.reshape(mixed, (shape[0], shape[1], self.width)))


class MeterPlaces(keras.layers.Layer):  # type: ignore[misc]
    """Ids carrying the metre code and the window's offset into its stream -> ``(tokens,
    places)``: the place of window token ``t`` is the metre's first row plus ``(offset + t)``
    modulo its bar (the library's `MeterPosition`, which assumes offset 0)."""

    def __init__(self, vocab_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size = vocab_size

    def call(self, ids: Any, offset: Any) -> tuple[Any, Any]:
        """``ids`` ``(batch, L)``, ``offset`` ``(batch,)`` int32."""
        ids = ops.cast(ids, "int32")
        code = ops.floor_divide(ids, self.vocab_size)
        tokens = ids - code * self.vocab_size
        first, bar = meter_rows(ops.mod(code, len(METERS)))
        where = (
            ops.arange(ops.shape(ids)[1], dtype="int32")[None] + ops.cast(offset, "int32")[:, None]
        )
        return tokens, first + ops.mod(where, bar)


def build_transformer(
    vocab_size: int = 47,
    *,
    layers: int = 4,
    width: int = 256,
    heads: int = 4,
    ffn: int = 1024,
    dropout: float = 0.1,
    max_length: int = WINDOW,
) -> keras.Model:
    """The relative-attention decoder: ``{"tokens": (batch, L), "offset": (batch,)}`` ->
    next-token logits ``(batch, L, vocab_size)``.

    Args:
        vocab_size: token ids (metre codes are added on top, as `Network.encode` does).
        layers: Transformer blocks.
        width: d_model.
        heads: attention heads.
        ffn: hidden units of each feed-forward block.
        dropout: dropout on the embeddings, the attention weights and each residual branch.
        max_length: longest window.

    Returns:
        An uncompiled Keras model.
    """
    ids = keras.Input(shape=(None,), dtype="int32", name="tokens")
    offset = keras.Input(shape=(), dtype="int32", name="offset")
    tokens, places = MeterPlaces(vocab_size, name="places")(ids, offset)
    before, held = VoiceContext(vocab_size, name="voice_context")(tokens)
    x = keras.layers.Add(name="inputs")(
        [
            keras.layers.Embedding(vocab_size, width, name="token")(tokens),
            keras.layers.Embedding(METER_ROWS, width, name="place")(places),
            keras.layers.Embedding(vocab_size + 1, width, name="voice_before")(before),
            keras.layers.Embedding(HELD, width, name="voice_held")(held),
        ]
    )
    x = keras.layers.Dropout(dropout)(x)
    for i in range(1, layers + 1):
        y = keras.layers.LayerNormalization(epsilon=1e-6, name=f"norm_a{i}")(x)
        y = RelativeSelfAttention(heads, max_length, dropout, name=f"attention_{i}")(y)
        x = keras.layers.Add()([x, keras.layers.Dropout(dropout)(y)])
        y = keras.layers.LayerNormalization(epsilon=1e-6, name=f"norm_f{i}")(x)
        y = keras.layers.Dense(ffn, activation="gelu", name=f"ffn_in_{i}")(y)
        y = keras.layers.Dense(width, name=f"ffn_out_{i}")(y)
        x = keras.layers.Add()([x, keras.layers.Dropout(dropout)(y)])
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_out")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model({"tokens": ids, "offset": offset}, logits, name="rel_transformer")


class WarmupConstant(keras.optimizers.schedules.LearningRateSchedule):  # type: ignore[misc]
    """``rate * min(1, (step + 1) / warmup)``: a linear warmup, then held.

    Args:
        rate: the learning rate after the warmup.
        warmup: warmup steps.
    """

    def __init__(self, rate: float, warmup: int) -> None:
        self.rate, self.warmup = rate, warmup

    def __call__(self, step: Any) -> Any:
        """The learning rate at optimizer step ``step``."""
        ramp = (ops.cast(step, "float32") + 1.0) / float(max(self.warmup, 1))
        return self.rate * ops.minimum(1.0, ramp)

    def get_config(self) -> dict[str, Any]:
        """Its settings."""
        return {"rate": self.rate, "warmup": self.warmup}


# ------------------------------------------------------------------------------- scoring
def sliding_scores(
    model: keras.Model,
    pieces: Sequence[Chorale],
    vocab: Vocabulary,
    network: Network,
    *,
    window: int = WINDOW,
    stride: int = STRIDE,
    batch_size: int = 32,
) -> dict[str, float]:
    """Score whole chorales with a sliding window, over the tokens `BachNet.evaluate` scores.

    Each piece is read as ``network`` reads it (its `padding_for` silence first, ids carrying
    the metre code), and every position ``p`` of the stream's inputs from the lead to the
    piece's last-but-one token predicts token ``p + 1``: every token of the piece but its
    first, as `bachnet.model.scoring.scored` counts. Windows start at ``0, stride, 2 *
    stride, ...``; the first scores all its positions, every later one only those past
    ``window - stride`` tokens of context, so each position is scored once.

    Args:
        model: the model (`build_transformer`'s inputs).
        pieces: the chorales.
        vocab: the vocabulary.
        network: the library network type whose placement (lead, metre code) to copy.
        window: context length.
        stride: how far each window moves on.
        batch_size: windows per forward pass.

    Returns:
        ``loss`` (pooled), ``loss_per_chorale``, ``accuracy``, ``tokens``.
    """
    rows: list[tuple[int, int, npt.NDArray[np.int32], int, int]] = []  # piece, start, ids, lo, hi
    streams = []
    for index, piece in enumerate(pieces):
        lead = network.padding_for(piece.pickup, piece.meter)
        encoded = vocab.encode(piece)
        stream = np.concatenate([np.zeros(lead, np.int32), encoded]).astype(np.int32)
        inputs = np.asarray(network.encode(stream[:-1], piece.meter), np.int32)
        streams.append((stream, lead, lead + len(encoded) - 1))
        start = 0
        while True:
            low = 0 if start == 0 else start + window - stride
            high = min(start + window, len(inputs))
            rows.append((index, start, inputs[start:high], low, high))
            if high >= len(inputs):
                break
            start += stride
    nll: list[npt.NDArray[np.float64]] = []
    hits: list[npt.NDArray[np.bool_]] = []
    owners: list[npt.NDArray[np.int64]] = []
    for begin in range(0, len(rows), batch_size):
        chunk = rows[begin : begin + batch_size]
        ids = np.zeros((len(chunk), window), np.int32)
        for row, (_, _, piece_ids, _, _) in enumerate(chunk):
            ids[row, : len(piece_ids)] = piece_ids  # right padding: causal, never read
        offset = np.array([start for _, start, _, _, _ in chunk], np.int32)
        logits = np.asarray(model.predict_on_batch({"tokens": ids, "offset": offset}), np.float64)
        for row, (index, start, _, low, high) in enumerate(chunk):
            stream, first, last = streams[index]
            where = np.arange(max(low, first), min(high, last))  # stream positions
            if not len(where):
                continue
            scores = logits[row, where - start]
            top = scores.max(-1, keepdims=True)
            norm = top[:, 0] + np.log(np.exp(scores - top).sum(-1))
            target = stream[where + 1]
            nll.append(norm - scores[np.arange(len(where)), target])
            hits.append(scores.argmax(-1) == target)
            owners.append(np.full(len(where), index, np.int64))
    losses, owner = np.concatenate(nll), np.concatenate(owners)
    sums, counts = np.bincount(owner, weights=losses), np.bincount(owner)
    return {
        "loss": float(losses.mean()),
        "loss_per_chorale": float((sums[counts > 0] / counts[counts > 0]).mean()),
        "accuracy": float(np.concatenate(hits).mean()),
        "tokens": float(len(losses)),
    }


# ------------------------------------------------------------------------------ training
class CPUBudget(keras.callbacks.Callback):  # type: ignore[misc]
    """Stops training after the first batch that ends past ``seconds`` of process CPU time
    from its creation; counts batches and keeps the last running training loss.

    Args:
        seconds: the CPU budget.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds, self.start = seconds, time.process_time()
        self.batches, self.loss = 0, float("nan")

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Count the batch; stop when the budget is spent or the loss is not finite."""
        self.batches += 1
        self.loss = float((logs or {}).get("loss", float("nan")))
        if not math.isfinite(self.loss):
            raise FloatingPointError(f"training loss {self.loss} at batch {self.batches}")
        if time.process_time() - self.start >= self.seconds:
            self.model.stop_training = True


def run_variant(variant: str, minutes: float) -> dict[str, Any]:
    """Train ``variant`` for ``minutes`` of CPU time in this process and score it on valid.

    Args:
        variant: ``meter-360`` or ``rel-transformer``.
        minutes: CPU minutes of training.

    Returns:
        The measurements (one JSON-able dict).
    """
    import tensorflow as tf

    from bachnet import BachNet, Dataset, ModelConfig, TrainConfig, Windows

    keras.utils.set_random_seed(SEED)
    data = Dataset.jsb(progress=False)
    train, valid = list(data.split("train")), list(data.split("valid"))
    lstm = BachNet(ModelConfig.from_dict(LSTM_SPEC))
    network, vocab = lstm.network, lstm.vocab
    settings = TrainConfig(seed=SEED)
    windows = Windows(
        train,
        vocab,
        length=WINDOW,
        transpose=settings.transpose,
        seed=settings.seed,
        align=[network.align_for(p.meter) for p in train],
        lead=[network.padding_for(p.pickup, p.meter) for p in train],
        codes=[network.meter_code(p.meter) for p in train],
    )
    if variant == "meter-360":
        model, batch_size = lstm.keras_model, settings.batch_size
        optimizer = keras.optimizers.Nadam(settings.learning_rate, clipnorm=settings.clipnorm)
        config: dict[str, Any] = {**LSTM_SPEC, "optimizer": "Nadam", "lr": settings.learning_rate}
    else:
        spec = TRANSFORMER_SPEC
        model = build_transformer(
            vocab.size,
            **{k: spec[k] for k in ("layers", "width", "heads", "ffn", "dropout", "max_length")},
        )
        batch_size = spec["batch_size"]
        optimizer = keras.optimizers.Adam(
            WarmupConstant(spec["learning_rate"], spec["warmup"]), beta_2=0.98, clipnorm=1.0
        )
        config = {**spec, "optimizer": "Adam(beta_2=0.98)", "clipnorm": 1.0}
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    per_epoch = windows.batches_per_epoch(batch_size, drop_remainder=True)
    dataset = windows.tf_dataset(batch_size, epochs=range(10**6), drop_remainder=True)
    if variant == "rel-transformer":
        dataset = dataset.map(
            lambda x, y: ({"tokens": x, "offset": tf.zeros(tf.shape(x)[:1], tf.int32)}, y)
        )
    budget = CPUBudget(minutes * 60)
    wall, cpu = time.perf_counter(), time.process_time()
    budget.start = cpu
    model.fit(
        dataset,
        epochs=10**6,
        steps_per_epoch=per_epoch,
        callbacks=[budget],
        verbose=0,
        shuffle=False,
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    tokens = budget.batches * batch_size * WINDOW
    score_wall, score_cpu = time.perf_counter(), time.process_time()
    if variant == "meter-360":
        scores = lstm.evaluate(valid)
        context = "whole chorale (LSTM state carried from the first token)"
    else:
        scores = sliding_scores(model, valid, vocab, network)
        context = f"sliding window {WINDOW}, stride {STRIDE} (past the first: 128-255 back)"
    score_wall, score_cpu = time.perf_counter() - score_wall, time.process_time() - score_cpu
    return {
        "variant": variant,
        "parameters": int(model.count_params()),
        "batch_size": batch_size,
        "window": WINDOW,
        "batches": budget.batches,
        "epochs": budget.batches / per_epoch,
        "batches_per_epoch": per_epoch,
        "training_tokens": tokens,
        "tokens_per_cpu_s": tokens / cpu,
        "tokens_per_wall_s": tokens / wall,
        "cpu_minutes": cpu / 60,
        "wall_minutes": wall / 60,
        "final_train_loss": budget.loss,
        "valid_nll_pooled": scores["loss"],
        "valid_nll_per_chorale": scores["loss_per_chorale"],
        "valid_accuracy": scores["accuracy"],
        "valid_tokens": int(scores["tokens"]),
        "valid_context": context,
        "scoring_cpu_s": score_cpu,
        "scoring_wall_s": score_wall,
        "jit_compile": bool(model.jit_compile),
        "config": config,
        "cpus_allowed": len(os.sched_getaffinity(0)),
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
    }


# ------------------------------------------------------------------------------ self-test
def selftest() -> None:
    """Check the skewing against the naive gather, the causal mask, and the scorer's token
    count against `BachNet.evaluate`'s (tiny models; a few seconds)."""
    from bachnet import BachNet, Dataset, ModelConfig

    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 3, 17, 5))
    table = rng.normal(size=(3, 17, 5))
    fast = np.asarray(
        skew(ops.convert_to_tensor(np.einsum("bhld,hmd->bhlm", query, table), "float32"))
    )
    lower = np.tril(np.ones((17, 17), bool))
    reference = naive_relative(query, table)
    assert np.allclose(fast[..., lower], reference[..., lower], atol=1e-4), "skew != naive"
    print("skew == naive gather (lower triangle, L=17, 3 heads): ok")

    keras.utils.set_random_seed(0)
    model = build_transformer(layers=2, width=32, heads=4, ffn=64, dropout=0.1, max_length=64)
    layer = model.get_layer("attention_1")
    x = ops.convert_to_tensor(rng.normal(size=(2, 40, 32)), "float32")
    logits, _ = layer.scores(x)  # the layer's own relative part against the naive one
    q = np.asarray(layer.qkv(x)).reshape(2, 40, 3, 4, 8)[:, :, 0].transpose(0, 2, 1, 3)
    k = np.asarray(layer.qkv(x)).reshape(2, 40, 3, 4, 8)[:, :, 1].transpose(0, 2, 1, 3)
    er = np.asarray(layer.table)[:, 64 - 40 :]
    expected = (np.einsum("bhld,bhmd->bhlm", q, k) + naive_relative(q, er)) * 8**-0.5
    lower = np.tril(np.ones((40, 40), bool))
    got = np.asarray(logits)
    assert np.allclose(got[..., lower], expected[..., lower], atol=1e-3), "layer logits"
    assert (got[..., ~lower] <= -1e8).all(), "mask"
    print("attention layer logits == QK^T + naive relative, future masked: ok")

    ids = rng.integers(1, 47, size=(2, 64)).astype(np.int32)
    offset = np.zeros(2, np.int32)
    before = np.asarray(model({"tokens": ids, "offset": offset}, training=False))
    changed = ids.copy()
    changed[:, 40:] = ids[:, 40:] % 46 + 1  # every token from 40 on, each to another id
    after = np.asarray(model({"tokens": changed, "offset": offset}, training=False))
    assert np.allclose(before[:, :40], after[:, :40], atol=1e-5), "future leaked into the past"
    assert not np.allclose(before[:, 40:], after[:, 40:], atol=1e-5), "no effect at all?"
    print("causal: changing tokens 40.. leaves logits 0..39 unchanged: ok")

    data = Dataset.jsb(progress=False)
    pieces = list(data.split("valid"))[:6]
    lstm = BachNet(ModelConfig.from_dict({**LSTM_SPEC, "lstm_units": [8], "dense_units": 8}))
    counted = lstm.evaluate(pieces)
    scored = sliding_scores(model, pieces, lstm.vocab, lstm.network, window=64, stride=32)
    assert scored["tokens"] == counted["tokens"], (scored["tokens"], counted["tokens"])
    assert abs(scored["loss"] - math.log(47)) < 0.5, scored
    print(f"sliding scorer: {int(scored['tokens'])} tokens, as BachNet.evaluate: ok")
    print(f"untrained tiny model: {scored['loss']:.3f} nats/token (log 47 = {math.log(47):.3f})")
    print("selftest passed")


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``--selftest`` or ``--variant V --minutes M [--out FILE]``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--variant", choices=VARIANTS)
    parser.add_argument("--minutes", type=float, default=15.0, help="CPU minutes of training")
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    parser.add_argument("--selftest", action="store_true", help="run the correctness checks")
    args = parser.parse_args(argv)
    if args.selftest:
        selftest()
        return
    if args.variant is None:
        parser.error("give --variant or --selftest")
    result = run_variant(args.variant, args.minutes)
    line = json.dumps(result)
    print(line, flush=True)
    if args.out is not None:
        args.out.write_text(line + "\n")
    for key in ("valid_nll_pooled", "valid_nll_per_chorale"):
        if not math.isfinite(result[key]):
            sys.exit(f"{key} is not finite")


if __name__ == "__main__":
    main()
