"""Harmonising tunes not by Bach: does each method open and close on the melody's tonic chord?

Ten well-known tunes (traditional or long out of copyright: Ode to Joy, Twinkle, Frère Jacques,
Au clair de la lune, Amazing Grace, Greensleeves, Jingle Bells, Yankee Doodle, Mary had a little
lamb, Old Hundredth), written here as (pitch, sixteenths) lists, are harmonised by each method
with three seeds. Per method: how many harmonisations open and how many close on the
root-position tonic chord of the key `bachnet.generation.harmonize.melody_key` hears (the bass
on the tonic, every voice in the tonic triad; a minor tune may close on the major chord), and
whether every note the tune repeats is still struck in the result::

    python benchmarks/tunes.py --methods rerank,beam,gibbs --seeds 3
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from bachnet import BachNet, Chorale
from bachnet.generation.harmonize import melody_key
from bachnet.music.keys import Key


def tune(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``"E5:4 E5:4 ..."`` (a note name and sixteenths; ``r`` a rest) -> pitches, onsets."""
    names = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
    pitches: list[int] = []
    onsets: list[bool] = []
    for item in text.split():
        note, steps = item.split(":")
        if note == "r":
            pitch = 0
        else:
            shift = note.count("#") - note.count("b")
            pitch = 12 * (int(note[-1]) + 1) + names[note[0]] + shift
        pitches += [pitch] * int(steps)
        onsets += [pitch > 0] + [False] * (int(steps) - 1)
    return np.array(pitches, np.int16), np.array(onsets, bool)


TUNES = {
    "Ode to Joy": "F#5:4 F#5:4 G5:4 A5:4 A5:4 G5:4 F#5:4 E5:4 D5:4 D5:4 E5:4 F#5:4 F#5:6 E5:2 "
    "E5:8 F#5:4 F#5:4 G5:4 A5:4 A5:4 G5:4 F#5:4 E5:4 D5:4 D5:4 E5:4 F#5:4 E5:6 D5:2 D5:8",
    "Twinkle": "C5:4 C5:4 G5:4 G5:4 A5:4 A5:4 G5:8 F5:4 F5:4 E5:4 E5:4 D5:4 D5:4 C5:8",
    "Frère Jacques": "F4:4 G4:4 A4:4 F4:4 F4:4 G4:4 A4:4 F4:4 A4:4 Bb4:4 C5:8 A4:4 Bb4:4 C5:8 "
    "C5:2 D5:2 C5:2 Bb4:2 A4:4 F4:4 C5:2 D5:2 C5:2 Bb4:2 A4:4 F4:4 F4:4 C4:4 F4:8 F4:4 C4:4 "
    "F4:8",
    "Au clair de la lune": "G4:4 G4:4 G4:4 A4:4 B4:8 A4:8 G4:4 B4:4 A4:4 A4:4 G4:16",
    "Amazing Grace": "D4:4 G4:8 B4:2 G4:2 B4:8 A4:4 G4:8 E4:4 D4:8 D4:4 G4:8 B4:2 G4:2 B4:8 "
    "A4:2 B4:2 D5:12 B4:4 D5:6 B4:2 D5:2 B4:2 G4:8 D4:4 E4:6 G4:2 G4:2 E4:2 D4:8 D4:4 G4:8 "
    "B4:2 G4:2 B4:8 A4:4 G4:12",
    "Greensleeves": "A4:4 C5:8 D5:4 E5:6 F5:2 E5:4 D5:8 B4:4 G4:6 A4:2 B4:4 C5:8 A4:4 A4:6 "
    "G#4:2 A4:4 B4:8 G#4:4 E4:8 A4:4",
    "Jingle Bells": "E5:4 E5:4 E5:8 E5:4 E5:4 E5:8 E5:4 G5:4 C5:6 D5:2 E5:16 F5:4 F5:4 F5:6 "
    "F5:2 F5:4 E5:4 E5:4 E5:2 E5:2 G5:4 G5:4 F5:4 D5:4 C5:16",
    "Yankee Doodle": "G4:4 G4:4 A4:4 B4:4 G4:4 B4:4 A4:4 D4:4 G4:4 G4:4 A4:4 B4:4 G4:8 F#4:8 "
    "G4:4 G4:4 A4:4 B4:4 C5:4 B4:4 A4:4 G4:4 F#4:4 D4:4 E4:4 F#4:4 G4:8 G4:8",
    "Mary had a little lamb": "E5:4 D5:4 C5:4 D5:4 E5:4 E5:4 E5:8 D5:4 D5:4 D5:8 E5:4 G5:4 "
    "G5:8 E5:4 D5:4 C5:4 D5:4 E5:4 E5:4 E5:4 E5:4 D5:4 D5:4 E5:4 D5:4 C5:16",
    "Old Hundredth": "G4:8 G4:8 F#4:8 E4:8 D4:8 G4:8 A4:8 B4:16 B4:8 B4:8 B4:8 A4:8 G4:8 C5:8 "
    "B4:8 A4:16 G4:8 A4:8 B4:8 A4:8 G4:8 E4:8 F#4:8 G4:16 D5:8 B4:8 G4:8 A4:8 C5:8 B4:8 A4:8 "
    "G4:16",
}


