"""Evaluate the Coconet infiller on the 77 JSB test chorales, tasks F1-F5 of issue [fill].

Tasks (mask = cells to write; everything else is Bach's and kept):

* F1: two bars, all voices, in the middle (at least two bars kept on each side);
* F2: alto and tenor, given soprano and bass;
* F3: soprano, alto and tenor over the bass;
* F4: alto, tenor and bass under the soprano;
* F5: half of all cells, chosen at random (seeded per piece).

Per task: ``gibbs%`` = % of masked cells equal to Bach's after one annealed-Gibbs fill (one
draw); ``argmax%`` = the same for the one-pass independent argmax (all masked cells erased at
once); ``nll`` = mean -log p(Bach) per masked cell in that one pass (nats; an upper bound on
quality, quick); ``s/piece`` = wall seconds of the Gibbs fill per piece; plus a check that the kept
cells never changed.

Example::

    TF_CPP_MIN_LOG_LEVEL=3 taskset -c 1 python evaluate.py --steps 24 --out eval_60min.json
    KERAS_BACKEND=jax python evaluate.py --weights run_gpu/best.weights.h5 --steps 16

The network's configuration is read from ``--config`` (default: ``best.json`` beside the
weights). ``--jit on`` (JAX backend) compiles the forward pass once per input length, all the
lengths the tasks need ahead, in parallel: the same numbers; quick on a CPU, but on the H200 the
~40 lengths of the test set had not compiled after 150 s, so it is off by default. ``--steps 0``
skips the Gibbs fill (the one-pass argmax and NLL only: one forward pass per piece and task).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
TASKS = ("F1", "F2", "F3", "F4", "F5")


def task_mask(task: str, piece: np.ndarray, seed: int) -> np.ndarray:
    """The boolean ``(steps, 4)`` mask of a task for one piece."""
    import coconet as C

    steps = piece.shape[0]
    mask = np.zeros((steps, 4), bool)
    if task == "F1":
        offset = C.default_offset(steps)
        downbeats = np.arange(offset, steps, C.BAR)
        # start of the two-bar region: >= 2 full bars before it, >= 2 bars after it
        ok = [d for d in downbeats if d - 2 * C.BAR >= 0 and d + 4 * C.BAR <= steps]
        if not ok:
            raise ValueError(f"piece of {steps} steps too short for F1")
        start = min(ok, key=lambda d: abs(d + C.BAR - steps / 2))
        mask[start : start + 2 * C.BAR] = True
    elif task == "F2":
        mask[:, [1, 2]] = True
    elif task == "F3":
        mask[:, [0, 1, 2]] = True
    elif task == "F4":
        mask[:, [1, 2, 3]] = True
    elif task == "F5":
        rng = np.random.default_rng(seed)
        flat = np.zeros(steps * 4, bool)
        flat[rng.choice(steps * 4, steps * 2, replace=False)] = True
        mask = flat.reshape(steps, 4)
    else:
        raise ValueError(f"unknown task {task!r}")
    return mask


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


class JitForward:
    """A stand-in for ``model(x, training=False)`` on the JAX backend: the model's stateless call
    compiled with ``jax.jit``, one executable per input shape (made ahead by :meth:`precompile`)."""

    def __init__(self, model) -> None:
        import jax

        self._model = model
        self._tv = [v.value for v in model.trainable_variables]
        self._ntv = [v.value for v in model.non_trainable_variables]
        self._fn = jax.jit(lambda tv, ntv, x: model.stateless_call(tv, ntv, x, training=False)[0])
        self._compiled: dict = {}

    def precompile(self, steps: set[int], channels: int, workers: int) -> float:
        """Compile the forward pass for inputs of ``(1, t, P, channels)``, ``t`` in ``steps``."""
        import jax

        import coconet as C

        t0 = time.perf_counter()
        lowered = {
            t: self._fn.lower(self._tv, self._ntv, jax.ShapeDtypeStruct((1, t, C.NUM_CLASSES, channels), np.float32))
            for t in sorted(steps)
        }
        with ThreadPoolExecutor(max(1, workers)) as pool:
            done = dict(zip(lowered, pool.map(lambda lo: lo.compile(), lowered.values())))
        for t, exe in done.items():
            self._compiled[(1, t, C.NUM_CLASSES, channels)] = exe
        return time.perf_counter() - t0

    def __call__(self, x, training: bool = False):
        x = np.asarray(x, np.float32)
        exe = self._compiled.get(x.shape)
        if exe is not None:
            return exe(self._tv, self._ntv, x)
        return self._fn(self._tv, self._ntv, x)


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", type=Path, default=HERE / "run/best.weights.h5")
    ap.add_argument("--config", type=Path, default=None, help="default: best.json beside the weights")
    ap.add_argument("--split", default="test")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--steps", type=int, default=24, help="Gibbs steps (0: only the one-pass argmax and NLL)")
    ap.add_argument("--t-min", type=float, default=0.5)
    ap.add_argument("--limit", type=int, default=None, help="first N pieces only")
    ap.add_argument("--out", type=Path, default=HERE / "eval.json")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--jit",
        choices=("auto", "on", "off"),
        default="off",
        help="compile the forward pass per input length ahead (auto = on for JAX); fast on a CPU, but on "
        "the H200 compiling the ~40 lengths of the test set did not finish within 150 s",
    )
    ap.add_argument("--compile-workers", type=int, default=min(16, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    if args.config is None:
        args.config = args.weights.parent / "best.json"

    from train import set_threads

    set_threads(args.threads)
    import coconet as C

    meta = json.loads(args.config.read_text())
    config = C.CoconetConfig(**meta["config"])
    model = C.build_model(config)
    model.load_weights(str(args.weights))
    radius = C.receptive_radius(config) + 1
    files = sorted(glob.glob(str(HERE / f"data/jsb_chorales/{args.split}/*.csv")))[: args.limit]
    if not files:
        raise FileNotFoundError(f"no {args.split} pieces under {HERE / 'data'} (run train.py once to unpack)")
    pieces = C.load_pieces(files)
    import keras

    compile_secs = 0.0
    if args.jit == "on" or (args.jit == "auto" and keras.backend.backend() == "jax"):
        forward = JitForward(model)
        lengths = {len(p) for p in pieces}
        if "F1" in args.tasks.split(","):
            lengths |= {
                hi - lo for i, p in enumerate(pieces) for lo, hi in [C._window(task_mask("F1", p, i), radius)]
            }
        try:
            compile_secs = forward.precompile(lengths, model.input_shape[-1], args.compile_workers)
            print(f"compiled the forward pass for {len(lengths)} lengths in {compile_secs:.1f} s", flush=True)
        except Exception as exc:  # noqa: BLE001 - compiling ahead is an optimisation only
            print(f"compiling ahead failed ({exc!r}); compiling each length on first use", flush=True)
        model = forward
    schedule = C.GibbsSchedule(steps=args.steps, t_min=args.t_min)
    rows = {}
    for task in args.tasks.split(","):
        hit = cells = amax_hit = 0
        nll = 0.0
        secs: list[float] = []
        kept_ok = True
        for i, piece in enumerate(pieces):
            mask = task_mask(task, piece, seed=i)
            # F1: the model only sees a window around the region (exact up to its receptive field)
            rad = radius if task == "F1" else None
            if args.steps > 0:
                t0 = time.perf_counter()
                filled = C.gibbs_fill(model, piece, mask, schedule=schedule, seed=i, radius=rad)
                secs.append(time.perf_counter() - t0)
                kept_ok &= bool(np.array_equal(filled[~mask], piece[~mask]))
                hit += int((filled[mask] == piece[mask]).sum())
            cells += int(mask.sum())
            ids = C.pitches_to_ids(piece)
            logits = C.predict_logits(model, ids, mask, C.bar_positions(len(piece), C.default_offset(len(piece))))
            z = logits - logits.max(-1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
            nll -= float(np.take_along_axis(logp, ids[..., None], -1)[..., 0][mask].sum())
            amax_hit += int((C.ids_to_pitches(logits.argmax(-1))[mask] == piece[mask]).sum())
        rows[task] = {
            "gibbs_pct": 100.0 * hit / cells if args.steps > 0 else None,
            "argmax_pct": 100.0 * amax_hit / cells,
            "nll": nll / cells,
            "s_per_piece": float(np.mean(secs)) if secs else None,
            "cells": cells,
            "pieces": len(pieces),
            "kept_unchanged": kept_ok,
        }
        r = rows[task]
        print(
            f"{task}  gibbs {_fmt(r['gibbs_pct'], '5.1f')}%  argmax {r['argmax_pct']:5.1f}%  nll {r['nll']:.3f}  "
            f"{_fmt(r['s_per_piece'], '.2f')} s/piece  kept={kept_ok}",
            flush=True,
        )
        result = {
            "weights": str(args.weights),
            "checkpoint": meta,
            "split": args.split,
            "gibbs_steps": args.steps,
            "t_min": args.t_min,
            "backend": keras.backend.backend(),
            "jit": isinstance(model, JitForward),
            "compile_secs": compile_secs,
            "tasks": rows,
        }
        args.out.write_text(json.dumps(result, indent=1))  # after every task: partial runs keep theirs
    lines = ["| task | Bach % (Gibbs, 1 draw) | Bach % (1-pass argmax) | NLL/cell | s/piece |", "|---|---|---|---|---|"]
    for t, r in rows.items():
        lines.append(
            f"| {t} | {_fmt(r['gibbs_pct'], '.1f')} | {r['argmax_pct']:.1f} | {r['nll']:.3f} | "
            f"{_fmt(r['s_per_piece'], '.2f')} |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
