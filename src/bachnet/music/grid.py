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

from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError

__all__ = [
    "MAX_STEPS",
    "MAX_TEMPO",
    "METERS",
    "MIN_TEMPO",
    "STEP_QUARTERS",
    "STRONG_BEATS",
    "VOICES",
    "bar_steps",
    "check_pickup",
    "check_tempo",
    "melody_pitches",
    "merge_fermatas",
    "runs",
]

VOICES: tuple[str, ...] = ("Soprano", "Alto", "Tenor", "Bass")
"""Voice names, top to bottom; column ``i`` of `Chorale.chords` is ``VOICES[i]``."""

STEP_QUARTERS = 0.25
"""Length of one grid step in quarter notes (a 16th note)."""

MAX_STEPS = 65_536
"""The most 16th-note steps a chorale read from a CSV file may have (4,096 bars)."""


METERS: tuple[str, ...] = ("4/4", "3/4", "2/4", "3/2", "2/2", "6/4", "6/8", "12/8")
"""Time signatures a `Chorale` may carry: Bach's chorales are in 4/4, 3/4 and (one) 3/2."""


STRONG_BEATS: dict[str, tuple[int, ...]] = {
    "4/4": (0, 8),
    "3/4": (0,),
    "2/4": (0,),
    "3/2": (0,),
    "2/2": (0, 8),
    "6/4": (0, 12),
    "6/8": (0,),
    "12/8": (0, 12),
}
"""The strong beats of each of `METERS`, as 16ths from the bar line: the downbeat, and the
middle of a bar that falls into two halves (beat 3 of 4/4)."""


def bar_steps(meter: str) -> int:
    """Sixteenths in one bar of ``meter`` (one of `METERS`).

    Raises:
        InputError: a time signature not in `METERS`.

    Examples:
        >>> bar_steps("4/4"), bar_steps("3/4"), bar_steps("3/2")
        (16, 12, 24)
    """
    if not isinstance(meter, str) or meter.replace(" ", "") not in METERS:
        raise InputError(f"unknown time signature {meter!r}: use one of {', '.join(METERS)}")
    count, unit = meter.replace(" ", "").split("/")
    return int(count) * 16 // int(unit)


def check_pickup(pickup: int, meter: str = "4/4") -> int:
    """Check a pickup: the 16ths before the first bar line, 0 up to a bar of ``meter``.

    Raises:
        InputError: not an integer, negative, or a whole bar or more.

    Examples:
        >>> check_pickup(4)
        4
        >>> check_pickup(12, "3/4")
        Traceback (most recent call last):
        ...
        bachnet.errors.InputError: a pickup is 0..11 sixteenths in 3/4, got 12
    """
    bar = bar_steps(meter)
    if (
        isinstance(pickup, bool)
        or not isinstance(pickup, int | np.integer)
        or not (0 <= pickup < bar)
    ):
        raise InputError(f"a pickup is 0..{bar - 1} sixteenths in {meter}, got {pickup!r}")
    return int(pickup)


def merge_fermatas(marks: Iterable[int], within: int = 8) -> list[int]:
    """One step per fermata from the steps where marked notes start, in any voice.

    A score marks the fermata on each voice's note; the notes need not start together (a
    voice arrives late, or moves under the fermata). Marks within ``within`` steps of a
    group's first mark are one fermata, placed at the group's last mark: where every voice
    has reached its fermata note (so writing it back marks the same notes).

    Examples:
        >>> merge_fermatas([24, 28, 60, 92, 90])
        [28, 60, 92]
    """
    groups: list[list[int]] = []
    for step in sorted(set(marks)):
        if groups and step - groups[-1][0] <= within:
            groups[-1].append(step)
        else:
            groups.append([step])
    return [group[-1] for group in groups]


def runs(
    voice: npt.NDArray[np.integer], onsets: npt.NDArray[np.bool_] | None = None
) -> Iterator[tuple[int, int, int]]:
    """Yield ``(pitch, start, steps)`` for each run of equal values of one voice.

    A run is a held note (or, for pitch 0, a rest): the way `Chorale.to_music21`, the piano
    roll and every other writer see a voice. With ``onsets`` (the voice's column of
    `Chorale.onsets`) a note struck again starts a new run.

    Examples:
        >>> list(runs(np.array([60, 60, 60, 62], dtype=np.int16)))
        [(60, 0, 3), (62, 3, 1)]
        >>> list(runs(np.array([60, 60, 60, 62]), np.array([True, False, True, True])))
        [(60, 0, 2), (60, 2, 1), (62, 3, 1)]
    """
    change = np.diff(voice) != 0
    if onsets is not None:
        change |= np.asarray(onsets, dtype=bool)[1:]
    edges = np.flatnonzero(change) + 1
    starts = np.concatenate([[0], edges])
    stops = np.concatenate([edges, [len(voice)]])
    for start, stop in zip(starts, stops, strict=True):
        yield int(voice[start]), int(start), int(stop - start)


MIN_TEMPO, MAX_TEMPO = 10.0, 1000.0
"""The tempi bachnet writes, in quarter notes per minute (a chorale is sung at about 60-100;
below 10 a MIDI file's tempo and an audio file's length stop making sense)."""


def check_tempo(tempo: float) -> None:
    """Refuse a tempo outside `MIN_TEMPO`..`MAX_TEMPO` quarter notes per minute.

    Raises:
        InputError: the tempo is too slow or fast, infinite or NaN.

    Examples:
        >>> check_tempo(60.0)
        >>> check_tempo(1e-300)
        Traceback (most recent call last):
        ...
        bachnet.errors.InputError: tempo must be 10..1000 quarter notes per minute, got 1e-300
    """
    if not (np.isfinite(tempo) and MIN_TEMPO <= tempo <= MAX_TEMPO):
        raise InputError(
            f"tempo must be {MIN_TEMPO:g}..{MAX_TEMPO:g} quarter notes per minute, got {tempo}"
        )


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
