"""Generation speed at batch 1 of several models side by side, in ms per token.

Each model writes ``--steps`` steps (4 tokens each) with no rules and no cadence (the model
alone, as the [model] issue measures it), after one warm-up call that compiles the decoder.
The models take turns, ``--rounds`` rounds of ``--repeats`` calls each, so that a drift of
the machine's speed touches all of them alike; the best call of each round is printed, then
each model's best over all rounds. Then (``--pairs N``, 0 to skip) the models take turns N
times more, one call each in alternating order, and each model's time is divided by the
first model's in the same turn: the median of those ratios and its quartiles, the figure
that a drift of the machine's speed touches least.

Run:
    python benchmarks/batch1.py                                  # jsb-beat, jsb-meter, jsb-keys
    python benchmarks/batch1.py --models jsb-beat RUN/model --steps 512
    taskset -c 0 python benchmarks/batch1.py --models jsb-beat jsb-lean --pairs 40
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["jsb-beat", "jsb-meter", "jsb-keys"])
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=0)
    args = parser.parse_args()

    import numpy as np

    from bachnet import BachNet

    models = {name: BachNet.from_pretrained(name) for name in args.models}
    for net in models.values():
        net.generate(steps=args.steps, seed=0, rules=None, cadence=None)  # compile
    tokens = 4 * args.steps
    best = dict.fromkeys(models, float("inf"))
    for round_ in range(1, args.rounds + 1):
        for name, net in models.items():
            times = []
            for seed in range(args.repeats):
                start = time.perf_counter()
                net.generate(steps=args.steps, seed=seed, rules=None, cadence=None)
                times.append(time.perf_counter() - start)
            ms = 1000 * min(times) / tokens
            best[name] = min(best[name], ms)
            print(f"round {round_}  {name:24s} {ms:.3f} ms/token", flush=True)
    print("best of all rounds:")
    for name, ms in best.items():
        print(f"  {name:24s} {ms:.3f} ms/token")
    if args.pairs:
        names = list(models)
        times = np.zeros((args.pairs, len(names)))
        for turn in range(args.pairs):
            for index in range(len(names))[:: 1 if turn % 2 == 0 else -1]:
                start = time.perf_counter()
                models[names[index]].generate(steps=args.steps, seed=turn, rules=None, cadence=None)
                times[turn, index] = time.perf_counter() - start
        ratios = times / times[:, :1]
        print(f"against {names[0]}, {args.pairs} turns (median ratio, quartiles):")
        for index, name in enumerate(names):
            low, middle, high = np.percentile(ratios[:, index], [25, 50, 75])
            print(f"  {name:24s} {middle:.3f} ({low:.3f}-{high:.3f})")


if __name__ == "__main__":
    main()
