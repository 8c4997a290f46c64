"""Judge models with and without a phrase plan: 4- and 8-bar excerpts, the bar and the phrases.

Usage: python experiments/phrase_lstm_run/judge.py MODEL [MODEL ...] [--pieces 256]

For each model (a preset name or a folder) and each way of composing (the default ending;
``phrases="auto"``), ``--pieces`` pieces of ``--steps`` steps (seeds ``0..pieces-1``, as
``bachnet judge --model`` draws them), then: the judge's AUC against Bach's test split on
4-bar and 8-bar excerpts (`bachnet.judge.judge`, seed 0), the soprano's half notes and
longer on beats 1 or 3 (`bachnet.music.metrics.bar_figures`), the phrases read back
(`bachnet.music.phrases.phrase_figures`): median length, authentic and half cadences, the
last phrase an authentic cadence in the home key. One Markdown row per model and way.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--pieces", type=int, default=256)
    parser.add_argument("--steps", type=int, default=192)
    parser.add_argument("--ways", default="default,phrases", help="default, phrases or both")
    args = parser.parse_args()

    from bachnet import BachNet
    from bachnet.judge import judge
    from bachnet.music.metrics import bar_figures
    from bachnet.music.phrases import phrase_figures

    ways = {"default ending": {}, 'phrases="auto"': {"phrases": "auto"}}
    chosen = [w for w, key in zip(ways, ("default", "phrases"), strict=True) if key in args.ways]
    print(
        "| model | composed | judge 4 bars | judge 8 bars | soprano long notes on 1/3 % "
        "| phrase length (median quarters) | authentic / half cadences % "
        "| last phrase authentic in the home key % | s |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for model in args.models:
        net = BachNet.from_pretrained(model)
        for way in chosen:
            start = time.perf_counter()
            pieces = net.generate(steps=args.steps, num_samples=args.pieces, seed=0, **ways[way])
            took = time.perf_counter() - start
            assert isinstance(pieces, list)
            four = judge(pieces, against="test", bars=4, seed=0)
            eight = judge(pieces, against="test", bars=8, seed=0)
            figures = phrase_figures(pieces)
            kinds = figures.cadences
            (low4, high4), (low8, high8) = four.test.interval, eight.test.interval
            print(
                f"| {model} | {way} | {four.auc:.3f} ({low4:.3f}-{high4:.3f}) "
                f"| {eight.auc:.3f} ({low8:.3f}-{high8:.3f}) "
                f"| {bar_figures(pieces)[0]:.1f} | {figures.median_length:g} "
                f"| {kinds.get('authentic', 0.0):.1f} / {kinds.get('half', 0.0):.1f} "
                f"| {figures.last_authentic_tonic:.1f} | {took:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
