"""The [fill] tasks with the anticipation model of ``train.py``, against the same network
without anticipation (its two embeddings zeroed: exactly `jsb-keys`' one-copy network).

One draw per piece at temperature 1, no rules, kept notes forced: the same sampling code for
both, so the difference is what seeing the kept notes ahead is worth. Figures as
``benchmarks/fill.py`` prints them (its task masks and seam counts), the judge against JSB
valid.

    python experiments/anticipation/evaluate.py /work/runs/antic/best.weights.h5 --judge
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf
from keras import ops

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fill import TASKS, task_mask, task_row
from train import BASE, SCALE, ahead, build

from bachnet import BachNet, Dataset
from bachnet.model.networks import HELD, VOICES, meter_rows


def stepper(model):
    """A compiled one-token step of the anticipation model (the library's step, plus the
    two anticipation rows)."""
    embedding = model.get_layer("embedding")
    position = model.get_layer("position")
    before_e, held_e = model.get_layer("voice_before"), model.get_layer("voice_held")
    ahead_e, late_e = model.get_layer("ahead_rows"), model.get_layer("ahead_late")
    layers = sum(layer.name.startswith("lstm_") for layer in model.layers)
    cells = [
        (model.get_layer(f"lstm_{i}").cell, model.get_layer(f"norm_{i}"))
        for i in range(1, layers + 1)
    ]
    head = [model.get_layer("dense"), model.get_layer("logits")]

    @tf.function(jit_compile=True)
    def step(token, index, seen, states):
        x = embedding(token) + SCALE * ops.sum(ahead_e(seen), axis=1)
        code = ops.cast(states[-1][:, 0], "int32")
        first, bar = meter_rows(code)
        x = x + position(first + ops.mod(index, bar))
        last, held = states[2 * layers], states[2 * layers + 1]
        voice = ops.mod(index, VOICES)
        mine = ops.expand_dims(ops.arange(VOICES) == voice, 0)
        value = ops.expand_dims(ops.cast(token, last.dtype), 1)
        held = ops.where(mine, ops.where(value == last, held + 1.0, 0.0), held)
        last = ops.where(mine, value, last)
        upcoming = ops.expand_dims(ops.arange(VOICES) == ops.mod(voice + 1, VOICES), 0)
        zero = ops.zeros_like(last)
        before = ops.sum(ops.where(upcoming, last, zero), axis=1)
        count = ops.minimum(ops.sum(ops.where(upcoming, held, zero), axis=1), HELD - 1)
        x = x + before_e(ops.cast(before, "int32")) + held_e(ops.cast(count, "int32"))
        new = []
        for i, (cell, norm) in enumerate(cells):
            x, (h, c) = cell(x, [states[2 * i], states[2 * i + 1]], training=False)
            new += [h, c]
            x = norm(x)
        x = x + ops.sum(late_e(seen), axis=1)
        for layer in head:
            x = layer(x)
        return x, [*new, last, held, states[-1]]

    return step


def fill_all(step, net, pieces, masks, seed):
    """One draw for every piece at once: ``(new chords per piece)``."""
    network, vocab = net.network, net.vocab
    rows = []
    for piece, mask in zip(pieces, masks, strict=True):
        lead = network.lead_for(piece.pickup, piece.meter)
        tokens = np.concatenate([np.zeros(lead, np.int32), vocab.encode(piece)])
        free = np.concatenate([np.zeros(lead, bool), mask.reshape(-1)])
        rows.append((lead, tokens, free, network.meter_code(piece.meter)))
    length = max(len(t) for _, t, _, _ in rows)
    batch = len(rows)
    tokens = np.zeros((batch, length), np.int32)
    free = np.zeros((batch, length), bool)
    beyond = np.ones((batch, length), bool)  # after a piece's end: shown as unknown
    for r, (_, t, f, _) in enumerate(rows):
        tokens[r, : len(t)], free[r, : len(f)], beyond[r, : len(t)] = t, f, False
    seen = ahead(tokens[:, 1:], (free | beyond)[:, 1:])  # input i: what is kept around target i
    states = [tf.zeros((batch, units)) for units in net.config.lstm_units for _ in range(2)]
    states += [tf.fill((batch, VOICES), float(net.config.vocab_size)), tf.zeros((batch, VOICES))]
    states.append(tf.constant([[float(code)] for *_, code in rows]))
    rng = np.random.default_rng(seed)
    current = tokens[:, 0]
    for i in range(length - 1):
        logits, states = step(tf.constant(current), tf.constant(i, tf.int32), seen[:, i], states)
        nxt = tokens[:, i + 1].copy()
        if free[:, i + 1].any():
            logits = logits.numpy().astype(np.float64)
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            drawn = (p.cumsum(axis=1) > rng.random((batch, 1))).argmax(axis=1)
            nxt = np.where(free[:, i + 1], drawn, nxt).astype(np.int32)
            tokens[:, i + 1] = nxt
        current = nxt
    out = []
    for r, (lead, t, _, _) in enumerate(rows):
        chords = vocab.pitch_of(tokens[r, lead : len(t)]).reshape(-1, 4)
        out.append(pieces[r].replace(chords))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("weights", nargs="?", default=None)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--pieces", type=int, default=77)
    parser.add_argument("--split", default="test")
    parser.add_argument("--judge", action="store_true")
    parser.add_argument("--plain", action="store_true", help="zero the anticipation (baseline)")
    args = parser.parse_args()
    net = BachNet.load(BASE)
    model = build(net.keras_model)
    if args.weights:
        model.load_weights(args.weights)
    if args.plain:
        for name in ("ahead_rows", "ahead_late"):
            layer = model.get_layer(name)
            layer.embeddings.assign(np.zeros(layer.embeddings.shape, "float32"))
    step = stepper(model)
    pieces = list(Dataset.jsb(progress=False).split(args.split))[: args.pieces]
    label = "plain (anticipation zeroed)" if args.plain else f"anticipation {args.weights}"
    print(f"{label}; {len(pieces)} {args.split} chorales; one draw, no rules")
    for task in args.tasks:
        chosen, masks = [], []
        for index, piece in enumerate(pieces):
            mask = task_mask(task, len(piece), seed=index)
            if mask is not None:
                chosen.append(piece)
                masks.append(mask)
        start = time.perf_counter()
        filled = fill_all(step, net, chosen, masks, seed=0)
        seconds = time.perf_counter() - start
        print(task_row(task, chosen, filled, masks, f"{seconds:.1f} s all", args.judge), flush=True)


if __name__ == "__main__":
    main()
