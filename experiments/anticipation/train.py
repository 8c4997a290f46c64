"""[fill] method (b): the token model trained with anticipation (Thickstun et al. 2023).

On bachnet's grid, kept notes are shown to the left-to-right model before it reaches them:
besides the token it reads, input ``i`` (which predicts token ``i + 1``, of step ``s``)
carries what is kept of every voice of steps ``s``, ``s + 4`` and ``s + 16`` (`DISTANCES`:
the step itself, a beat and a bar ahead), each kept note's id or `FREE` where the note is to
be written: twelve rows of an embedding, summed, added to the network's input (the LSTMs can
carry what they saw) and, through a second embedding, to the last LSTM's output (the head
sees the bass of the chord it writes the alto of). Both embeddings start at zero on top of
`jsb-keys`' network (stage 6 of experiments/meter_lstm_run, one copy), so epoch 0 *is* the
plain model: the valid losses printed before training are method (a)'s network scoring the
same notes. The first ``--freeze`` epochs train the new rows alone (``--lr``), the rest every
weight (``--base-lr``).

Training pieces get one mask each, drawn from the [fill] issue's kinds of task: nothing kept
(plain generation), a span of all voices written (F1-like), whole voices written (F2-F4 and
every other subset), notes written at random (F5-like). The loss counts written notes only.

    taskset -c 1 python experiments/anticipation/train.py /work/runs/antic5 --minutes 80 \
        --freeze 8 --lr 1e-3

Resumable: rerun the same command; it continues from the last finished epoch.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

from bachnet import BachNet, Dataset
from bachnet.training.windows import Windows

DISTANCES = (0, 4, 16)  # steps ahead: the step itself, a beat, a bar
SLOTS = 4 * len(DISTANCES)
FREE = 47
SCALE = 1.0
BASE = "/work/runs/meter6/model"
DATA = "jsb+/work/runs/data/fakes-bars+/work/runs/data/three4"
VOICE_SETS = {"F2": (1, 2), "F3": (0, 1, 2), "F4": (1, 2, 3)}  # voices written


def build(base: keras.Model) -> keras.Model:
    """The base network's layers, reused, with the anticipated chords added to its input."""
    ids = keras.Input(shape=(None,), dtype="int32", name="tokens")
    ahead_ids = keras.Input(shape=(None, SLOTS), dtype="int32", name="ahead")
    tokens, where = base.get_layer("meter_position")(ids)
    x = base.get_layer("embedding")(tokens)
    place = base.get_layer("position")(where)
    before, held = base.get_layer("voice_context")(tokens)
    rows = keras.layers.Embedding(
        SLOTS * (FREE + 1), x.shape[-1], embeddings_initializer="zeros", name="ahead_rows"
    )(ahead_ids)
    # scaled, so that Adam moves the new rows SCALE times faster than the old weights
    seen = keras.layers.Rescaling(SCALE, name="ahead_scale")(keras.ops.sum(rows, axis=2))
    parts = [
        x,
        place,
        base.get_layer("voice_before")(before),
        base.get_layer("voice_held")(held),
        seen,
    ]
    x = keras.layers.Add(name="with_anticipation")(parts)
    i = 1
    while True:
        try:
            lstm = base.get_layer(f"lstm_{i}")
        except ValueError:
            break
        x = base.get_layer(f"dropout_{i}")(x)
        x = lstm(x)
        x = base.get_layer(f"norm_{i}")(x)
        i += 1
    late = keras.layers.Embedding(
        SLOTS * (FREE + 1), x.shape[-1], embeddings_initializer="zeros", name="ahead_late"
    )(ahead_ids)
    x = keras.layers.Add(name="with_late_anticipation")([x, keras.ops.sum(late, axis=2)])
    x = base.get_layer("dense")(x)
    logits = base.get_layer("logits")(x)
    return keras.Model([ids, ahead_ids], logits, name="anticipation")


