"""Melody harmonisation: each method on the 77 sopranos of the JSB test split.

For every method (one draw, the best-scored of N draws, a beam search of width N; one draw
also without the voice-leading rules) the bundled default model harmonises the soprano of
each test chorale (piece ``i`` with seed ``seed + i``), and the table gives, over all 77
pieces:

* style figures of the harmonisations, as `bachnet.music.metrics` defines them: parallel fifths
  and parallel octaves/unisons per 100 chord changes, voice crossing and wide spacing (% of
  chord changes), held steps of the alto, tenor and bass (% of their sounding 16th steps, the
  mean of the three), the L1 distance of the melodic-interval histogram to Bach's (averaged
  over the four voices, as `bachnet.music.metrics.interval_distance` does; the soprano is Bach's
  own, so it adds 0), and the share of pieces that end on a tonic triad with the tonic in the
  bass (music21's key analysis of the whole piece);
* the model's NLL of its own harmonisations (`bachnet.model.scoring.nll_per_piece`, nats per
  token over the whole piece, token-weighted over the pieces);
* agreement with Bach's alto, tenor and bass: % of (step, voice) pairs with the same pitch
  class (or both silent); and % of steps whose chord has the same set of pitch classes as
  Bach's (the same harmony, whatever the voicing);
* seconds per piece (wall clock, after one warm-up piece per method).

Bach's own chorales are the first row.

Run:
    python benchmarks/harmonize.py
    python benchmarks/harmonize.py --methods sample,rerank:8 --limit 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import numpy.typing as npt

from bachnet import BachNet, Chorale, Dataset, metrics
from bachnet.data import ENV_DATA_DIR, JSB_ARCHIVE
from bachnet.generation.config import GenerationConfig
from bachnet.generation.harmonize import harmonize, score

SHARED_ARCHIVE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / JSB_ARCHIVE
Chords = npt.NDArray[np.int16]


def load_test() -> list[Chorale]:
    """The JSB test split, offline from ``../shared/data`` when it exists."""
    if not SHARED_ARCHIVE.is_file():
        return list(Dataset.jsb().split("test"))
    with tempfile.TemporaryDirectory(prefix="bachnet-bench-") as cache:
        shutil.copy(SHARED_ARCHIVE, Path(cache) / JSB_ARCHIVE)
        saved = os.environ.get(ENV_DATA_DIR)
        os.environ[ENV_DATA_DIR] = cache
        try:
            return list(Dataset.jsb(progress=False).split("test"))
        finally:
            if saved is None:
                os.environ.pop(ENV_DATA_DIR, None)
            else:
                os.environ[ENV_DATA_DIR] = saved


# ---------------------------------------------------------------------------- figures
def agreement(pieces: Sequence[Chords], bach: Sequence[Chords]) -> float:
    """% of (step, lower voice) pairs with Bach's pitch class (or both silent)."""
    same = []
    for mine, his in zip(pieces, bach, strict=True):
        a, b = mine[:, 1:].astype(np.int32), his[:, 1:].astype(np.int32)
        same.append(np.where((a > 0) & (b > 0), a % 12 == b % 12, (a == 0) & (b == 0)))
    return 100 * float(np.concatenate(same).mean())


def same_harmony(pieces: Sequence[Chords], bach: Sequence[Chords]) -> float:
    """% of steps whose four voices sound the same set of pitch classes as Bach's."""
    same = []
    for mine, his in zip(pieces, bach, strict=True):
        for a, b in zip(mine.astype(np.int32), his.astype(np.int32), strict=True):
            same.append(set(a[a > 0] % 12) == set(b[b > 0] % 12))
    return 100 * float(np.mean(same))


def row(
    label: str,
    net: BachNet,
    pieces: Sequence[Chorale],
    bach: Sequence[Chorale],
    reference: npt.NDArray[np.float64],
    seconds: float | None,
) -> str:
    figures = metrics.measure(pieces)
    chords = [p.chords for p in pieces]
    nll = score(net, pieces)
    tokens = np.array([4 * len(p) for p in pieces])
    l1 = metrics.interval_distance(figures.intervals, reference)
    his = [b.chords for b in bach]
    cells = [
        label,
        f"{figures.parallel_fifths:.2f}",
        f"{figures.parallel_octaves:.2f}",
        f"{figures.voice_crossing:.1f}",
        f"{figures.spacing:.1f}",
        f"{np.mean(figures.voice_held[1:]):.1f}",
        f"{l1:.3f}",
        f"{figures.tonic_triad:.0f}",
        f"{float((nll * tokens).sum() / tokens.sum()):.3f}",
        f"{agreement(chords, his):.1f}",
        f"{same_harmony(chords, his):.1f}",
        "-" if seconds is None else f"{seconds:.2f}",
    ]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder or preset (default: bundled)")
    parser.add_argument(
        "--methods",
        default="sample:norules,sample,rerank:4,rerank:8,rerank:32,beam:4,beam:16",
        help="comma-separated METHOD[:CANDIDATES][:norules]",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="only the first N test pieces")
    args = parser.parse_args()

    import warnings

    warnings.simplefilter("ignore", UserWarning)  # no test soprano needs an octave shift
    net = BachNet.from_pretrained(args.model)
    bach = load_test()[: args.limit]
    reference = metrics.interval_histogram(bach)
    print(f"model: {net!r}; {len(bach)} JSB test sopranos; seed {args.seed} + piece index\n")
    header = (
        "| method | fifths /100 | octaves /100 | crossing % | spacing % | A/T/B held % "
        "| interval L1 | tonic ending % | NLL (nats/token) | Bach's pitch class % "
        "| Bach's harmony % | s / piece |"
    )
    print(header)
    print("|" + " --- |" + " ---: |" * 11)
    print(row("Bach (JSB test)", net, bach, bach, reference, None), flush=True)
    for spec in args.methods.split(","):
        method, *rest = spec.split(":")
        rules = None if "norules" in rest else "default"
        numbers = [int(r) for r in rest if r.isdigit()]
        candidates = numbers[0] if numbers else 8
        config = GenerationConfig(method=method, candidates=candidates, rules=rules)
        harmonize(net, bach[0], config, seed=args.seed)  # warm-up
        start = time.perf_counter()
        pieces = []
        for index, chorale in enumerate(bach):
            piece = harmonize(net, chorale, config, seed=args.seed + index)
            assert np.array_equal(piece.chords[:, 0], chorale.chords[:, 0])
            pieces.append(piece)
        seconds = (time.perf_counter() - start) / len(bach)
        label = method if method == "sample" else f"{method} x{candidates}"
        label += ", no rules" if rules is None else ""
        print(row(label, net, pieces, bach, reference, seconds), flush=True)


if __name__ == "__main__":
    main()
