"""[form] lever: the beat before each planned fermata left to move.

    python experiments/approach_motion/run.py [--loose STEPS] [--pieces 256] [--seed 0]

A phrase plan (`generate(phrases="auto")`) asks for a cadence's approach chord in every voice
for the whole beat before its fermata (`bachnet.music.cadence.cadence_rows`), so that beat
stands still, where Bach's music moves most. ``--loose STEPS`` sets
`bachnet.music.cadence.APPROACH_LOOSE`: the approach beat's first STEPS 16ths keep the upper
voices only to the scale of the key the cadence is in (`loosen_approach`); the bass keeps its
one pitch and the approach chord is asked for in the rest of the beat. Prints, for
``phrases="auto"`` pieces of 192 steps (seeds SEED..), what each approach beat does beside
Bach's (JSB test's inner fermatas), the cadences read back, parallels, and the judge's AUC
against JSB test on 4- and 8-bar excerpts with its first giveaways.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def approach_figures(pieces: Sequence[Any]) -> str:
    """Over the beat before each inner fermata: strikes (16ths with a new note in some voice),
    each voice's share of beats with a new note after the beat's first 16th, and the share
    of beats whose last chord is the first one."""
    import numpy as np

    beats = strikes = still = 0
    moved = np.zeros(4)
    for piece in pieces:
        chords, onsets = np.asarray(piece.chords), np.asarray(piece.onsets)
        for fermata in list(piece.fermatas)[:-1]:
            start = fermata - 4
            if start < 1 or fermata >= len(chords):
                continue
            beats += 1
            strikes += int(onsets[start:fermata].any(axis=1).sum())
            moved += onsets[start + 1 : fermata].any(axis=0)
            still += bool((chords[start] == chords[fermata - 1]).all())
    shares = " / ".join(f"{100 * m / beats:.1f}" for m in moved)
    return (
        f"{beats} approach beats: strikes per beat {strikes / beats:.2f}; a new note inside "
        f"the beat S / A / T / B {shares} %; the same chord throughout {100 * still / beats:.1f} %"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="jsb-keys")
    parser.add_argument("--loose", type=int, default=0)
    parser.add_argument("--pieces", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=192)
    args = parser.parse_args()

    from bachnet import BachNet, Dataset
    from bachnet.judge import judge
    from bachnet.music import cadence
    from bachnet.music.metrics import measure
    from bachnet.music.phrases import phrase_figures

    cadence.APPROACH_LOOSE = args.loose
    bach = [p for p in Dataset.jsb(progress=False).split("test") if p.fermatas]
    print("Bach (JSB test):", approach_figures(bach))
    net = BachNet.from_pretrained(args.model)
    pieces: list[Any] = []
    for seed in range(args.seed, args.seed + args.pieces, 64):
        drawn = net.generate(steps=args.steps, num_samples=64, seed=seed, phrases="auto")
        pieces += drawn if isinstance(drawn, list) else [drawn]
    print(f"--loose {args.loose}:", approach_figures(pieces))
    kinds = phrase_figures(pieces).cadences
    figures = measure(pieces)
    print(
        f"cadences authentic / half {kinds.get('authentic', 0.0):.1f} / "
        f"{kinds.get('half', 0.0):.1f} %; parallel fifths / octaves per 100 changes "
        f"{figures.parallel_fifths:.2f} / {figures.parallel_octaves:.2f}"
    )
    four = judge(pieces, against="test", bars=4, seed=0)
    eight = judge(pieces, against="test", bars=8, seed=0)
    print(f"judge 4 bars {four.auc:.3f}, 8 bars {eight.auc:.3f}")
    print("\n".join(eight.report().splitlines()[3:9]))


if __name__ == "__main__":
    main()
