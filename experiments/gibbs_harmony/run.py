"""The filler's chords over a given bass, weighed toward Bach's.

    python experiments/gibbs_key/run.py fit F3 --out k.json --keep f3valid.pkl   # F3 on JSB valid
    python experiments/gibbs_harmony/run.py fit f3valid.pkl --out experiments/gibbs_harmony/f3.json
    python experiments/gibbs_harmony/run.py judge F3 --table experiments/gibbs_harmony/f3.json

Over Bach's bass (`benchmarks/fill.py`'s F3), the filler chooses other chords than Bach's over
the same bass degree: in minor, the minor dominant (0-3-7 over the fifth degree, 19 % of the
beats there, Bach 11) where Bach raises the leading tone, fewer major tonic chords (10 %,
Bach 18), fewer sevenths. `fit` counts, on the pieces the filler wrote over JSB valid's
basses (pickled ``(kept, filled)``, as `experiments/gibbs_key`'s ``--keep`` writes them),
each written voice's interval above the bass (mod 12) at every 16th, by the mode of the key
(`bachnet.music.keys.find_key`, of Bach's piece and of the filled one) and the bass's pitch
class above the tonic, Bach's and the filler's, and writes their log ratio (add-one
smoothed, clipped at ``--clip``) as `gibbs_fill`'s ``harmony_bias`` table. `judge` fills the
task on JSB test with the table (times ``--weight``; `bachnet.generation.gibbs.HARMONY_BIAS`)
and prints the benchmark's row, the chords over the commonest bass degrees beside Bach's and
the judge's report against JSB valid. ``--keep FILE`` pickles the filled pieces.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

VOICES = {"F2": [1, 2], "F3": [0, 1, 2], "F4": [1, 2, 3]}


def counts(pieces: list[Any], keys: list[Any], voices: list[int]) -> np.ndarray:
    """``(2, 12, 12)``: the voices' 16ths by mode, bass degree and interval above the bass."""
    out = np.zeros((2, 12, 12))
    for piece, key in zip(pieces, keys, strict=True):
        chords = piece.chords.astype(np.int64)
        bass = chords[:, 3]
        degree = (bass - key.tonic) % 12
        for voice in voices:
            ok = (bass > 0) & (chords[:, voice] > 0)
            above = (chords[ok, voice] - bass[ok]) % 12
            np.add.at(out[0 if key.mode == "major" else 1], (degree[ok], above), 1)
    return out


def chords(pieces: list[Any], keys: list[Any]) -> dict[tuple[str, int], Counter[str]]:
    """On each beat with four voices sounding: the chord over the bass by mode and degree."""
    out: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    for piece, key in zip(pieces, keys, strict=True):
        c = piece.chords.astype(np.int64)
        for t in range((-len(c)) % 4, len(c), 4):
            if (c[t] <= 0).any():
                continue
            shape = sorted({int(x - c[t, 3]) % 12 for x in c[t, :3]} | {0})
            out[(key.mode, int(c[t, 3] - key.tonic) % 12)]["-".join(map(str, shape))] += 1
    return out


def chord_table(bach: list[Any], filled: list[Any], keys: list[Any]) -> str:
    """The commonest chords over the commonest (mode, bass degree): Bach's % / the filler's."""
    b, f = chords(bach, keys), chords(filled, keys)
    lines = []
    for where in sorted(b, key=lambda k: -sum(b[k].values()))[:10]:
        nb, nf = sum(b[where].values()), max(1, sum(f[where].values()))
        top = [shape for shape, _ in (b[where] + f[where]).most_common(5)]
        cells = "  ".join(
            f"{s} {100 * b[where][s] / nb:.0f}/{100 * f[where][s] / nf:.0f}" for s in top
        )
        lines.append(f"  {where[0]} bass {where[1]:2d} ({nb} beats): {cells}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("what", choices=["fit", "judge"])
    parser.add_argument("source", help="fit: pickled (kept, filled); judge: the task")
    parser.add_argument("--out", type=Path, help="fit: write the table here (JSON)")
    parser.add_argument("--table", type=Path, help="judge: the table (JSON)")
    parser.add_argument("--weight", type=float, default=1.0)
    parser.add_argument("--clip", type=float, default=1.5, help="fit: largest |log ratio|")
    parser.add_argument("--pieces", type=int, default=None)
    parser.add_argument("--first-seed", type=int, default=0, help="seed of the first piece")
    parser.add_argument("--keep", type=Path, help="judge: pickle the filled pieces here")
    args = parser.parse_args()

    from bachnet.music.keys import find_key

    if args.what == "fit":
        kept, filled = pickle.loads(Path(args.source).read_bytes())
        voices = [0, 1, 2]
        bach = counts(kept, [find_key(p) for p in kept], voices)
        mine = counts(filled, [find_key(p) for p in filled], voices)
        share = (bach + 1) / (bach + 1).sum(axis=2, keepdims=True)
        ours = (mine + 1) / (mine + 1).sum(axis=2, keepdims=True)
        ratio = np.clip(np.log(share / ours), -args.clip, args.clip)
        print(chord_table(kept, filled, [find_key(p) for p in kept]))
        largest = np.argsort(-np.abs(ratio).ravel())[:12]
        for flat in largest:
            mode, degree, above = np.unravel_index(flat, ratio.shape)
            name = ("major", "minor")[mode]
            print(f"  {name} bass {degree:2d}, +{above:2d}: {ratio.flat[flat]:+.2f}")
        args.out.write_text(
            json.dumps({"source": "F3 on JSB valid", "bias": ratio.round(3).tolist()})
        )
        return

    from fill import fill_task, task_row

    from bachnet import BachNet, Dataset
    from bachnet.generation import gibbs

    gibbs.HARMONY_BIAS = np.asarray(json.loads(args.table.read_text())["bias"]) * args.weight
    net = BachNet.from_pretrained()
    pieces = list(Dataset.jsb(progress=False).split("test"))[: args.pieces]
    kept, filled, masks, median = fill_task(
        net, args.source, pieces, first_seed=args.first_seed, method="gibbs"
    )
    print(task_row(args.source, kept, filled, masks, median, False))
    print(chord_table(kept, filled, [find_key(p) for p in kept]))
    if args.keep:
        args.keep.write_bytes(pickle.dumps(filled))
    from bachnet.judge import judge

    name = f"{args.source} seeds {args.first_seed}+ harmony bias x{args.weight}"
    print(judge(filled, against="valid", name=name).report())


if __name__ == "__main__":
    main()
