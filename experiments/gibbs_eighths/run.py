"""The filler's written voices passing through thirds in eighths: note-level passes by eighth.

    python experiments/gibbs_eighths/run.py F3 --units beats --judge        # as before
    python experiments/gibbs_eighths/run.py F3 --judge                      # the library's
    python experiments/gibbs_eighths/run.py F3 --leaps 2,1,1,0.5 --judge
    python experiments/gibbs_eighths/run.py F2 --note-steps 12 --judge
    python experiments/gibbs_eighths/run.py F2 --t-min 0.75 --judge

Fills one [fill] task of `benchmarks/fill.py` on JSB's 77 test chorales with
``method="gibbs"`` and the library's Gibbs steps (``--steps`` to change them), as the benchmark
does (the same masks and seeds, so the same pieces), then prints the benchmark's row
(`task_row`), each written voice's share of thirds among its moves and of notes starting on a
beat's third 16th beside Bach's, and with ``--judge`` the judge's report against JSB valid.
``--units`` sets what the note-level passes redraw as one note (``eighths``: the library's
default, `bachnet.generation.gibbs.NOTE_EIGHTHS`; ``beats``: before it); ``--leaps`` and
``--note-steps`` set `LEAPS` and `NOTE_STEPS` for the run, ``--t-min`` the annealing's final
temperature (`GibbsSchedule.t_min`, 0.5). ``--keep FILE`` pickles the pieces.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def motion(pieces: list[Any], voices: list[int]) -> str:
    """Each voice's thirds (% of its moves) and onsets on a beat's third 16th (% of its
    notes), the piece taken to end on a beat."""
    parts = []
    for voice in voices:
        thirds = moves = third_16th = notes = 0
        for piece in pieces:
            line = piece.chords[:, voice]
            place = (np.arange(len(line)) + (-len(line)) % 4) % 4
            starts = np.r_[True, line[1:] != line[:-1]] & (line > 0)
            notes += int(starts.sum())
            third_16th += int((starts & (place == 2)).sum())
            leaps = np.abs(np.diff(line[starts].astype(int)))
            leaps = leaps[leaps > 0]
            moves += len(leaps)
            thirds += int(((leaps == 3) | (leaps == 4)).sum())
        parts.append(
            f"{'SATB'[voice]} thirds {100 * thirds / moves:.1f} %, "
            f"on 16th 3 {100 * third_16th / notes:.1f} %"
        )
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("task", choices=["F1", "F2", "F3", "F4", "F5"])
    parser.add_argument("--steps", type=int, default=None, help="Gibbs steps (library's)")
    parser.add_argument("--units", choices=["eighths", "beats"], default="eighths")
    parser.add_argument("--leaps", default=None, help="S,A,T,B leap costs")
    parser.add_argument("--note-steps", type=int, default=None)
    parser.add_argument("--t-min", type=float, default=None, help="final temperature")
    parser.add_argument("--pieces", type=int, default=77)
    parser.add_argument("--keep", default=None, help="pickle the filled pieces here")
    parser.add_argument("--judge", action="store_true")
    args = parser.parse_args()

    from fill import fill_task, task_row

    from bachnet import BachNet, Dataset
    from bachnet.generation import gibbs

    gibbs.NOTE_EIGHTHS = args.units == "eighths"
    if args.leaps:
        gibbs.LEAPS = tuple(float(x) for x in args.leaps.split(","))
    if args.note_steps is not None:
        gibbs.NOTE_STEPS = args.note_steps
    if args.t_min is not None:
        t_min = args.t_min

        @dataclasses.dataclass(frozen=True)
        class Cooler(gibbs.GibbsSchedule):
            t_min: float = t_min

        gibbs.GibbsSchedule = Cooler  # type: ignore[misc]
    net = BachNet.from_pretrained()
    pieces = list(Dataset.jsb(progress=False).split("test"))[: args.pieces]
    kept, filled, masks, median = fill_task(
        net, args.task, pieces, method="gibbs", gibbs_steps=args.steps
    )
    print(task_row(args.task, kept, filled, masks, median, False))
    written = [v for v in range(4) if any(m[:, v].all() for m in masks)] or [0, 1, 2, 3]
    print("filled:", motion(filled, written))
    print("Bach:  ", motion(kept, written))
    if args.keep:
        with open(args.keep, "wb") as out:
            pickle.dump(filled, out)
    if args.judge:
        from bachnet.judge import judge

        print(judge(filled, against="valid", name=args.task).report())


if __name__ == "__main__":
    main()
