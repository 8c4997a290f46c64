"""Regions of a piece to rewrite: bars and voices, as a ``(steps, 4)`` boolean mask.

`region_mask` turns ``bars="5-6"`` and ``voices="AT"`` into the mask that
`bachnet.generation.fill.fill` takes (True = write this note). Bars are bars of 4/4 (16
sixteenths), numbered as a score numbers them: bar 1 is the first full bar, and a pickup of
``pickup`` sixteenths before it is bar 0 (as music21 numbers a pickup measure). The grid does
not record where the bar lines fall, so the pickup is given, not found.

Examples:
    >>> mask = region_mask(64, bars="2", voices="AT")
    >>> mask.shape, bool(mask[16:32, 1:3].all()), int(mask.sum())
    ((64, 4), True, 32)
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError

__all__ = ["BAR_STEPS", "VOICE_LETTERS", "parse_bars", "parse_voices", "region_mask"]

BAR_STEPS = 16
"""Sixteenths in a bar of 4/4."""

VOICE_LETTERS = "SATB"
"""The voices' letters, in column order."""

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")


def parse_bars(spec: str | int) -> list[int]:
    """Bar numbers from ``"5"``, ``"5-6"``, ``"2-3,7"`` (or an int), sorted, each once.

    Raises:
        InputError: anything else, or a range that runs backwards.

    Examples:
        >>> parse_bars("5-6"), parse_bars("7, 2-3"), parse_bars(4)
        ([5, 6], [2, 3, 7], [4])
    """
    bars: set[int] = set()
    for part in str(spec).split(","):
        match = _RANGE.match(part)
        if match is None:
            raise InputError(f"bars must look like 5, 5-6 or 2-3,7; got {spec!r}")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if last < first:
            raise InputError(f"bars {first}-{last} run backwards")
        bars.update(range(first, last + 1))
    return sorted(bars)


def parse_voices(spec: str) -> list[int]:
    """Voice columns from letters of ``"SATB"`` (any case, any order), e.g. ``"AT"`` -> [1, 2].

    Raises:
        InputError: an empty spec, or a letter that is not S, A, T or B.

    Examples:
        >>> parse_voices("tA"), parse_voices("SATB")
        ([1, 2], [0, 1, 2, 3])
    """
    letters = str(spec).upper().replace(",", "").replace(" ", "")
    if not letters:
        raise InputError("name at least one voice: S, A, T or B")
    unknown = sorted({c for c in letters if c not in VOICE_LETTERS})
    if unknown:
        raise InputError(f"unknown voice letter(s) {', '.join(unknown)}: use S, A, T or B")
    return sorted({VOICE_LETTERS.index(c) for c in letters})


def region_mask(
    steps: int,
    *,
    bars: str | int | None = None,
    voices: str = VOICE_LETTERS,
    pickup: int = 0,
) -> npt.NDArray[np.bool_]:
    """The ``(steps, 4)`` mask of ``bars`` (all bars when ``None``) in ``voices``.

    Args:
        steps: the piece's length in sixteenths.
        bars: bar numbers (`parse_bars`): bar 1 is the first full bar, bar 0 the pickup.
        voices: voice letters (`parse_voices`).
        pickup: sixteenths before bar 1 (0: the piece starts on a bar line), 0..15.

    Raises:
        InputError: a bad spec, a pickup outside 0..15, or a bar the piece does not have (the
            message gives the bars it has).

    Examples:
        >>> mask = region_mask(40, bars="0-1", voices="B", pickup=8)  # a half-bar pickup
        >>> np.flatnonzero(mask[:, 3]).tolist() == list(range(24))
        True
    """
    if isinstance(pickup, bool) or not isinstance(pickup, int) or not 0 <= pickup < BAR_STEPS:
        raise InputError(f"a pickup is 0..15 sixteenths, got {pickup!r}")
    last = (steps - pickup - 1) // BAR_STEPS + 1 if steps > pickup else 0
    first = 0 if pickup else 1
    mask = np.zeros((steps, 4), dtype=bool)
    columns = parse_voices(voices)
    wanted = list(range(first, last + 1)) if bars is None else parse_bars(bars)
    for bar in wanted:
        if not first <= bar <= last:
            raise InputError(
                f"bar {bar} is not in this piece: it has bars {first}-{last} "
                f"({steps} sixteenths{f', a pickup of {pickup}' if pickup else ''})"
            )
        start = 0 if bar == 0 else pickup + (bar - 1) * BAR_STEPS
        end = pickup if bar == 0 else min(steps, pickup + bar * BAR_STEPS)
        mask[start:end, columns] = True
    return mask
