"""Bach's own figures: the JSB splits and their style figures, loaded once per process."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from bachnet.data.corpus import Dataset
from bachnet.data.download import data_dir
from bachnet.errors import InputError
from bachnet.music.metrics import Column, StyleFigures, measure, table
from bachnet.music.phrases import PhraseFigures, phrase_figures

__all__ = ["compare", "reference", "reference_figures", "reference_phrases"]


def reference(split: str = "test") -> Dataset:
    """One split of the JSB Chorales (Bach's own pieces), loaded once per process.

    The corpus comes from `Dataset.jsb` (downloaded on first use, then read from the cache);
    it is kept in memory, so later calls are free.

    Args:
        split: ``"test"``, ``"valid"``, ``"train"`` or ``"all"``.

    Raises:
        KeyError: an unknown split.
        bachnet.DownloadError: the corpus could not be fetched.

    Examples:
        >>> len(reference("test"))  # doctest: +SKIP
        77
    """
    return _jsb(str(data_dir())).split(split)


@functools.cache
def _jsb(folder: str) -> Dataset:
    return Dataset.jsb(progress=False)


def reference_figures(split: str = "test", *, keys: bool = True) -> StyleFigures:
    """The style figures (`bachnet.music.metrics.measure`) of a JSB split (see `reference`),
    computed once per process and split.

    Examples:
        >>> round(reference_figures("test").parallel_fifths, 2)  # doctest: +SKIP
        0.21
    """
    return _reference_figures(str(data_dir()), split, keys)


@functools.cache
def _reference_figures(folder: str, split: str, keys: bool) -> StyleFigures:
    return measure(reference(split), keys=keys)


def reference_phrases(split: str = "test") -> PhraseFigures:
    """The phrase figures (`bachnet.music.phrases.phrase_figures`) of a JSB split, its
    fermatas from music21's edition (`bachnet.data.form`), once per process and split.

    Examples:
        >>> reference_phrases("test").median_length  # doctest: +SKIP
        8.0
    """
    return _reference_phrases(str(data_dir()), split)


@functools.cache
def _reference_phrases(folder: str, split: str) -> PhraseFigures:
    return phrase_figures(reference(split))


def compare(
    pieces: Column | Mapping[str, Column],
    reference: Column | Mapping[str, Column] | None = None,
    *,
    keys: bool = True,
    as_json: bool = False,
) -> str:
    """Measure collections and show them beside a reference (`bachnet.music.metrics.measure`,
    then `bachnet.music.metrics.table`).

    Args:
        pieces: a collection (shown as "pieces"), its `StyleFigures`, or a mapping of column
            names to either.
        reference: the same kinds of value (an unnamed one is shown as "reference"); default:
            Bach's JSB test split, as ``{"Bach, JSB test": reference_figures("test")}``. The
            melodic-interval distance is measured against its first column.
        keys: run the key analysis (slow; see `bachnet.music.metrics.key_endings`).
        as_json: return JSON instead of a Markdown table (see `bachnet.music.metrics.table`).

    Examples:
        >>> from bachnet import Chorale
        >>> mine = [Chorale([[72, 67, 64, 48]] * 4 + [[74, 69, 65, 50]] * 4)]
        >>> bach = [Chorale([[72, 67, 64, 48]] * 4 + [[71, 67, 62, 43]] * 4)]
        >>> print(compare({"mine": mine}, {"Bach": bach}, keys=False).splitlines()[0])
        | figure | mine | Bach |
        >>> print(compare(mine, reference(split="test")))  # doctest: +SKIP
    """
    if reference is None:
        reference = {"Bach, JSB test": reference_figures("test", keys=keys)}
    left = _named(pieces, "pieces", keys)
    right = _named(reference, "reference", keys)
    clash = set(left) & set(right)
    if clash:
        raise InputError(f"column names used twice: {sorted(clash)}")
    return table({**left, **right}, reference=next(iter(right)), as_json=as_json)


def _named(value: Column | Mapping[str, Column], name: str, keys: bool) -> dict[str, StyleFigures]:
    items = value.items() if isinstance(value, Mapping) else [(name, value)]
    return {
        label: column if isinstance(column, StyleFigures) else measure(column, keys=keys)
        for label, column in items
    }
