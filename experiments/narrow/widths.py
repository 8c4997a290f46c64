"""[model] lever: what a step costs at other widths, beside `jsb-beat`.

    taskset -c 0 python experiments/narrow/widths.py [--widths 384 368 360 352 320]
                                                     [--two-shifts 320 304] [--pairs 30]

Builds `jsb-keys`' network (a ``meter_lstm``, read once) at each width with random weights
(the time of a step does not depend on the weights) and, for ``--two-shifts``, at those widths
read at shifts 0 and +1; then the models and `jsb-beat` take turns writing 256 steps at batch 1
without rules or cadence, ``--pairs`` times, in alternating order. Prints each model's median
time per token divided by `jsb-beat`'s in the same turn, with the quartiles.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="*", default=[384, 368, 360, 352, 320])
    parser.add_argument("--two-shifts", type=int, nargs="*", default=[320, 304])
    parser.add_argument("--pairs", type=int, default=30)
    args = parser.parse_args()

    import numpy as np

    from bachnet import BachNet

    keys = BachNet.from_pretrained("jsb-keys")
    nets = {"jsb-beat": BachNet.from_pretrained("jsb-beat")}
    for width, shifts in [(w, ()) for w in args.widths] + [(w, (0, 1)) for w in args.two_shifts]:
        config = dataclasses.replace(keys.config, lstm_units=(width, width), shifts=shifts)
        nets[f"2 x {width}" + (" at shifts 0, 1" if shifts else "")] = BachNet(config, keys.vocab)
    for net in nets.values():
        net.generate(steps=256, seed=0, rules=None, cadence=False)  # compile
    names = list(nets)
    times = np.zeros((args.pairs, len(names)))
    for turn in range(args.pairs):
        for index in range(len(names))[:: 1 if turn % 2 == 0 else -1]:
            start = time.perf_counter()
            nets[names[index]].generate(steps=256, seed=turn, rules=None, cadence=False)
            times[turn, index] = time.perf_counter() - start
    ratios = times / times[:, :1]
    for index, name in enumerate(names):
        low, middle, high = np.percentile(ratios[:, index], [25, 50, 75])
        ms = 1000 * np.median(times[:, index]) / 1024
        print(f"{name:24s} {ms:.3f} ms/token, {middle:.3f} x jsb-beat ({low:.3f}-{high:.3f})")


if __name__ == "__main__":
    main()
