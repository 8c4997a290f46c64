"""Phrases and fermatas: what a phrase plan costs and what it changes.

(a) Speed, batch 1, best of ``--runs`` after a warm-up, ms per token of the piece written:
    plain generation (no cadence) of 148 steps; today's one-cadence ending (a second pass over
    the piece), asked for 112 steps (it ends after 128-148); a four-phrase plan
    ``[8, 8, 12, 8]`` (148 steps, four cadences, one pass). Target: the plan at most 15 %
    slower than plain generation.
(b) The music, ``--pieces`` pieces of each: the default ending and ``phrases="auto"`` (both
    ``steps=128``), against Bach's JSB test split: where soprano long notes fall in the bar,
    the phrase table (`bachnet.music.phrases.phrase_table`), and the judge's AUC on 8-bar
    excerpts (`bachnet.judge.judge`).

Run:
    python benchmarks/phrases.py                  # the default model, 64 pieces
    python benchmarks/phrases.py --model jsb-small --pieces 32 --no-judge
    python benchmarks/phrases.py --particles 8   # and the plan drawn with 8 particles
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default=None, help="preset or folder (default: the default)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pieces", type=int, default=64)
    parser.add_argument("--no-judge", action="store_true")
    parser.add_argument(
        "--particles", type=int, default=None, help="also the plan drawn with K particles"
    )
    args = parser.parse_args()

    from bachnet import BachNet
    from bachnet.data.reference import reference, reference_phrases
    from bachnet.music.metrics import bar_figures
    from bachnet.music.phrases import phrase_figures, phrase_table

    net = BachNet.from_pretrained(args.model)  # a preset name or a folder; None: the default
    ways = {
        "plain, 148 steps, no cadence": {"steps": 148, "cadence": False},
        "one final cadence (two passes), steps=112": {"steps": 112},
        "four phrases [8, 8, 12, 8] (one pass)": {"phrases": (8, 8, 12, 8)},
    }
    if args.particles:
        label = f"four phrases [8, 8, 12, 8], {args.particles} particles"
        ways[label] = {"phrases": (8, 8, 12, 8), "particles": args.particles}
    print("| generation, batch 1 | steps | s | ms/token |\n| --- | ---: | ---: | ---: |")
    rates = {}
    for label, settings in ways.items():
        net.generate(seed=0, **settings)  # type: ignore[arg-type]  # warm-up, compile
        best, steps = float("inf"), 0
        for run in range(args.runs):
            start = time.perf_counter()
            piece = net.generate(seed=run + 1, **settings)  # type: ignore[arg-type]
            took = time.perf_counter() - start
            if took < best:
                best, steps = took, len(piece)
        rates[label] = 1000 * best / (4 * steps)
        print(f"| {label} | {steps} | {best:.3f} | {rates[label]:.3f} |")
    plain = rates[next(iter(ways))]
    for label in list(ways)[2:]:
        print(f"\n{label} against plain generation: {100 * (rates[label] / plain - 1):+.1f} %")

    test = list(reference("test"))
    pieces = {
        "default ending": net.generate(steps=128, num_samples=args.pieces, seed=0),
        "phrases=auto": net.generate(steps=128, phrases="auto", num_samples=args.pieces, seed=0),
    }
    if args.particles:
        pieces[f"phrases=auto, {args.particles} particles"] = net.generate(
            steps=128, phrases="auto", num_samples=args.pieces, seed=0, particles=args.particles
        )
    print("\n| soprano half notes and longer on beats 1 or 3, % | |\n| --- | ---: |")
    for name, made in pieces.items():
        print(f"| {name} | {bar_figures(made)[0]:.1f} |")  # type: ignore[arg-type]
    print(f"| Bach, JSB test | {bar_figures(test)[0]:.1f} |\n")
    columns = {name: phrase_figures(made) for name, made in pieces.items()}  # type: ignore[arg-type]
    columns["Bach, JSB test"] = reference_phrases("test")
    print(phrase_table(columns))
    if not args.no_judge:
        from bachnet.judge import judge

        print("\n| judge, 8-bar excerpts against Bach's test split | AUC |\n| --- | ---: |")
        for name, made in pieces.items():
            verdict = judge(made, against="test", bars=8, seed=0, name=name)  # type: ignore[arg-type]
            print(f"| {name} | {verdict.auc:.3f} |")


if __name__ == "__main__":
    main()
