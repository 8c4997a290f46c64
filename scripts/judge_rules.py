"""Judge a model's pieces under a set of rules: 4- and 8-bar AUCs and the style figures.

    python scripts/judge_rules.py [--model jsb-keys] [--rules JSON] [--without NAME ...]
                                  [--offset 0] [-n 256] [--sampler JSON]

The pieces are those of ``bachnet judge --model MODEL -n N --seed OFFSET`` (192 steps, drawn
64 at a time from seeds OFFSET, OFFSET + 64, ...), under the default rules less those named by
``--without`` and plus those of ``--rules`` (a JSON list of rule specs), e.g. the soprano's
``tie`` at another weight::

    python scripts/judge_rules.py --without tie \
        --rules '[{"name": "tie", "weight": 1.0, "voices": [0]}]'

``--revise F`` then redraws a share F of each piece's notes (1: all) with the whole-texture
filler (``fill(..., method="gibbs")``), keeping the first bar and the last two (the cadence)::

    python scripts/judge_rules.py -n 128 --revise 0.5

``--revise-voices AT`` instead redraws those voices whole, the rest of the piece kept
(``fill(piece, piece.mask(voices="AT"), method="gibbs")``, the library's settings).
``--save FILE`` pickles the judged pieces. ``--phrases auto`` composes to a phrase plan;
``--smc K`` draws every piece by sequential Monte Carlo with K particles
(``generate(particles=K)``) instead of one draw.

It prints one JSON object: the AUC of 4- and 8-bar excerpts against JSB test (judge seed 0),
the top giveaways of the 4-bar judge, and the style figures of `bachnet.music.metrics.measure`.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="jsb-keys")
    parser.add_argument("--rules", default="[]", help="JSON list of rule specs to add")
    parser.add_argument("--without", nargs="*", default=[], help="default rules to leave out")
    parser.add_argument("--offset", type=int, default=0, help="the first seed")
    parser.add_argument("-n", type=int, default=256, help="pieces (a multiple of 64)")
    parser.add_argument("--revise", type=float, default=None, help="share redrawn by the filler")
    parser.add_argument(
        "--revise-voices", default=None, help="voices redrawn whole by the filler, e.g. AT"
    )
    parser.add_argument("--save", default=None, help="pickle the judged pieces to this file")
    parser.add_argument(
        "--sampler",
        default='"top_p"',
        help='JSON sampler spec, e.g. \'{"name": "top_p", "p": 1.0}\'',
    )
    parser.add_argument("--phrases", default=None, help="a phrase plan, e.g. auto")
    parser.add_argument(
        "--smc", type=int, default=None, help="draw by sequential Monte Carlo, K particles"
    )
    args = parser.parse_args()

    import numpy as np

    from bachnet import BachNet
    from bachnet.generation.config import GenerationConfig
    from bachnet.generation.rules import DEFAULT_RULES
    from bachnet.judge import judge
    from bachnet.music.metrics import measure

    rules = [dict(r) for r in DEFAULT_RULES if r["name"] not in args.without]
    rules += json.loads(args.rules)
    net = BachNet.from_pretrained(args.model)
    sampler = json.loads(args.sampler)
    config = GenerationConfig(
        steps=192, rules=rules, sampler=sampler, phrases=args.phrases, particles=args.smc or 1
    )
    pieces = []
    for start in range(0, args.n, 64):
        count = min(64, args.n - start)
        drawn = net.generate(config=config, num_samples=count, seed=args.offset + start)
        pieces += drawn if isinstance(drawn, list) else [drawn]
    if args.revise is not None:
        rng = np.random.default_rng(0)
        for index, piece in enumerate(pieces):
            body = np.zeros((len(piece), 4), bool)
            body[16 : len(piece) - 32] = True  # the first bar and the cadence kept
            if args.revise < 1:
                body &= rng.random(body.shape) < args.revise
            pieces[index] = net.fill(piece, body, method="gibbs", seed=index, gibbs_steps=8)
    if args.revise_voices is not None:
        for index, piece in enumerate(pieces):
            mask = piece.mask(voices=args.revise_voices)
            pieces[index] = net.fill(piece, mask, method="gibbs", seed=index)
            print(f"revised {index + 1}/{len(pieces)}", file=sys.stderr, flush=True)
    if args.save:
        with open(args.save, "wb") as file:
            pickle.dump(pieces, file)
    out: dict[str, object] = {
        "model": args.model,
        "rules": rules,
        "sampler": sampler,
        "offset": args.offset,
        "phrases": args.phrases,
        "smc": args.smc,
    }
    for bars in (4, 8):
        verdict = judge(pieces, against="test", bars=bars, seed=0, name=args.model)
        lines = verdict.report().splitlines()
        out[f"auc_{bars}_bars"] = lines[1]
        out[f"giveaways_{bars}"] = lines[3:9]
    figures = measure(pieces)
    names = ("long_on_strong", "parallel_fifths", "parallel_octaves", "voice_crossing")
    out["figures"] = {name: round(float(getattr(figures, name)), 2) for name in names}
    out["figures"]["tonic_triad"] = figures.tonic_triad
    out["figures"]["onsets"] = [round(float(x), 1) for x in figures.onsets]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
