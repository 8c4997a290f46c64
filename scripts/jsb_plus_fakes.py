"""Build the training corpus of the [model] runs: JSB's train split plus the JS Fake Chorales.

Usage: python scripts/jsb_plus_fakes.py OUT [--jsb ARCHIVE] [--fakes ARCHIVE]

Writes ``OUT/train`` (JSB's 229 train chorales and the 500 JS Fake Chorales, ``fake_N.csv``),
``OUT/valid`` and ``OUT/test`` (JSB's own, untouched), the folder layout ``bachnet train --data
OUT`` reads. The archives default to ``../shared/data/`` beside the checkout; both are checked
against their sha256 first. The JS Fake Chorales are Omar Peracha's (2021), CC BY 4.0.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JSB_SHA256 = "e722fbc866fc1ba0bac56a6fcad95d7e3e584da80173e13932e3da441440efd7"
FAKES_SHA256 = "01ed4cd3349c22c43d3f22973a077b9311fb0e386bb0307db38c642931e45a5b"


def _checked(path: Path, digest: str) -> Path:
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != digest:
        raise SystemExit(f"{path}: sha256 {actual} is not the expected {digest}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--jsb", type=Path, default=ROOT.parent / "shared/data/jsb_chorales.tgz")
    parser.add_argument("--fakes", type=Path, default=ROOT.parent / "shared/data/js_fakes.tgz")
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists; choose a new folder")
    with tempfile.TemporaryDirectory() as tmp:
        for archive, digest in ((args.jsb, JSB_SHA256), (args.fakes, FAKES_SHA256)):
            with tarfile.open(_checked(archive, digest)) as tar:
                tar.extractall(tmp, filter="data")
        staging = Path(tmp) / "out"
        for split in ("train", "valid", "test"):
            shutil.copytree(Path(tmp) / "jsb_chorales" / split, staging / split)
        fakes = sorted((Path(tmp) / "js_fakes" / "pieces").glob("*.csv"))
        for piece in fakes:
            shutil.copy(piece, staging / "train" / f"fake_{piece.name}")
        shutil.copytree(staging, args.out)
    counts = {
        split: len(list((args.out / split).glob("*.csv"))) for split in ("train", "valid", "test")
    }
    print(f"{args.out}: {counts} ({len(fakes)} JS Fake Chorales in train)")


if __name__ == "__main__":
    main()
