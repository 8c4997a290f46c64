"""Build the extra corpus of the `jsb-meter` run's second stage: JSB's train chorales in 3/4.

Usage: python scripts/jsb_three_four.py OUT [--copies 3]

Writes each of the JSB train split's chorales in 3/4 (22 of 229, with their metre and pickup
from music21's edition, `bachnet.data.form`) ``--copies`` times as MusicXML, ``NAME_K.musicxml``,
so that a run reading ``--data jsb+FAKES+OUT --split-sizes 1,0,0`` sees 3/4 bars four times as
often (all of them train pieces: JSB's valid and test pieces stay unseen). MusicXML, not CSV:
a CSV file cannot say its metre.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--copies", type=int, default=3)
    args = parser.parse_args()

    from bachnet import Dataset

    args.out.mkdir(parents=True, exist_ok=True)
    pieces = [p for p in Dataset.jsb(progress=False).split("train") if p.meter == "3/4"]
    for piece in pieces:
        for copy in range(args.copies):
            piece.write(args.out / f"{piece.name}_{copy}.musicxml")
    print(f"wrote {len(pieces)} chorales x {args.copies} into {args.out}")


if __name__ == "__main__":
    main()
