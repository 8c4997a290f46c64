"""The filler's pitch classes in the key of the piece: a bias fitted on JSB valid, judged on test.

Where the filler writes the soprano, alto and tenor over a given bass (`benchmarks/fill.py`'s
F3), its notes drift to the flat side of the key: in major, the key's minor third and minor
seventh; in minor, the natural seventh for the leading tone and the minor third for a major
tonic chord. ``fit`` fills a task on JSB valid with the library's settings, compares each
written voice's pitch classes above the tonic (`bachnet.music.keys.find_key`) with Bach's,
by mode, and writes the log ratio as ``gibbs_fill``'s ``key_bias`` table; ``judge`` fills
the task on JSB test with that table (times ``--weight``) and prints the benchmark's row,
the pitch classes and the judge's report:

    python experiments/gibbs_key/run.py fit F3 --out experiments/gibbs_key/f3.json
    python experiments/gibbs_key/run.py judge F3 --table experiments/gibbs_key/f3.json
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

MODES = ("major", "minor")


def pitch_classes(pieces: list[Any], voices: list[int], keys: list[Any]) -> np.ndarray:
    """``(2, 12)`` counts of the voices' sounding 16ths by pitch class above the tonic."""
    counts = np.zeros((2, 12))
    for piece, key in zip(pieces, keys, strict=True):
        notes = piece.chords[:, voices].astype(int)
        notes = notes[notes > 0]
        counts[MODES.index(key.mode)] += np.bincount((notes - key.tonic) % 12, minlength=12)
    return counts


def rows(values: np.ndarray, form: str) -> str:
    """One line a mode."""
    lines = []
    for mode, row in zip(MODES, values, strict=True):
        lines.append(f"  {mode:5s} " + " ".join(format(x, form) for x in row))
    return "\n".join(lines)


def table(counts: np.ndarray) -> str:
    return rows(100 * counts / counts.sum(axis=1, keepdims=True), "5.1f")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("what", choices=["fit", "judge"])
    parser.add_argument("task", choices=["F1", "F2", "F3", "F4", "F5"])
    parser.add_argument("--out", type=Path, help="fit: write the table here (JSON)")
    parser.add_argument("--table", type=Path, help="judge: the table (JSON)")
    parser.add_argument("--weight", type=float, default=1.0)
    parser.add_argument("--clip", type=float, default=2.0, help="fit: largest |log ratio|")
    parser.add_argument("--passing", type=float, default=None, help="judge: PASSING")
    parser.add_argument("--fourth", type=float, default=None, help="judge: OFFBEAT_FOURTH")
    parser.add_argument("--pieces", type=int, default=None)
    parser.add_argument("--first-seed", type=int, default=0, help="seed of the first piece")
    parser.add_argument("--load", type=Path, help="fit: pickled (kept, filled) instead of filling")
    parser.add_argument("--keep", type=Path, help="pickle (kept, filled) here")
    args = parser.parse_args()

    from fill import fill_task, task_row

    from bachnet import BachNet, Dataset
    from bachnet.generation import gibbs
    from bachnet.music.keys import find_key

    split = "valid" if args.what == "fit" else "test"
    if args.what == "judge":
        bias = np.asarray(json.loads(args.table.read_text())["bias"]) * args.weight
        gibbs.KEY_BIAS = bias
        if args.passing is not None:
            gibbs.PASSING = args.passing
        if args.fourth is not None:
            gibbs.OFFBEAT_FOURTH = args.fourth
    if args.load:
        kept, filled = pickle.loads(args.load.read_bytes())
    else:
        net = BachNet.from_pretrained()
        pieces = list(Dataset.jsb(progress=False).split(split))[: args.pieces]
        kept, filled, masks, median = fill_task(
            net, args.task, pieces, first_seed=args.first_seed, method="gibbs"
        )
        print(task_row(args.task, kept, filled, masks, median, False))
    if args.keep:
        args.keep.write_bytes(pickle.dumps((kept, filled)))
    voices = {"F2": [1, 2], "F3": [0, 1, 2], "F4": [1, 2, 3]}.get(args.task, [0, 1, 2, 3])
    bach = pitch_classes(kept, voices, [find_key(p) for p in kept])
    mine = pitch_classes(filled, voices, [find_key(p) for p in filled])
    print(f"{split}, written voices' pitch classes above the tonic (% by mode), Bach:")
    print(table(bach))
    print("filled:")
    print(table(mine))
    if args.what == "fit":
        share = (bach + 1) / (bach + 1).sum(axis=1, keepdims=True)
        fill = (mine + 1) / (mine + 1).sum(axis=1, keepdims=True)
        ratio = np.clip(np.log(share / fill), -args.clip, args.clip)
        print("bias:")
        print(rows(ratio, "+5.2f"))
        args.out.write_text(json.dumps({"task": args.task, "bias": ratio.round(3).tolist()}))
    else:
        from bachnet.judge import judge

        name = (
            f"{args.task} seeds {args.first_seed}+ key bias x{args.weight} passing {gibbs.PASSING} "
            f"fourth {gibbs.OFFBEAT_FOURTH}"
        )
        print(judge(filled, against="valid", name=name).report())


if __name__ == "__main__":
    main()
