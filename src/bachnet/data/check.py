"""Checking a musician's own files before training: what is kept, what is refused, and why.

`check_files` reads every file of a folder (MIDI, MusicXML, ``.mxl``, Humdrum ``**kern``,
bachnet's CSV), and keeps a piece only when it can be trained on: four voices, on the 16th-note
grid (`bachnet.formats.music21.read_reading` says what it moved to fit), inside the pitches the
model reads, each voice near its own SATB range. `DataReport` holds the verdict per file and the
totals, voice ranges, keys and metres found; ``bachnet data check FOLDER`` prints it, and
``bachnet train --data FOLDER`` prints it before training. Nothing in the folder is written.

Examples:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> good = Chorale([[72, 67, 64, 48]] * 16 + [[74, 67, 62, 43]] * 16).write(root / "a.csv")
    >>> wide = Chorale([[100, 91, 88, 30]] * 32).write(root / "b.csv")
    >>> pieces, report = check_files(root)
    >>> [piece.name for piece in pieces], report.kept, report.refused
    (['a.csv'], 1, 1)
    >>> report.files[1].reason
    'pitches 30..100 lie outside the 36..81 the model reads'
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bachnet.core.aliases import PathLike
from bachnet.errors import InputError, LimitError
from bachnet.formats.music21 import read_reading
from bachnet.music.chorale import Chorale
from bachnet.music.grid import VOICES
from bachnet.music.keys import find_key
from bachnet.music.ranges import JSB, VoiceRanges
from bachnet.music.table import suffixes
from bachnet.music.vocab import Vocabulary

__all__ = [
    "MIN_STEPS",
    "RANGE_SLACK",
    "DataReport",
    "FileCheck",
    "check_files",
    "music_files",
    "natural_key",
    "split_names",
]

MIN_STEPS = 16
"""The shortest piece kept: one 4/4 bar of 16ths (a shorter one teaches nothing)."""

RANGE_SLACK = 5
"""Semitones a voice's middle pitch may lie outside Bach's range for that voice (JSB, a
fourth) before the piece is refused as "far outside SATB"."""

_VOICE_NAMES = ("soprano", "alto", "tenor", "bass")


def natural_key(path: Path) -> list[object]:
    """Sort key for natural order: ``2.mid`` before ``10.mid``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


@dataclass(frozen=True)
class FileCheck:
    """The verdict on one file.

    Attributes:
        path: the file, relative to the folder checked.
        kept: whether the piece is trained on.
        reason: why it was refused (``""`` when kept).
        category: the kind of refusal (``"unreadable"``, ``"not four voices"``, ``"off the
            16th grid"``, ``"too long"``, ``"too short"``, ``"outside the vocabulary"``,
            ``"far outside SATB"``; ``""`` when kept).
        notes: what was changed to fit the grid or the voices (kept files).
        steps: its length in 16ths (kept files).
        key: the key `find_key` hears (kept files).
        meter: its metre (kept files).
    """

    path: str
    kept: bool
    reason: str = ""
    category: str = ""
    notes: tuple[str, ...] = ()
    steps: int = 0
    key: str = ""
    meter: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "path": self.path,
            "kept": self.kept,
            "reason": self.reason,
            "category": self.category,
            "notes": list(self.notes),
            "steps": self.steps,
            "key": self.key,
            "meter": self.meter,
        }


