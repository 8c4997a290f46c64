"""Corpora of chorales: the JSB download, local CSV folders and archives, music21's Bach chorales.

Files come through `bachnet.data.download` (verified, cached); this module turns them into a
`Dataset` of `Chorale` pieces with named splits.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, overload

import numpy as np

from bachnet.core.aliases import PathLike
from bachnet.data.check import music_files, natural_key
from bachnet.data.download import JSB_ARCHIVE, cache_lock, data_dir, fetch, safe_extract
from bachnet.data.form import with_form
from bachnet.errors import InputError, NotFoundError
from bachnet.music.chorale import Chorale
from bachnet.music.keys import Key, find_key, key_shift, transpose_into
from bachnet.music.ranges import JSB
from bachnet.music.table import suffixes
from bachnet.music.vocab import Vocabulary

if TYPE_CHECKING:
    from bachnet.data.check import DataReport

__all__ = [
    "JSB_SPLITS",
    "SPLIT_SIZES",
    "ConversionReport",
    "Dataset",
]

JSB_SPLITS = {"train": 229, "valid": 76, "test": 77}
"""Chorales per split in the JSB archive."""

SPLIT_SIZES = (0.8, 0.1, 0.1)
"""Train, valid and test shares of a musician's corpus split by piece (`Dataset.from_music`)."""


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
        self.check: DataReport | None = None
        """For a musician's corpus (`from_music`), the verdict on every file."""

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
        root = unpacked(Path(path))
        if not root.is_dir():
            raise InputError(f"{path}: no such folder or archive")
        files = sorted(
            (
                f
                for f in root.rglob("*.csv")
                if not any(p.startswith(".") for p in f.relative_to(root).parts)
            ),
            key=natural_key,
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
    def from_music(
        cls,
        path: PathLike,
        *,
        sizes: Sequence[float] = SPLIT_SIZES,
        seed: int = 0,
        vocab: Vocabulary | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Dataset:
        """A musician's own corpus: a folder or archive of MIDI, MusicXML, kern and CSV files.

        Every file is read and checked (`bachnet.data.check.check_files`: four voices, the
        16th-note grid, the model's pitches, SATB ranges); the refused ones are left out and
        `check` says why. Pieces are named by their path in the folder. Sub-folders named
        ``train``, ``valid`` and ``test`` make those splits; otherwise the pieces are split by
        piece, seeded, in the shares ``sizes``. Nothing in the folder is written.

        Args:
            path: the folder, or a ``.tgz``/``.zip`` archive (unpacked into the cache).
            sizes: train, valid, test shares for a folder without split sub-folders.
            seed: seeds that split.
            vocab: the pitches the model reads (default 36..81).
            progress: called as ``progress(done, total)`` after each file.

        Raises:
            InputError: no such folder, no music files, or no file that can be trained on
                (the message counts the refusals by reason).

        Examples:
            >>> import tempfile
            >>> root = Path(tempfile.mkdtemp())
            >>> for n in range(10):
            ...     path = Chorale([[72, 67, 64, 48 + n % 3]] * 32).write(root / f"{n}.mid")
            >>> ds = Dataset.from_music(root)
            >>> ds.splits
            {'train': 8, 'valid': 1, 'test': 1, 'all': 10}
            >>> ds.check.kept, ds[0].name
            (10, '0.mid')
        """
        from bachnet.data.check import check_files, split_names

        root = unpacked(Path(path))
        if not root.exists():
            raise InputError(f"{path}: no such folder or archive")
        pieces, report = check_files(root, vocab=vocab, progress=progress)
        report.source = str(path)
        if not pieces:
            why = ", ".join(f"{n} {reason}" for reason, n in report.reasons().items())
            raise InputError(
                f"{path}: none of its {len(report.files)} music files can be trained on ({why}); "
                "`bachnet data check` lists each file and why"
            )
        names = [piece.name or "" for piece in pieces]
        folders = {name.split("/")[0] for name in names}
        if "/" in "".join(names) and folders <= {"train", "valid", "test"} and "train" in folders:
            named = {
                split: [n for n in names if n.startswith(split + "/")]
                for split in ("train", "valid", "test")
            }
        else:
            named = split_names(names, sizes, seed)
        dataset = cls(pieces, source=str(path))
        dataset = dataset.with_splits(named)
        dataset.check = report
        return dataset

    def in_one_key(self) -> Dataset:
        """Every piece moved into C major or A minor (its key found by
        `bachnet.music.keys.find_key`), by whichever of the shift and its octaves keeps its
        voices in Bach's ranges best (`bachnet.music.keys.transpose_into`); splits, names and
        notation kept. ``bachnet train --one-key``.

        Examples:
            >>> piece = Chorale([[74, 69, 66, 50]] * 4 + [[73, 69, 64, 45]] * 4
            ...                 + [[74, 69, 66, 50]] * 8, name="in D")
            >>> Dataset([piece]).in_one_key()[0].chords[0].tolist()  # D major -> C major
            [72, 67, 64, 48]
        """
        moved = []
        for piece in self._chorales:
            key = find_key(piece)
            home = Key(0) if key.mode == "major" else Key(9, "minor")
            chords = transpose_into(piece, key_shift(key, home), JSB)
            moved.append(piece.replace(chords, onsets=piece.onsets))
        dataset = Dataset(moved, self._splits, source=self.source, report=self.report)
        dataset.check = self.check
        return dataset

    def split_names(self) -> dict[str, list[str]]:
        """The names of the pieces in each split but ``all``: what a run records so that
        resuming and evaluating it use the same split (`with_splits`).

        Examples:
            >>> pieces = [Chorale([[72, 67, 64, 48]], name=n) for n in "abc"]
            >>> Dataset(pieces, {"train": [0, 2], "test": [1]}).split_names()
            {'train': ['a', 'c'], 'test': ['b']}
        """
        return {
            name: [self._chorales[i].name or "" for i in indices]
            for name, indices in self._splits.items()
            if name != "all"
        }

    def with_splits(self, names: Mapping[str, Sequence[str]]) -> Dataset:
        """The same pieces split by name, as `split_names` recorded it.

        Raises:
            InputError: a recorded piece that is not in the dataset (its files changed), or
                two pieces of one name.

        Examples:
            >>> pieces = [Chorale([[72, 67, 64, 48]], name=n) for n in "abc"]
            >>> Dataset(pieces).with_splits({"train": ["a", "b"], "test": ["c"]}).splits
            {'train': 2, 'test': 1, 'all': 3}
            >>> Dataset(pieces).with_splits({"test": ["d"]})  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            bachnet.errors.InputError: the recorded test split names 1 piece(s) this data does ...
        """
        where: dict[str, int] = {}
        for index, piece in enumerate(self._chorales):
            name = piece.name or ""
            if name in where:
                raise InputError(f"two pieces are named {name!r}: cannot split by name")
            where[name] = index
        splits: dict[str, list[int]] = {}
        for split, members in names.items():
            missing = [name for name in members if name not in where]
            if missing:
                shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
                raise InputError(
                    f"the recorded {split} split names {len(missing)} piece(s) this data does "
                    f"not have ({shown}); were files renamed or removed?"
                )
            splits[split] = [where[name] for name in members]
        dataset = Dataset(self._chorales, splits, source=self.source, report=self.report)
        dataset.check = self.check
        return dataset

    @classmethod
    def load(
        cls,
        spec: str,
        *,
        sizes: Sequence[float] = SPLIT_SIZES,
        seed: int = 0,
        vocab: Vocabulary | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Dataset:
        """A corpus by name: ``jsb``, ``music21``, a folder or archive, or several joined by
        ``+`` (``jsb+hymns/``).

        A folder of CSV files in ``train/``, ``valid/``, ``test/`` sub-folders is read as it
        always was (`from_folder`); any other folder or archive through `from_music`. Joined
        corpora keep each one's splits (train with train, ...) and name their pieces
        ``CORPUS/NAME`` (``jsb/chorale_12``, ``hymns/12.mid``).

        Raises:
            InputError: an empty name, or what the corpora's readers raise.

        Examples:
            >>> Dataset.load("jsb+my_hymns/").source  # doctest: +SKIP
            'JSB Chorales + my_hymns/'
        """
        parts = [part for part in spec.split("+")]
        if not all(parts):
            raise InputError(f"--data {spec!r}: an empty corpus name (use e.g. jsb+FOLDER)")
        if len(parts) > 1:
            loaded = [
                cls.load(part, sizes=sizes, seed=seed, vocab=vocab, progress=progress)
                for part in parts
            ]
            return cls.joined(loaded, [Path(part).name or part for part in parts])
        if spec == "jsb":
            return cls.jsb()
        if spec == "music21":
            return cls.from_music21(progress=True)
        root = unpacked(Path(spec))
        if root.is_dir() and _csv_splits(root):
            return cls.from_folder(root, source=spec)
        return cls.from_music(spec, sizes=sizes, seed=seed, vocab=vocab, progress=progress)

    @classmethod
    def joined(cls, datasets: Sequence[Dataset], labels: Sequence[str]) -> Dataset:
        """Several corpora as one: pieces renamed ``LABEL/NAME``, splits merged by name.

        Examples:
            >>> a = Dataset([Chorale([[72, 67, 64, 48]], name="x")], {"train": [0]})
            >>> b = Dataset([Chorale([[72, 67, 64, 48]], name="x")], {"test": [0]})
            >>> both = Dataset.joined([a, b], ["jsb", "mine"])
            >>> both.split_names()
            {'train': ['jsb/x'], 'test': ['mine/x']}
        """
        pieces: list[Chorale] = []
        splits: dict[str, list[int]] = collections.defaultdict(list)
        for dataset, label in zip(datasets, labels, strict=True):
            offset = len(pieces)
            pieces += [piece.replace(name=f"{label}/{piece.name}") for piece in dataset]
            for name, indices in dataset._splits.items():
                if name != "all":
                    splits[name] += [offset + i for i in indices]
        source = " + ".join(dataset.source for dataset in datasets)
        return cls(pieces, dict(splits), source=source)

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
                found = music_files(path)
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


def _csv_splits(root: Path) -> bool:
    """Whether ``root`` is laid out as the JSB archive: CSV files only, in split folders."""
    files = [f for f in root.rglob("*") if f.is_file() and not f.name.startswith(".")]
    return bool(files) and all(
        f.suffix.lower() == ".csv" and f.relative_to(root).parts[0] in ("train", "valid", "test")
        for f in files
        if f.suffix.lower() in suffixes("read")
    )


def unpacked(root: Path) -> Path:
    """A folder as it is; an archive (``.tgz``, ``.zip``) unpacked safely into the cache,
    keyed by its sha256 (the user's file is only read)."""
    if root.is_file():
        import hashlib

        digest = hashlib.sha256(root.read_bytes()).hexdigest()[:16]
        stem = root.name.split(".")[0]
        target = data_dir() / "unpacked" / f"{stem}-{digest}"
        with cache_lock(target):
            root = safe_extract(root, target)
    return root