def draw_masks(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """``(n, length)`` booleans over target tokens, True = written (free)."""
    steps = -(-(length + 1) // 4)  # over the window's tokens; target j is token j + 1
    free = np.ones((n, steps, 4), bool)
    kind = rng.choice(4, size=n, p=[0.15, 0.3, 0.35, 0.2])
    for row in range(n):
        if kind[row] == 1:  # a span of all voices
            span = int(rng.integers(4, 49))
            start = int(rng.integers(0, max(1, steps - span)))
            free[row] = False
            free[row, start : start + span] = True
        elif kind[row] == 2:  # whole voices
            if rng.random() < 0.6:
                written = list(VOICE_SETS.values())[int(rng.integers(3))]
            else:
                subset = int(rng.integers(1, 15))
                written = tuple(v for v in range(4) if subset >> v & 1)
            free[row] = False
            free[row, :, list(written)] = True
        elif kind[row] == 3:  # notes at random
            free[row] = rng.random((steps, 4)) < rng.uniform(0.3, 0.7)
    return free.reshape(n, -1)[:, 1 : length + 1]


def ahead(targets: np.ndarray, free: np.ndarray) -> np.ndarray:
    """``(batch, length, SLOTS)`` ids: for target j (a token of step s), what is kept of
    each voice of steps s + d for d in `DISTANCES` (the kept id, or `FREE`), as row
    ``slot * (FREE + 1) + id`` of the anticipation embedding. Windows start on a step."""
    shown = np.where(free, FREE, targets).astype(np.int32)
    n, length = shown.shape
    step = (np.arange(length) + 1) // 4
    out = np.full((n, length, SLOTS), FREE, np.int32)
    for k, d in enumerate(DISTANCES):
        for v in range(4):
            index = 4 * (step + d) + v - 1  # the target index of voice v at step s + d
            ok = (index >= 0) & (index < length)
            out[:, ok, 4 * k + v] = shown[:, index[ok]]
    return out + (FREE + 1) * np.arange(SLOTS, dtype=np.int32)


def batches(windows: Windows, epoch: int, size: int, seed: int):
    rng = np.random.default_rng([seed, epoch, 7])
    for x, y in windows.batches(size, epochs=range(epoch, epoch + 1), drop_remainder=True):
        free = draw_masks(rng, len(x), y.shape[1])
        yield (x, ahead(y, free)), y, free.astype(np.float32)


def valid_sets(windows: Windows) -> dict[str, tuple]:
    """Fixed valid windows under each task's mask (seeded), scored on written notes only."""
    x, y = next(windows.batches(windows.per_epoch))
    rng = np.random.default_rng(123)
    n, length = y.shape
    steps = (length + 1) // 4  # masks over the window's tokens; target j is token j + 1
    sets = {}
    plain = np.ones((n, steps * 4), bool)
    span = np.zeros((n, steps, 4), bool)
    middle = steps // 2 - 16
    span[:, middle : middle + 32] = True  # two bars in the middle, all voices
    sets["plain"] = plain
    sets["F1"] = span.reshape(n, -1)
    for name, voices in VOICE_SETS.items():
        m = np.zeros((n, steps, 4), bool)
        m[:, :, list(voices)] = True
        sets[name] = m.reshape(n, -1)
    sets["F5"] = rng.random((n, steps * 4)) < 0.5
    out = {}
    for name, free in sets.items():
        free = np.pad(free, ((0, 0), (0, length + 1 - free.shape[1])))[:, 1:]
        out[name] = ((x, ahead(y, free)), y, free.astype(np.float32))
    return out


def score(model: keras.Model, sets: dict[str, tuple]) -> dict[str, float]:
    result = {}
    for name, ((x, seen), y, w) in sets.items():
        total, count = 0.0, 0.0
        for b in range(0, len(x), 64):
            logits = model.predict_on_batch([x[b : b + 64], seen[b : b + 64]])
            logp = tf.nn.log_softmax(logits).numpy()
            picked = np.take_along_axis(logp, y[b : b + 64, :, None], axis=2)[..., 0]
            total += float(-(picked * w[b : b + 64]).sum())
            count += float(w[b : b + 64].sum())
        result[name] = round(total / count, 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--minutes", type=float, default=75)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--freeze", type=int, default=0, help="epochs with the base frozen")
    parser.add_argument("--base-lr", type=float, default=3e-5, help="the base's rate after")
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(0)
    start = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)

    net = BachNet.load(BASE)
    network = net.network
    model = build(net.keras_model)
    data = Dataset.load(DATA, sizes=(1, 0, 0))
    train = list(data.split("train"))
    valid = list(Dataset.jsb().split("valid"))

    def placed(pieces):
        return {
            "align": [network.align_for(p.meter) for p in pieces],
            "lead": [network.padding_for(p.pickup, p.meter) for p in pieces],
            "codes": [network.meter_code(p.meter) for p in pieces],
        }

    windows = Windows(train, net.vocab, length=args.length, transpose=6, seed=0, **placed(train))
    vwin = Windows(valid, net.vocab, length=args.length, stride=args.length // 2, **placed(valid))
    sets = valid_sets(vwin)

    def compile_for(epoch: int) -> None:
        frozen = epoch < args.freeze
        for layer in model.layers:
            if layer.name not in ("ahead_rows", "ahead_late") and layer.weights:
                layer.trainable = not frozen
        model.compile(
            optimizer=keras.optimizers.Adam(args.lr if frozen else args.base_lr, clipnorm=1.0),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        print("epoch", epoch + 1, "base frozen" if frozen else "all trained", flush=True)

    state_file = args.out / "state.json"
    state = {"epoch": 0, "best": None}
    if state_file.exists():
        state = json.loads(state_file.read_text())
    if state["epoch"]:
        model.load_weights(args.out / "last.weights.h5")
        print("resumed after epoch", state["epoch"], flush=True)
    else:
        first = score(model, sets)
        print("epoch 0 (the plain model)", first, flush=True)
        with open(args.out / "history.csv", "w", newline="") as f:
            csv.writer(f).writerow(["epoch", "seconds", "train", *first])
            csv.writer(f).writerow([0, 0, "", *first.values()])
    per_epoch = windows.per_epoch // args.batch
    for epoch in range(state["epoch"], args.epochs):
        if time.monotonic() - start > args.minutes * 60:
            print("time limit", flush=True)
            break
        if epoch == state["epoch"] or epoch == args.freeze:
            compile_for(epoch)
        began = time.monotonic()
        losses = []
        for inputs, y, w in batches(windows, epoch, args.batch, 0):
            losses.append(float(model.train_on_batch(list(inputs), y, sample_weight=w)))
        figures = score(model, sets)
        seconds = time.monotonic() - began
        mean = float(np.mean(losses))
        print(f"epoch {epoch + 1} {seconds:.0f}s train {mean:.4f} valid {figures}", flush=True)
        with open(args.out / "history.csv", "a", newline="") as f:
            csv.writer(f).writerow([epoch + 1, round(seconds), round(mean, 4), *figures.values()])
        model.save_weights(args.out / "last.weights.h5")
        overall = float(np.mean(list(figures.values())))
        if state["best"] is None or overall < state["best"]:
            state["best"] = overall
            state["best_epoch"] = epoch + 1
            model.save_weights(args.out / "best.weights.h5")
        state["epoch"] = epoch + 1
        tmp = state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(state_file)
    print("per_epoch batches", per_epoch, "state", state, flush=True)


if __name__ == "__main__":
    main()
