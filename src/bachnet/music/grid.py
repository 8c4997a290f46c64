"""The 16th-note grid every chorale lives on: its voices, its step, its limits.

These are the facts that `Chorale` and every file format share: four voices, one row of MIDI
pitches per 16th note, a note held over several steps written as a run of equal pitches.

Examples:
    >>> VOICES[0], STEP_QUARTERS * 4  # four steps make a quarter note
    ('Soprano', 1.0)
    >>> list(runs(np.array([72, 72, 0, 74])))
    [(72, 0, 2), (0, 2, 1), (74, 3, 1)]
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError

__all__ = [
    "MAX_STEPS",
    "STEP_QUARTERS",
    "VOICES",
    "check_tempo",
    "melody_pitches",
    "runs",
]

VOICES: tuple[str, ...] = ("Soprano", "Alto", "Tenor", "Bass")
"""Voice names, top to bottom; column ``i`` of `Chorale.chords` is ``VOICES[i]``."""

STEP_QUARTERS = 0.25
"""Length of one grid step in quarter notes (a 16th note)."""

MAX_STEPS = 65_536
"""The most 16th-note steps a chorale read from a CSV file may have (4,096 bars)."""


def runs(voice: npt.NDArray[np.integer]) -> Iterator[tuple[int, int, int]]:
    """Yield ``(pitch, start, steps)`` for each run of equal values of one voice.

    A run is a held note (or, for pitch 0, a rest): the way `Chorale.to_music21`, the piano
    roll and every other writer see a voice.

    Examples:
        >>> list(runs(np.array([60, 60, 60, 62], dtype=np.int16)))
        [(60, 0, 3), (62, 3, 1)]
    """
    edges = np.flatnonzero(np.diff(voice)) + 1
    starts = np.concatenate([[0], edges])
    stops = np.concatenate([edges, [len(voice)]])
    for start, stop in zip(starts, stops, strict=True):
        yield int(voice[start]), int(start), int(stop - start)


def check_tempo(tempo: float) -> None:
    """Refuse a tempo that is not a finite number of quarter notes per minute above 0.

    Raises:
        InputError: the tempo is 0, negative, infinite or NaN.

    Examples:
        >>> check_tempo(60.0)
        >>> check_tempo(0)
        Traceback (most recent call last):
        ...
        bachnet.errors.InputError: tempo must be a finite number > 0 quarter notes per minute, got 0
    """
    if not (np.isfinite(tempo) and tempo > 0):
        raise InputError(f"tempo must be a finite number > 0 quarter notes per minute, got {tempo}")


def melody_pitches(values: npt.ArrayLike, where: str) -> npt.NDArray[np.int16]:
    """Check a melody: a 1-D array of MIDI pitches (0 = rest), one per step, with a note.

    Args:
        values: the pitches.
        where: names the melody in a message (a file, ``"melody"``).

    Raises:
        InputError: not 1-D, empty, not integers, a pitch outside 0..127, or only rests.

    Examples:
        >>> melody_pitches([72, 0, 74.0], "tune").tolist()
        [72, 0, 74]
        >>> melody_pitches([0, 0], "tune")
        Traceback (most recent call last):
        ...
        bachnet.errors.InputError: tune: the melody has no notes (only rests)
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise InputError(f"{where}: a melody is one pitch per 16th step (1-D), got {array.shape}")
    if array.size == 0:
        raise InputError(f"{where}: the melody is empty")
    if array.dtype.kind == "f" and (
        not np.all(np.isfinite(array)) or np.any(array != np.round(array))
    ):
        raise InputError(f"{where}: MIDI pitches must be integers")
    if array.dtype.kind not in "iuf":
        raise InputError(f"{where}: expected integer MIDI pitches, got dtype {array.dtype}")
    outside = (array < 0) | (array > 127)
    if outside.any():
        step = int(np.flatnonzero(outside)[0])
        raise InputError(
            f"{where}: pitch {array[step]} at step {step} is outside 0..127 (0 = rest)"
        )
    if not array.any():
        raise InputError(f"{where}: the melody has no notes (only rests)")
    return array.astype(np.int16)
