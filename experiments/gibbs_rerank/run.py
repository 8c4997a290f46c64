"""The filler's drafts chosen by the token model: does the likeliest of K Gibbs drafts sound
more like Bach than one draft?

For each [fill] task (``benchmarks/fill.py``'s masks, JSB's 77 test chorales), the bundled
filler draws ``K`` versions of each piece in one batch (`bachnet.generation.gibbs`, the same
call as ``BachNet.fill(method="gibbs", num_samples=K)``); the token model (``--model``, default
the bundled one) scores each whole version (`bachnet.model.scoring.nll_per_piece`) and keeps
the likeliest. With ``--splice``, the choice is made bar by bar instead: going left to right,
each bar is taken from the draft whose version of it and of the next bar the token model finds
likeliest after the bars already chosen (the drafts agree on every kept note, so any bar of
one follows any bar of another). Printed per task: the `benchmarks/fill.py` row of the first
draft (one draw) and of the chosen one, on the same drafts.

Run:
    python experiments/gibbs_rerank/run.py --tasks F2 F3 F4 -k 4 --judge
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def spliced(net: Any, drafts: list[Any], mask: Any) -> Any:
    """Bar by bar, left to right, the draft whose bar (and next bar) scores best after the
    bars already chosen, among those that make no parallel fifth or octave at either seam of
    the bar (all of them if none is clean); bars where nothing is written are every draft's."""
    import numpy as np
    from fill import BAR, parallels

    from bachnet.model.scoring import nll_per_piece

    steps = len(drafts[0])
    edges = sorted({0, steps, *range(steps % BAR, steps, BAR)})  # bars as task_mask's
    chords = drafts[0].chords.copy()
    for i, (start, end) in enumerate(itertools.pairwise(edges)):
        if not mask[start:end].any():
            continue
        ahead = edges[min(i + 2, len(edges) - 1)]
        trials = []
        for draft in drafts:
            trial = chords[:ahead].copy()
            trial[start:ahead] = draft.chords[start:ahead]
            trials.append(draft.replace(trial))
        scores = nll_per_piece(net, trials)
        seams = [s for s in (start - 1, end - 1) if 0 <= s < ahead - 1]
        clean = np.array([parallels(t.chords)[seams].sum() == 0 for t in trials])
        if clean.any():
            scores = np.where(clean, scores, np.inf)
        chords[start:end] = drafts[int(np.argmin(scores))].chords[start:end]
    return drafts[0].replace(chords)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--tasks", nargs="*", default=["F2", "F3", "F4"])
    parser.add_argument("--pieces", type=int, default=77)
    parser.add_argument("-k", type=int, default=4, help="drafts per piece")
    parser.add_argument("--judge", action="store_true")
    parser.add_argument("--splice", action="store_true", help="choose bar by bar")
    args = parser.parse_args()

    import numpy as np
    from fill import task_mask, task_row

    from bachnet import BachNet, Dataset
    from bachnet.model.scoring import nll_per_piece

    net = BachNet.from_pretrained(args.model)
    pieces = list(Dataset.jsb(progress=False).split("test"))[: args.pieces]
    print(f"model {net!r}; gibbs, {args.k} drafts; {len(pieces)} test chorales", flush=True)
    for task in args.tasks:
        kept, first, chosen, masks, seconds, gains = [], [], [], [], [], []
        for index, piece in enumerate(pieces):
            mask = task_mask(task, len(piece), seed=index)
            if mask is None:
                continue
            start = time.perf_counter()
            drafts = net.fill(piece, mask, seed=index, method="gibbs", num_samples=args.k)
            drafts = drafts if isinstance(drafts, list) else [drafts]
            nll = nll_per_piece(net, drafts)
            best = spliced(net, drafts, mask) if args.splice else drafts[int(np.argmin(nll))]
            seconds.append(time.perf_counter() - start)
            gains.append(nll[0] - nll_per_piece(net, [best])[0])
            kept.append(piece)
            masks.append(mask)
            first.append(drafts[0])
            chosen.append(best)
        median = f"{np.median(seconds):.2f}"
        print(f"{task}: NLL gain of the chosen over the first draft {np.mean(gains):.4f}")
        print(task_row(task + " first", kept, first, masks, median, args.judge), flush=True)
        label = f" spliced from {args.k}" if args.splice else f" best of {args.k}"
        print(
            task_row(task + label, kept, chosen, masks, median, args.judge),
            flush=True,
        )


if __name__ == "__main__":
    main()
