"""A musician's own corpus: `bachnet data check`, reading a folder of mixed files, splitting it
by piece, recording the split for resume and evaluate, joining it to JSB, and fine-tuning."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from bachnet import BachNet, Chorale, Dataset, ModelConfig
from bachnet.apps.cli import main
from bachnet.data import JSB_ARCHIVE
from bachnet.data.check import check_files, split_names
from bachnet.errors import InputError

# The plain architecture: these tests are about the data, and its training step compiles fastest.
TINY_FLAGS = ["--architecture", "lstm", "--lstm-units", "16", "--embedding-dim", "8"]
TINY_FLAGS += ["--dense-units", "8", "--window", "32"]


def piece(seed: int, steps: int = 64) -> Chorale:
    """A short four-voice piece in SATB ranges: random chord tones held for a beat each."""
    rng = np.random.default_rng(seed)
    chords = []
    for _ in range(steps // 4):
        root = int(rng.integers(0, 7))
        chord = [72 + root % 5, 67 + root % 4, 60 + root % 5, 48 + root]
        chords += [chord] * 4
    return Chorale(chords)


def tree_digest(root: Path) -> str:
    """One hash of every file's path, bytes and modification time under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
            digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()


@pytest.fixture
def filled_cache(cache_dir: Path, jsb_archive: Path) -> Path:
    """This test's ``BACHNET_DATA_DIR`` with the JSB archive already in it (no download)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(jsb_archive, cache_dir / JSB_ARCHIVE)
    return cache_dir


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A musician's folder: good MIDI, MusicXML and CSV pieces, and files to refuse."""
    root = tmp_path / "hymns"
    for n in range(6):
        piece(n).write(root / f"{n}.mid")
    for n in range(6, 9):
        piece(n).write(root / "more" / f"{n}.musicxml")
    piece(9).write(root / "more" / "9.csv")
    # An octave too high everywhere: moved down an octave, and noted.
    Chorale(piece(10).chords + 12).write(root / "high.csv")
    # Parts given bass first: put in order, and noted.
    Chorale(piece(11).chords[:, ::-1]).write(root / "bass_first.csv")
    # Refused: pitches the model cannot read, an alto in the bass's register, too short, junk.
    Chorale(np.clip(piece(12).chords + 30, 0, 120)).write(root / "shrill.csv")
    bass = piece(13).chords[:, 3] - 10  # every voice crammed into a bass's register
    Chorale(np.stack([bass + 10, bass + 7, bass + 4, bass], axis=1)).write(root / "low.csv")
    Chorale([[72, 67, 64, 48]] * 8).write(root / "short.csv")
    (root / "junk.mid").write_bytes(b"MThd this is not a MIDI file")
    (root / "notes.txt").write_text("not music", encoding="utf-8")
    return root


def test_check_keeps_what_can_be_trained_on_and_says_why_not(folder: Path) -> None:
    before = tree_digest(folder)
    pieces, report = check_files(folder)
    assert tree_digest(folder) == before  # the user's folder is only read
    verdicts = {f.path: f for f in report.files}
    assert "notes.txt" not in verdicts  # not a music file: passed over
    kept = [path for path, f in verdicts.items() if f.kept]
    assert kept == [
        "0.mid", "1.mid", "2.mid", "3.mid", "4.mid", "5.mid", "bass_first.csv", "high.csv",
        "more/6.musicxml", "more/7.musicxml", "more/8.musicxml", "more/9.csv",
    ]  # fmt: skip
    assert [p.name for p in pieces] == kept
    # Each kept piece is the file's music (the MIDI and MusicXML ones round-trip exactly).
    for n in range(6):
        assert np.array_equal(pieces[n].chords, piece(n).chords)
    assert np.array_equal(pieces[9].chords, piece(7).chords)
    assert verdicts["high.csv"].notes == ("moved 1 octave(s) down",)
    assert np.array_equal(pieces[7].chords, piece(10).chords)
    assert verdicts["bass_first.csv"].notes == (
        "parts put in S, A, T, B order by their mean pitch",
    )
    assert np.array_equal(pieces[6].chords, piece(11).chords)
    refused = {path: (f.category, f.reason) for path, f in verdicts.items() if not f.kept}
    assert refused["shrill.csv"] == (
        "outside the vocabulary",
        "pitches 78..106 lie outside the 36..81 the model reads",
    )
    assert refused["low.csv"][0] == "far outside SATB"
    assert "the soprano sings around" in refused["low.csv"][1]
    assert "far below a soprano's 60..81" in refused["low.csv"][1]
    assert refused["short.csv"] == ("too short", "8 sixteenths, shorter than one bar of 4/4")
    assert refused["junk.mid"][0] == "unreadable"
    assert report.kept == 12 and report.refused == 4
    assert report.reasons() == {
        "outside the vocabulary": 1,
        "far outside SATB": 1,
        "too short": 1,
        "unreadable": 1,
    }
    assert report.counts("meter") == {"4/4": 12}
    assert sum(report.counts("key").values()) == 12
    low = min(int(p.chords[:, 3][p.chords[:, 3] > 0].min()) for p in pieces)
    assert report.ranges[3][0] == low
    document = report.to_dict()
    assert document["kept"] == 12 and len(document["per_file"]) == 16
    json.dumps(document)  # JSON-ready


