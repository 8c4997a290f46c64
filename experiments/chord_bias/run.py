"""Bach's chord vocabulary as a prior: each chord over the bass tilted by how much more or less
often Bach writes it than the default does.

    python experiments/chord_bias/run.py fit TABLE.json [-n 256] [--offset 20000]
    python experiments/chord_bias/run.py judge TABLE.json [--scale 1.0] [judge_rules.py's options]

``fit`` writes 256 pieces with the default (seeds 20000-20255, never judged), counts the chord
of every step where all four voices sound (its pitch classes over the bass, as 12 bits, the
way the ``chords`` rule and the judge count them) in those pieces and in JSB's **train** split,
and stores ``log(Bach's share / the default's share)`` per chord (each count smoothed by 2,
clipped to +-1.5 nats). ``judge`` adds a rule that adds ``scale`` times that table to the
logits of the bass (the voice that completes each step's chord, as ``chords`` does) on top of
the default rules, and runs ``scripts/judge_rules.py`` (JSB test, seeds 0+).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))

SMOOTH = 2.0
CLIP = 1.5


def chord_masks(pieces: Any) -> Any:
    import numpy as np

    out = []
    for piece in pieces:
        chords = np.asarray(piece.chords if hasattr(piece, "chords") else piece, dtype=np.int64)
        full = chords[(chords > 0).all(axis=1)]
        classes = (full - full[:, 3:4]) % 12
        out.append(np.bitwise_or.reduce(np.left_shift(1, classes), axis=1))
    return np.concatenate(out)


def fit(path: str, n: int, offset: int) -> None:
    import numpy as np

    from bachnet import BachNet
    from bachnet.data.reference import reference
    from bachnet.generation.config import GenerationConfig

    net = BachNet.from_pretrained()
    config = GenerationConfig(steps=192)
    pieces = []
    for start in range(0, n, 64):
        pieces += net.generate(config=config, num_samples=64, seed=offset + start)
    mine = np.bincount(chord_masks(pieces), minlength=4096).astype(float)
    bach = np.bincount(chord_masks(reference("train")), minlength=4096).astype(float)
    seen = (mine + bach) > 0
    ratio = np.log((bach + SMOOTH) / (bach.sum() + SMOOTH * seen.sum())) - np.log(
        (mine + SMOOTH) / (mine.sum() + SMOOTH * seen.sum())
    )
    table = np.where(seen, np.clip(ratio, -CLIP, CLIP), 0.0)
    order = np.argsort(-(bach + mine))[:12]
    for mask in order:
        classes = [k for k in range(12) if mask >> k & 1]
        print(
            classes,
            f"Bach {bach[mask] / bach.sum():.3%}",
            f"default {mine[mask] / mine.sum():.3%}",
            f"bias {table[mask]:+.2f}",
        )
    with open(path, "w") as file:
        json.dump(
            {"table": [round(float(x), 4) for x in table], "pieces": n, "offset": offset}, file
        )


def register_rule() -> None:
    from keras import ops

    from bachnet.generation.rules import Rule, _candidates, register

    @register("chord_bias")
    class ChordBias(Rule):
        """Adds ``weight`` times a table's log-ratio to the bass's logits, by the chord it makes."""

        def __init__(self, weight: float | None = 1.0, table: str = "") -> None:
            super().__init__(weight)
            self.table = table
            with open(table) as file:
                self.values = json.load(file)["table"]

        def __call__(self, logits: Any, context: Any) -> Any:
            table = ops.convert_to_tensor(self.values, dtype="float32")
            candidate = _candidates(context)
            upper = ops.expand_dims(context.current[:, :3], -1)
            classes = ops.mod(upper - ops.expand_dims(candidate, 1), 12)
            bits = ops.cast(ops.arange(12), "int32")
            present = ops.any(
                ops.expand_dims(classes, -1) == ops.reshape(bits, (1, 1, 1, 12)), axis=1
            )
            mask = 1 + ops.sum(ops.where(present[..., 1:], ops.left_shift(1, bits[1:]), 0), axis=-1)
            bias = ops.take(table, mask)
            sounding = ops.all(context.current[:, :3] > 0, axis=1, keepdims=True) & (candidate > 0)
            bass = ops.cast(context.voice, "int32") == 3
            return logits + float(self.weight or 0.0) * ops.where(bass & sounding, bias, 0.0)

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "table": self.table}


def main() -> None:
    if sys.argv[1] == "fit":
        parser = argparse.ArgumentParser()
        parser.add_argument("what")
        parser.add_argument("table")
        parser.add_argument("-n", type=int, default=256)
        parser.add_argument("--offset", type=int, default=20000)
        args = parser.parse_args()
        fit(args.table, args.n, args.offset)
        return
    table = sys.argv[2]
    rest = sys.argv[3:]
    scale = 1.0
    if "--scale" in rest:
        at = rest.index("--scale")
        scale = float(rest[at + 1])
        del rest[at : at + 2]
    register_rule()
    spec = [{"name": "chord_bias", "weight": scale, "table": table}]
    sys.argv = [sys.argv[0], "--rules", json.dumps(spec), *rest]
    import judge_rules

    judge_rules.main()


if __name__ == "__main__":
    main()
