"""Phrased pieces with the beats before each inner fermata redrawn by the filler.

    python experiments/phrase_refill/run.py [--model jsb-keys] [--pieces 128] [--beats 2]

``phrases="auto"`` pieces of ``--steps`` steps (seeds ``0..pieces-1``, as
`experiments/phrase_lstm_run/judge.py` draws them), then the same pieces with the ``--beats``
beats before each inner fermata (every voice; the fermata chord kept) redrawn at once by the
whole-texture filler (``fill(..., method="gibbs")``): left to right, the plan forces one
approach chord for the whole beat and the music slows where Bach's moves fastest. Per
version: the judge's AUC against JSB test (4 and 8 bars), the phrases read back and the chord
changes per beat around each inner fermata.
"""

from __future__ import annotations

import argparse
import os
import pickle

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="jsb-keys")
    parser.add_argument("--pieces", type=int, default=128)
    parser.add_argument("--steps", type=int, default=192)
    parser.add_argument("--beats", type=int, default=2)
    parser.add_argument("--load", default=None, help="pickled phrased pieces to start from")
    parser.add_argument("--keep", default=None, help="pickle (phrased, redrawn) here")
    args = parser.parse_args()

    import numpy as np

    from bachnet import BachNet
    from bachnet.judge import judge
    from bachnet.music.phrases import phrase_figures

    net = BachNet.from_pretrained(args.model)
    if args.load:
        with open(args.load, "rb") as file:
            pieces = pickle.load(file)[0]
    else:
        pieces = net.generate(steps=args.steps, num_samples=args.pieces, seed=0, phrases="auto")
    redrawn = []
    for index, piece in enumerate(pieces):
        mask = np.zeros((len(piece), 4), bool)
        for fermata in piece.fermatas[:-1]:  # the last cadence stays as it is
            mask[max(0, fermata - 4 * args.beats) : fermata] = True
        redrawn.append(net.fill(piece, mask, method="gibbs", seed=index) if mask.any() else piece)
    if args.keep:
        with open(args.keep, "wb") as file:
            pickle.dump((pieces, redrawn), file)
    for name, version in (("phrased", pieces), ("redrawn", redrawn)):
        four = judge(version, against="test", bars=4, seed=0)
        eight = judge(version, against="test", bars=8, seed=0)
        kinds = phrase_figures(version).cadences
        print(
            f"| {name} | {four.auc:.3f} | {eight.auc:.3f} "
            f"| {kinds.get('authentic', 0.0):.1f} / {kinds.get('half', 0.0):.1f} |",
            flush=True,
        )
        print("\n".join(eight.report().splitlines()[3:9]), flush=True)


if __name__ == "__main__":
    main()
