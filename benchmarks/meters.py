"""Metres: how models that know the 4/4 bar, the beat, or each piece's own bar do in 3/4.

For each model: (a) NLL on the JSB test split's 4/4 and 3/4 pieces apart, and all together;
(b) ``--pieces`` chorales generated in 3/4 (``meter="3/4"``, 96 steps, seeds 0..) against
Bach's 33 JSB chorales in 3/4: the share of soprano notes of a half note or longer that start
on the downbeat, and where chord changes fall (beats 1, 2, 3, off the beat).

Run:
    python benchmarks/meters.py                              # jsb-bar, jsb-voice, jsb-meter
    python benchmarks/meters.py --models jsb-bar runs/meter/model --pieces 24
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np


def changes(pieces: list) -> list[float]:  # type: ignore[type-arg]
    """% of chord changes on beats 1, 2, 3 of a 3/4 bar and off the beat."""
    counts = np.zeros(4)
    for piece in pieces:
        chords = piece.chords
        moved = np.flatnonzero((chords[1:] != chords[:-1]).any(axis=1)) + 1
        place = (moved - piece.pickup) % piece.bar_steps
        counts += np.bincount(np.where(place % 4 == 0, place // 4, 3), minlength=4)
    return [round(float(x), 1) for x in 100 * counts / counts.sum()]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["jsb-bar", "jsb-voice", "jsb-meter"])
    parser.add_argument("--pieces", type=int, default=12)
    args = parser.parse_args()

    from bachnet import BachNet, Dataset
    from bachnet.music.metrics import bar_figures

    warnings.simplefilter("ignore")  # jsb-bar warns that it knows the 4/4 bar only
    jsb = Dataset.jsb(progress=False)
    test = jsb.split("test")
    by_meter = {meter: [p for p in test if p.meter == meter] for meter in ("4/4", "3/4")}
    bach = [p for p in jsb if p.meter == "3/4"]
    print(
        f"Bach, JSB's {len(bach)} chorales in 3/4: long notes on the downbeat "
        f"{bar_figures(bach)[0]:.1f} %, chord changes on beats 1/2/3/off {changes(bach)}"
    )
    print(
        "| model | architecture | test 4/4 | test 3/4 | test all | 3/4 long on 1 | changes "
        "1/2/3/off | s per piece |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for name in args.models:
        net = BachNet.from_pretrained(name)
        losses = [net.evaluate(pieces)["loss"] for pieces in by_meter.values()]
        losses.append(net.evaluate(test)["loss"])
        start = time.perf_counter()
        made = [net.generate(meter="3/4", steps=96, seed=seed) for seed in range(args.pieces)]
        seconds = (time.perf_counter() - start) / args.pieces
        figures = " | ".join(f"{loss:.4f}" for loss in losses)
        print(
            f"| {name} | {net.config.architecture} | {figures} | {bar_figures(made)[0]:.1f} % "
            f"| {changes(made)} | {seconds:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
