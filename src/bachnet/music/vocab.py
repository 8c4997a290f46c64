"""The `Vocabulary`: MIDI pitches <-> token ids, and a chorale <-> one token stream."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError
from bachnet.music.chorale import VOICES, Chorale

__all__ = [
    "SILENCE",
    "Vocabulary",
]


SILENCE = 0
"""The token id (and MIDI value) of silence."""


class Vocabulary:
    """Silence plus a contiguous range of MIDI pitches, as token ids.

    Id 0 is silence; ids ``1..size-1`` are the pitches ``low..high`` in order, so transposing
    a piece by ``s`` semitones adds ``s`` to every non-silent id. The default is the original
    BachNet's: silence + MIDI 36..81 = 47 ids, which covers every note of the JSB chorales.

    A chorale becomes one stream by reading each step's four voices top to bottom
    (soprano, alto, tenor, bass), step after step: ``S0 A0 T0 B0 S1 A1 ...``.

    Args:
        low: lowest MIDI pitch (>= 1).
        high: highest MIDI pitch (<= 127, >= low).

    Examples:
        >>> vocab = Vocabulary()
        >>> vocab.size, vocab.encode(Chorale([[81, 60, 0, 36]])).tolist()
        (47, [46, 25, 0, 1])
    """

    __slots__ = ("high", "low")

    def __init__(self, low: int = 36, high: int = 81) -> None:
        if not (isinstance(low, int | np.integer) and isinstance(high, int | np.integer)):
            raise InputError(f"low and high must be integers, got low={low!r}, high={high!r}")
        if not 1 <= low <= high <= 127:
            raise InputError(f"need 1 <= low <= high <= 127, got low={low}, high={high}")
        self.low = int(low)
        self.high = int(high)

    @classmethod
    def from_chorales(cls, chorales: Iterable[Chorale]) -> Vocabulary:
        """The smallest vocabulary holding every note of ``chorales``.

        Raises:
            InputError: if there are no notes at all.

        Examples:
            >>> Vocabulary.from_chorales([Chorale([[72, 67, 64, 48]])]).size
            26
        """
        lows, highs = [], []
        for chorale in chorales:
            notes = chorale.chords[chorale.chords > 0]
            if notes.size:
                lows.append(int(notes.min()))
                highs.append(int(notes.max()))
        if not lows:
            raise InputError("cannot build a vocabulary: the chorales hold no notes")
        return cls(min(lows), max(highs))

    @property
    def size(self) -> int:
        """Number of ids (silence included).

        Examples:
            >>> Vocabulary(60, 71).size  # silence + 12 pitches
            13
        """
        return self.high - self.low + 2

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return (self.low, self.high) == (other.low, other.high)

    def __hash__(self) -> int:
        return hash((self.low, self.high))

    def __repr__(self) -> str:
        return f"Vocabulary(low={self.low}, high={self.high})  # {self.size} ids"

    def get_config(self) -> dict[str, Any]:
        """JSON-ready settings; `from_config` rebuilds the same vocabulary.

        Examples:
            >>> Vocabulary().get_config()
            {'low': 36, 'high': 81}
        """
        return {"low": self.low, "high": self.high}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Vocabulary:
        """Inverse of `get_config`.

        Examples:
            >>> Vocabulary.from_config({"low": 48, "high": 72})
            Vocabulary(low=48, high=72)  # 26 ids
        """
        return cls(int(config["low"]), int(config["high"]))

    def pitch_of(self, ids: npt.ArrayLike) -> npt.NDArray[np.int16]:
        """MIDI pitches (0 for silence) of token ids.

        Raises:
            InputError: an id outside ``0..size-1``, or an id that is not
                an integer (``1.7``, NaN, a string).

        Examples:
            >>> Vocabulary().pitch_of([0, 1, 25, 46]).tolist()
            [0, 36, 60, 81]
        """
        array = _integer_ids(ids)
        bad = (array < 0) | (array >= self.size)
        if bad.any():
            raise InputError(f"token id {array[bad].flat[0]} is outside 0..{self.size - 1}")
        return np.where(array == SILENCE, 0, array + self.low - 1).astype(np.int16)

    def ids_of(self, pitches: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Token ids of MIDI pitches (0 = silence).

        Raises:
            InputError: a pitch outside the vocabulary.

        Examples:
            >>> Vocabulary().ids_of([[0, 36], [60, 81]]).tolist()
            [[0, 1], [25, 46]]
        """
        array = np.asarray(pitches)
        bad = self._outside(array)
        if bad.any():
            raise InputError(
                f"MIDI pitch {array[bad].flat[0]} is outside the vocabulary "
                f"(silence + {self.low}..{self.high})"
            )
        return self._ids(array)

    def _outside(self, pitches: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
        """Where ``pitches`` hold a note the vocabulary lacks."""
        outside: npt.NDArray[np.bool_] = (pitches != 0) & (
            (pitches < self.low) | (pitches > self.high)
        )
        return outside

    def _ids(self, pitches: npt.NDArray[Any]) -> npt.NDArray[np.int32]:
        """Token ids of pitches already known to be inside the vocabulary."""
        return np.where(pitches == 0, SILENCE, pitches - self.low + 1).astype(np.int32)

    def encode(self, chorale: Chorale) -> npt.NDArray[np.int32]:
        """Flatten a chorale into token ids, four per step (S, A, T, B).

        Raises:
            InputError: a note outside the vocabulary; the message gives step and voice.

        Examples:
            >>> Vocabulary().encode(Chorale([[72, 67, 64, 48], [74, 0, 62, 43]])).tolist()
            [37, 32, 29, 13, 39, 0, 27, 8]
            >>> Vocabulary().encode(Chorale([[84, 67, 64, 48]]))  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            bachnet.errors.InputError: MIDI pitch 84 (Soprano, step 0) is outside the vocabulary ...
        """
        chords = chorale.chords
        bad = self._outside(chords)
        if bad.any():
            step, voice = np.argwhere(bad)[0]
            label = f"{chorale.name}: " if chorale.name else ""
            raise InputError(
                f"{label}MIDI pitch {chords[step, voice]} ({VOICES[voice]}, step {step}) is "
                f"outside the vocabulary (silence + {self.low}..{self.high})"
            )
        return self._ids(chords).reshape(-1)

    def decode(
        self, ids: npt.ArrayLike, *, strict: bool = False, name: str | None = None
    ) -> Chorale:
        """Turn a token stream back into a chorale.

        A trailing partial step (a length that is not a multiple of 4) is dropped with a
        warning, or raises with ``strict=True``.

        Raises:
            InputError: an id outside the vocabulary, fewer than 4 ids, or (strict) a
                partial step.

        Examples:
            >>> Vocabulary().decode([46, 25, 0, 1]).chords.tolist()
            [[81, 60, 0, 36]]
        """
        array = _integer_ids(ids).reshape(-1)
        extra = array.size % 4
        if extra:
            message = f"{array.size} ids is not a whole number of 4-voice steps"
            if strict:
                raise InputError(message)
            warnings.warn(f"{message}: dropping the last {extra}", stacklevel=2)
            array = array[: array.size - extra]
        if array.size == 0:
            raise InputError("cannot decode fewer than 4 ids (one step)")
        return Chorale(self.pitch_of(array).reshape(-1, 4), name=name)

    def transpositions(self, chorale: Chorale, limit: int = 6) -> range:
        """Semitone shifts in ``-limit..limit`` that keep every note inside the vocabulary.

        Examples:
            >>> piece = Chorale([[72, 67, 64, 48]])  # MIDI 48..72 inside 36..81
            >>> Vocabulary().transpositions(piece), Vocabulary().transpositions(piece, limit=12)
            (range(-6, 7), range(-12, 10))
        """
        low, high = chorale.pitch_range()
        return range(max(-limit, self.low - low), min(limit, self.high - high) + 1)


def _integer_ids(ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """``ids`` as an integer array; floats only when they are whole numbers."""
    try:
        array = np.asarray(ids)
    except (ValueError, TypeError) as error:
        raise InputError(f"token ids must be integers ({error})") from None
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "b":
        raise InputError("token ids must be integers, not booleans")
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            raise InputError(f"token id {array[~finite].flat[0]} is not a number")
        whole = array == np.round(array)
        if not whole.all():
            raise InputError(f"token id {array[~whole].flat[0]} is not an integer")
        return array.astype(np.int64)
    if array.size == 0:
        return array.astype(np.int64)
    raise InputError(f"token ids must be integers, got {array.dtype} values")
