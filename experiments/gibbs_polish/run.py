"""A left-to-right harmonisation polished by the filler.

    python experiments/gibbs_polish/run.py --steps 8 --p-max 0.3 --judge
    python experiments/gibbs_polish/run.py --steps 0 --judge        # the draft alone

Fills the [fill] task F4 (alto, tenor and bass under Bach's soprano; or ``--task``) of
`benchmarks/fill.py` on JSB's 77 test chorales as the library does (``method="auto"``: for
F4 the token model's rerank of 8 drafts), then hands each piece to the filler as a draft
(`bachnet.generation.gibbs.draw_gibbs(..., draft=True)`): ``--steps`` annealed Gibbs steps
that each redraw a fraction of the written cells, falling from ``--p-max`` to
`GibbsSchedule.p_min`, at a temperature falling from ``--t-max`` to ``--t-min``, with the
library's note-level passes (passing eighths, late passes; ``--suspension`` pays
suspensions). A harmonisation keeps its opening and closing tonic chords and its cadences'
pitch classes (`bachnet.generation.harmonize.harmony_classes`). Prints `benchmarks/fill.py`'s
row for the draft and the polished pieces, the written voices' thirds, onsets and
suspensions beside Bach's, and with ``--judge`` the judge's report against JSB valid.
``--keep FILE`` pickles the polished pieces; ``--drafts FILE`` the drafts, read back from
there when the file exists (their seconds are then not the draft's).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gibbs_texture"))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--task", default="F4", choices=["F1", "F2", "F3", "F4", "F5"])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--p-max", type=float, default=0.3)
    parser.add_argument("--t-max", type=float, default=1.0)
    parser.add_argument("--t-min", type=float, default=0.5)
    parser.add_argument("--suspension", type=float, default=None, help="SUSPENSION")
    parser.add_argument("--pieces", type=int, default=77)
    parser.add_argument("--keep", default=None, help="pickle the polished pieces here")
    parser.add_argument("--drafts", default=None, help="pickle of the drafts: read if there")
    parser.add_argument("--judge", action="store_true")
    args = parser.parse_args()

    from fill import task_mask, task_row
    from run import motion, suspensions

    from bachnet import BachNet, Dataset
    from bachnet.generation import gibbs
    from bachnet.generation.config import GenerationConfig
    from bachnet.generation.harmonize import harmony_classes

    if args.suspension is not None:
        gibbs.SUSPENSION = args.suspension

    @dataclass(frozen=True)
    class Polish(gibbs.GibbsSchedule):
        p_max: float = args.p_max
        t_max: float = args.t_max
        t_min: float = args.t_min

    gibbs.GibbsSchedule = Polish  # type: ignore[misc]
    net = BachNet.from_pretrained()
    config = GenerationConfig(gibbs_steps=max(args.steps, 1))
    pieces = list(Dataset.jsb(progress=False).split("test"))[: args.pieces]
    cached = None
    if args.drafts and Path(args.drafts).exists():
        with open(args.drafts, "rb") as file:
            cached = pickle.load(file)
    kept, drafts, polished, masks = [], [], [], []
    draft_s, polish_s = [], []
    for index, piece in enumerate(pieces):
        mask = task_mask(args.task, len(piece), seed=index)
        if mask is None:
            continue
        start = time.perf_counter()
        draft = cached[len(drafts)] if cached else net.fill(piece, mask, seed=index)
        draft_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        if args.steps:
            classes = None
            if args.task == "F4":
                ranges = config.ranges_for(net)
                classes = harmony_classes(
                    piece.chords[:, 0], piece.fermatas, net.vocab, ranges, index
                )
            done = gibbs.draw_gibbs(
                net, draft.chords, mask, config, seed=index, pitch_classes=classes, draft=True
            )[0]
            done = piece.replace(done.chords, name=draft.name)
        else:
            done = draft
        polish_s.append(time.perf_counter() - start)
        kept.append(piece)
        drafts.append(draft)
        polished.append(done)
        masks.append(mask)
        assert (done.chords[~mask] == piece.chords[~mask]).all()
    print(task_row(args.task, kept, drafts, masks, f"{np.median(draft_s):.2f}", False))
    print(task_row(args.task, kept, polished, masks, f"{np.median(polish_s):.2f}", False))
    written = [v for v in range(4) if any(m[:, v].all() for m in masks)] or [0, 1, 2, 3]
    for label, group in (("draft:", drafts), ("polished:", polished), ("Bach:", kept)):
        print(f"{label:10}", motion(group, written) + "; " + suspensions(group, written))
    if args.drafts and not cached:
        with open(args.drafts, "wb") as out:
            pickle.dump(drafts, out)
    if args.keep:
        with open(args.keep, "wb") as out:
            pickle.dump(polished, out)
    if args.judge:
        from bachnet.judge import judge

        name = f"{args.task} polished: {args.steps} steps from p {args.p_max}"
        name += f", t {args.t_max}-{args.t_min}, suspension {gibbs.SUSPENSION}"
        print(judge(polished, against="valid", name=name).report())


if __name__ == "__main__":
    main()
