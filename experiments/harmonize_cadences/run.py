"""Cadences under the fermatas of Bach's test sopranos: what a harmonisation writes there.

Usage: python experiments/harmonize_cadences/run.py [--model jsb-keys] [--offset 0] [--plain]
       [--rules JSON] [--method auto] [--candidates 8] [--pieces N]

Harmonises the 77 JSB test sopranos (``fill`` of alto, tenor and bass, as ``benchmarks/fill.py``
does for F4; piece ``i`` with seed ``offset + i``), with their fermatas or, with ``--plain``,
without them (no cadence set: the library before 2026-12-06). Prints the cadences read back at
Bach's fermatas (`bachnet.music.phrases.phrase_figures`) beside Bach's own, the share of Bach's
alto, tenor and bass notes recovered, parallel fifths / octaves per 100 chord changes (and how
many fall on changes into an approach beat or a fermata chord), seconds per piece, and the
judge's AUC against JSB valid on 4- and 8-bar excerpts.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--plain", action="store_true", help="hide the fermatas")
    parser.add_argument("--rules", default=None, help="a JSON list of rule specs (default rules)")
    parser.add_argument("--method", default="auto", help="fill's method (default: auto)")
    parser.add_argument("--candidates", type=int, default=8, help="draws, beam width, particles")
    parser.add_argument("--pieces", type=int, default=None, help="only the first N test pieces")
    args = parser.parse_args()

    import json

    import numpy as np

    from bachnet import BachNet, Dataset
    from bachnet.judge import judge
    from bachnet.music.metrics import measure, parallel_motion
    from bachnet.music.phrases import phrase_figures

    net = BachNet.from_pretrained(args.model)
    rules = "default" if args.rules is None else json.loads(args.rules)
    bach = list(Dataset.jsb(progress=False).split("test"))[: args.pieces]
    pieces, seconds = [], []
    for i, piece in enumerate(bach):
        given = piece.replace(fermatas=()) if args.plain else piece
        start = time.perf_counter()
        done = net.fill(
            given, given.mask(voices="ATB"), seed=args.offset + i, rules=rules,
            method=args.method, candidates=args.candidates,
        )  # fmt: skip
        seconds.append(time.perf_counter() - start)
        pieces.append(done.replace(fermatas=piece.fermatas))
    for name, group in (("Bach", bach), ("harmonised", pieces)):
        figures = phrase_figures(group)
        kinds = " / ".join(f"{figures.cadences[k]:.1f}" for k in ("authentic", "half", "other"))
        print(f"{name}: cadences authentic / half / other {kinds} %, "
              f"last authentic in the home key {figures.last_authentic_tonic:.1f} %")  # fmt: skip
    pairs = zip(pieces, bach, strict=True)
    same = sum(int((p.chords[:, 1:] == b.chords[:, 1:]).sum()) for p, b in pairs)
    print(f"Bach's notes recovered {100 * same / sum(b.chords[:, 1:].size for b in bach):.1f} %")
    at_cadences = changes = 0
    for piece in pieces:
        chords = piece.chords.astype(np.int64)
        moved = np.flatnonzero((chords[1:] != chords[:-1]).any(axis=1)) + 1
        fifths, octaves = parallel_motion(chords[moved - 1], chords[moved])
        near = [any(f - 4 <= s <= f for f in piece.fermatas) for s in moved]
        at_cadences += int(((fifths | octaves).any(axis=1) & np.array(near, bool)).sum())
        changes += len(moved)
    style = measure(pieces)
    print(f"parallel fifths / octaves per 100 changes {style.parallel_fifths:.2f} / "
          f"{style.parallel_octaves:.2f} ({at_cadences} changes with one into an approach beat "
          f"or a fermata chord, of {changes})")  # fmt: skip
    print(f"s per piece (median) {np.median(seconds):.2f}")
    for bars in (4, 8):
        verdict = judge(pieces, against="valid", bars=bars, seed=0)
        print(f"judge, {bars} bars: {verdict.auc:.3f}")


if __name__ == "__main__":
    main()