def tonic_chord(chord: np.ndarray, key: Key, final: bool) -> bool:
    """The root-position tonic triad of ``key`` (at the end of a minor tune, major too)."""
    if not chord.all():
        return False
    triads = [set(key.triad)]
    if final and key.mode == "minor":
        triads.append(set(Key(key.tonic).triad))
    classes = {int(p) % 12 for p in chord}
    return int(chord[3]) % 12 == key.tonic and any(classes <= triad for triad in triads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a preset or folder (default: bundled)")
    parser.add_argument("--methods", default="rerank,beam,gibbs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--no-frame",
        action="store_true",
        help="gibbs without its tonic frame (frame_classes lets every cell be anything): "
        "the figures before the frame",
    )
    args = parser.parse_args()
    if args.no_frame:
        from bachnet.generation import harmonize

        def free(melody: np.ndarray) -> np.ndarray:
            return np.ones((len(melody), 4, 12), dtype=bool)

        harmonize.frame_classes = free  # type: ignore[assignment]
    net = BachNet.from_pretrained(args.model)
    rows: list[str] = []
    per_tune: dict[str, list[str]] = {name: [] for name in TUNES}
    for method in args.methods.split(","):
        opens = closes = kept = total = 0
        began = time.perf_counter()
        for name, text in TUNES.items():
            tune_opens = tune_closes = 0
            pitches, onsets = tune(text)
            melody = Chorale(np.stack([pitches] + [np.zeros_like(pitches)] * 3, axis=1))
            struck = np.zeros((len(pitches), 4), bool)
            struck[:, 0] = onsets
            melody = melody.replace(onsets=struck)
            key = melody_key(pitches)
            for seed in range(args.seeds):
                piece = net.harmonize(melody, seed=seed, method=method)
                moved = piece.chords[:, 0].astype(int) - pitches.astype(int)
                shift = int(moved[pitches > 0][0])  # the octave the melody was moved by
                key_here = Key((key.tonic + shift) % 12, key.mode)
                sounding = np.flatnonzero(piece.chords[:, 0] > 0)
                first, last = piece.chords[sounding[0]], piece.chords[sounding[-1]]
                tune_opens += tonic_chord(first, key_here, final=False)
                tune_closes += tonic_chord(last, key_here, final=True)
                kept += bool(np.array_equal(piece.onsets[:, 0], onsets))
                total += 1
            opens, closes = opens + tune_opens, closes + tune_closes
            seeds = args.seeds
            per_tune[name].append(f"open {tune_opens}/{seeds}, close {tune_closes}/{seeds}")
        seconds = (time.perf_counter() - began) / total
        rows.append(
            f"| {method} | {opens} of {total} | {closes} of {total} | {kept} of {total} | "
            f"{seconds:.1f} |"
        )
    methods = args.methods.split(",")
    print("| tune (key) | " + " | ".join(methods) + " |")
    print("| --- |" + " --- |" * len(methods))
    for name, cells in per_tune.items():
        pitches, _ = tune(TUNES[name])
        print(f"| {name} ({melody_key(pitches)}) | " + " | ".join(cells) + " |")
    print()
    print("| method | opens on the tonic | closes on the tonic | repeated notes kept | s/tune |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
