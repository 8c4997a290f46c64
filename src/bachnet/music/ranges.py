"""Voice ranges: the lowest and highest MIDI pitch each of the four voices may sing.

One value, `VoiceRanges`, carries them everywhere they matter: the ``voice_range`` rule of
generation, the opening and cadence masks, moving a piece into a key, fitting a melody into
the soprano's range, and the ranges a trained model records in its metadata.

Examples:
    >>> JSB.soprano, JSB.bass
    ((60, 81), (36, 66))
    >>> JSB.contains([[72, 67, 64, 48], [0, 0, 0, 0]]), JSB.contains([[90, 67, 64, 48]])
    (True, False)
    >>> VoiceRanges.of([[60, 81], [52, 74], [46, 69], [36, 66]]) == JSB
    True
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError

__all__ = ["JSB", "JSB_MEAN_PITCH", "RangesSpec", "VoiceRanges"]

Pair: TypeAlias = tuple[int, int]


@dataclass(frozen=True)
class VoiceRanges:
    """Four ``(low, high)`` MIDI pitch pairs, soprano first; silence (0) is always allowed.

    Iterates as its four pairs, so ``for low, high in ranges`` and ``ranges[3]`` read it
    like the plain tuples it replaces.

    Args:
        pairs: four ``(low, high)`` pairs of whole MIDI pitches in 0..127, ``low <= high``.

    Raises:
        InputError: not four pairs, a pitch that is not a whole number in 0..127, or a pair
            with ``low > high``.

    Examples:
        >>> ranges = VoiceRanges(((60, 81), (52, 74), (46, 69), (36, 66)))
        >>> [high - low for low, high in ranges]
        [21, 22, 23, 30]
        >>> VoiceRanges(((60, 81),))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        bachnet.errors.InputError: ranges needs 4 (low, high) MIDI pairs, soprano first; ...
    """

    pairs: tuple[Pair, Pair, Pair, Pair]

    def __post_init__(self) -> None:
        object.__setattr__(self, "pairs", _checked(self.pairs))

    @classmethod
    def of(cls, value: RangesSpec) -> VoiceRanges:
        """``value`` itself if it is a `VoiceRanges`, else four pairs made into one.

        Examples:
            >>> VoiceRanges.of(JSB) is JSB
            True
        """
        if isinstance(value, VoiceRanges):
            return value
        return cls(_checked(value))

    @property
    def soprano(self) -> Pair:
        """The soprano's ``(low, high)``."""
        return self.pairs[0]

    @property
    def alto(self) -> Pair:
        """The alto's ``(low, high)``."""
        return self.pairs[1]

    @property
    def tenor(self) -> Pair:
        """The tenor's ``(low, high)``."""
        return self.pairs[2]

    @property
    def bass(self) -> Pair:
        """The bass's ``(low, high)``."""
        return self.pairs[3]

    @property
    def low(self) -> npt.NDArray[np.int32]:
        """``(4,)`` the lowest pitch of each voice."""
        return np.array([pair[0] for pair in self.pairs], dtype=np.int32)

    @property
    def high(self) -> npt.NDArray[np.int32]:
        """``(4,)`` the highest pitch of each voice."""
        return np.array([pair[1] for pair in self.pairs], dtype=np.int32)

    def contains(self, chords: npt.ArrayLike) -> bool:
        """Whether every sounding note of ``(steps, 4)`` MIDI pitches lies in its voice's range.

        Examples:
            >>> JSB.contains([[81, 74, 69, 66]]), JSB.contains([[82, 74, 69, 66]])
            (True, False)
        """
        array = np.asarray(chords)
        sounding = array > 0
        return bool(np.all(~sounding | ((array >= self.low) & (array <= self.high))))

    def to_list(self) -> list[list[int]]:
        """The pairs as lists (JSON, a rule's config).

        Examples:
            >>> JSB.to_list()[0]
            [60, 81]
        """
        return [list(pair) for pair in self.pairs]

    def __iter__(self) -> Iterator[Pair]:
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, voice: int) -> Pair:
        return self.pairs[voice]


RangesSpec: TypeAlias = "VoiceRanges | Sequence[Sequence[int]]"
"""A `VoiceRanges` or anything `VoiceRanges.of` accepts: four ``(low, high)`` pairs."""


def _checked(value: Any) -> tuple[Pair, Pair, Pair, Pair]:
    """Four validated ``(low, high)`` pairs of ints."""
    try:
        pairs = [tuple(pair) for pair in value]
    except TypeError:
        pairs = []
    if len(pairs) != 4 or any(len(pair) != 2 for pair in pairs):
        raise InputError(f"ranges needs 4 (low, high) MIDI pairs, soprano first; got {value!r}")
    for pitch in (p for pair in pairs for p in pair):
        whole = isinstance(pitch, numbers.Integral) or (
            isinstance(pitch, numbers.Real) and float(pitch).is_integer()
        )
        if isinstance(pitch, bool) or not whole or not 0 <= int(pitch) <= 127:
            raise InputError(f"ranges must be whole MIDI pitches in 0..127, got {value!r}")
    ints = [(int(low), int(high)) for low, high in pairs]
    if any(low > high for low, high in ints):
        raise InputError(f"each range needs low <= high, got {value!r}")
    return ints[0], ints[1], ints[2], ints[3]


JSB = VoiceRanges(((60, 81), (52, 74), (46, 69), (36, 66)))
"""Lowest and highest MIDI pitch of soprano, alto, tenor and bass in the JSB train split."""

JSB_MEAN_PITCH: tuple[float, float, float, float] = (70.4, 65.0, 59.5, 50.6)
"""Mean MIDI pitch of soprano, alto, tenor and bass over the sounding steps of the JSB train
split (Bach's register; the test split: 70.5, 65.0, 59.4, 50.8)."""
