"""Training throughput: tokens per second and projected epoch time, seed windows vs. random.

Two ways to cut the JSB train split into training windows, each timed on the same network:

* ``stride-1``: the original BachNet's every-start windows (``TrainConfig(stride=1)``),
  ~162 k per epoch;
* ``random+transpose``: ``(n - 1) // window`` random windows per chorale, transposed by up to
  ``--transpose`` semitones (the default training mode), ~760 per epoch (window 256).

Each mode trains ``--warmup`` steps (tracing, caches) and then ``--steps`` timed steps with
``keras_model.fit`` on the same input pipeline `bachnet.training.fit` uses (tf.data on
TensorFlow, the NumPy path on other backends), compiled as `bachnet.training.fit` compiles it.
The projected epoch time is ``windows per epoch / batch size * seconds per step``. Other work
on the machine (a training job, a test run) slows every figure: the load average is printed
with the results.

Loads the JSB train split with no network when ``../shared/data/jsb_chorales.tgz`` exists (it is
copied into a temporary ``BACHNET_DATA_DIR``); otherwise `Dataset.jsb()` uses the cache or
downloads once.

Run:
    python benchmarks/train.py --lstm-units 512,512,512 --batch-size 64 --steps 20 --warmup 3
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
from _corpus import load_train

from bachnet import BachNet, ModelConfig, TrainConfig, Vocabulary, Windows
from bachnet.training.fit import Perplexity


class StepClock(keras.callbacks.Callback):  # type: ignore[misc]
    """Records the wall-clock time at the end of every training step."""

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[float] = []

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.ends.append(time.perf_counter())


def compiled(config: ModelConfig, train_config: TrainConfig) -> BachNet:
    """A fresh network compiled exactly as `bachnet.training.fit.train` compiles it."""
    keras.utils.set_random_seed(train_config.seed)
    net = BachNet(config)
    net.keras_model.compile(
        optimizer=keras.optimizers.Nadam(
            learning_rate=train_config.learning_rate,
            clipnorm=train_config.clipnorm or None,
            weight_decay=train_config.weight_decay or None,
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy", Perplexity()],
    )
    return net


def time_mode(
    windows: Windows, config: ModelConfig, train_config: TrainConfig, steps: int, warmup: int
) -> float:
    """Seconds per training step, averaged over ``steps`` steps after ``warmup`` steps."""
    net = compiled(config, train_config)
    batch = train_config.batch_size
    total = warmup + steps
    epochs = range(total // windows.batches_per_epoch(batch, drop_remainder=True) + 1)
    if keras.backend.backend() == "tensorflow":
        source: Any = windows.tf_dataset(batch, epochs=epochs, drop_remainder=True)
    else:
        source = windows.batches(batch, epochs=epochs, drop_remainder=True)
    clock = StepClock()
    net.keras_model.fit(
        source, epochs=1, steps_per_epoch=total, callbacks=[clock], verbose=0, shuffle=False
    )
    assert len(clock.ends) == total, f"ran {len(clock.ends)} of {total} steps"
    return (clock.ends[-1] - clock.ends[warmup - 1]) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lstm-units", default="512,512,512", help="LSTM sizes, bottom first")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per mode")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (>= 1)")
    parser.add_argument("--window", type=int, default=256, help="tokens per window")
    parser.add_argument("--transpose", type=int, default=6, help="random mode's transposition")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 1:
        parser.error("--steps and --warmup must be >= 1")
    units = tuple(int(u) for u in args.lstm_units.split(","))
    config = ModelConfig(lstm_units=units, window=args.window)

    train = load_train()
    vocab = Vocabulary()
    modes = {
        "stride-1 (seed)": TrainConfig(batch_size=args.batch_size, stride=1, seed=args.seed),
        "random+transpose": TrainConfig(
            batch_size=args.batch_size, transpose=args.transpose, seed=args.seed
        ),
    }
    params = BachNet(config).count_params()
    cpus = os.cpu_count()
    print(
        f"JSB train: {len(train)} chorales; LSTM {'x'.join(map(str, units))} "
        f"({params:,} parameters), window {args.window}, batch {args.batch_size}; "
        f"Keras {keras.__version__} ({keras.backend.backend()}), {cpus} CPUs; "
        f"{args.steps} timed steps after {args.warmup} warm-up steps"
    )
    load_before = os.getloadavg()[0]
    rows = []
    for name, train_config in modes.items():
        windows = Windows(
            train,
            vocab,
            length=args.window,
            stride=train_config.stride,
            transpose=train_config.transpose,
            seed=args.seed,
        )
        seconds = time_mode(windows, config, train_config, args.steps, args.warmup)
        tokens_per_s = args.batch_size * args.window / seconds
        epoch = windows.batches_per_epoch(args.batch_size, drop_remainder=True) * seconds
        rows.append((name, windows.per_epoch, tokens_per_s, seconds, epoch))
    load_after = os.getloadavg()[0]

    print(
        f"{'mode':<18} {'windows/epoch':>13} {'tokens/s':>10} {'s/step':>8} {'projected epoch':>16}"
    )
    for name, count, rate, seconds, epoch in rows:
        print(f"{name:<18} {count:>13,} {rate:>10,.0f} {seconds:>8.3f} {_duration(epoch):>16}")
    print(f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after, on {cpus} CPUs")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


if __name__ == "__main__":
    main()