@dataclass
class DataReport:
    """What `check_files` found in a folder: one `FileCheck` per file, and the totals.

    Attributes:
        source: the folder or archive checked.
        files: one verdict per file, in natural order.
        ranges: each voice's lowest and highest pitch over the kept pieces.
    """

    source: str
    files: list[FileCheck] = field(default_factory=list)
    ranges: list[tuple[int, int]] = field(default_factory=list)

    @property
    def kept(self) -> int:
        """Files kept."""
        return sum(f.kept for f in self.files)

    @property
    def refused(self) -> int:
        """Files refused."""
        return len(self.files) - self.kept

    def counts(self, attribute: str) -> dict[str, int]:
        """How often each value of a kept file's ``attribute`` (``key``, ``meter``) occurs."""
        found = collections.Counter(getattr(f, attribute) for f in self.files if f.kept)
        return dict(found.most_common())

    def reasons(self) -> dict[str, int]:
        """Refused files per category of refusal."""
        found = collections.Counter(f.category for f in self.files if not f.kept)
        return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))

    def changed(self) -> dict[str, int]:
        """Kept files per kind of change made to read them (the words of each note without
        its counts: "grace notes dropped", ...)."""
        found = collections.Counter(
            re.sub(r"\d+(\.\d+)?( of \d+)?\s*", "", note).strip()
            for f in self.files
            if f.kept
            for note in f.notes
        )
        return dict(found.most_common())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report: totals first, then every file."""
        return {
            "source": self.source,
            "files": len(self.files),
            "kept": self.kept,
            "refused": self.refused,
            "reasons": self.reasons(),
            "changed": self.changed(),
            "steps": sum(f.steps for f in self.files if f.kept),
            "voice_ranges": [list(pair) for pair in self.ranges],
            "keys": self.counts("key"),
            "meters": self.counts("meter"),
            "per_file": [f.to_dict() for f in self.files],
        }

    def summary(self) -> str:
        """The totals, a few lines: kept and refused (by reason), ranges, metres, keys."""
        lines = [
            f"{self.source}: {len(self.files)} files, {self.kept} kept, {self.refused} refused"
        ]
        if self.refused:
            why = ", ".join(f"{count} {reason}" for reason, count in self.reasons().items())
            lines.append(f"  refused: {why}")
        changed = self.changed()
        if changed:
            lines.append(
                "  changed to fit: "
                + ", ".join(f"{what} ({n} files)" for what, n in changed.items())
            )
        if self.kept:
            steps = sum(f.steps for f in self.files if f.kept)
            lines.append(f"  music kept: {steps:,} sixteenths ({steps / 16:,.0f} bars of 4/4)")
            ranges = ", ".join(
                f"{name[0].upper()} {low}..{high}"
                for name, (low, high) in zip(_VOICE_NAMES, self.ranges, strict=True)
            )
            lines.append(f"  voice ranges (MIDI): {ranges}")
            lines.append(
                "  metres: " + ", ".join(f"{m} {n}" for m, n in self.counts("meter").items())
            )
            keys = list(self.counts("key").items())
            shown = ", ".join(f"{k} {n}" for k, n in keys[:8])
            more = f", {len(keys) - 8} more" if len(keys) > 8 else ""
            lines.append(f"  keys: {shown}{more}")
        return "\n".join(lines)

    def __str__(self) -> str:
        width = max((len(f.path) for f in self.files), default=0)
        rows = []
        for f in self.files:
            if f.kept:
                said = f"kept     {f.steps:5d} steps, {f.meter}, {f.key}"
                if f.notes:
                    said += "; " + "; ".join(f.notes)
            else:
                said = f"REFUSED  {f.reason}"
            rows.append(f"{f.path:<{width}}  {said}")
        return "\n".join([*rows, self.summary()])


def music_files(root: Path) -> list[Path]:
    """Every readable music file under ``root`` (recursively), hidden ones passed over, in
    natural order (``2.mid`` before ``10.mid``).

    Examples:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> for name in ("10.mid", "2.csv", "notes.txt", ".hidden.mid"):
        ...     _ = (root / name).write_bytes(b"")
        >>> [p.name for p in music_files(root)]
        ['2.csv', '10.mid']
    """
    readable = suffixes("read")
    return sorted(
        (
            f
            for f in root.rglob("*")
            if f.is_file()
            and f.suffix.lower() in readable
            and not any(p.startswith(".") for p in f.relative_to(root).parts)
        ),
        key=natural_key,
    )


def check_files(
    paths: PathLike | Iterable[PathLike],
    *,
    vocab: Vocabulary | None = None,
    ranges: VoiceRanges = JSB,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Chorale], DataReport]:
    """Read and check every music file of a folder (or the files given).

    Each kept piece is named by its path relative to its folder (``hymns/12.mid``), so names
    stay unique across sub-folders. A piece written in the wrong octave (every note an octave
    out of the vocabulary) is moved by octaves and says so; parts given bass first are put in
    S, A, T, B order by their mean pitch and say so.

    Args:
        paths: a folder, a file, or several.
        vocab: the pitches the model reads (default: `Vocabulary()`, 36..81).
        ranges: each voice's range; a voice whose middle pitch lies more than `RANGE_SLACK`
            semitones outside its range is refused.
        progress: called as ``progress(done, total)`` after each file.

    Returns:
        The kept pieces, and the report on every file.

    Raises:
        InputError: a path that does not exist, or no music files at all.
    """
    vocab = vocab or Vocabulary()
    items = [Path(paths)] if isinstance(paths, str | os.PathLike) else [Path(p) for p in paths]
    found: list[tuple[Path, str]] = []
    for item in items:
        if item.is_dir():
            found += [(f, f.relative_to(item).as_posix()) for f in music_files(item)]
        elif item.is_file():
            found.append((item, item.name))
        else:
            raise InputError(f"{item}: no such file or folder")
    source = ", ".join(map(str, items))
    if not found:
        raise InputError(
            f"{source}: no music files found (looked for {', '.join(suffixes('read'))})"
        )
    report = DataReport(source)
    pieces: list[Chorale] = []
    for done, (path, label) in enumerate(found, start=1):
        verdict, piece = _check_one(path, label, vocab, ranges)
        report.files.append(verdict)
        if piece is not None:
            pieces.append(piece)
        if progress is not None:
            progress(done, len(found))
    if pieces:
        chords = np.concatenate([p.chords for p in pieces])
        report.ranges = [
            (int(chords[chords[:, v] > 0, v].min()), int(chords[chords[:, v] > 0, v].max()))
            if (chords[:, v] > 0).any()
            else (0, 0)
            for v in range(len(VOICES))
        ]
    return pieces, report


def _check_one(
    path: Path, label: str, vocab: Vocabulary, ranges: VoiceRanges
) -> tuple[FileCheck, Chorale | None]:
    def refuse(category: str, reason: str) -> tuple[FileCheck, None]:
        return FileCheck(label, False, reason=reason, category=category), None

    try:
        if path.suffix.lower() == ".csv":
            piece, notes = Chorale.read(path), []
        else:
            reading = read_reading(path)
            piece, notes = reading.chorale, list(reading.notes)
    except LimitError as error:
        return refuse("too long", _reason(error, path))
    except InputError as error:
        reason = _reason(error, path)
        return refuse(_category(reason), reason)
    chords = piece.chords.astype(np.int32)
    if len(chords) < MIN_STEPS:
        return refuse("too short", f"{len(chords)} sixteenths, shorter than one bar of 4/4")
    sounding = chords > 0
    if not sounding.any():
        return refuse("unreadable", "no notes")
    means = [chords[sounding[:, v], v].mean() if sounding[:, v].any() else 0 for v in range(4)]
    order = sorted(range(4), key=lambda v: -means[v])
    if order != [0, 1, 2, 3] and all(sounding[:, v].any() for v in range(4)):
        chords = chords[:, order]
        sounding = sounding[:, order]
        notes.append("parts put in S, A, T, B order by their mean pitch")
    pitches = chords[sounding]
    low, high = int(pitches.min()), int(pitches.max())
    if low < vocab.low or high > vocab.high:
        moved = _octave_fit(low, high, vocab)
        if moved is None:
            return refuse(
                "outside the vocabulary",
                f"pitches {low}..{high} lie outside the {vocab.low}..{vocab.high} the model reads",
            )
        chords = np.where(sounding, chords + moved, 0)
        notes.append(f"moved {abs(moved) // 12} octave(s) {'up' if moved > 0 else 'down'}")
    for voice, (name, (lowest, highest)) in enumerate(zip(_VOICE_NAMES, ranges, strict=True)):
        sung = chords[sounding[:, voice], voice]
        if sung.size == 0:
            return refuse("not four voices", f"the {name} never sings")
        middle = float(np.median(sung))
        if not lowest - RANGE_SLACK <= middle <= highest + RANGE_SLACK:
            where = "below" if middle < lowest else "above"
            return refuse(
                "far outside SATB",
                f"the {name} sings around {middle:.0f}, far {where} a {name}'s {lowest}..{highest}",
            )
    piece = piece.replace(chords.astype(np.int16), name=label)
    return (
        FileCheck(
            label,
            True,
            notes=tuple(notes),
            steps=len(piece),
            key=str(find_key(piece)),
            meter=piece.meter,
        ),
        piece,
    )


def _octave_fit(low: int, high: int, vocab: Vocabulary) -> int | None:
    """The move by whole octaves, smallest first, that puts ``low..high`` in the vocabulary."""
    for octaves in (1, -1, 2, -2):
        shift = 12 * octaves
        if vocab.low <= low + shift and high + shift <= vocab.high:
            return shift
    return None


def _reason(error: InputError, path: Path) -> str:
    """The error's message without the file name it starts with (the report names the file)."""
    message = str(error)
    for prefix in (str(path), path.name, path.stem):
        if message.startswith(prefix + ": "):
            return message[len(prefix) + 2 :]
    return message


