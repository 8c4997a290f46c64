"""Chord changes per beat around the inner fermatas: Bach's test chorales against phrased pieces.

Usage: python experiments/phrase_lstm_run/profile.py MODEL [--pieces 256] [--steps 192]

For each beat from four before an inner fermata to three after it (0: the fermata's own
beat), the mean number of chord changes (a step where any voice's pitch changes) in that
beat: over Bach's JSB test chorales that carry fermatas, and over ``phrases="auto"`` pieces
of MODEL (seeds as `judge.py`). Then both pieces' changes per beat overall.
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
    args = parser.parse_args()

    import numpy as np

    from bachnet import BachNet, Chorale
    from bachnet.data.corpus import Dataset

    def profile(pieces: list[Chorale]) -> tuple[list[float], float]:
        around: dict[int, list[int]] = {beat: [] for beat in range(-4, 4)}
        changes, beats = 0, 0.0
        for piece in pieces:
            chords = np.asarray(piece.chords)
            changed = np.r_[False, (chords[1:] != chords[:-1]).any(axis=1)]
            changes, beats = changes + int(changed.sum()), beats + len(chords) / 4
            for fermata in piece.fermatas[:-1]:
                for beat, counts in around.items():
                    step = fermata + 4 * beat
                    if step >= 0 and step + 4 <= len(chords):
                        counts.append(int(changed[step : step + 4].sum()))
        return [float(np.mean(around[beat])) for beat in sorted(around)], changes / beats

    bach = [piece for piece in Dataset.jsb().split("test") if piece.fermatas]
    made = BachNet.from_pretrained(args.model).generate(
        steps=args.steps, num_samples=args.pieces, seed=0, phrases="auto"
    )
    assert isinstance(made, list)
    print("| pieces | beats -4 .. +3 around an inner fermata (0: its beat) | overall |")
    print("| --- | --- | ---: |")
    for name, pieces in (("Bach, JSB test", bach), (args.model, made)):
        near, overall = profile(pieces)
        print(f"| {name} | {' / '.join(f'{n:.2f}' for n in near)} | {overall:.2f} |")


if __name__ == "__main__":
    main()
