"""The filler's Gibbs draws weighted by the token model: a product of experts.

    python experiments/gibbs_lm/run.py F2 --weight 0.5 --judge
    python experiments/gibbs_lm/run.py F3 --weight 0.5 --judge

Fills one [fill] task of `benchmarks/fill.py` on JSB's 77 test chorales with
``method="gibbs"`` and the library's defaults (the same masks and seeds as the benchmark), but
every time the filler scores a written cell, once every written cell holds a note (from the
annealing's second step on), the token model's log-probability of that note given everything
before it in the stream (soprano, alto, tenor, bass, step by step) is added, times
``--weight``, to the filler's logits: the filler sees the whole texture, the token model how
Bach's lines go on from what came before. Prints the benchmark's row (`task_row`) and with
``--judge`` the judge's report against JSB valid. ``--keep FILE`` pickles the pieces. Only for
masks whose written rows cover the whole piece (F2, F3, F4).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


class Tasted:
    """A filler whose logits carry ``weight`` times the token model's log-probabilities."""

    def __init__(self, filler: Any, model: Any, weight: float) -> None:
        self.filler, self.model, self.weight = filler, model, weight
        self.lead, self.meter = 0, "4/4"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.filler, name)

    def logits(self, ids: Any, erased: Any, positions: Any, rows: Any = None) -> Any:
        out = self.filler.logits(ids, erased, positions, rows=rows)
        if self.weight == 0 or (erased & (ids == 0)).any():  # blank cells: nothing to read
            return out
        samples, steps, voices = ids.shape
        stream = np.concatenate(
            [np.zeros((samples, self.lead), np.int32), ids.reshape(samples, -1)], axis=1
        )
        network = self.model.network
        raw = self.model.logits(network.encode(stream, self.meter))
        raw = raw - raw.max(axis=-1, keepdims=True)
        logp = raw - np.log(np.exp(raw).sum(axis=-1, keepdims=True))
        # the token at stream place j is predicted at j - 1
        cell = logp[:, self.lead - 1 : self.lead - 1 + steps * voices]
        return out + self.weight * cell.reshape(samples, steps, voices, -1)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("task", choices=["F2", "F3", "F4"])
    parser.add_argument("--weight", type=float, default=0.5)
    parser.add_argument("--model", default=None, help="the token model (default: bundled)")
    parser.add_argument("--pieces", type=int, default=77)
    parser.add_argument("--keep", default=None, help="pickle the filled pieces here")
    parser.add_argument("--judge", action="store_true")
    args = parser.parse_args()

    from fill import task_mask, task_row

    from bachnet import BachNet, Dataset
    from bachnet.generation import gibbs
    from bachnet.model.filler import DEFAULT_FILLER

    net = BachNet.from_pretrained()
    model = net if args.model is None else BachNet.from_pretrained(args.model)
    assert model.vocab.size == 47
    tasted = Tasted(gibbs.load_filler(), model, args.weight)
    gibbs._LOADED[DEFAULT_FILLER] = tasted
    pieces = list(Dataset.jsb(progress=False).split("test"))[: args.pieces]
    kept, filled, masks, seconds = [], [], [], []
    for index, piece in enumerate(pieces):
        mask = task_mask(args.task, len(piece), seed=index)
        if mask is None:
            continue
        tasted.lead = model.network.lead_for(piece.pickup, piece.meter)
        tasted.meter = piece.meter
        start = time.perf_counter()
        filled.append(net.fill(piece, mask, seed=index, method="gibbs"))
        seconds.append(time.perf_counter() - start)
        kept.append(piece)
        masks.append(mask)
    print(task_row(args.task, kept, filled, masks, f"{np.median(seconds):.2f}", False))
    if args.keep:
        with open(args.keep, "wb") as out:
            pickle.dump(filled, out)
    if args.judge:
        from bachnet.judge import judge

        print(judge(filled, against="valid", name=f"{args.task} x{args.weight}").report())


if __name__ == "__main__":
    main()
