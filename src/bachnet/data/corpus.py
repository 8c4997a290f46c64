"""Corpora of chorales: the JSB download, local CSV folders and archives, music21's Bach chorales.

Files come through `bachnet.data.download` (verified, cached); this module turns them into a
`Dataset` of `Chorale` pieces with named splits.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

import numpy as np

from bachnet.core.aliases import PathLike
from bachnet.data.download import JSB_ARCHIVE, cache_lock, data_dir, fetch, safe_extract
from bachnet.data.form import with_form
from bachnet.errors import InputError, NotFoundError
from bachnet.music.chorale import Chorale
from bachnet.music.table import suffixes

__all__ = [
    "JSB_SPLITS",
    "ConversionReport",
    "Dataset",
]

JSB_SPLITS = {"train": 229, "valid": 76, "test": 77}
"""Chorales per split in the JSB archive."""


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


@dataclass(frozen=True)
class ConversionReport:
    """What `Dataset.from_music21` kept and why it skipped the rest.

    Attributes:
        kept: number of scores converted.
        skipped: reason -> number of scores skipped for it.

    Examples:
        >>> print(ConversionReport(kept=3, skipped={"with 5 parts (not 4)": 1}))
        kept 3 of 4 scores; skipped 1 with 5 parts (not 4)
    """

    kept: int
    skipped: Mapping[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        reasons = ", ".join(f"{count} {why}" for why, count in sorted(self.skipped.items()))
        total = self.kept + sum(self.skipped.values())
        return f"kept {self.kept} of {total} scores" + (f"; skipped {reasons}" if reasons else "")


class Dataset(Sequence[Chorale]):
    """An ordered collection of chorales with named splits.

    Args:
        chorales: the pieces.
        splits: split name -> indices into ``chorales``. The split ``"all"`` always exists.
        source: where the pieces came from (shown in ``repr``).
        report: for converted corpora, what was kept and skipped.

    Examples:
        >>> ds = Dataset([Chorale([[72, 67, 64, 48]] * 4)] * 3, {"train": [0, 1], "test": [2]})
        >>> len(ds), len(ds.split("train")), sorted(ds.splits)
        (3, 2, ['all', 'test', 'train'])
    """

    def __init__(
        self,
        chorales: Iterable[Chorale],
        splits: Mapping[str, Sequence[int]] | None = None,
        *,
        source: str = "",
        report: ConversionReport | None = None,
    ) -> None:
        self._chorales = list(chorales)
        self._splits = {name: list(indices) for name, indices in (splits or {}).items()}
        self._splits.setdefault("all", list(range(len(self._chorales))))
        for name, indices in self._splits.items():
            bad = [i for i in indices if not 0 <= i < len(self._chorales)]
            if bad:
                raise InputError(
                    f"split {name!r} names chorale {bad[0]}, but there are {len(self)}"
                )
        self.source = source
        self.report = report

    # --------------------------------------------------------------------- sequence protocol
    def __len__(self) -> int:
        return len(self._chorales)

    @overload
    def __getitem__(self, index: int) -> Chorale: ...
    @overload
    def __getitem__(self, index: slice) -> Dataset: ...
    def __getitem__(self, index: int | slice) -> Chorale | Dataset:
        if isinstance(index, slice):
            return Dataset(self._chorales[index], source=self.source)
        return self._chorales[index]

    def __iter__(self) -> Iterator[Chorale]:
        return iter(self._chorales)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(ix)}" for name, ix in self._splits.items())
        return f"<Dataset {self.source or '(in memory)'}: {len(self)} chorales ({sizes})>"

    @property
    def splits(self) -> dict[str, int]:
        """Split names and their sizes.

        Examples:
            >>> Dataset([Chorale([[72, 67, 64, 48]])] * 3, {"train": [0, 1]}).splits
            {'train': 2, 'all': 3}
        """
        return {name: len(indices) for name, indices in self._splits.items()}

    def split(self, name: str) -> Dataset:
        """The chorales of one split, as a new dataset.

        Raises:
            NotFoundError: an unknown split (a `KeyError` too); the message lists the known ones.

        Examples:
            >>> ds = Dataset([Chorale([[72, 67, 64, 48]] * n) for n in (1, 2, 3)], {"test": [2]})
            >>> [len(c) for c in ds.split("test")]
            [3]
            >>> ds.split("valid")
            Traceback (most recent call last):
            ...
            bachnet.errors.NotFoundError: no split 'valid'; this dataset has test, all
        """
        if name not in self._splits:
            raise NotFoundError(f"no split {name!r}; this dataset has {', '.join(self._splits)}")
        chosen = [self._chorales[i] for i in self._splits[name]]
        return Dataset(chosen, source=f"{self.source}[{name}]")

    def total_steps(self) -> int:
        """Number of 16th-note steps over all chorales.

        Examples:
            >>> Dataset([Chorale([[72, 67, 64, 48]] * n) for n in (4, 8)]).total_steps()
            12
        """
        return sum(len(c) for c in self._chorales)

    def draw(self, seed: int | None = None, *, steps: int | None = None) -> Chorale:
        """A random chorale, or its opening ``steps`` steps: a prompt for generation.

        Args:
            seed: makes the draw repeatable.
            steps: keep only the first ``steps`` 16th notes (``None``: the whole piece).

        Raises:
            InputError: an empty dataset or ``steps < 1``.

        Examples:
            >>> ds = Dataset([Chorale([[72, 67, 64, 48]] * 16)])
            >>> len(ds.draw(seed=0, steps=8))
            8
        """
        if not self._chorales:
            raise InputError("cannot draw from an empty dataset")
        if steps is not None and steps < 1:
            raise InputError(f"steps must be >= 1, got {steps}")
        chorale = self._chorales[int(np.random.default_rng(seed).integers(len(self)))]
        if steps is None:
            return chorale
        return chorale.replace(chorale.chords[:steps])

    # --------------------------------------------------------------------------- sources
    @classmethod
    def jsb(cls, *, progress: bool = True) -> Dataset:
        """The JSB Chorales: 382 pieces split 229 train / 76 valid / 77 test.

        Downloaded once (117,793 bytes) with a sha256 check, unpacked safely into the cache.
        Each piece carries its metre, pickup and fermatas from music21's edition of it where
        there is one (290 pieces; `bachnet.data.form`).

        Raises:
            DownloadError: the archive could not be fetched or failed its hash check.

        Examples:
            >>> Dataset.jsb().splits  # doctest: +SKIP
            {'train': 229, 'valid': 76, 'test': 77, 'all': 382}
        """
        archive = fetch(JSB_ARCHIVE, progress=progress)
        dataset = cls.from_folder(archive, source="JSB Chorales")
        counts = {name: dataset.splits.get(name, 0) for name in JSB_SPLITS}
        if counts != JSB_SPLITS:
            raise InputError(f"{archive}: unexpected split sizes {counts}, expected {JSB_SPLITS}")
        pieces = [with_form(piece) for piece in dataset]
        return cls(pieces, dataset._splits, source=dataset.source, report=dataset.report)

    @classmethod
    def from_folder(cls, path: PathLike, *, source: str | None = None) -> Dataset:
        """Chorales from a folder (or a ``.tgz``/``.zip`` archive) of JSB-format CSV files.

        Sub-folders become splits (``train/``, ``valid/``, ``test/`` in the JSB archive);
        files directly in the folder belong only to ``"all"``. Archives are unpacked safely
        into the cache, keyed by their sha256.

        Raises:
            InputError: no CSV files, or a file that is not a valid chorale (named).

        Examples:
            >>> import tempfile
            >>> root = Path(tempfile.mkdtemp())
            >>> for split, name in [("train", "1"), ("train", "2"), ("test", "3")]:
            ...     path = Chorale([[72, 67, 64, 48]] * 4).write(root / split / f"{name}.csv")
            >>> Dataset.from_folder(root).splits
            {'test': 1, 'train': 2, 'all': 3}
        """
        root = Path(path)
        if root.is_file():
            import hashlib

            digest = hashlib.sha256(root.read_bytes()).hexdigest()[:16]
            stem = root.name.split(".")[0]
            target = data_dir() / "unpacked" / f"{stem}-{digest}"
            with cache_lock(target):
                root = safe_extract(root, target)
        if not root.is_dir():
            raise InputError(f"{path}: no such folder or archive")
        files = sorted(
            (
                f
                for f in root.rglob("*.csv")
                if not any(p.startswith(".") for p in f.relative_to(root).parts)
            ),
            key=_natural_key,
        )
        if not files:
            raise InputError(f"{path}: no .csv chorales found")
        chorales, splits = [], collections.defaultdict(list)
        top = _common_top(root, files)
        for index, file in enumerate(files):
            chorales.append(Chorale.from_csv(file))
            parent = file.parent.relative_to(top)
            if parent.parts:
                splits[parent.parts[0]].append(index)
        return cls(chorales, splits, source=source or str(path))

    @classmethod
    def from_paths(
        cls, paths: PathLike | Iterable[PathLike], *, source: str | None = None
    ) -> Dataset:
        """Chorales from music files and folders: ``.mid``, ``.musicxml``, ``.mxl``, ``.csv`` ...

        Each path is a file (read by its suffix, `Chorale.read`) or a folder, searched
        recursively for files of a readable suffix (``suffixes("read")``; hidden files and
        folders and files of other suffixes are passed over). Folders are read in natural order
        (``2.mid`` before ``10.mid``). Nothing is written anywhere.

        Raises:
            InputError: a path that does not exist, a folder with no music files, or a file
                that is not a four-voice chorale (the message names the file).

        Examples:
            >>> import tempfile
            >>> root = Path(tempfile.mkdtemp())
            >>> for name in ("10", "2"):
            ...     path = Chorale([[72, 67, 64, 48]] * 4).write(root / f"{name}.mid")
            >>> [c.name for c in Dataset.from_paths(root)]
            ['2', '10']
        """
        items: list[PathLike] = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        readable = suffixes("read")
        files: list[Path] = []
        for item in items:
            path = Path(item)
            if path.is_dir():
                found = sorted(
                    (
                        f
                        for f in path.rglob("*")
                        if f.is_file()
                        and f.suffix.lower() in readable
                        and not any(p.startswith(".") for p in f.relative_to(path).parts)
                    ),
                    key=_natural_key,
                )
                if not found:
                    raise InputError(
                        f"{path}: no music files found (looked for {', '.join(readable)})"
                    )
                files += found
            elif path.is_file():
                files.append(path)
            else:
                raise InputError(f"{path}: no such file or folder")
        if not files:
            raise InputError("no music files given")
        return cls([Chorale.read(f) for f in files], source=source or ", ".join(map(str, items)))

    @classmethod
    def from_music21(cls, *, limit: int | None = None, progress: bool = False) -> Dataset:
        """music21's bundled Bach chorales, converted to the 16th-note grid, offline.

        Only true four-voice pieces are kept (four parts, each with notes); `report` says how
        many were kept and why the others were skipped. Parsing takes a minute or two.
        Note that this edition holds the JSB test pieces too.

        Args:
            limit: parse only the first ``limit`` corpus files (for quick looks).
            progress: print one line per 50 files.

        Examples:
            >>> ds = Dataset.from_music21()  # doctest: +SKIP
            >>> print(ds.report)  # doctest: +SKIP
            kept ... of ... scores; skipped ...
        """
        from music21 import corpus

        paths = sorted({str(p) for p in corpus.getComposer("bach")})
        paths = [p for p in paths if p.endswith((".mxl", ".xml", ".musicxml", ".krn"))]
        if limit is not None:
            paths = paths[:limit]
        chorales: list[Chorale] = []
        skipped: collections.Counter[str] = collections.Counter()
        for number, file in enumerate(paths, start=1):
            if progress and number % 50 == 0:
                print(f"music21 corpus: {number}/{len(paths)} parsed")
            reason, chorale = _convert(file)
            if chorale is None:
                skipped[reason] += 1
            else:
                chorales.append(chorale)
        report = ConversionReport(kept=len(chorales), skipped=dict(skipped))
        return cls(chorales, source="music21 Bach chorales", report=report)


def _common_top(root: Path, files: list[Path]) -> Path:
    """Skip a single wrapping folder (``jsb_chorales/``) so splits are its sub-folders."""
    top = root
    while True:
        subdirs = [p for p in top.iterdir() if p.is_dir() and not p.name.startswith(".")]
        loose = [f for f in files if f.parent == top]
        nested = len(subdirs) == 1 and any(p.is_dir() for p in subdirs[0].iterdir())
        if nested and not loose:
            top = subdirs[0]
        else:
            return top


def _convert(file: str) -> tuple[str, Chorale | None]:
    from music21 import converter

    try:
        score = converter.parse(file, forceSource=True, storePickle=False)
    except Exception:  # music21 raises many kinds on odd files
        return "unreadable", None
    parts = list(getattr(score, "parts", []))
    if len(parts) != 4:
        return f"with {len(parts)} parts (not 4)", None
    if any(not part.flatten().notes for part in parts):
        return "with an empty part", None
    name = Path(file).name.split(".")[0]
    try:
        chorale = Chorale.from_music21(score, name=name)
    except ValueError:
        return "not convertible to the grid", None
    if (chorale.chords == 0).all(axis=0).any():
        return "with a silent voice after conversion", None
    return "kept", chorale
