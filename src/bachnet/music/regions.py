"""Regions of a piece to rewrite: bars and voices, as a ``(steps, 4)`` boolean mask.

`region_mask` turns ``bars="5-6"`` and ``voices="AT"`` into the mask that
`bachnet.generation.fill.fill` takes (True = write this note). Bars (16
sixteenths in 4/4, 12 in 3/4) are numbered as a score numbers them: bar 1 is the first full
bar, and a pickup of ``pickup`` sixteenths before it is bar 0 (as music21 numbers a pickup
measure). `Chorale.mask` passes the piece's own pickup and metre.

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
from bachnet.music.grid import bar_steps, check_pickup

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
    meter: str = "4/4",
) -> npt.NDArray[np.bool_]:
    """The ``(steps, 4)`` mask of ``bars`` (all bars when ``None``) in ``voices``.

    Args:
        steps: the piece's length in sixteenths.
        bars: bar numbers (`parse_bars`): bar 1 is the first full bar, bar 0 the pickup.
        voices: voice letters (`parse_voices`).
        pickup: sixteenths before bar 1 (0: the piece starts on a bar line), less than a bar.
        meter: the time signature (`bachnet.music.grid.METERS`): 16 sixteenths a bar in 4/4,
            12 in 3/4.

    Raises:
        InputError: a bad spec, metre or pickup, or a bar the piece does not have (the
            message gives the bars it has).

    Examples:
        >>> mask = region_mask(40, bars="0-1", voices="B", pickup=8)  # a half-bar pickup
        >>> np.flatnonzero(mask[:, 3]).tolist() == list(range(24))
        True
    """
    pickup = check_pickup(pickup, meter)
    bar_length = bar_steps(meter)
    last = (steps - pickup - 1) // bar_length + 1 if steps > pickup else 0
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
        start = 0 if bar == 0 else pickup + (bar - 1) * bar_length
        end = pickup if bar == 0 else min(steps, pickup + bar * bar_length)
        mask[start:end, columns] = True
    return mask