def test_a_folder_is_split_by_piece_seeded_and_the_split_can_be_replayed(folder: Path) -> None:
    dataset = Dataset.from_music(folder, seed=3)
    assert dataset.check is not None and dataset.check.kept == 12
    named = dataset.split_names()
    assert {k: len(v) for k, v in named.items()} == {"train": 10, "valid": 1, "test": 1}
    assert sorted(name for names in named.values() for name in names) == sorted(
        p.name or "" for p in dataset
    )
    assert Dataset.from_music(folder, seed=3).split_names() == named  # seeded
    assert Dataset.from_music(folder, seed=4).split_names() != named
    sizes = Dataset.from_music(folder, sizes=(0.5, 0.25, 0.25)).splits
    assert (sizes["train"], sizes["valid"], sizes["test"]) == (6, 3, 3)
    replayed = Dataset.from_music(folder, seed=9).with_splits(named)
    assert replayed.split_names() == named
    (folder / "0.mid").unlink()
    with pytest.raises(InputError, match=r"names 1 piece\(s\) this data does not have \(0.mid\)"):
        Dataset.from_music(folder).with_splits(named)


def test_split_folders_are_kept_and_split_sizes_are_checked(tmp_path: Path) -> None:
    for split, count in (("train", 4), ("valid", 2), ("test", 1)):
        for n in range(count):
            piece(n).write(tmp_path / "c" / split / f"{split}{n}.mid")
    dataset = Dataset.from_music(tmp_path / "c")
    assert dataset.splits == {"train": 4, "valid": 2, "test": 1, "all": 7}
    assert dataset.split("test")[0].name == "test/test0.mid"
    with pytest.raises(InputError, match="three shares"):
        split_names(["a", "b"], (0.0, 0.5, 0.5))


