"""Print one sha256 over the pieces a fixed set of calls writes: a refactor must not change it.

Usage: python scripts/pieces_digest.py [--count 64]

Seeds 0..COUNT-1 of `generate()` with the defaults, a few with other options (a key, a sampler,
no rules), and `harmonize()` of JSB-shaped sopranos with each method. Run it before and after a
change that must keep behaviour; the digests must be equal.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np

import bachnet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=64)
    args = parser.parse_args()
    net = bachnet.BachNet.from_pretrained()
    digest = hashlib.sha256()
    pieces = []
    for seed in range(args.count):
        pieces.append(net.generate(steps=128, seed=seed))
    pieces.append(net.generate(steps=64, seed=5, key="D minor"))
    pieces.append(net.generate(steps=64, seed=6, rules=None))
    pieces.append(net.generate(steps=64, seed=7, sampler="top_k"))
    melody = np.repeat([72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 72], 4)
    for method in ("rerank", "beam", "sample"):
        pieces.append(net.harmonize(melody, seed=3, method=method))
    for piece in pieces:
        digest.update(np.ascontiguousarray(piece.chords, dtype=np.int16).tobytes())
    print(f"{len(pieces)} pieces, sha256 {digest.hexdigest()}")


if __name__ == "__main__":
    main()
