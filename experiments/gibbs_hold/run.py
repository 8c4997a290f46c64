"""The filler's inner voices made to move: a cost for holding onto a beat, whole notes by beat.

    python experiments/gibbs_hold/run.py --holds 0,0.5,0.5,0 --tasks F2 F4 [--pieces 77] [--judge]
    python experiments/gibbs_hold/run.py --split-beats --tasks F2 --judge

``--split-beats`` sets `bachnet.generation.gibbs.NOTE_BEATS` (the note-level passes redraw each
beat of a held note as a note of its own; the library's default since this experiment), and
without it the sampler runs as before.

Adds to the filler's sampler (`bachnet.generation.gibbs`, whose cost for notes starting off
the beat's eighths is wrapped here, so the library is unchanged) a cost per voice (S, A, T, B)
for a written cell that holds its pitch onto a beat, and fills the [fill] tasks of
`benchmarks/fill.py` on JSB's test chorales with ``method="gibbs"``; prints the benchmark's
row (`task_row`: Bach's notes, parallels, seam leaps, seconds, the judge against JSB valid)
and each written voice's notes per beat beside Bach's at the same places.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def hold_penalty(
    pitches: npt.NDArray[np.int32],
    where: npt.NDArray[np.int64],
    first: int,
    weights: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """``(cells, 47)``: ``weights[voice]`` for each candidate that would hold its voice's pitch
    onto a beat: from the row before into a row on a beat, or on into the next row when that
    one is on a beat (steps ``first + row`` of a piece whose step 0 is on a beat)."""
    from bachnet.model.filler import CLASSES, ids_to_pitches

    candidates = ids_to_pitches(np.arange(CLASSES))[None, :]
    rows = pitches.shape[1]
    sample, row, voice = where[:, 0], where[:, 1], where[:, 2]
    penalty = np.zeros((len(where), CLASSES))
    for neighbour in (row - 1, row + 1):
        inside = (neighbour >= 0) & (neighbour < rows)
        onto_beat = inside & ((np.maximum(row, neighbour) + first) % 4 == 0)
        other = pitches[sample, np.clip(neighbour, 0, rows - 1), voice][:, None]
        held = onto_beat[:, None] & (candidates == other) & (other > 0)
        penalty += weights[voice][:, None] * held
    return penalty


def notes_per_beat(chords: npt.NDArray[np.int64], voice: int) -> float:
    """Notes a voice starts per beat (a new pitch after a different one, or after a rest)."""
    line = chords[:, voice]
    starts = int((line[0] > 0) + ((line[1:] != line[:-1]) & (line[1:] > 0)).sum())
    return starts / (len(line) / 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--holds", default="0,0,0,0", help="S,A,T,B costs")
    parser.add_argument("--tasks", nargs="*", default=["F2"])
    parser.add_argument("--pieces", type=int, default=77)
    parser.add_argument("--judge", action="store_true")
    parser.add_argument(
        "--split-beats",
        action="store_true",
        help="the whole-note passes redraw each beat of a held note as its own note (the "
        "library's default since this experiment; without the flag, as before it)",
    )
    args = parser.parse_args()

    from fill import fill_task, task_row  # benchmarks/fill.py

    from bachnet import BachNet, Dataset
    from bachnet.generation import gibbs

    holds = np.array([float(x) for x in args.holds.split(",")])
    offbeat = gibbs._offbeat_penalty

    def with_holds(
        pitches: npt.NDArray[np.int32], where: npt.NDArray[np.int64], first: int, weight: float
    ) -> npt.NDArray[np.float64]:
        return offbeat(pitches, where, first, weight) + hold_penalty(pitches, where, first, holds)

    gibbs._offbeat_penalty = with_holds  # called once per Gibbs step on the cells drawn
    gibbs.NOTE_BEATS = args.split_beats  # the library's default since 2026-12-06: True
    net = BachNet.from_pretrained()
    pieces = list(Dataset.jsb(progress=False).split("test"))[: args.pieces]
    print(
        f"holds {holds.tolist()}, split beats {args.split_beats}; {len(pieces)} test chorales",
        flush=True,
    )
    for task in args.tasks:
        kept, filled, masks, median = fill_task(net, task, pieces, method="gibbs")
        row = task_row(task, kept, filled, masks, median, args.judge)
        voices = [v for v in range(4) if masks[0][:, v].all()]
        pace = ", ".join(
            f"{'SATB'[v]} {np.mean([notes_per_beat(f.chords, v) for f in filled]):.2f}"
            f" ({np.mean([notes_per_beat(p.chords, v) for p in kept]):.2f})"
            for v in voices
        )
        print(row, f"notes per beat (Bach): {pace}", flush=True)


if __name__ == "__main__":
    main()
