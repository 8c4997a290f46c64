"""Windows per second: the in-graph tf.data pipeline vs. a plain Python loop, same plans.

Loads the JSB train split with no network when ``../shared/data/jsb_chorales.tgz`` exists (it
is copied into a temporary ``BACHNET_DATA_DIR``); otherwise `Dataset.jsb()` uses the cache or
downloads once. Both contenders follow exactly the same epoch plans (`Windows.plan`), and the
script checks that they produce the same windows before timing them.

Run:
    python benchmarks/pipeline.py --batch-size 256 --epochs 3 --length 256 --mode random
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _corpus import load_train

from bachnet import Vocabulary, Windows


def python_batches(windows: Windows, batch_size: int, epochs: range):
    """The same batches as `Windows.batches`, cut one window at a time in plain Python."""
    tokens, span = windows.tokens, windows.length + 1
    for epoch in epochs:
        batch: list[list[int]] = []
        for first, shift, _chorale in windows.plan(epoch).tolist():
            window = tokens[first : first + span].tolist()
            batch.append([t + shift if t > 0 else 0 for t in window])
            if len(batch) == batch_size:
                array = np.array(batch, dtype=np.int32)
                yield array[:, :-1], array[:, 1:]
                batch = []
        if batch:
            array = np.array(batch, dtype=np.int32)
            yield array[:, :-1], array[:, 1:]


def time_tf(windows: Windows, batch_size: int, epochs: range) -> tuple[int, float]:
    dataset = windows.tf_dataset(batch_size, epochs=epochs)
    count = 0
    start = time.perf_counter()
    for inputs, _targets in dataset:
        count += int(inputs.shape[0])
    return count, time.perf_counter() - start


def time_python(windows: Windows, batch_size: int, epochs: range) -> tuple[int, float]:
    count = 0
    start = time.perf_counter()
    for inputs, _targets in python_batches(windows, batch_size, epochs):
        count += len(inputs)
    return count, time.perf_counter() - start


def check_same(windows: Windows, batch_size: int) -> None:
    """Both paths give identical windows (first epoch)."""
    epochs = range(1)
    tf_batches = list(windows.tf_dataset(batch_size, epochs=epochs))
    py_batches = list(python_batches(windows, batch_size, epochs))
    assert len(tf_batches) == len(py_batches)
    for (tx, ty), (px, py) in zip(tf_batches, py_batches, strict=True):
        np.testing.assert_array_equal(tx.numpy(), px)
        np.testing.assert_array_equal(ty.numpy(), py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--mode", choices=("random", "stride"), default="random")
    parser.add_argument("--stride", type=int, default=1, help="stride for --mode stride")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is shown")
    args = parser.parse_args()

    train = load_train()
    stride = args.stride if args.mode == "stride" else None
    windows = Windows(train, Vocabulary(), length=args.length, stride=stride, seed=args.seed)
    epochs = range(args.epochs)
    check_same(windows, args.batch_size)  # also warms TensorFlow up

    tf_count, tf_seconds = min(
        (time_tf(windows, args.batch_size, epochs) for _ in range(args.repeat)),
        key=lambda run: run[1],
    )
    py_count, py_seconds = min(
        (time_python(windows, args.batch_size, epochs) for _ in range(args.repeat)),
        key=lambda run: run[1],
    )
    assert tf_count == py_count == windows.per_epoch * args.epochs

    tf_rate, py_rate = tf_count / tf_seconds, py_count / py_seconds
    mode = f"stride {stride}" if stride else "random"
    print(
        f"JSB train: {len(train)} chorales, {len(windows.tokens):,} tokens; mode {mode}, "
        f"length {args.length}, batch {args.batch_size}, {args.epochs} epochs of "
        f"{windows.per_epoch:,} windows; best of {args.repeat}"
    )
    print(f"{'pipeline':<20} {'windows':>9} {'seconds':>9} {'windows/s':>11}")
    print(f"{'tf.data (in-graph)':<20} {tf_count:>9,} {tf_seconds:>9.3f} {tf_rate:>11,.0f}")
    print(f"{'python loop':<20} {py_count:>9,} {py_seconds:>9.3f} {py_rate:>11,.0f}")
    print(f"tf.data / python: {tf_rate / py_rate:.1f}x")


if __name__ == "__main__":
    main()