def _category(reason: str) -> str:
    lowered = reason.lower()
    if "grid" in lowered or "tuplet" in lowered or "triplet" in lowered:
        return "off the 16th grid"
    if "voices" in lowered or "parts" in lowered or "staves" in lowered:
        return "not four voices"
    return "unreadable"


def split_names(
    names: Sequence[str], sizes: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
) -> dict[str, list[str]]:
    """Split pieces by name into train / valid / test, seeded.

    ``sizes`` are the shares (they need not sum to one: they are normalised). Each of valid and
    test gets at least one piece when there are three or more pieces and its share is > 0.

    Raises:
        InputError: negative sizes, no share for training, or not three sizes.

    Examples:
        >>> split = split_names([f"{n}.mid" for n in range(10)], seed=1)
        >>> [len(split[name]) for name in ("train", "valid", "test")]
        [8, 1, 1]
        >>> split == split_names([f"{n}.mid" for n in range(10)], seed=1)
        True
    """
    if len(sizes) != 3 or any(s < 0 for s in sizes) or sizes[0] <= 0:
        raise InputError(
            f"split sizes must be three shares train,valid,test >= 0 with train > 0, got "
            f"{','.join(map(str, sizes))}"
        )
    total = float(sum(sizes))
    order = list(np.random.default_rng(seed).permutation(len(names)))
    count = len(names)
    valid = round(count * sizes[1] / total)
    test = round(count * sizes[2] / total)
    if count >= 3:
        valid = max(valid, 1 if sizes[1] > 0 else 0)
        test = max(test, 1 if sizes[2] > 0 else 0)
    valid, test = min(valid, max(count - 1, 0)), min(test, max(count - 1 - valid, 0))
    chosen = [names[i] for i in order]
    return {
        "train": sorted(chosen[valid + test :], key=lambda n: natural_key(Path(n))),
        "valid": sorted(chosen[:valid], key=lambda n: natural_key(Path(n))),
        "test": sorted(chosen[valid : valid + test], key=lambda n: natural_key(Path(n))),
    }
