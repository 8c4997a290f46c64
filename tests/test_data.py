"""Tests for bachnet.data: the pooch download (from a loopback server), safe unpacking,
CSV folders, the Dataset sequence, and music21's chorales."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

import bachnet
from bachnet import Chorale, Dataset
from bachnet.data import ENV_MIRROR, JSB_ARCHIVE, data_dir, fetch, safe_extract

if TYPE_CHECKING:
    from conftest import LoopbackServers

JSB_SHA256 = "e722fbc866fc1ba0bac56a6fcad95d7e3e584da80173e13932e3da441440efd7"
JSB_SPLITS = {"train": 229, "valid": 76, "test": 77, "all": 382}
CSV_HEADER = "note0,note1,note2,note3\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(folder: Path) -> list[str]:
    """Every file and folder below ``folder`` (relative, sorted); [] if it does not exist.

    The cache's empty lock files (``.<name>.lock``, held while a file is written) are left out.
    """
    if not folder.exists():
        return []
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if not p.name.endswith(".lock")
    )


def serve_copy(archive: Path, folder: Path, servers: LoopbackServers) -> str:
    folder.mkdir()
    shutil.copy(archive, folder / JSB_ARCHIVE)
    return servers(folder)


# ------------------------------------------------------------------------ the JSB download
def test_data_dir_follows_env(cache_dir: Path) -> None:
    assert data_dir() == cache_dir


def test_jsb_download_from_loopback_mirror(
    jsb_archive: Path,
    loopback_server: LoopbackServers,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = serve_copy(jsb_archive, tmp_path / "mirror", loopback_server)
    monkeypatch.setenv(ENV_MIRROR, url)
    assert files_under(cache_dir) == []

    dataset = Dataset.jsb(progress=False)

    assert loopback_server.requests == [f"/{JSB_ARCHIVE}"]
    assert dataset.splits == JSB_SPLITS
    assert len(dataset) == 382
    assert sum(1 for _ in dataset) == 382
    cached = cache_dir / JSB_ARCHIVE
    assert cached.is_file()
    assert sha256(cached) == JSB_SHA256
    assert all(len(c) > 0 for c in dataset)
    # a second load uses the cache: no new request
    assert Dataset.jsb(progress=False).splits == JSB_SPLITS
    assert loopback_server.requests == [f"/{JSB_ARCHIVE}"]


def test_jsb_tampered_archive_is_refused(
    jsb_archive: Path,
    loopback_server: LoopbackServers,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mirror = tmp_path / "mirror"
    url = serve_copy(jsb_archive, mirror, loopback_server)
    tampered = bytearray((mirror / JSB_ARCHIVE).read_bytes())
    for position in (5_000, 5_001, 60_000):
        tampered[position] ^= 0xFF
    (mirror / JSB_ARCHIVE).write_bytes(bytes(tampered))
    monkeypatch.setenv(ENV_MIRROR, url)

    with pytest.raises(bachnet.DownloadError, match="sha256") as info:
        Dataset.jsb(progress=False)

    assert JSB_SHA256 in str(info.value)
    assert loopback_server.requests == [f"/{JSB_ARCHIVE}"]
    assert not (cache_dir / JSB_ARCHIVE).exists()
    assert not (cache_dir / "unpacked").exists()
    assert files_under(cache_dir) == []  # no temporary download left behind either


def test_jsb_from_prefilled_cache_fetches_nothing(
    jsb_archive: Path, cache_dir: Path, dead_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir.mkdir()
    shutil.copy(jsb_archive, cache_dir / JSB_ARCHIVE)
    monkeypatch.setenv(ENV_MIRROR, dead_url)  # any fetch would fail
    dataset = Dataset.jsb(progress=False)
    assert dataset.splits == JSB_SPLITS
    assert dataset.source == "JSB Chorales"
    assert sha256(cache_dir / JSB_ARCHIVE) == JSB_SHA256


def test_corrupt_cache_with_no_server_fails_cleanly(
    jsb_archive: Path, cache_dir: Path, dead_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir.mkdir()
    (cache_dir / JSB_ARCHIVE).write_bytes(jsb_archive.read_bytes()[:1000])  # truncated
    monkeypatch.setenv(ENV_MIRROR, dead_url)
    with pytest.raises(bachnet.DownloadError, match="could not download"):
        Dataset.jsb(progress=False)
    assert not (cache_dir / "unpacked").exists()


def test_fetch_unknown_name() -> None:
    with pytest.raises(bachnet.DownloadError, match="not in bachnet's registry"):
        fetch("nothing.tgz", progress=False)


def test_jsb_dataset_fixture(jsb_dataset: Dataset) -> None:
    assert jsb_dataset.splits == JSB_SPLITS
    lengths = [len(c) for c in jsb_dataset]
    assert min(lengths) > 0
    notes = np.concatenate([c.chords[c.chords > 0] for c in jsb_dataset])
    assert (int(notes.min()), int(notes.max())) == (36, 81)


# --------------------------------------------------------------------------- safe unpacking
def build_tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    """A .tgz built in memory: (name, data) pairs are files, TarInfo objects go in as they are."""
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


GOOD_CSV = (CSV_HEADER + "72,67,64,48\n" * 8).encode()


def link_member(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_safe_extract_good_archive(tmp_path: Path) -> None:
    archive = build_tar(
        tmp_path / "good.tgz",
        [("pieces/train/chorale_1.csv", GOOD_CSV), ("pieces/test/chorale_2.csv", GOOD_CSV)],
    )
    target = safe_extract(archive, tmp_path / "out")
    assert files_under(target) == [
        "pieces",
        "pieces/test",
        "pieces/test/chorale_2.csv",
        "pieces/train",
        "pieces/train/chorale_1.csv",
    ]
    assert safe_extract(archive, target) == target  # already there: kept as is
    assert {p.name for p in tmp_path.iterdir()} - {"bachnet-cache"} == {"good.tgz", "out"}


@pytest.mark.parametrize("evil", ["../evil.csv", "pieces/../../evil.csv"])
def test_archive_climbing_out_is_refused(tmp_path: Path, cache_dir: Path, evil: str) -> None:
    archive = build_tar(
        tmp_path / "evil.tgz", [("pieces/chorale_1.csv", GOOD_CSV), (evil, GOOD_CSV)]
    )
    before = files_under(tmp_path)
    with pytest.raises(ValueError, match="refusing member") as info:
        safe_extract(archive, tmp_path / "out")
    assert repr(evil) in str(info.value)
    assert files_under(tmp_path) == before  # nothing written, no staging folder left

    with pytest.raises(ValueError, match="refusing member") as info:
        Dataset.from_folder(archive)
    assert repr(evil) in str(info.value)
    assert list(tmp_path.rglob("evil.csv")) == []
    assert list(tmp_path.rglob("chorale_1.csv")) == []
    assert [p for p in files_under(cache_dir) if p != "unpacked"] == []


def test_absolute_member_is_refused(tmp_path: Path) -> None:
    absolute = str(tmp_path / "abs_evil.csv")
    archive = build_tar(tmp_path / "abs.tgz", [(absolute, GOOD_CSV)])
    with pytest.raises(ValueError, match="refusing member"):
        safe_extract(archive, tmp_path / "out")
    assert not Path(absolute).exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "link",
    [
        link_member("pieces/link.csv", "/etc/passwd"),
        link_member("pieces/inside.csv", "chorale_1.csv"),
        link_member("pieces/hard.csv", "pieces/chorale_1.csv", tarfile.LNKTYPE),
    ],
    ids=["symlink-out", "symlink-in", "hardlink"],
)
def test_link_member_is_refused(tmp_path: Path, link: tarfile.TarInfo) -> None:
    archive = build_tar(tmp_path / "links.tgz", [("pieces/chorale_1.csv", GOOD_CSV), link])
    before = files_under(tmp_path)
    with pytest.raises(ValueError, match="not a plain file") as info:
        safe_extract(archive, tmp_path / "out")
    assert repr(link.name) in str(info.value)
    assert files_under(tmp_path) == before
    with pytest.raises(ValueError, match="not a plain file"):
        Dataset.from_folder(archive)


def test_zip_climbing_out_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("pieces/chorale_1.csv", GOOD_CSV)
        zipped.writestr("../evil.csv", GOOD_CSV)
    with pytest.raises(ValueError, match=r"refusing member '\.\./evil\.csv'"):
        safe_extract(archive, tmp_path / "out")
    assert list(tmp_path.rglob("evil.csv")) == []
    assert not (tmp_path / "out").exists()


def test_zip_archive_folder(tmp_path: Path) -> None:
    archive = tmp_path / "pieces.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("pieces/train/a.csv", GOOD_CSV)
        zipped.writestr("pieces/valid/b.csv", GOOD_CSV)
    dataset = Dataset.from_folder(archive)
    assert dataset.splits == {"train": 1, "valid": 1, "all": 2}


def test_not_an_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="not a tar or zip archive"):
        safe_extract(junk, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------ CSV folders
def write_csvs(folder: Path, chorales: dict[str, Chorale]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, chorale in chorales.items():
        (folder / f"{name}.csv").write_text(chorale.to_csv())


def test_from_folder_flat(tmp_path: Path, tiny_chorales: list[Chorale]) -> None:
    held, cadence, walk = tiny_chorales
    write_csvs(tmp_path / "flat", {"c10": walk, "c2": cadence, "c1": held})
    dataset = Dataset.from_folder(tmp_path / "flat")
    assert dataset.splits == {"all": 3}
    assert list(dataset) == [held, cadence, walk]  # natural order: c1, c2, c10
    assert [c.name for c in dataset] == ["c1", "c2", "c10"]
    assert dataset.source == str(tmp_path / "flat")


def test_from_folder_with_splits(tmp_path: Path, tiny_chorales: list[Chorale]) -> None:
    held, cadence, walk = tiny_chorales
    root = tmp_path / "corpus"
    write_csvs(root / "train", {"a": held, "b": cadence})
    write_csvs(root / "test", {"c": walk})
    dataset = Dataset.from_folder(root, source="mine")
    assert dataset.splits == {"test": 1, "train": 2, "all": 3}
    assert list(dataset.split("train")) == [held, cadence]
    assert list(dataset.split("test")) == [walk]
    assert "mine" in repr(dataset)
    # the same folder wrapped in one top folder, as an archive: same splits
    archive = tmp_path / "corpus.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="corpus")
    again = Dataset.from_folder(archive)
    assert again.splits == dataset.splits
    assert list(again.split("train")) == [held, cadence]


def test_from_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such folder"):
        Dataset.from_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no \.csv chorales"):
        Dataset.from_folder(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.csv").write_text(CSV_HEADER + "60,60,60\n")
    with pytest.raises(ValueError, match=r"broken\.csv"):
        Dataset.from_folder(tmp_path / "bad")


# --------------------------------------------------------------------------- the sequence
def test_sequence_protocol(tiny_chorales: list[Chorale]) -> None:
    dataset = Dataset(tiny_chorales, {"train": [0, 1], "test": [2]}, source="tiny")
    assert len(dataset) == 3
    assert list(dataset) == tiny_chorales
    assert dataset[0] is tiny_chorales[0]
    assert dataset[-1] is tiny_chorales[2]
    with pytest.raises(IndexError):
        dataset[3]
    head = dataset[:2]
    assert isinstance(head, Dataset)
    assert list(head) == tiny_chorales[:2]
    assert head.splits == {"all": 2}
    assert list(dataset[::-1]) == tiny_chorales[::-1]
    assert dataset.splits == {"train": 2, "test": 1, "all": 3}
    assert list(dataset.split("train")) == tiny_chorales[:2]
    assert dataset.split("all").splits == {"all": 3}
    assert dataset.total_steps() == sum(len(c) for c in tiny_chorales)
    assert tiny_chorales[1] in dataset
    assert "tiny" in repr(dataset)


def test_unknown_split(tiny_chorales: list[Chorale]) -> None:
    dataset = Dataset(tiny_chorales, {"train": [0, 1]})
    with pytest.raises(KeyError, match=r"no split 'valid'.*train, all"):
        dataset.split("valid")


def test_bad_split_indices(tiny_chorales: list[Chorale]) -> None:
    with pytest.raises(ValueError, match="split 'train' names chorale 3"):
        Dataset(tiny_chorales, {"train": [0, 3]})


def test_draw(jsb_dataset: Dataset) -> None:
    first = jsb_dataset.draw(seed=7)
    assert jsb_dataset.draw(seed=7) is first
    assert first in jsb_dataset
    assert len({jsb_dataset.draw(seed=s).name for s in range(10)}) > 1
    prompt = jsb_dataset.draw(seed=7, steps=16)
    assert len(prompt) == 16
    assert prompt.name == first.name
    np.testing.assert_array_equal(prompt.chords, first.chords[:16])
    longer = jsb_dataset.draw(seed=7, steps=10_000)
    assert longer == first


def test_draw_errors(tiny_chorales: list[Chorale]) -> None:
    with pytest.raises(ValueError, match="empty dataset"):
        Dataset([]).draw(seed=0)
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        Dataset(tiny_chorales).draw(seed=0, steps=0)


# ------------------------------------------------------------------------- music21 corpus
def test_from_music21_limit() -> None:
    start = time.perf_counter()
    dataset = Dataset.from_music21(limit=12)
    elapsed = time.perf_counter() - start
    report = dataset.report
    assert report is not None
    assert report.kept + sum(report.skipped.values()) == 12
    assert report.kept == len(dataset) > 0
    assert "kept" not in report.skipped
    assert "of 12 scores" in str(report)
    for chorale in dataset:
        assert chorale.chords.shape[1] == 4
        assert (chorale.chords > 0).any(axis=0).all(), f"{chorale.name} has a silent voice"
    assert elapsed < 60  # the tests stay fast; anything slower belongs in benchmarks/


# ------------------------------------------------------------ the JSB pieces' bars and fermatas
def test_jsb_pieces_carry_their_bars_and_fermatas(jsb_dataset: Dataset) -> None:
    from bachnet.data.form import jsb_form
    from bachnet.music.metrics import bar_figures

    table = jsb_form()
    assert len(table) == 290
    test = jsb_dataset.split("test")
    matched = [piece for piece in test if piece.name in table]
    assert len(matched) == 63
    assert sum(bool(piece.fermatas) for piece in matched) == 62  # one edition marks none
    assert {piece.meter for piece in test} == {"4/4", "3/4"}
    piece = next(p for p in test if p.name == "chorale_306")  # bwv248.46-5
    assert (piece.pickup, piece.fermatas[:3]) == (4, (36, 76, 108))
    # a fermata chord is held: Bach's long soprano notes fall on the strong beats once the
    # bars are in place, and on the weak ones when the pickup is ignored
    aligned, _ = bar_figures(test)
    unaligned, _ = bar_figures([p.replace(pickup=0) for p in test])
    assert aligned > 75 > 50 > unaligned


def test_likely_pickup_finds_bachs_strong_beats(jsb_dataset: Dataset) -> None:
    from bachnet.data.form import jsb_form, likely_pickup
    from bachnet.errors import InputError

    table = jsb_form()
    pieces = [p for p in jsb_dataset.split("test") if p.name in table and p.meter == "4/4"]
    # shifted by one beat and read as if starting on a bar line, the pieces lose their bars;
    # likely_pickup puts the strong beats back where music21's edition has them
    shifted = [p.replace(pickup=0) for p in pieces]
    found = [likely_pickup(p) for p in shifted]
    agree = sum((pickup - p.pickup) % 8 == 0 for pickup, p in zip(found, pieces, strict=True))
    assert agree >= 0.9 * len(pieces)
    assert set(found) <= {0, 4}
    with pytest.raises(InputError, match="3/4"):
        likely_pickup(Chorale([[72, 67, 64, 48]] * 12, meter="3/4"))
