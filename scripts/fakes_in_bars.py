"""Build the JS Fake Chorales as a training corpus whose pieces sit in their bars.

Usage: python scripts/fakes_in_bars.py OUT [--fakes ARCHIVE]

The archive's pieces are CSV, which cannot say where the bar lines fall; read as JSB's CSVs
are (ending on a bar line), only 52 % of their soprano half notes land on beats 1 or 3
(Bach's: 82 %), since the fakes end anywhere in the bar. This writes each of the 500 annotated
fakes as ``OUT/fake_N.musicxml`` in 4/4 with the pickup of `bachnet.data.form.likely_pickup`
(76 % on beats 1 or 3), for ``bachnet train --data jsb+OUT --split-sizes 1,0,0``. The archive
defaults to ``../shared/data/js_fakes.tgz`` beside the checkout and is checked against its
sha256 first. The JS Fake Chorales are Omar Peracha's (2021), CC BY 4.0.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAKES_SHA256 = "01ed4cd3349c22c43d3f22973a077b9311fb0e386bb0307db38c642931e45a5b"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--fakes", type=Path, default=ROOT.parent / "shared/data/js_fakes.tgz")
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists; choose a new folder")
    actual = hashlib.sha256(args.fakes.read_bytes()).hexdigest()
    if actual != FAKES_SHA256:
        raise SystemExit(f"{args.fakes}: sha256 {actual} is not the expected {FAKES_SHA256}")

    from bachnet.data.form import likely_pickup
    from bachnet.judge.fakes import read_js_fakes
    from bachnet.music.metrics import bar_figures

    pieces = read_js_fakes(args.fakes).pieces
    aligned = [piece.replace(pickup=likely_pickup(piece)) for piece in pieces]
    staging = args.out.with_name(args.out.name + ".partial")
    staging.mkdir(parents=True, exist_ok=False)
    for piece in aligned:
        piece.write(staging / f"fake_{piece.name}.musicxml")
    staging.rename(args.out)
    print(
        f"{args.out}: {len(aligned)} fakes; soprano half notes on beats 1 or 3: "
        f"{bar_figures(list(pieces))[0]:.1f} % ending on a bar line, "
        f"{bar_figures(aligned)[0]:.1f} % with likely_pickup"
    )


if __name__ == "__main__":
    main()
