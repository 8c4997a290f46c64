"""How much of a phrase plan to force, for a model that hears it: the judge decides.

Usage: python experiments/phrase_lstm_run/soft.py MODEL [--pieces 256] [--ways forced,chord,free]

``phrases="auto"`` pieces of ``--steps`` steps (seeds as `judge.py`), the plan's masks
loosened by wrapping `bachnet.generation.compose`'s mask builders (the library is unchanged):

- ``forced``: the library's plan: each cadence's approach beat and fermata chord forced
  (`bachnet.music.cadence.cadence_rows`), the two beats before on its key's scale;
- ``chord``: the fermata chord forced, its approach and the beats before free;
- ``free``: only the last cadence forced (approach and chord); at every inner fermata the
  model, hearing the plan, writes what it will;
- ``onset``: as ``forced``, but the approach chord only on the beat's first 16th (the rest of
  the beat on the key's scale, so that a voice may pass on to the fermata chord);
- ``late``: as ``forced``, but the approach chord only on the beat's second eighth (the first
  on the key's scale: a I64 or ii6 may come before the V);
- ``bass``: as ``forced``, but of the approach only its bass (the upper voices on the scale).

Per way: the judge's AUC on 4- and 8-bar excerpts against Bach's test split, the cadences
read back (`bachnet.music.phrases.phrase_figures`) and the soprano's long notes on 1/3.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--pieces", type=int, default=256)
    parser.add_argument("--steps", type=int, default=192)
    parser.add_argument("--ways", default="forced,chord,free")
    args = parser.parse_args()

    import numpy as np

    from bachnet import BachNet
    from bachnet.generation import compose
    from bachnet.judge import judge
    from bachnet.music.cadence import APPROACH_STEPS
    from bachnet.music.metrics import bar_figures
    from bachnet.music.phrases import phrase_figures

    cadence_rows, scale_rows = compose.cadence_rows, compose.scale_rows

    def loosened(way: str):  # type: ignore[no-untyped-def]
        def rows(kind, key, vocab, ranges, held=APPROACH_STEPS, third=None):  # type: ignore[no-untyped-def]
            out = cadence_rows(kind, key, vocab, ranges, held, third)
            last = held != APPROACH_STEPS  # the final cadence is held one step
            if way == "chord" and not last:
                out[: 4 * APPROACH_STEPS] = True
            if way == "free" and not last:
                out[:] = True
            if way == "onset" and not last:
                out[4 : 4 * APPROACH_STEPS] = scale_rows(key, vocab, APPROACH_STEPS - 1)
            if way == "late" and not last:
                out[:8] = scale_rows(key, vocab, 2)
            if way == "bass" and not last:
                scale = scale_rows(key, vocab, APPROACH_STEPS)
                for voice in range(3):
                    out[voice : 4 * APPROACH_STEPS : 4] = scale[voice::4]
            return out

        def scale(key, vocab, steps):  # type: ignore[no-untyped-def]
            out = scale_rows(key, vocab, steps)
            return out if way == "forced" else np.ones_like(out)

        return rows, scale

    net = BachNet.from_pretrained(args.model)
    print(
        "| composed | judge 4 bars | judge 8 bars | soprano long notes on 1/3 % "
        "| authentic / half / other cadences % | cadence keys tonic % | last authentic home % |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for way in args.ways.split(","):
        compose.cadence_rows, compose.scale_rows = loosened(way)
        try:
            pieces = net.generate(steps=args.steps, num_samples=args.pieces, seed=0, phrases="auto")
        finally:
            compose.cadence_rows, compose.scale_rows = cadence_rows, scale_rows
        assert isinstance(pieces, list)
        four = judge(pieces, against="test", bars=4, seed=0)
        eight = judge(pieces, against="test", bars=8, seed=0)
        figures = phrase_figures(pieces)
        kinds = figures.cadences
        print(
            f"| {way} | {four.auc:.3f} | {eight.auc:.3f} | {bar_figures(pieces)[0]:.1f} "
            f"| {kinds.get('authentic', 0):.1f} / {kinds.get('half', 0):.1f} / "
            f"{kinds.get('other', 0):.1f} | {figures.relations.get('tonic', 0):.1f} "
            f"| {figures.last_authentic_tonic:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
