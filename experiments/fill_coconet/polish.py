"""Polish left-to-right pieces with the Coconet model: redraw a random share of their notes
from everything around them (past, future, other voices), then judge the result.

    python experiments/fill_coconet/polish.py IN OUT [--share 0.25] [--steps 8] [-n 64]

The last two bars (the cadence) are kept; every other unit (``block`` steps of one voice) is
redrawn with probability ``share`` by annealed blocked Gibbs sampling (`coconet.gibbs_fill`),
one piece at a time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import coconet as C  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--weights", type=Path, default=HERE / "run_gpu" / "best.weights.h5")
    ap.add_argument("--share", type=float, default=0.25)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("--block", type=int, default=1, help="steps per redrawn unit (4 = a beat)")
    args = ap.parse_args()
    meta = json.loads((args.weights.parent / "best.json").read_text())
    model = C.build_model(C.CoconetConfig(**meta["config"]))
    model.load_weights(str(args.weights))
    args.out.mkdir(parents=True, exist_ok=True)
    files = sorted(args.source.glob("*.csv"), key=lambda p: int(p.stem))[: args.n]
    rng = np.random.default_rng(0)
    schedule = C.GibbsSchedule(steps=args.steps)
    start = time.time()
    for k, path in enumerate(files):
        piece = C.load_csv(str(path))
        units = rng.random((-(-len(piece) // args.block), piece.shape[1])) < args.share
        mask = np.repeat(units, args.block, axis=0)[: len(piece)]
        mask[-2 * C.BAR :] = False
        mask &= piece > 0
        filled = C.gibbs_fill(model, piece, mask, schedule=schedule, seed=k)
        lines = ["note0,note1,note2,note3"] + [",".join(map(str, row)) for row in filled]
        (args.out / path.name).write_text("\n".join(lines) + "\n")
        if k % 8 == 7:
            print(f"{k + 1}/{len(files)} pieces, {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
