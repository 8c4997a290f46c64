"""Generate pieces under several settings and judge each against Bach (the [judge] lever table).

    python scripts/judge_levers.py OUT_FOLDER [NAME ...] [--n 256] [--steps 192]

Pieces are kept as CSV under OUT_FOLDER/NAME/ (re-used when present), and each setting's
verdict is written to OUT_FOLDER/NAME.json; a Markdown row per setting is printed: the judge's
AUC (4-bar excerpts against JSB test) with its interval, the grade, and the style figures the
voice-leading issues bound (parallels, crossing, tonic endings, onsets on the beat).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bachnet import BachNet, Chorale
from bachnet.data.reference import reference
from bachnet.judge import judge
from bachnet.model.scoring import nll_per_piece
from bachnet.music.metrics import measure


def soft(
    fifths: float = 2.7,
    octaves: float = 3.9,
    crossing: float = 1.0,
    spacing: float = 1.0,
    hold: float | None = None,
    eighth: float = 0.3,
    steps: bool = True,
) -> list[dict[str, Any]]:
    """The default rules with the bans turned into penalties (weights: nats off the logit)."""
    return [
        {"name": "parallel_fifths", "weight": fifths},
        {"name": "parallel_octaves", "weight": octaves},
        {"name": "voice_crossing", "weight": crossing},
        {"name": "spacing", "weight": spacing, "semitones": 12},
        {"name": "leap", "weight": None, "semitones": 12},
        *(
            [
                {"name": "leap", "weight": 0.25, "semitones": 2, "voices": [0, 1, 2]},
                {"name": "leap", "weight": 0.8, "semitones": 2, "voices": [3]},
            ]
            if steps
            else []
        ),
        {"name": "eighth_motion", "weight": eighth},
        *([{"name": "hold", "weight": hold}] if hold else []),
    ]


BEFORE_CHORDS: list[dict[str, Any]] = [
    {"name": "parallel_fifths", "weight": 4.5},
    {"name": "parallel_octaves", "weight": 6.0},
    {"name": "leap", "weight": None, "semitones": 12},
    {"name": "leap", "weight": 0.8, "semitones": 2, "voices": [3]},
]
"""The default rules from the [judge] issue until the `chords` rule joined them."""


def with_chords(weight: float) -> list[dict[str, Any]]:
    """`BEFORE_CHORDS` and the `chords` rule (a bass making a chord outside Bach's 24
    commonest) at ``weight``."""
    return [*BEFORE_CHORDS, {"name": "chords", "weight": weight}]


def temperature(t: float, p: float = 0.98) -> dict[str, Any]:
    return {"name": "sampling", "temperature": t, "top_p": p}


SETTINGS: dict[str, dict[str, Any]] = {
    "default": {},
    "raw": {"rules": None, "cadence": False},
    "no-rules": {"rules": None},
    "jsb-small": {"model": "jsb-small"},
    "jsb-fakes": {"model": "jsb-fakes"},
    "soft": {"rules": soft()},
    "soft-t0.9": {"rules": soft(), "sampler": temperature(0.9)},
    "soft-t0.8": {"rules": soft(), "sampler": temperature(0.8)},
    "t0.9": {"sampler": temperature(0.9)},
    "fakes-soft": {"model": "jsb-fakes", "rules": soft()},
    "soft2": {"rules": soft(4.0, 5.0, 0.5, 0.5)},
    "soft2-p0.9": {"rules": soft(4.0, 5.0, 0.5, 0.5), "sampler": {"name": "top_p", "p": 0.9}},
    "soft2-rerank4": {"rules": soft(4.0, 5.0, 0.5, 0.5), "rerank": 4},
    "harmonize": {"harmonize": True},
    "harmonize-strict": {"harmonize": True, "rules": "strict"},
    "reg": {},
    "typ-h0.6-e0.8": {
        "rules": soft(4.5, 6.0, 0.5, 0.5, hold=0.6, eighth=0.8),
        "sampler": {"name": "typical", "mass": 0.9},
    },
    "typ-h0.4-e0.6": {
        "rules": soft(4.5, 6.0, 0.5, 0.5, hold=0.4, eighth=0.6),
        "sampler": {"name": "typical", "mass": 0.9},
    },
    "typ-noleap": {
        "rules": soft(4.5, 6.0, 0.5, 0.5, hold=0.4, eighth=0.6, steps=False),
        "sampler": {"name": "typical", "mass": 0.9},
    },
    "p98-noleap": {"rules": soft(4.5, 6.0, 0.5, 0.5, hold=0.4, eighth=0.6, steps=False)},
    "minimal": {
        "rules": [
            {"name": "parallel_fifths", "weight": 4.5},
            {"name": "parallel_octaves", "weight": 6.0},
            {"name": "leap", "weight": None, "semitones": 12},
        ]
    },
    "minimal-bass": {
        "rules": [
            {"name": "parallel_fifths", "weight": 4.5},
            {"name": "parallel_octaves", "weight": 6.0},
            {"name": "leap", "weight": None, "semitones": 12},
            {"name": "leap", "weight": 0.8, "semitones": 2, "voices": [3]},
        ]
    },
    "harmonize-minimal": {
        "harmonize": True,
        "rules": [
            {"name": "parallel_fifths", "weight": 4.5},
            {"name": "parallel_octaves", "weight": 6.0},
            {"name": "leap", "weight": None, "semitones": 12},
        ],
    },
    "minimal-nocad": {
        "cadence": False,
        "rules": [
            {"name": "parallel_fifths", "weight": 4.5},
            {"name": "parallel_octaves", "weight": 6.0},
            {"name": "leap", "weight": None, "semitones": 12},
        ],
    },
    "p98-h0.4-e0.6": {"rules": soft(4.5, 6.0, 0.5, 0.5, hold=0.4, eighth=0.6)},
    "typical0.9": {"rules": soft(4.5, 6.0, 0.5, 0.5), "sampler": {"name": "typical", "mass": 0.9}},
    "typical0.8": {"rules": soft(4.5, 6.0, 0.5, 0.5), "sampler": {"name": "typical", "mass": 0.8}},
    "p0.9-hold0.5": {
        "rules": soft(4.5, 6.0, 0.5, 0.5, hold=0.5),
        "sampler": {"name": "top_p", "p": 0.9},
    },
    "reg-soft3": {"rules": soft(4.5, 6.0, 0.5, 0.5)},
    "reg-soft3-hold0.2": {"rules": soft(4.5, 6.0, 0.5, 0.5, hold=0.2)},
    "reg-soft3-hold0.4": {"rules": soft(4.5, 6.0, 0.5, 0.5, hold=0.4)},
    "fakes-soft-t0.9": {"model": "jsb-fakes", "rules": soft(), "sampler": temperature(0.9)},
    # jsb-keys (the default since [model]) and the `chords` rule on top of the default rules
    "keys-default": {"model": "jsb-keys", "rules": BEFORE_CHORDS},
    "keys-chords0.5": {"model": "jsb-keys", "rules": with_chords(0.5)},
    "keys-chords1": {"model": "jsb-keys", "rules": with_chords(1.0)},
    "harmonize-keys-default": {"model": "jsb-keys", "harmonize": True, "rules": BEFORE_CHORDS},
    "harmonize-keys-chords1": {"model": "jsb-keys", "harmonize": True, "rules": with_chords(1.0)},
}


def pieces_for(
    name: str, out: Path, n: int, steps: int, seed: int = 1000, suffix: str = "", batch: int = 64
) -> list[Chorale]:
    folder = out / f"{name}{suffix}"
    files = sorted(folder.glob("*.csv"), key=lambda p: int(p.stem)) if folder.is_dir() else []
    if len(files) >= n:
        return [Chorale.read(f) for f in files[:n]]
    setting = dict(SETTINGS[name])
    model = setting.pop("model", None)
    harmonise = setting.pop("harmonize", None)
    rerank = setting.pop("rerank", 1)
    net = BachNet.from_pretrained(model)
    folder.mkdir(parents=True, exist_ok=True)
    pieces: list[Chorale] = []
    start = time.time()
    if harmonise:
        sopranos = [c.chords[:, 0] for c in reference("test")]
        for k, melody in enumerate(sopranos):
            pieces.append(net.harmonize(melody, seed=k, **setting))
    else:
        for k in range(0, n * rerank, batch):
            count = min(batch, n * rerank - k)
            got = net.generate(steps=steps, num_samples=count, seed=seed + k, **setting)
            pieces += got if isinstance(got, list) else [got]
            print(
                f"  {name}: {len(pieces)}/{n} pieces, {time.time() - start:.0f} s", file=sys.stderr
            )
    if rerank > 1:
        nll = nll_per_piece(net, pieces)
        pieces = [
            pieces[g * rerank + int(np.argmin(nll[g * rerank : (g + 1) * rerank]))]
            for g in range(n)
        ]
    for k, piece in enumerate(pieces):
        piece.write(folder / f"{k}.csv")
    return pieces


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("names", nargs="*")
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--steps", type=int, default=192)
    ap.add_argument("--seed", type=int, default=1000, help="seed of the first batch of pieces")
    ap.add_argument("--suffix", default="", help="added to the folder names (another seed)")
    args = ap.parse_args()
    print(
        "| setting | AUC (95 % interval) | grade (Bach 4.5) | fifths / octaves per 100 "
        "| crossing % | tonic endings % | onsets on beat % |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name in args.names or list(SETTINGS):
        pieces = pieces_for(name, args.out, args.n, args.steps, args.seed, args.suffix)
        start = time.time()
        verdict = judge(pieces, name=name)
        took = time.time() - start
        verdict.write_json(args.out / f"{name}{args.suffix}.json")
        f = measure(pieces)
        low, high = verdict.test.interval
        ends = f.tonic_triad if f.tonic_triad is not None else float("nan")
        print(
            f"| {name}{args.suffix} | {verdict.auc:.3f} ({low:.2f}-{high:.2f}) | "
            f"{verdict.grade.mean:.2f} | "
            f"{f.parallel_fifths:.2f} / {f.parallel_octaves:.2f} | {f.voice_crossing:.1f} | "
            f"{ends:.0f} | {f.onsets[0]:.1f} |  <!-- judged in {took:.0f} s -->",
            flush=True,
        )


if __name__ == "__main__":
    main()
