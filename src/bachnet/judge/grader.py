"""A second opinion: the "Bach or Mock?" grading function (Fang et al. 2020), rebuilt here.

Fang, Liu, Hadjeres, Seetharaman and Pardo, "Bach or Mock? A Grading Function for Chorales in
the Style of J.S. Bach" (ICML 2020 workshop on Machine Learning for Media Discovery), grade a
chorale by how far its distributions of musical events lie from Bach's: for each feature, a
histogram of the piece is compared with the histogram of Bach's corpus by the Wasserstein
(earth mover's) distance, with the bins ordered by Bach's own frequency (commonest first), and
the grade is the sum over features. Lower is more Bach-like; Bach's own held-out chorales set
the scale. This module follows that recipe on bachnet's 16th-note grid with these features:

- ``notes``: pitch classes counted from the piece's key (`bachnet.music.keys.find_key`),
  against Bach's pieces of the same mode;
- ``rhythm``: note lengths in 16ths (longer than a whole note counted as 16);
- ``harmony``: the chord over the bass at each chord change (Bach's 24 commonest, then
  "other");
- ``errors``: at each chord change, the voice-leading fault it makes, if any (parallel
  fifths, parallel octaves, hidden fifths or octaves in the outer voices, crossed voices,
  neighbouring upper voices more than an octave apart), or none;
- ``intervals``: melodic intervals of all voices together, and of each voice alone
  (``soprano intervals`` ... ``bass intervals``), -12..+12 semitones;
- ``repetition``: how often each soprano figure of three intervals comes back (once, twice,
  three times, more).

The features and distances are computed here with numpy; nothing of the original code is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError
from bachnet.judge.features import BACH_CHORDS
from bachnet.music.chorale import Chorale
from bachnet.music.keys import find_key
from bachnet.music.metrics import parallel_motion

VOICES = 4

__all__ = ["GRADER_FEATURES", "Grade", "Grader"]

GRADER_FEATURES: tuple[str, ...] = (
    "notes",
    "rhythm",
    "harmony",
    "errors",
    "intervals",
    "soprano intervals",
    "alto intervals",
    "tenor intervals",
    "bass intervals",
    "repetition",
)
"""The grader's features, in the order of `Grade.distances`' columns."""

_CHORD_BITS = {sum(1 << i for i in chord): k for k, chord in enumerate(BACH_CHORDS)}
_ERRORS = ("none", "parallel fifths", "parallel octaves", "hidden", "crossing", "spacing")


def _histograms(chords: npt.NDArray[np.integer[Any]]) -> dict[str, npt.NDArray[np.float64]]:
    """Raw counts of each grader feature for one piece (the notes keyed by mode)."""
    c = chords.astype(np.int64)
    out: dict[str, npt.NDArray[np.float64]] = {}
    key = find_key(c)
    notes = c[c > 0]
    out[f"notes {key.mode}"] = np.bincount((notes - key.tonic) % 12, minlength=12).astype(float)
    lengths: list[npt.NDArray[np.int64]] = []
    all_moves = np.zeros(25)
    figures: dict[tuple[int, ...], int] = {}
    for v in range(VOICES):
        column = c[:, v]
        starts = np.concatenate([[0], np.flatnonzero(np.diff(column)) + 1])
        length = np.diff(np.concatenate([starts, [len(column)]]))
        pitches = column[starts]
        lengths.append(length[pitches > 0])
        first, second = pitches[:-1], pitches[1:]
        moves = (second - first)[(first > 0) & (second > 0)]
        voice = np.bincount(np.clip(moves, -12, 12) + 12, minlength=25).astype(float)
        out[f"{('soprano', 'alto', 'tenor', 'bass')[v]} intervals"] = voice
        all_moves += voice
        if v == 0:
            for k in range(len(moves) - 2):
                figure = tuple(int(m) for m in moves[k : k + 3])
                figures[figure] = figures.get(figure, 0) + 1
    out["intervals"] = all_moves
    out["rhythm"] = np.bincount(np.minimum(np.concatenate(lengths), 16), minlength=17)[1:].astype(
        float
    )
    repeats = np.zeros(4)
    for times in figures.values():
        repeats[min(times, 4) - 1] += 1
    out["repetition"] = repeats
    before, after = c[:-1], c[1:]
    changed = (before != after).any(axis=1)
    a, b = before[changed], after[changed]
    harmony = np.zeros(len(BACH_CHORDS) + 1)
    for row in b[(b > 0).all(axis=1)]:
        bass = row.min()
        bits = 0
        for pitch in row:
            bits |= 1 << int((pitch - bass) % 12)
        harmony[_CHORD_BITS.get(bits, len(BACH_CHORDS))] += 1
    out["harmony"] = harmony
    out["errors"] = _errors(a, b)
    return out


def _errors(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    counts = np.zeros(len(_ERRORS))
    fifths, octaves = parallel_motion(a, b)
    counts[1], counts[2] = fifths.sum(), octaves.sum()
    faulty = fifths.any(axis=1) | octaves.any(axis=1)
    # hidden fifths or octaves in the outer voices: similar motion, the soprano leaping, into
    # a perfect interval that was not there before
    outer = (a[:, 0] > 0) & (a[:, 3] > 0) & (b[:, 0] > 0) & (b[:, 3] > 0)
    first, second = np.abs(a[:, 0] - a[:, 3]) % 12, np.abs(b[:, 0] - b[:, 3]) % 12
    up_s, up_b = np.sign(b[:, 0] - a[:, 0]), np.sign(b[:, 3] - a[:, 3])
    similar = outer & (up_s != 0) & (up_s == up_b)
    leap = np.abs(b[:, 0] - a[:, 0]) > 2
    hidden = similar & ((second == 0) | (second == 7)) & (first != second) & leap
    counts[3] = hidden.sum()
    faulty |= hidden
    sounding = b > 0
    crossed = ((b[:, 1:] > b[:, :-1]) & sounding[:, 1:] & sounding[:, :-1]).any(axis=1)
    wide = ((b[:, :2] - b[:, 1:3] > 12) & sounding[:, :2] & sounding[:, 1:3]).any(axis=1)
    counts[4] += crossed.sum()
    counts[5] += wide.sum()
    faulty |= crossed | wide
    counts[0] = (~faulty).sum()
    return counts


def _normalised(counts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    total = counts.sum()
    return counts / total if total > 0 else counts


def _wasserstein(
    piece: npt.NDArray[np.float64], reference: npt.NDArray[np.float64], order: npt.NDArray[np.int64]
) -> float:
    """Earth mover's distance of two histograms on bins laid out in ``order``, one unit apart."""
    p, r = _normalised(piece)[order], _normalised(reference)[order]
    if p.sum() == 0:
        return 0.0
    return float(np.abs(np.cumsum(p) - np.cumsum(r)).sum())


