"""A second, differently built discriminator, to check that a lever does not only fool the judge.

    python scripts/judge_other.py FOLDER [FOLDER ...]

`bachnet.judge` uses ~120 hand-made figures and gradient boosting. This one uses none of them:
each 4-bar excerpt becomes hashed counts (4,096 buckets) of raw events -- every step's spacing
(soprano-alto, alto-tenor, tenor-bass intervals), every chord change as the pair of
bass-relative pitch-class sets, and every voice's (melodic interval, note length) pair -- and a
logistic regression on their square roots tells them from Bach's (JSB test), in the same five
folds split by piece. Prints the AUC of each folder.
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from bachnet.data.corpus import Dataset
from bachnet.data.reference import reference
from bachnet.judge import auc, excerpts

BUCKETS = 4096


def bucket(*event: object) -> int:
    return zlib.crc32(repr(event).encode()) % BUCKETS


def events(window: np.ndarray) -> np.ndarray:
    counts = np.zeros(BUCKETS)
    c = window.astype(int)
    for row in c:
        if (row > 0).all():
            counts[bucket("spacing", *(row[:3] - row[1:]))] += 1
    sets = [
        tuple(sorted({(p - row[row > 0].min()) % 12 for p in row[row > 0]}))
        if (row > 0).any()
        else ()
        for row in c
    ]
    for k in range(1, len(c)):
        if (c[k] != c[k - 1]).any():
            counts[bucket("change", sets[k - 1], sets[k])] += 1
    for v in range(4):
        column = c[:, v]
        starts = np.concatenate([[0], np.flatnonzero(np.diff(column)) + 1])
        lengths = np.diff(np.concatenate([starts, [len(column)]]))
        pitches = column[starts]
        for k in range(1, len(starts)):
            if pitches[k] and pitches[k - 1]:
                counts[bucket("melody", v, int(pitches[k] - pitches[k - 1]), int(lengths[k]))] += 1
    return np.sqrt(counts)


def matrix(pieces: list) -> tuple[np.ndarray, np.ndarray]:
    rows, owner = [], []
    for index, piece in enumerate(pieces):
        for window in excerpts(piece, 4):
            rows.append(events(window))
            owner.append(index)
    return np.stack(rows), np.asarray(owner)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", nargs="+", type=Path)
    args = ap.parse_args()
    xb, ob = matrix(list(reference("test")))
    for folder in args.folders:
        xc, oc = matrix(list(Dataset.from_paths(folder)))
        x = np.concatenate([xb, xc])
        y = np.concatenate([np.zeros(len(xb), int), np.ones(len(xc), int)])
        groups = np.concatenate([ob, oc + ob.max() + 1])
        scores = np.zeros(len(x))
        for train, test in StratifiedGroupKFold(5, shuffle=True, random_state=0).split(
            x, y, groups
        ):
            model = LogisticRegression(C=0.5, max_iter=2000, class_weight="balanced")
            model.fit(x[train], y[train])
            scores[test] = model.predict_proba(x[test])[:, 1]
        print(f"{folder.name}: AUC {auc(scores, y):.3f}", flush=True)


if __name__ == "__main__":
    main()
