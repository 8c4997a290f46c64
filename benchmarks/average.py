"""Weight averaging probe: fine-tune a trained run at a constant learning rate and average
its weights once per epoch (SWA), scoring both on whole validation chorales.

Starts from a run folder's last checkpoint (weights and Nadam state), trains on random
transposed windows of the train split, and every ``--every`` epochs prints the validation NLL
(nats/token, whole chorales as `BachNet.evaluate` reads them) of the raw weights and of the
running average of the weights at each epoch's end. Used to measure item (d) of the
[quality] ablation on the default preset's run.

Run (the run folder of ``bachnet train -o RUN ...``):
    python benchmarks/average.py RUN --lr 6e-5 --epochs 10
    python benchmarks/average.py RUN --lr 1e-4 --epochs 15 --window 512 --batch-size 32
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder with model/ and checkpoints/")
    parser.add_argument("--lr", type=float, default=6e-5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import keras
    import numpy as np

    from bachnet import BachNet, Dataset, Windows
    from bachnet.training.fit import _source

    state = json.loads((args.run / "state.json").read_text(encoding="utf-8"))
    checkpoint = args.run / state["checkpoint"]
    net = BachNet.load(args.run / "model")
    model = net.keras_model
    model.load_weights(str(checkpoint / "model.weights.h5"))
    data = Dataset.jsb()
    valid = data.split("valid")
    print(f"start ({state['checkpoint']}): valid NLL {net.evaluate(valid)['loss']:.4f}", flush=True)
    keras.utils.set_random_seed(args.seed)
    windows = Windows(
        data.split("train"),
        net.vocab,
        length=args.window,
        transpose=6,
        seed=args.seed,
        align=net.network.align,
        lead=net.network.lead if net.network.pad_lead else 0,
    )
    optimizer = keras.optimizers.Nadam(learning_rate=args.lr, clipnorm=1.0)
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(True))
    optimizer.build(model.trainable_variables)
    with np.load(checkpoint / "optimizer.npz", allow_pickle=False) as saved:
        for i, variable in enumerate(optimizer.variables):
            variable.assign(saved[f"v{i}"])
    optimizer.learning_rate.assign(args.lr)
    batches = _source(windows, args.batch_size, range(args.epochs), True)
    steps = windows.batches_per_epoch(args.batch_size, drop_remainder=True)
    average: list[np.ndarray] | None = None
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.fit(batches, epochs=epoch + 1, initial_epoch=epoch, steps_per_epoch=steps, verbose=0)
        weights = [np.array(w) for w in model.get_weights()]
        n = epoch + 1
        average = (
            weights
            if average is None
            else [a + (w - a) / n for a, w in zip(average, weights, strict=True)]
        )
        if n % args.every == 0:
            raw = net.evaluate(valid)["loss"]
            model.set_weights(average)
            averaged = net.evaluate(valid)["loss"]
            model.set_weights(weights)
            seconds = time.perf_counter() - start
            print(f"epoch {n}: {seconds:.0f} s, raw {raw:.4f}, averaged {averaged:.4f}", flush=True)


if __name__ == "__main__":
    main()
