"""Find each JSB chorale in music21's edition and record its bars and fermatas.

The JSB CSVs start on the first note and carry neither the pickup nor the fermatas; music21's
bundled Bach chorales (MusicXML, with measures and fermatas) are the same pieces. This matches
every JSB piece to a music21 chorale by its notes (all four voices, allowing a transposition and
for either edition to repeat a section the other writes once) and writes, per JSB piece, the
music21 file it matched, its metre, its pickup in 16ths and its fermata steps, to
``src/bachnet/data/jsb_form.json`` (read by `bachnet.data.form`).

Run from the project root (takes a few minutes: it parses ~430 MusicXML files)::

    python scripts/jsb_form.py [--out src/bachnet/data/jsb_form.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bachnet.data.reference import reference
from bachnet.music.grid import merge_fermatas

STEP = 0.25


def parse(path: str) -> dict[str, object] | None:
    """One music21 chorale on the grid: chords, fermata steps, pickup and metre."""
    from music21 import converter
    from music21.expressions import Fermata

    try:
        score = converter.parse(path, forceSource=True, storePickle=False)
    except Exception:
        return None
    parts = list(getattr(score, "parts", []))
    if len(parts) != 4:
        return None
    steps = round(float(score.highestTime) / STEP)
    chords = np.zeros((steps, 4), np.int16)
    fermatas: set[int] = set()
    for voice, part in enumerate(parts):
        for element in part.flatten().notesAndRests:
            length = float(element.quarterLength)
            if length <= 0:
                continue
            start = round(float(element.offset) / STEP)
            if any(isinstance(e, Fermata) for e in element.expressions):
                fermatas.add(start)
            if element.isRest:
                continue
            pitches = [p.midi for p in element.pitches]
            pitch = max(pitches) if voice < 2 else min(pitches)
            chords[
                start : max(start + 1, round((float(element.offset) + length) / STEP)), voice
            ] = pitch
    measures = list(parts[0].getElementsByClass("Measure"))
    signatures = list(parts[0].recurse().getElementsByClass("TimeSignature"))
    if not measures or not signatures:
        return None
    meter = signatures[0].ratioString
    bar = round(float(signatures[0].barDuration.quarterLength) / STEP)
    first = round(float(measures[0].duration.quarterLength) / STEP)
    pickup = first % bar if first < bar else 0
    return {
        "chords": chords,
        "fermatas": sorted(fermatas),
        "pickup": pickup,
        "meter": meter,
        "bar": bar,
        "meters": sorted({s.ratioString for s in signatures}),
    }


def trimmed(chords: np.ndarray) -> tuple[np.ndarray, int]:
    """Drop leading and trailing all-silent rows; return the rows and how many led."""
    sounding = np.flatnonzero(chords.any(axis=1))
    if sounding.size == 0:
        return chords[:0], 0
    return chords[sounding[0] : sounding[-1] + 1], int(sounding[0])


def candidates(piece: np.ndarray, edition: np.ndarray) -> list[tuple[int, int]]:
    """(offset, shift) pairs where the piece's opening may lie in the edition.

    An offset is a candidate when one of the piece's first four rows has the same voicing
    (every voice's distance below the top, and which voices sound) as the edition's row
    there; the shift is what moves the edition's row onto the piece's.
    """
    tops = edition.max(axis=1).astype(int)
    shapes = np.where(edition > 0, edition.astype(int) - tops[:, None], -999)
    found: set[tuple[int, int]] = set()
    for row in range(min(4, len(piece))):
        chord = piece[row].astype(int)
        if not chord.any():
            continue
        shape = np.where(chord > 0, chord - chord.max(), -999)
        for offset in np.flatnonzero(np.all(shapes == shape, axis=1)).tolist():
            if offset >= row:
                found.add((offset - row, int(chord.max()) - int(tops[offset])))
    return sorted(found)


def equal_rows(piece: np.ndarray, edition: np.ndarray, shift: int) -> np.ndarray:
    """``(len(piece), len(edition))`` True where the piece's row equals the moved edition's."""
    moved = np.where(edition > 0, edition.astype(int) + shift, 0)
    return np.all(piece[:, None, :].astype(int) == moved[None, :, :], axis=2)


def align(same: np.ndarray, offset: int) -> tuple[np.ndarray, int]:
    """Map each piece step to an edition step (-1: none), following the diagonal from
    ``offset`` and jumping (a repeat written out, a section left out) when a run of at
    least 16 equal rows starts elsewhere; returns the map and how many mapped rows differ.
    """
    steps, length = same.shape
    mapping = np.full(steps, -1)
    step, place, differ = 0, offset, 0
    while step < steps:
        if place < length and same[step, place]:
            mapping[step] = place
            step, place = step + 1, place + 1
            continue
        # a run of 16 equal rows starting here somewhere else?
        head = min(16, steps - step)
        runs = np.ones(length, bool)
        for k in range(head):
            shifted = np.zeros(length, bool)
            shifted[: length - k] = same[step + k, k:]
            runs &= shifted
        jumps = np.flatnonzero(runs)
        if jumps.size and head >= 8:
            place = int(jumps[np.argmin(np.abs(jumps - place))])
            continue
        if place >= length:
            break
        mapping[step] = place
        differ += 1
        step, place = step + 1, place + 1
    return mapping, differ


def find(piece: np.ndarray, edition: np.ndarray) -> tuple[int, np.ndarray, int] | None:
    """The best alignment of a JSB piece in an edition: (shift, step map, equal rows)."""
    best: tuple[int, np.ndarray, int] | None = None
    head = min(32, len(piece))
    for offset, shift in candidates(piece, edition):
        window = edition[offset : offset + head]
        if len(window) < head:
            continue
        moved = np.where(window > 0, window.astype(int) + shift, 0)
        if np.mean(np.all(moved == piece[:head], axis=1)) < 0.75:
            continue
        mapping, differ = align(equal_rows(piece, edition, shift), offset)
        score = int((mapping >= 0).sum()) - differ
        if best is None or score > best[2]:
            best = (shift, mapping, score)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="src/bachnet/data/jsb_form.json")
    parser.add_argument("--cache", help="keep the parsed editions in this scratch file")
    args = parser.parse_args()
    from music21 import corpus

    files = sorted({str(p) for p in corpus.getComposer("bach")})
    files = [f for f in files if f.endswith((".mxl", ".xml", ".musicxml"))]
    editions: dict[str, dict[str, object]] = {}
    cache = Path(args.cache) if args.cache else None
    if cache is not None and cache.exists():
        import pickle

        editions = pickle.loads(cache.read_bytes())  # our own scratch file
        files = []
    for number, file in enumerate(files, 1):
        parsed = parse(file)
        if parsed is not None:
            editions[Path(file).name.rsplit(".", 1)[0]] = parsed
        if number % 50 == 0:
            print(f"parsed {number}/{len(files)}", file=sys.stderr)
    if cache is not None and not cache.exists():
        import pickle

        cache.write_bytes(pickle.dumps(editions))
    pieces = reference("all")
    table: dict[str, dict[str, object]] = {}
    for piece in pieces:
        rows = piece.chords
        found: tuple[str, int, np.ndarray, int] | None = None
        for name, edition in editions.items():
            hit = find(rows, edition["chords"])  # type: ignore[arg-type]
            if hit is not None and (found is None or hit[2] > found[3]):
                found = (name, hit[0], hit[1], hit[2])
        if found is None or found[3] < 0.9 * len(rows):
            print(f"{piece.name}: no edition matches", file=sys.stderr)
            continue
        name, shift, mapping, score = found
        edition = editions[name]
        bar = int(edition["bar"])  # type: ignore[call-overload]
        pickup = (int(edition["pickup"]) - int(mapping[0])) % bar  # type: ignore[call-overload]
        marks = set(edition["fermatas"])  # type: ignore[call-overload]
        fermatas = merge_fermatas([q for q, place in enumerate(mapping.tolist()) if place in marks])
        # bar lines must stay put through jumps: a jump by a whole number of bars
        moves = np.diff(mapping[mapping >= 0]) - 1
        jumps = moves[moves != 0]
        table[str(piece.name)] = {
            "music21": name,
            "meter": edition["meter"],
            "pickup": pickup,
            "fermatas": fermatas,
            "transposed": shift,
            "equal_steps": score,
            "steps": len(rows),
            "jumps": [int(j) for j in jumps],
        }
        print(
            f"{piece.name}: {name} {edition['meter']} pickup {pickup} shift {shift} "
            f"equal {score}/{len(rows)} jumps {jumps.tolist()} fermatas {fermatas}",
            file=sys.stderr,
        )
    print(f"matched {len(table)} of {len(pieces)} JSB pieces")
    out = {
        "about": "Bars and fermatas of the JSB chorales, from music21's edition of the same "
        "pieces (matched by notes); written by scripts/jsb_form.py",
        "pieces": table,
    }
    Path(args.out).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
