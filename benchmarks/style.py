"""Style figures of generated chorales against Bach's: samplers, rules on and off, endings.

For each setting, ``--pieces`` chorales of ``--steps`` steps are composed without a prompt
(seed ``--seed``) and measured with `bachnet.music.metrics`, beside Bach's JSB test and validation
splits. The interval L1 distance is measured against the test split. Then the key figures:
a requested key is honoured (music21's analysis of the result agrees), and the beat is kept
after a prompt: the opening of each JSB test chorale (``--prompt-steps``, ending on a beat or
inside one) is continued, and the generated part's onsets are counted by their place in the
prompt's beat.

Run:
    python benchmarks/style.py                     # the bundled default model
    python benchmarks/style.py --model jsb-small --pieces 16
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import numpy.typing as npt

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SETTINGS: dict[str, dict[str, object]] = {
    "top_p, rules (default)": {},
    "top_p, strict rules": {"rules": "strict"},
    "top_p, no rules": {"rules": None},
    "top_p, no rules, no cadence (raw model)": {"rules": None, "cadence": False},
    "top_k 10, rules": {"sampler": "top_k"},
    "top_k 10, no rules": {"sampler": "top_k", "rules": None},
    "temperature 1, rules": {"sampler": "temperature"},
    "temperature 1, no rules": {"sampler": "temperature", "rules": None},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default=None, help="preset or folder (default: bundled)")
    parser.add_argument("--pieces", type=int, default=64)
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="settings to run (default: all)")
    parser.add_argument("--keys", nargs="*", default=["D minor", "Eb major", "A major"])
    parser.add_argument("--prompt-steps", nargs="*", type=int, default=[32, 30])
    args = parser.parse_args()

    from bachnet import BachNet, Chorale, Dataset, metrics
    from bachnet.data.reference import reference_figures
    from bachnet.music.keys import Key, ends_on_tonic

    net = BachNet.from_pretrained(args.model)
    print(f"model: {net!r}; {args.pieces} pieces x {args.steps} steps, seed {args.seed}")
    columns = {}
    for name, options in SETTINGS.items():
        if args.only and name not in args.only:
            continue
        start = time.perf_counter()
        pieces = net.generate(
            steps=args.steps,
            num_samples=args.pieces,
            seed=args.seed,
            **options,  # type: ignore[arg-type]
        )
        assert isinstance(pieces, list)
        columns[name] = metrics.measure(pieces)
        print(f"{name}: {time.perf_counter() - start:.1f} s", flush=True)
    columns["Bach, JSB valid"] = reference_figures("valid")
    columns["Bach, JSB test"] = reference_figures("test")
    print()
    print(metrics.table(columns, reference="Bach, JSB test"))
    print()
    print("| key asked for | pieces whose music21 key agrees | ending on its tonic triad |")
    print("| --- | ---: | ---: |")
    for key in args.keys:
        pieces = net.generate(steps=args.steps, num_samples=16, seed=args.seed, key=key)
        assert isinstance(pieces, list)
        agree = sum(Key.parse(str(p.to_music21().analyze("key"))) == Key.parse(key) for p in pieces)

        tonic = sum(ends_on_tonic(p, Key.parse(key)) for p in pieces)
        print(f"| {key} | {agree} / {len(pieces)} | {tonic} / {len(pieces)} |")
    print()
    print("| prompt: JSB test opening | pieces | onsets after it, 16th position 0 / 1 / 2 / 3, % |")
    print("| --- | ---: | ---: |")
    test = Dataset.jsb(progress=False).split("test")
    for length in args.prompt_steps:
        prompts = [c for c in test if len(c) >= length][: args.pieces]
        counts = np.zeros(4, np.int64)
        for i, piece in enumerate(prompts):
            out = net.generate(Chorale(piece.chords[:length]), steps=args.steps, seed=args.seed + i)
            assert isinstance(out, Chorale)
            counts += _onsets_after(out.chords, length)
        shares = " / ".join(f"{100 * n / counts.sum():.1f}" for n in counts)
        print(f"| {length} steps | {len(prompts)} | {shares} |")


def _onsets_after(chords: npt.NDArray[np.int16], start: int) -> npt.NDArray[np.int64]:
    """Note onsets at steps ``start..`` by 16th position, counted from step 0 (on a beat)."""
    steps = np.arange(max(start, 1), len(chords))
    now, before = chords[steps], chords[steps - 1]
    onset = (now > 0) & (now != before)
    where = np.broadcast_to(steps[:, None], onset.shape)[onset]
    return np.bincount(where % 4, minlength=4).astype(np.int64)


if __name__ == "__main__":
    main()
