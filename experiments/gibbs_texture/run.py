"""The filler's late note-level passes, notes on a beat's fourth 16th, and passing eighths.

    python experiments/gibbs_texture/run.py F2 --late 0 --fourth none --passing 0 --judge
    python experiments/gibbs_texture/run.py F2 --late-t step --fourth none --passing 0 --judge
    python experiments/gibbs_texture/run.py F2 --fourth none --passing 0 --judge
    python experiments/gibbs_texture/run.py F2 --passing 0 --judge
    python experiments/gibbs_texture/run.py F2 --judge                       # the library's

Fills one [fill] task of `benchmarks/fill.py` on JSB's 77 test chorales with
``method="gibbs"`` (the same masks and seeds as the benchmark, so the same pieces) and prints
the benchmark's row (`task_row`), each written voice's thirds (% of its moves) and its notes
starting on each 16th of the beat (% of its notes) beside Bach's, and with ``--judge`` the
judge's report against JSB valid. Four settings of `bachnet.generation.gibbs` can be moved
from the library's (the defaults here):

- ``--late K`` (`LATE_NOTE_STEPS`, 4): note-level passes after each of the last K steps where
  whole voices are written, at ``--late-t`` (`LATE_TEMPERATURE`, 1.0; ``step``: the step's);
- ``--fourth X`` (`OFFBEAT_FOURTH`, 1.5): what a note starting on a beat's fourth 16th costs,
  not redrawn for it; ``none``: `OFFBEAT` and redrawn, as before;
- ``--passing P`` (`PASSING`, 2.0; 1.0 until 2026-12-07): what the note-level passes pay
  an eighth of its own on a beat's second eighth for moving on;
- ``--unison U`` (`UNISON`, 0.0): what they pay a note that starts in unison with a
  neighbouring voice;
- ``--suspension X`` (`SUSPENSION`, 0.0): what they pay a note on a beat held over from
  before it, dissonant there, that then steps down.

``--keep FILE`` pickles the pieces.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def motion(pieces: list[Any], voices: list[int]) -> str:
    """Each voice's thirds (% of its moves) and notes starting on the beat's 16ths 1-4 (% of
    its notes), the piece taken to end on a beat."""
    parts = []
    for voice in voices:
        counts = np.zeros(4)
        thirds = moves = 0
        for piece in pieces:
            line = piece.chords[:, voice]
            place = (np.arange(len(line)) + (-len(line)) % 4) % 4
            starts = np.r_[True, line[1:] != line[:-1]] & (line > 0)
            counts += np.bincount(place[starts], minlength=4)
            leaps = np.abs(np.diff(line[starts].astype(int)))
            leaps = leaps[leaps > 0]
            moves += len(leaps)
            thirds += int(((leaps == 3) | (leaps == 4)).sum())
        share = " / ".join(f"{100 * c / counts.sum():.1f}" for c in counts)
        parts.append(f"{'SATB'[voice]} thirds {100 * thirds / moves:.1f} %, onsets {share} %")
    return "; ".join(parts)


def suspensions(pieces: list[Any], voices: list[int]) -> str:
    """Suspensions in the voices, per 100 beats: a note held over a beat, dissonant there
    against another voice (a second or seventh, or a fourth with the bass), whose next pitch
    is a step below it."""
    beats = count = 0
    for piece in pieces:
        c = piece.chords.astype(int)
        n = len(c)
        for t in range(1, n):
            if (t + (-n) % 4) % 4:
                continue
            beats += 1
            for v in voices:
                x = c[t, v]
                if x <= 0 or c[t - 1, v] != x:
                    continue
                clash = any(
                    abs(x - c[t, w]) % 12 in (1, 2, 10, 11)
                    or (3 in (v, w) and abs(x - c[t, w]) % 12 == 5)
                    for w in range(4)
                    if w != v and c[t, w] > 0
                )
                u = t + 1
                while u < n and c[u, v] == x:
                    u += 1
                count += clash and u < n and 1 <= x - c[u, v] <= 2
    return f"suspensions {100 * count / beats:.1f} /100 beats"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("task", choices=["F1", "F2", "F3", "F4", "F5"])
    parser.add_argument("--late", type=int, default=None, help="LATE_NOTE_STEPS")
    parser.add_argument("--late-t", default=None, help="LATE_TEMPERATURE, or 'step'")
    parser.add_argument("--fourth", default=None, help="OFFBEAT_FOURTH, or 'none'")
    parser.add_argument("--passing", type=float, default=None, help="PASSING")
    parser.add_argument("--unison", type=float, default=None, help="UNISON")
    parser.add_argument("--suspension", type=float, default=None, help="SUSPENSION")
    parser.add_argument("--pieces", type=int, default=77)
    parser.add_argument("--keep", default=None, help="pickle the filled pieces here")
    parser.add_argument("--judge", action="store_true")
    args = parser.parse_args()

    from fill import fill_task, task_row

    from bachnet import BachNet, Dataset
    from bachnet.generation import gibbs

    if args.late is not None:
        gibbs.LATE_NOTE_STEPS = args.late
    if args.late_t is not None:
        gibbs.LATE_TEMPERATURE = None if args.late_t == "step" else float(args.late_t)
    if args.fourth is not None:
        gibbs.OFFBEAT_FOURTH = None if args.fourth == "none" else float(args.fourth)
    if args.passing is not None:
        gibbs.PASSING = args.passing
    if args.unison is not None:
        gibbs.UNISON = args.unison
    if args.suspension is not None:
        gibbs.SUSPENSION = args.suspension
    net = BachNet.from_pretrained()
    pieces = list(Dataset.jsb(progress=False).split("test"))[: args.pieces]
    kept, filled, masks, median = fill_task(net, args.task, pieces, method="gibbs")
    print(task_row(args.task, kept, filled, masks, median, False))
    written = [v for v in range(4) if any(m[:, v].all() for m in masks)] or [0, 1, 2, 3]
    print("filled:", motion(filled, written) + "; " + suspensions(filled, written))
    print("Bach:  ", motion(kept, written) + "; " + suspensions(kept, written))
    if args.keep:
        with open(args.keep, "wb") as out:
            pickle.dump(filled, out)
    if args.judge:
        from bachnet.judge import judge

        name = f"{args.task} late {gibbs.LATE_NOTE_STEPS} fourth {gibbs.OFFBEAT_FOURTH}"
        print(judge(filled, against="valid", name=f"{name} passing {gibbs.PASSING}").report())
        print(f"unison {gibbs.UNISON}, suspension {gibbs.SUSPENSION}")


if __name__ == "__main__":
    main()