def test_nothing_usable_stops_before_training(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    Chorale([[72, 67, 64, 48]] * 4).write(root / "tiny.csv")
    (root / "junk.mid").write_bytes(b"nothing")
    with pytest.raises(InputError, match=r"none of its 2 music files can be trained on"):
        Dataset.from_music(root)
    result = CliRunner().invoke(main, ["train", "-o", str(tmp_path / "run"), "--data", str(root)])
    assert result.exit_code == 1
    assert (
        "none of its 2 music files can be trained on (1 too short, 1 unreadable)" in result.output
    )
    assert not (tmp_path / "run" / "state.json").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no music files found"):
        check_files(empty)


def test_cli_data_check_prints_each_file_and_the_totals(folder: Path, tmp_path: Path) -> None:
    before = tree_digest(folder)
    result = CliRunner().invoke(main, ["data", "check", str(folder)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("0.mid") and "kept" in line and "64 steps" in line for line in lines)
    assert any(
        line.startswith("shrill.csv") and "REFUSED  pitches 78..106" in line for line in lines
    )
    assert f"{folder}: 16 files, 12 kept, 4 refused" in result.output
    assert "voice ranges (MIDI): S " in result.output and "metres: 4/4 12" in result.output
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["data", "check", str(folder), "--summary", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "0.mid" not in result.output.split("\n", 1)[0]
    assert json.loads(out.read_text(encoding="utf-8"))["refused"] == 4
    assert tree_digest(folder) == before


def test_jsb_plus_a_folder_joins_splits(folder: Path, filled_cache: Path) -> None:
    joined = Dataset.load(f"jsb+{folder}")
    mine = Dataset.from_music(folder)
    assert joined.splits["train"] == 229 + mine.splits["train"]
    assert joined.splits["test"] == 77 + mine.splits["test"]
    names = joined.split_names()["test"]
    assert names[0].startswith("jsb/") and names[-1].startswith("hymns/")


def test_training_on_a_folder_records_its_split_for_resume_and_evaluate(
    folder: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    args = ["train", "-o", str(run), "--data", str(folder), *TINY_FLAGS, "--epochs", "1"]
    result = CliRunner().invoke(main, [*args, "--seed", "5", "--batch-size", "8"])
    assert result.exit_code == 0, result.output
    assert "12 kept, 4 refused" in result.output
    recorded = json.loads((run / "run.json").read_text(encoding="utf-8"))["splits"]
    assert recorded == Dataset.from_music(folder, seed=5).split_names()
    model = BachNet.load(run / "model")
    assert model.metadata["corpus"]["splits"] == recorded
    # Evaluating on the folder scores the model's own test piece, whatever the seed now.
    result = CliRunner().invoke(main, ["evaluate", str(run / "model"), "--data", str(folder)])
    assert result.exit_code == 0, result.output
    (test_name,) = recorded["test"]
    expected = model.evaluate([p for p in Dataset.from_music(folder) if p.name == test_name])
    assert f"loss {expected['loss']:.4f}" in result.output
    # Resuming reads the recorded split, not a new one.
    result = CliRunner().invoke(main, ["train", "-o", str(run), "--resume", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "run.json").read_text(encoding="utf-8"))["splits"] == recorded


def test_fine_tuning_moves_the_loss_on_the_new_music(folder: Path, tmp_path: Path) -> None:
    keras.utils.set_random_seed(0)
    base = BachNet(ModelConfig(lstm_units=(16,), embedding_dim=8, dense_units=8, window=32))
    saved = base.save_pretrained(tmp_path / "base")
    test = Dataset.from_music(folder, seed=0).split("test")
    before = base.evaluate(test)["loss"]
    run = tmp_path / "tuned"
    args = ["train", "-o", str(run), "--init", str(saved), "--data", str(folder)]
    result = CliRunner().invoke(main, [*args, "--epochs", "8", "--lr", "0.01", "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    after = BachNet.load(run / "model").evaluate(test)["loss"]
    assert after < before - 0.5, (before, after)


def test_one_key_moves_every_piece_into_c_major_or_a_minor(jsb_archive: Path) -> None:
    from bachnet.music.keys import Key, find_key

    jsb = Dataset.from_folder(jsb_archive)[:40]
    moved = jsb.in_one_key()
    assert [p.name for p in moved] == [p.name for p in jsb] and moved.splits == jsb.splits
    keys = [find_key(p) for p in moved]
    assert all(k in (Key(0), Key(9, "minor")) for k in keys), keys
    assert sum(find_key(p) != k for p, k in zip(jsb, keys, strict=True)) > 20  # most moved
    for before, after in zip(jsb, moved, strict=True):
        shift = after.chords.astype(int) - before.chords.astype(int)
        sounding = before.chords > 0
        assert len(set(shift[sounding].tolist())) == 1  # one transposition of the whole piece
        assert abs(shift[sounding][0]) <= 12


def test_training_with_one_key_is_recorded_for_resume_and_evaluate(
    folder: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    args = ["train", "-o", str(run), "--data", str(folder), *TINY_FLAGS, "--epochs", "1"]
    result = CliRunner().invoke(main, [*args, "--one-key", "--batch-size", "8"])
    assert result.exit_code == 0, result.output
    assert "every piece moved into C major or A minor" in result.output
    assert json.loads((run / "run.json").read_text(encoding="utf-8"))["one_key"] is True
    model = BachNet.load(run / "model")
    assert model.metadata["corpus"]["one_key"] is True
    result = CliRunner().invoke(main, ["evaluate", str(run / "model"), "--data", str(folder)])
    assert result.exit_code == 0, result.output
    assert "every piece moved into C major or A minor" in result.output
    (test_name,) = model.metadata["corpus"]["splits"]["test"]
    mine = Dataset.from_music(folder).in_one_key()
    expected = model.evaluate([p for p in mine if p.name == test_name])
    assert f"loss {expected['loss']:.4f}" in result.output
    result = CliRunner().invoke(main, ["train", "-o", str(run), "--resume", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert "every piece moved into C major or A minor" in result.output
