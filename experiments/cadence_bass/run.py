"""How the bass comes to a planned cadence: phrased pieces with and without `BASS_INTO`.

    python experiments/cadence_bass/run.py [--model jsb-keys] [--pieces 256] [--into]

``phrases="auto"`` pieces of ``--steps`` steps (seeds ``0..pieces-1``, as
`experiments/phrase_lstm_run/judge.py` draws them) under the library's plan, or with
``--into`` the plan with one more mask: in the eighth before each cadence's approach the bass
stands at the same pitch as the approach's bass, a step, a fourth or an octave from it
(`bass_into`, put in by wrapping `bachnet.generation.compose.narrow`; the library is
unchanged). Prints the judge's AUC against JSB test on 4- and 8-bar excerpts, the
cadences read back, and beside Bach's (JSB test): the bass's interval into each inner
cadence's approach (from the last 16th before it) and its melodic fourths and fifths.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


INTO = (0, 1, 2, 5, 12)
"""Semitones (either way) from the approach's bass at which ``--into`` lets the bass stand in
the eighth before it."""


def bass_into(rows: Any, vocab: Any) -> Any:
    """``(8, vocab.size)``: the two steps before a cadence's ``rows`` (its approach first, its
    bass one pitch), the bass at `INTO` from the approach's bass, the upper voices free."""
    import numpy as np

    out = np.ones((8, vocab.size), dtype=bool)
    approach = np.flatnonzero(rows[3])
    if len(approach) == 1 and approach[0] != 0:
        pitches = vocab.pitch_of(np.arange(vocab.size)).astype(np.int64)
        gap = np.abs(pitches - pitches[approach[0]])
        out[3::4] = np.isin(gap, INTO) & (pitches > 0)
    return out


def bass_figures(pieces: Sequence[Any]) -> str:
    """The bass into each inner cadence's approach (% same pitch / a step / a third / a
    fourth / a fifth / an octave / other) and its melodic fourths and fifths (% of moves)."""
    import numpy as np

    into: Counter[int] = Counter()
    moves = fourths = 0
    for piece in pieces:
        bass = np.asarray(piece.chords)[:, 3].astype(int)
        for fermata in list(piece.fermatas)[:-1]:
            if fermata >= 5 and bass[fermata - 4] and bass[fermata - 5]:
                into[abs(bass[fermata - 4] - bass[fermata - 5])] += 1
        starts = np.flatnonzero(np.r_[True, bass[1:] != bass[:-1]] & (bass > 0))
        leaps = np.abs(np.diff(bass[starts]))
        moves += len(leaps)
        fourths += int(np.isin(leaps, (5, 7)).sum())
    total = sum(into.values())
    groups = {"same": (0,), "step": (1, 2), "third": (3, 4), "fourth": (5,), "fifth": (7,)}
    groups["octave"] = (12,)
    shares = {name: sum(into[d] for d in ds) for name, ds in groups.items()}
    shares["other"] = total - sum(shares.values())
    text = " / ".join(f"{name} {100 * n / total:.0f}" for name, n in shares.items())
    return f"into the approach ({total}): {text}; bass 4ths and 5ths {100 * fourths / moves:.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="jsb-keys")
    parser.add_argument("--pieces", type=int, default=256)
    parser.add_argument("--steps", type=int, default=192)
    parser.add_argument("--into", action="store_true", help="the bass's eighth before the approach")
    args = parser.parse_args()

    from bachnet import BachNet, Dataset
    from bachnet.generation import compose
    from bachnet.judge import judge
    from bachnet.music.phrases import phrase_figures

    if args.into:
        narrow, calls = compose.narrow, [0]

        def narrow_too(mask: Any, at: int, rows: Any) -> None:
            narrow(mask, at, rows)
            calls[0] += 1
            if calls[0] % 2 == 0 and at >= 8:  # _phrased: a cadence's scale, then its rows
                narrow(mask, at - 8, bass_into(rows, net.vocab))

        compose.narrow = narrow_too  # type: ignore[assignment]
    print("Bach (JSB test):", bass_figures(list(Dataset.jsb(progress=False).split("test"))))
    net = BachNet.from_pretrained(args.model)
    pieces = net.generate(steps=args.steps, num_samples=args.pieces, seed=0, phrases="auto")
    assert isinstance(pieces, list)
    four = judge(pieces, against="test", bars=4, seed=0)
    eight = judge(pieces, against="test", bars=8, seed=0)
    kinds = phrase_figures(pieces).cadences
    print(f"{args.model}{' --into' if args.into else ''}:", bass_figures(pieces))
    print(
        f"judge 4 bars {four.auc:.3f}, 8 bars {eight.auc:.3f}; cadences authentic / half "
        f"{kinds.get('authentic', 0.0):.1f} / {kinds.get('half', 0.0):.1f} %"
    )
    print("\n".join(eight.report().splitlines()[3:9]))


if __name__ == "__main__":
    main()
