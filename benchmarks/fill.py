"""The [fill] tasks on JSB's 77 test chorales: how well `BachNet.fill` rewrites what is erased.

Tasks (the mask of each piece; everything else is Bach's and is kept):

- F1: two bars, all voices, in the middle (at least two bars kept on each side; the piece is
  taken to end on a bar line);
- F2: alto and tenor, given Bach's soprano and bass;
- F3: soprano, alto and tenor over Bach's bass;
- F4: alto, tenor and bass under Bach's soprano (`harmonize`, the baseline);
- F5: half of all notes, chosen at random (seeded per piece).

Per task: Bach's notes recovered (% of written cells equal to Bach's, one draw), parallel
fifths and octaves per 100 chord changes inside the region and across its seams (a change
with one chord in and one out), leaps over a fifth into or out of the region per 100 seam
moves, each beside Bach's own rate at the same places, and seconds per piece (warm).
``--judge`` adds the judge's AUC of the filled pieces against JSB's valid split (not the test
split the pieces come from).

Run:
    python benchmarks/fill.py                                  # all tasks, 77 pieces, rerank x8
    python benchmarks/fill.py --tasks F1 F4 --pieces 20 --method sample --judge
    python benchmarks/fill.py --method gibbs --judge           # the filler, its default steps
    python benchmarks/fill.py --method gibbs --gibbs-steps 8 --tasks F2 --judge
"""

from __future__ import annotations

import argparse
import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from bachnet import Chorale

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TASKS = ("F1", "F2", "F3", "F4", "F5")
BAR = 16


def task_mask(task: str, steps: int, seed: int) -> npt.NDArray[np.bool_] | None:
    """The ``(steps, 4)`` mask of ``task`` for a piece of ``steps`` sixteenths (None: too short)."""
    mask = np.zeros((steps, 4), bool)
    if task == "F1":
        downbeats = np.arange(steps % BAR, steps, BAR)
        ok = [d for d in downbeats if d - 2 * BAR >= 0 and d + 4 * BAR <= steps]
        if not ok:
            return None
        start = min(ok, key=lambda d: abs(d + BAR - steps / 2))
        mask[start : start + 2 * BAR] = True
    elif task in ("F2", "F3", "F4"):
        mask[:, {"F2": [1, 2], "F3": [0, 1, 2], "F4": [1, 2, 3]}[task]] = True
    else:
        rng = np.random.default_rng(seed)
        flat = np.zeros(steps * 4, bool)
        flat[rng.choice(steps * 4, steps * 2, replace=False)] = True
        mask = flat.reshape(steps, 4)
    return mask


def parallels(chords: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.int64]:
    """Parallel fifths and octaves made at each step change (index k: step k to k + 1)."""
    from bachnet.music.metrics import parallel_motion

    fifths, octaves = parallel_motion(chords[:-1], chords[1:])
    return (fifths.sum(axis=1) + octaves.sum(axis=1)).astype(np.int64)


