"""Write a sampler of your own, register it, and compose with it.

The sampler here is *min-p*: it keeps every note whose probability is at least ``p`` times
that of the most likely note, and masks the rest with ``-inf``. Unlike top-k it adapts to the
model's confidence: when one note is near-certain (a held note, a cadence) only that note
survives, and when the model hesitates between many notes all of them stay in play.

A sampler subclasses `bachnet.generation.samplers.Sampler` and overrides ``filter`` (logits in,
logits
out, ``keras.ops`` only, so it runs inside the compiled generation loop on every backend);
the base class draws from the filtered logits with the Gumbel-max trick. Parameters are
``__init__`` keyword arguments, validated there, and returned by ``get_config`` so the
sampler round-trips through a config dict.

Inside one program, the `bachnet.generation.samplers.register` decorator makes the name known::

    @samplers.register("min_p")
    class MinP(samplers.Sampler): ...

    net.generate(sampler="min_p")                       # or {"name": "min_p", "p": 0.2}

To ship it in a package instead, so that ``bachnet generate --sampler min_p`` and every
program can use it without importing your module first, declare an entry point in the
``bachnet.generation.samplers`` group of your ``pyproject.toml``::

    [project.entry-points."bachnet.generation.samplers"]
    min_p = "my_package.samplers:MinP"

Entry points are loaded lazily, once, the first time a name is not found among the built-ins;
a built-in name always wins a clash, and a plugin that fails to import becomes a warning.

Run::

    python examples/sampler_plugin.py --out plugin/                      # bundled model
    python examples/sampler_plugin.py --model tiny/model --steps 32 --p 0.05
"""

from __future__ import annotations

import argparse
import math
import numbers
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from keras import ops

from bachnet import samplers


@samplers.register("min_p")
class MinP(samplers.Sampler):
    """Keeps the ids whose probability is at least ``p`` times the top id's probability.

    ``prob >= p * max_prob`` is ``logit >= max_logit + log(p)`` (the softmax normaliser
    cancels), so the filter needs no softmax; the top id always survives.

    Args:
        p: a number in (0, 1]; 1 keeps only the most likely id(s), near 0 keeps almost all.
    """

    def __init__(self, p: float = 0.1) -> None:
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 < p <= 1.0:
            raise ValueError(f"min_p's p must be a number in (0, 1], got {p!r}")
        self.p = float(p)

    def filter(self, logits: Any) -> Any:
        logits = ops.cast(logits, "float32")
        top = ops.max(logits, axis=-1, keepdims=True)
        return ops.where(logits >= top + math.log(self.p), logits, float("-inf"))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "p": self.p}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="model folder, preset name or URL (default: bundled)"
    )
    parser.add_argument("--out", type=Path, default=Path("plugin"), help="output folder")
    parser.add_argument("--steps", type=int, default=64, help="new 16th notes")
    parser.add_argument("--p", type=float, default=0.25, help="min-p threshold")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    # The registry now knows the name, and the sampler round-trips through its config.
    assert "min_p" in samplers.available()
    sampler = samplers.get({"name": "min_p", "p": args.p})
    assert sampler == MinP.from_config(sampler.get_config())
    print(f"registered: {sampler!r}; all samplers: {', '.join(samplers.available())}")

    # What the filter does to one distribution: probabilities 0.5, 0.3, 0.15, 0.05.
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]], dtype="float32"))
    kept = np.isfinite(np.asarray(MinP(0.25).filter(logits)))[0]
    print(f"MinP(0.25) on probabilities [0.5, 0.3, 0.15, 0.05] keeps ids {np.flatnonzero(kept)}")

    from bachnet import BachNet, ModelFileError

    try:
        net = BachNet.from_pretrained(args.model)
    except (ModelFileError, ValueError, OSError) as error:
        sys.exit(
            f"cannot load model {args.model or '(bundled default)'}: {error}\n"
            "hint: pass --model FOLDER, e.g. one made by examples/train_on_csv.py"
        )
    by_name = net.generate(steps=args.steps, sampler="min_p", seed=args.seed)  # default p
    by_config = net.generate(steps=args.steps, sampler=sampler.get_config(), seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for label, chorale in (("min_p-default", by_name), (f"min_p-{args.p:g}", by_config)):
        print(f"wrote {chorale.write(args.out / f'{label}.mid')} ({len(chorale)} steps)")


if __name__ == "__main__":
    main()