@dataclass(frozen=True)
class Grade:
    """The grader's verdict on a collection.

    Attributes:
        distances: a ``(pieces, len(GRADER_FEATURES))`` array, each piece's distance from
            Bach's distribution per feature.
        names: the pieces' names (or their positions).
    """

    distances: npt.NDArray[np.float64] = field(repr=False)
    names: tuple[str, ...] = field(repr=False)

    @property
    def grades(self) -> npt.NDArray[np.float64]:
        """Each piece's grade: the sum of its distances (lower is more Bach-like)."""
        return np.asarray(self.distances.sum(axis=1), dtype=np.float64)

    @property
    def mean(self) -> float:
        """The collection's mean grade."""
        return float(self.grades.mean())

    def by_feature(self) -> dict[str, float]:
        """The mean distance per feature."""
        return {
            name: float(v)
            for name, v in zip(GRADER_FEATURES, self.distances.mean(axis=0), strict=True)
        }


class Grader:
    """Bach's distributions of the grader's features, learnt from a collection of his pieces.

    Args:
        reference: Bach's chorales (JSB's train split, as `bachnet.judge.judge` uses).

    Raises:
        InputError: an empty reference.

    Examples:
        >>> import numpy as np
        >>> from bachnet import Chorale
        >>> bach = [Chorale(np.tile([[72, 67, 64, 48]] * 4 + [[71, 67, 62, 43]] * 4, (4, 1)))]
        >>> grader = Grader(bach)
        >>> round(grader.grade(bach).mean, 9)  # a piece against itself: no distance
        0.0
    """

    def __init__(self, reference: Sequence[Chorale]) -> None:
        if not len(reference):
            raise InputError("the grader needs at least one reference piece")
        totals: dict[str, npt.NDArray[np.float64]] = {}
        for piece in reference:
            for name, counts in _histograms(piece.chords).items():
                totals[name] = totals.get(name, 0) + _normalised(counts)
        for mode in ("major", "minor"):
            totals.setdefault(f"notes {mode}", np.ones(12))
        self._reference = totals
        self._order = {name: np.argsort(-counts, kind="stable") for name, counts in totals.items()}

    def distances(self, piece: Chorale) -> npt.NDArray[np.float64]:
        """One piece's distance from Bach's distribution, per feature (`GRADER_FEATURES`)."""
        histograms = _histograms(piece.chords)
        row = []
        for feature in GRADER_FEATURES:
            name = feature
            if feature == "notes":
                name = next(k for k in histograms if k.startswith("notes "))
            row.append(_wasserstein(histograms[name], self._reference[name], self._order[name]))
        return np.asarray(row)

    def grade(self, pieces: Sequence[Chorale]) -> Grade:
        """Grade every piece of a collection.

        Raises:
            InputError: an empty collection.
        """
        if not len(pieces):
            raise InputError("nothing to grade: the collection is empty")
        rows = np.stack([self.distances(piece) for piece in pieces])
        names = tuple(piece.name or str(k) for k, piece in enumerate(pieces))
        return Grade(distances=rows, names=names)