def figures(
    chords: npt.NDArray[np.integer[Any]], mask: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Counts: [changes inside, parallels inside, changes at seams, parallels at seams,
    seam moves, leaps over a fifth at seams]."""
    changed = (chords[:-1] != chords[1:]).any(axis=1)
    region = mask.any(axis=1)
    inside = changed & region[:-1] & region[1:]
    seam = changed & (region[:-1] != region[1:])
    par = parallels(chords)
    moves = leaps = 0
    for v in range(4):
        edge = mask[:-1, v] != mask[1:, v]
        step = chords[1:, v] - chords[:-1, v]
        sounding = (chords[1:, v] > 0) & (chords[:-1, v] > 0)
        moves += int((edge & sounding & (step != 0)).sum())
        leaps += int((edge & sounding & (np.abs(step) > 7)).sum())
    return np.array(
        [inside.sum(), par[inside].sum(), seam.sum(), par[seam].sum(), moves, leaps], float
    )


def rate(count: float, total: float) -> str:
    return f"{100 * count / total:.2f}" if total else "-"


def task_row(
    task: str,
    pieces: list[Chorale],
    filled: list[Chorale],
    masks: list[npt.NDArray[np.bool_]],
    seconds: str,
    judged: bool,
) -> str:
    """One table row for ``task``: Bach's notes recovered, parallels inside and at the seams,
    seam leaps (each with Bach's rate at the same places), ``seconds`` as given and, if
    ``judged``, the judge's AUC of ``filled`` against JSB valid. Checks that every kept note
    was kept."""
    same = written = 0
    ours, bachs = np.zeros(6), np.zeros(6)
    for piece, new, mask in zip(pieces, filled, masks, strict=True):
        assert (new.chords[~mask] == piece.chords[~mask]).all()
        same += int((new.chords[mask] == piece.chords[mask]).sum())
        written += int(mask.sum())
        ours += figures(new.chords, mask)
        bachs += figures(piece.chords, mask)
    row = (
        f"| {task} | {len(filled)} | {100 * same / written:.1f} % "
        f"| {rate(ours[1], ours[0])} ({rate(bachs[1], bachs[0])}) "
        f"| {rate(ours[3], ours[2])} ({rate(bachs[3], bachs[2])}) "
        f"| {rate(ours[5], ours[4])} ({rate(bachs[5], bachs[4])}) "
        f"| {seconds} |"
    )
    if judged:
        from bachnet.judge import judge

        verdict = judge(filled, against="valid", name=task)
        low, high = verdict.test.interval
        row += f" {verdict.auc:.3f} ({low:.2f}-{high:.2f}) |"
    return row


def fill_task(
    net: Any, task: str, pieces: list[Chorale], first_seed: int = 0, **options: Any
) -> tuple[list[Chorale], list[Chorale], list[npt.NDArray[np.bool_]], str]:
    """Fill ``task``'s mask of each piece long enough for it (``net.fill(piece, mask,
    seed=first_seed + index, **options)``; the mask's own seed stays ``index``): the pieces
    kept, their fills, the masks and the median seconds a piece, as `task_row` takes them."""
    kept, filled, masks, seconds = [], [], [], []
    for index, piece in enumerate(pieces):
        mask = task_mask(task, len(piece), seed=index)
        if mask is None:
            continue
        start = time.perf_counter()
        filled.append(net.fill(piece, mask, seed=first_seed + index, **options))
        seconds.append(time.perf_counter() - start)
        kept.append(piece)
        masks.append(mask)
    return kept, filled, masks, f"{np.median(seconds):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default=None, help="preset or folder (default: bundled)")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--pieces", type=int, default=77)
    parser.add_argument(
        "--method", default="rerank", choices=["sample", "rerank", "beam", "smc", "gibbs"]
    )
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument(
        "--gibbs-steps",
        type=int,
        default=None,
        help="steps for --method gibbs (default: the library's, 24 for whole voices, else 8)",
    )
    parser.add_argument("--filler", default=None, help="filler preset or folder (gibbs)")
    parser.add_argument("--judge", action="store_true", help="also judge the filled pieces")
    args = parser.parse_args()

    from bachnet import BachNet, Dataset

    net = BachNet.from_pretrained(args.model)
    pieces = list(Dataset.jsb(progress=False).split("test"))[: args.pieces]
    options = {"method": args.method, "candidates": args.candidates}
    if args.method == "gibbs":
        options = {"method": "gibbs", "gibbs_steps": args.gibbs_steps, "filler": args.filler}
    print(f"model {net!r}; {options}; {len(pieces)} test chorales")
    net.fill(pieces[0], pieces[0].mask(voices="A"), seed=0, **options)  # warm up
    head = (
        "| task | pieces | Bach's notes recovered | parallels /100 changes inside (Bach) "
        "| at the seams (Bach) | leaps > 5th at seams /100 (Bach) | s / piece |"
    )
    if args.judge:
        head += " judge AUC vs JSB valid |"
    print(head)
    print("| --- " * (head.count("|") - 1) + "|")
    for task in args.tasks:
        kept, filled, masks, median = fill_task(net, task, pieces, **options)
        print(task_row(task, kept, filled, masks, median, args.judge), flush=True)


if __name__ == "__main__":
    main()
