"""Compose the same opening with every built-in sampler and compare what they do.

A sampler turns the model's next-token logits into one token: it first *filters* them (masks
ids that may not be drawn with ``-inf``), then *draws* one id. The built-ins:

=============  =========================================================================
greedy         always the most likely note: deterministic, tends to hold notes and loop
temperature    draw from softmax(logits / T): T < 1 sharper and safer, T > 1 more adventurous
top_k          draw among the k most likely notes only
top_p          nucleus: draw among the most likely notes holding probability p (the default)
sampling       temperature -> top-k -> top-p in that order, then draw (all of the above at once)
=============  =========================================================================

A sampler can be given by name (``"top_p"``, with its default parameters), as a config dict
(``{"name": "top_k", "k": 5}``) or as an instance (``samplers.TopK(5)``); all three appear
below. For each sampler the script prints how many candidate notes its filter keeps for the
first new token and a few statistics of the new music, and writes ``OUT/<sampler>.mid``.

Run::

    python examples/generate_with_samplers.py --out samplers/               # bundled model
    python examples/generate_with_samplers.py --model tiny/model --steps 32 --seed 3
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np


def describe(chords: np.ndarray) -> str:
    """Distinct pitches, the share of steps that repeat the previous chord, and the range."""
    repeats = float(np.mean(np.all(chords[1:] == chords[:-1], axis=1))) if len(chords) > 1 else 0
    notes = chords[chords > 0]
    span = f"MIDI {notes.min()}..{notes.max()}" if notes.size else "silence"
    return f"{len(np.unique(notes)):2d} pitches, {repeats:4.0%} repeated chords, {span}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="model folder, preset name or URL (default: bundled)"
    )
    parser.add_argument("--out", type=Path, default=Path("samplers"), help="output folder")
    parser.add_argument("--steps", type=int, default=64, help="new 16th notes per chorale")
    parser.add_argument("--seed", type=int, default=0, help="the same seed, the same music")
    parser.add_argument(
        "--prompt", type=Path, default=None, help="a .csv/.mid/.musicxml chorale to continue"
    )
    parser.add_argument(
        "--format", choices=("mid", "musicxml", "csv"), default="mid", help="output file type"
    )
    args = parser.parse_args()

    from bachnet import BachNet, Chorale, ModelFileError, samplers

    try:
        net = BachNet.from_pretrained(args.model)
    except (ModelFileError, ValueError, OSError) as error:
        sys.exit(
            f"cannot load model {args.model or '(bundled default)'}: {error}\n"
            "hint: pass --model FOLDER, e.g. one made by examples/train_on_csv.py"
        )
    prompt = Chorale.read(args.prompt) if args.prompt else None

    choices: dict[str, Any] = {
        "greedy": "greedy",  # a registered name
        "temperature": {"name": "temperature", "temperature": 0.8},  # a config dict
        "top_k": samplers.TopK(k=5),  # an instance
        "top_p": samplers.get("nucleus"),  # an alias: TopP(p=0.9)
        "sampling": samplers.Sampling(temperature=0.9, top_k=20, top_p=0.95),
    }

    # The distribution of the first new token: after the prompt, or after one silent step.
    context = net.vocab.encode(prompt) if prompt is not None else np.zeros(4, np.int32)
    first_logits = net.logits(context[None])[:, -1]

    args.out.mkdir(parents=True, exist_ok=True)
    print(f"{net!r}; {args.steps} new steps, seed {args.seed}")
    for label, spec in choices.items():
        sampler = samplers.get(spec)
        kept = int(np.isfinite(np.asarray(sampler.filter(first_logits))).sum())
        chorale = net.generate(prompt, steps=args.steps, sampler=spec, seed=args.seed)
        path = chorale.write(args.out / f"{label}.{args.format}")
        stats = describe(chorale.chords[-args.steps :])
        print(f"{label:<12} {sampler!r:<50} keeps {kept:2d} ids | {stats} -> {path}")


if __name__ == "__main__":
    main()
