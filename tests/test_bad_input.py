"""Hostile and careless input: a clear `BachNetError` (or a correct result), never a traceback,
a hang, a silent wrong answer or lost data."""

from __future__ import annotations

import contextlib
import http.server
import json
import math
import os
import re
import stat
import threading
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bachnet import (
    BachNet,
    BachNetError,
    Chorale,
    InputError,
    LimitError,
    ModelConfig,
    ModelFileError,
    RunFolderError,
    TrainConfig,
    Vocabulary,
)
from bachnet.apps.cli import main
from bachnet.core.files import atomic_path

PIECE = Chorale([[72, 67, 64, 48]] * 8 + [[74, 67, 62, 43]] * 8, name="piece")
OTHER = Chorale([[60, 55, 52, 36]] * 16, name="other")


def one_error_line(result: Result, code: int | None = None) -> str:
    """The run failed with one ``Error:`` line and no traceback; returns that line."""
    assert result.exit_code != 0, result.output
    if code is not None:
        assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output
    return errors[0]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keras.utils.set_random_seed(0)
    net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16))
    return net.save_pretrained(tmp_path_factory.mktemp("tiny") / "model")


# ------------------------------------------------------------------ music files and music21


def test_a_stale_music21_cache_entry_is_not_read(tmp_path: Path) -> None:
    """music21 would return its cached pickle of an older file with the same name."""
    import music21

    path = PIECE.write(tmp_path / "prompt.mid")
    music21.converter.parse(str(path))  # music21's own default: stores a pickle in its cache
    old = path.stat().st_mtime
    OTHER.write(path)
    os.utime(path, (old - 3600, old - 3600))  # the new file looks older (cp -p)
    assert Chorale.read(path) == OTHER


@pytest.mark.parametrize("content", [b"", b"MThd\x00\x00\x00\x06garbage", b"<score-partwise"])
def test_a_damaged_music_file_names_itself(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / ("broken.musicxml" if content.startswith(b"<") else "broken.mid")
    path.write_bytes(content)
    with pytest.raises(InputError, match="broken"):
        Chorale.read(path)


def test_special_and_missing_files_are_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        Chorale.read(fifo)
    with pytest.raises(InputError, match="no such file"):
        Chorale.read(tmp_path / "missing.csv")
    (tmp_path / "folder.mid").mkdir()
    with pytest.raises(InputError, match="not a regular file"):
        Chorale.read(tmp_path / "folder.mid")


def test_csv_with_a_byte_order_mark_and_an_oversized_csv(tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + PIECE.to_csv().encode())
    assert Chorale.read(bom) == PIECE
    big = tmp_path / "big.csv"
    big.write_text("note0,note1,note2,note3\n" + "60,55,52,48\n" * 70_000, encoding="utf-8")
    with pytest.raises(LimitError, match="70000 rows"):
        Chorale.read(big)


# ------------------------------------------------------------------ token ids and configs


@pytest.mark.parametrize(
    ("ids", "message"),
    [([1.7, 1, 1, 1], "not an integer"), ([math.nan, 1, 1, 1], "not a number"),
     ([47, 1, 1, 1], "outside"), (["a", 1, 1, 1], "integers")],
)  # fmt: skip
def test_decode_refuses_ids_that_are_not_token_ids(ids: list[object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        Vocabulary().decode(ids)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 99}, "newer than this bachnet"),
        ({"format": "2"}, "not a format version"),
        ({"metadata": [1]}, "metadata must be a JSON object"),
        ({"weights.file": "/etc/hostname"}, "plain file name"),
        ({"weights.file": "../../model.weights.h5"}, "plain file name"),
        ({"model.lstm_units": [1_000_000_000]}, "parameters"),
        ({"model.embedding_dim": 10**9}, "parameters"),
        ({"vocabulary.high": 90}, "vocabulary has 56 ids"),
        ({"model.units": 3}, r"model: Additional properties .*'units' was unexpected"),
        ({"weights.sha256": "abc"}, "weights/sha256: 'abc' does not match"),
        ({"vocabulary.low": -5}, "vocabulary/low: -5 is less than the minimum of 1"),
    ],
)
def test_a_tampered_config_is_refused_before_anything_is_built(
    tiny_model: Path, tmp_path: Path, change: dict[str, object], message: str
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    for item in tiny_model.iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    document = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    for dotted, value in change.items():
        where = document
        *path, last = dotted.split(".")
        for key in path:
            where = where[key]
        where[last] = value
    (folder / "config.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ModelFileError, match=message) as caught:
        BachNet.load(folder)
    assert "hostname" not in str(caught.value) or "plain file name" in str(caught.value)


def test_the_config_schema_is_a_valid_schema_and_fits_the_bundled_models() -> None:
    import jsonschema

    from bachnet.model.pretrained import bundled_root
    from bachnet.model.saving import config_schema

    jsonschema.Draft202012Validator.check_schema(config_schema())
    configs = sorted(bundled_root().glob("*/config.json"))
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in configs]
    models = [d for d in documents if d.get("kind") != "filler"]  # a filler has its own form
    assert len(models) >= 2 and len(models) < len(documents)
    for document in models:
        jsonschema.validate(document, config_schema())


def test_an_empty_model_name_is_not_the_current_folder() -> None:
    with pytest.raises(InputError, match="empty model name"):
        BachNet.from_pretrained("")


def test_model_size_is_checked_before_building() -> None:
    with pytest.raises(LimitError, match="parameters"):
        ModelConfig(lstm_units=(1_000_000,))
    assert ModelConfig(architecture="beat_lstm", lstm_units=(384, 384)).parameters == 2_089_391


@pytest.mark.parametrize("rate", [math.inf, math.nan, -1.0, 0.0])
def test_learning_rate_must_be_finite_and_positive(rate: float) -> None:
    with pytest.raises(InputError, match="learning_rate"):
        TrainConfig(learning_rate=rate)


# ------------------------------------------------------------------ generation limits


def test_generation_size_is_limited_before_allocating(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = BachNet.load(tiny_model)
    with pytest.raises(LimitError, match="steps must be at most"):
        net.generate(steps=1_000_000_000)
    with pytest.raises(LimitError, match="BACHNET_MAX_MEMORY"):
        net.generate(steps=64, num_samples=100_000)
    monkeypatch.setenv("BACHNET_MAX_MEMORY", "1000")
    with pytest.raises(LimitError, match="GiB"):
        net.generate(steps=16)
    monkeypatch.setenv("BACHNET_MAX_MEMORY", "lots")
    with pytest.raises(InputError, match="BACHNET_MAX_MEMORY"):
        net.generate(steps=16)


# ------------------------------------------------------------------ files and run folders


def test_overwriting_keeps_a_private_file_private(tmp_path: Path) -> None:
    target = tmp_path / "secret.csv"
    target.write_text("x", encoding="utf-8")
    target.chmod(0o600)
    PIECE.write(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with atomic_path(tmp_path / "new.txt") as tmp:
        tmp.write_text("y", encoding="utf-8")
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) & 0o600 == 0o600


def test_training_refuses_a_folder_that_is_not_its_run(tmp_path: Path) -> None:
    folder = tmp_path / "busy"
    (folder / "checkpoints" / "other").mkdir(parents=True)
    (folder / "model").mkdir()
    (folder / "model" / "config.json").write_text("{}", encoding="utf-8")
    before = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16))
    with pytest.raises(RunFolderError, match="not empty and holds no run"):
        net.fit([PIECE] * 4, config=TrainConfig(epochs=1, batch_size=2), run_dir=folder, verbose=0)
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == before
    line = one_error_line(CliRunner().invoke(main, ["train", "-o", str(folder), "--epochs", "1"]))
    assert "holds no run" in line


def test_a_diverging_run_stops_with_a_clear_error(tmp_path: Path) -> None:
    keras.utils.set_random_seed(0)
    net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16))
    config = TrainConfig(epochs=3, batch_size=2, learning_rate=1e30, clipnorm=0)
    with pytest.raises(InputError, match="diverged at epoch 1"):
        net.fit([PIECE, OTHER] * 4, config=config, run_dir=tmp_path / "run", verbose=0)
    state = tmp_path / "run" / "state.json"
    assert not state.exists()  # no epoch with a NaN loss was kept


# ------------------------------------------------------------------ the command line


def test_cli_errors_are_one_line(tiny_model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"")
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    a_file = tmp_path / "a_file"
    a_file.write_text("", encoding="utf-8")
    cases = [
        (["--prompt", str(broken)], "broken.mid"),
        (["--prompt", str(fifo)], "not a regular file"),
        (["--prompt", str(tmp_path / "my:file.mid")], "no such file"),
        (["--tempo", "inf"], "--tempo"),
        (["--tempo", "nan"], "--tempo"),
        (["-o", str(a_file / "x.mid")], "is a file, not a folder"),
        (["-o", str(tmp_path)], "is a directory"),
        (["--steps", "1000000000"], "at most"),
    ]
    for args, fragment in cases:
        result = CliRunner().invoke(main, ["generate", "-m", str(tiny_model), *args])
        assert fragment in one_error_line(result), args
    assert not (tmp_path / "chorale.mid").exists()


def test_every_error_is_a_bachnet_error() -> None:
    from bachnet import DownloadError
    from bachnet.formats.audio import AudioUnavailableError
    from bachnet.formats.score import ScoreUnavailableError

    for cls in (InputError, LimitError, RunFolderError, ModelFileError, DownloadError,
                AudioUnavailableError, ScoreUnavailableError):  # fmt: skip
        assert issubclass(cls, BachNetError)
    assert issubclass(InputError, ValueError) and issubclass(ModelFileError, ValueError)


# ------------------------------------------------------------------ property-based fuzzing

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.lists(st.one_of(st.integers(-5, 60), st.floats(allow_nan=True)), max_size=20))
def test_fuzz_decode(ids: list[float]) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a partial last step is dropped with a warning
            chorale = Vocabulary().decode(ids)
    except BachNetError:
        return
    assert chorale.chords.shape == (len(ids) // 4, 4)
    assert chorale.chords.min() >= 0 and chorale.chords.max() <= 81


@FUZZ
@given(
    st.lists(
        st.lists(
            st.one_of(st.integers(-200, 300), st.floats(allow_nan=True)), min_size=0, max_size=6
        ),
        max_size=8,
    )
)
def test_fuzz_chorale(rows: list[list[float]]) -> None:
    try:
        chorale = Chorale(np.array(rows, dtype=object).tolist() if rows else [])
    except (BachNetError, ValueError):
        return  # numpy itself refuses ragged rows with a ValueError
    assert chorale.chords.shape[1] == 4
    assert chorale.chords.min() >= 0 and chorale.chords.max() <= 127


@FUZZ
@given(st.text(max_size=200))
def test_fuzz_csv_reader(text: str) -> None:
    import io

    try:
        chorale = Chorale.from_csv(io.StringIO("note0,note1,note2,note3\n" + text))
    except BachNetError:
        return
    assert chorale.chords.shape[1] == 4


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([".mid", ".musicxml"]))
def test_fuzz_music_readers(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"piece{suffix}"
    path.write_bytes((b"MThd" if suffix == ".mid" else b"<?xml") + data)
    try:
        chorale = Chorale.read(path)
    except BachNetError:
        return
    assert chorale.chords.shape[1] == 4


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["embedding_dim", "lstm_units", "dropout", "window", "vocab_size", "nonsense"]),
    st.one_of(
        st.integers(-5, 10**12),
        st.floats(allow_nan=True),
        st.text(max_size=5),
        st.lists(st.integers(-5, 10**10), max_size=3),
        st.none(),
    ),
)
def test_fuzz_config_fields(tiny_model: Path, tmp_path: Path, field: str, value: object) -> None:
    folder = tmp_path / f"m{abs(hash((field, repr(value)))) % 10**8}"
    folder.mkdir()
    for item in tiny_model.iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    document = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    document["model"][field] = value
    (folder / "config.json").write_text(json.dumps(document), encoding="utf-8")
    try:
        BachNet.load(folder)
    except BachNetError:
        return


def test_an_archive_that_unpacks_too_big_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    from bachnet.data import download as data

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.csv", b"0" * 2_000_000)  # compresses to a few kilobytes
    monkeypatch.setattr(data, "MAX_ARCHIVE_BYTES", 1_000_000)
    with pytest.raises(LimitError, match="unpacks to 2,000,000 bytes"):
        data.safe_extract(bomb, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bomb.zip"]  # no staging left behind
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(30):
            archive.writestr(f"{i}.csv", "")
    monkeypatch.setattr(data, "MAX_ARCHIVE_MEMBERS", 20)
    with pytest.raises(LimitError, match="30 members"):
        data.safe_extract(many, tmp_path / "out")


# ------------------------------------------------------------------ two processes at once


def test_two_processes_fetch_and_unpack_the_corpus_at_once(
    jsb_archive: Path, tmp_path: Path, loopback_server: object
) -> None:
    import shutil
    import subprocess
    import sys

    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(jsb_archive, served / jsb_archive.name)
    mirror = loopback_server(served)  # type: ignore[operator]
    script = (
        "from bachnet import Dataset; d = Dataset.jsb(progress=False); "
        "print(len(d.split('train')), len(d.split('test')))"
    )
    for attempt in range(3):
        cache = tmp_path / f"cache-{attempt}"
        env = {**os.environ, "BACHNET_DATA_DIR": str(cache), "BACHNET_MIRROR": mirror}
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", script],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=120) for run in runs]
        for run, (out, err) in zip(runs, outputs, strict=True):
            assert run.returncode == 0, err
            assert out.split() == ["229", "77"]
        leftovers = [p.name for p in cache.iterdir() if p.name.startswith(".")]
        # no staging left: only the lock files (the corpus's, the download list's)
        assert sorted(leftovers) == [".bachnet-partials.txt.lock", f".{jsb_archive.name}.lock"]
        # one download per cache: the second process waited on the lock, then found the file
        assert len(loopback_server.requests) == attempt + 1  # type: ignore[attr-defined]


def test_a_second_trainer_is_refused_while_the_first_holds_the_folder(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    folder = tmp_path / "run"
    script = f"""
import keras
from bachnet import BachNet, Chorale, ModelConfig, TrainConfig
keras.utils.set_random_seed(0)
net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16))
piece = Chorale([[72, 67, 64, 48]] * 8 + [[74, 67, 62, 43]] * 8)
net.fit([piece] * 8, config=TrainConfig(epochs=100000, batch_size=2, patience=100000),
        run_dir={str(folder)!r}, verbose=0)
"""
    first = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (folder / "state.json").exists():  # it holds the folder and trains
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.2)
        net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16))
        config = TrainConfig(epochs=100000, batch_size=2, patience=100000)
        with pytest.raises(RunFolderError, match=f"PID {first.pid}"):
            net.fit([PIECE] * 8, config=config, run_dir=folder, verbose=0)
    finally:
        first.kill()  # kill -9: the system drops the lock with the process
        first.wait(timeout=30)
    net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16))
    done = json.loads((folder / "state.json").read_text(encoding="utf-8"))["epoch"]
    config = TrainConfig(epochs=done + 1, batch_size=2, patience=100000)
    keras.utils.set_random_seed(0)
    history = net.fit([PIECE] * 8, config=config, run_dir=folder, verbose=0)
    assert len(history["loss"]) == done + 1  # resumed after the killed holder


def test_run_folders_are_locked_on_windows_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where ``fcntl`` is missing, ``msvcrt.locking`` holds one byte far past the PID."""
    import os
    import sys
    import types

    from bachnet.training import run_folder

    held: dict[tuple[int, int, int], int] = {}  # (device, inode, offset) -> fd, as Windows does

    def locking(fd: int, mode: int, size: int) -> None:
        assert size == 1
        stat = os.fstat(fd)
        key = (stat.st_dev, stat.st_ino, os.lseek(fd, 0, os.SEEK_CUR))
        if mode == fake.LK_UNLCK:
            assert held.pop(key) == fd
        elif key in held:
            raise PermissionError(13, "Permission denied")  # what Windows raises
        else:
            held[key] = fd

    fake = types.SimpleNamespace(LK_UNLCK=0, LK_NBLCK=2, locking=locking)
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    folder = tmp_path / "run"
    with run_folder.owned(folder):
        assert (folder / run_folder.LOCK_FILE).read_text(encoding="utf-8") == str(os.getpid())
        assert [offset for _, _, offset in held] == [run_folder._WINDOWS_LOCK_OFFSET]
        with pytest.raises(RunFolderError, match=f"PID {os.getpid()}"), run_folder.owned(folder):
            pass  # pragma: no cover - refused
        assert len(held) == 1  # the refused second holder took nothing
    assert held == {}  # released on the way out
    with run_folder.owned(folder):  # and free for the next run
        assert len(held) == 1


def test_local_and_malformed_mirrors(
    jsb_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from bachnet import DownloadError
    from bachnet.data import fetch

    folder = tmp_path / "mirror"
    folder.mkdir()
    shutil.copy(jsb_archive, folder / jsb_archive.name)
    for value in (str(folder), folder.as_uri()):  # a local folder, a file:// URL
        cache = tmp_path / f"cache-{len(value)}"
        monkeypatch.setenv("BACHNET_DATA_DIR", str(cache))
        monkeypatch.setenv("BACHNET_MIRROR", value)
        path = fetch(jsb_archive.name, progress=False)
        assert path.read_bytes() == jsb_archive.read_bytes() and path.parent == cache
    (folder / jsb_archive.name).write_bytes(b"tampered")
    monkeypatch.setenv("BACHNET_DATA_DIR", str(tmp_path / "cache-3"))
    with pytest.raises(DownloadError, match="does not match its sha256"):
        fetch(jsb_archive.name, progress=False)
    assert not (tmp_path / "cache-3" / jsb_archive.name).exists()
    monkeypatch.setenv("BACHNET_MIRROR", "not a url")
    with pytest.raises(DownloadError, match=r"not an http\(s\) or ftp URL .*BACHNET_MIRROR"):
        fetch(jsb_archive.name, progress=False)


def test_a_killed_downloads_leftover_is_swept(
    jsb_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import time

    from bachnet.data import fetch
    from bachnet.data.download import PARTIALS

    cache = tmp_path / "cache"
    cache.mkdir()
    old, fresh = cache / "tmpab12cd34", cache / "tmpfresh"
    users = cache / "tmp_notes.txt"  # the user's own file in the folder they named
    old.write_bytes(b"half a download")
    fresh.write_bytes(b"a download in progress")
    users.write_text("my notes")
    hours_ago = time.time() - 7200
    for path in (old, users):
        os.utime(path, (hours_ago, hours_ago))
    (cache / PARTIALS).write_text("tmpab12cd34\ntmpfresh\n../escape\n")  # bachnet's own
    folder = tmp_path / "mirror"
    folder.mkdir()
    shutil.copy(jsb_archive, folder / jsb_archive.name)
    monkeypatch.setenv("BACHNET_DATA_DIR", str(cache))
    monkeypatch.setenv("BACHNET_MIRROR", str(folder))
    fetch(jsb_archive.name, progress=False)
    assert not old.exists() and fresh.exists()
    assert users.read_text() == "my notes"  # never bachnet's to delete
    assert (cache / PARTIALS).read_text() == "tmpfresh\n"  # another download's, still fresh


def test_a_model_named_like_the_corpus_does_not_replace_it(
    jsb_archive: Path,
    loopback_server: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hashlib
    import shutil

    from bachnet.data import fetch

    cache = tmp_path / "cache"
    monkeypatch.setenv("BACHNET_DATA_DIR", str(cache))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(jsb_archive, mirror / jsb_archive.name)
    monkeypatch.setenv("BACHNET_MIRROR", str(mirror))
    corpus = fetch(jsb_archive.name, progress=False)
    before = corpus.read_bytes()
    monkeypatch.delenv("BACHNET_MIRROR")
    served = tmp_path / "served"
    served.mkdir()
    (served / jsb_archive.name).write_bytes(b"a model, not the corpus")
    digest = hashlib.sha256(b"a model, not the corpus").hexdigest()
    url = f"{loopback_server(served)}/{jsb_archive.name}"  # type: ignore[operator]
    model = fetch(jsb_archive.name, sha256=digest, url=url, progress=False, cache_name="m.tgz")
    assert model == cache / "m.tgz" and model.read_bytes() == b"a model, not the corpus"
    assert corpus.read_bytes() == before  # the verified corpus is untouched


def test_a_mirror_that_streams_too_much_is_cut_off(
    loopback_server: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bachnet import DownloadError
    from bachnet.data.download import JSB_ARCHIVE, KNOWN_SIZES, fetch

    served = tmp_path / "served"
    served.mkdir()
    (served / JSB_ARCHIVE).write_bytes(b"\0" * 20_000_000)  # 20 MB for a 117,793-byte file
    cache = tmp_path / "cache"
    monkeypatch.setenv("BACHNET_DATA_DIR", str(cache))
    monkeypatch.setenv("BACHNET_MIRROR", loopback_server(served))  # type: ignore[operator]
    with pytest.raises(DownloadError, match=f"more than the {KNOWN_SIZES[JSB_ARCHIVE]:,} bytes"):
        fetch(JSB_ARCHIVE, progress=False)
    kept = sorted(p.name for p in cache.iterdir())
    assert kept == [".bachnet-partials.txt.lock", f".{JSB_ARCHIVE}.lock"]  # nothing kept
    # a file outside the registry gets the general cap, or the one given
    (served / "big.bin").write_bytes(b"\0" * 300_000)
    with pytest.raises(DownloadError, match="more than the 100,000 bytes"):
        fetch("big.bin", sha256="0" * 64, url="http://unused/big.bin", max_bytes=100_000)


def test_a_read_only_prefilled_cache_still_works(
    jsb_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no lock file can be created (a read-only cache), a cached file is still used;
    a missing one is not downloaded into a folder bachnet cannot lock."""
    import shutil

    import filelock

    from bachnet import Dataset
    from bachnet.data import fetch

    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(jsb_archive, cache / jsb_archive.name)
    monkeypatch.setenv("BACHNET_DATA_DIR", str(cache))
    Dataset.from_folder(cache / jsb_archive.name)  # unpacked while writable
    monkeypatch.setenv("BACHNET_MIRROR", "http://127.0.0.1:9/")  # any download would fail

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(cache))

    monkeypatch.setattr(filelock.FileLock, "acquire", refuse)
    assert Dataset.jsb(progress=False).splits["test"] == 77
    with pytest.raises(PermissionError):
        fetch("other.tgz", sha256="0" * 64, url="http://127.0.0.1:9/other.tgz")


# ------------------------------------------------------------------ vocabularies, mirrors, outputs


def _shift_vocabulary(folder: Path, *, digest: str) -> None:
    """Move the saved vocabulary a semitone up; ``digest``: "drop" or "recompute"
    ``network_sha256`` (and the weights' ``sha256``, for a rewritten weights file)."""
    from bachnet.core.files import sha256_of
    from bachnet.model import saving

    path = folder / "config.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["vocabulary"] = {"low": 37, "high": 82}
    document["weights"]["sha256"] = sha256_of(folder / "model.weights.h5")
    if digest == "drop":
        document["weights"].pop("network_sha256", None)
    else:
        sha = document["weights"]["sha256"]
        document["weights"]["network_sha256"] = saving._network_digest(document, sha)
    path.write_text(json.dumps(document), encoding="utf-8")


@pytest.mark.parametrize("digest", ["drop", "recompute"])
def test_a_shifted_vocabulary_is_refused_without_the_digest(
    tiny_model: Path, tmp_path: Path, digest: str
) -> None:
    import shutil

    import h5py

    from bachnet.model.saving import VOCABULARY_ATTRIBUTE

    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    with h5py.File(folder / "model.weights.h5", "r") as weights:
        assert weights.attrs[VOCABULARY_ATTRIBUTE].tolist() == [36, 81]  # recorded at save
    _shift_vocabulary(folder, digest=digest)
    message = (
        f"{folder / 'config.json'}: the vocabulary 37..82 does not match the model: "
        "model.weights.h5 was saved with 36..81 (every note would be a semitone high)"
    )
    with pytest.raises(ModelFileError, match=re.escape(message)):
        BachNet.load(folder)
    # a file saved before the weights recorded their vocabulary: its training's pitch range
    with h5py.File(folder / "model.weights.h5", "r+") as weights:
        del weights.attrs[VOCABULARY_ATTRIBUTE]
    document = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    document["metadata"]["voice_ranges"] = [[60, 81], [52, 74], [46, 69], [36, 66]]
    (folder / "config.json").write_text(json.dumps(document), encoding="utf-8")
    _shift_vocabulary(folder, digest=digest)
    with pytest.raises(ModelFileError, match=r"vocabulary 37\.\.82 .* trained on pitches 36\.\.81"):
        BachNet.load(folder)
    # ... and such a file whose vocabulary is its own still loads
    document = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    document["vocabulary"] = {"low": 36, "high": 81}
    document["weights"].pop("network_sha256", None)
    (folder / "config.json").write_text(json.dumps(document), encoding="utf-8")
    assert BachNet.load(folder).vocab == Vocabulary(36, 81)


class _Trickle(http.server.BaseHTTPRequestHandler):
    """Sends a large file 8 bytes at a time, 0.1 s apart: every read is well inside any
    socket timeout, and the whole would take hours."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        with contextlib.suppress(OSError):  # the client hangs up
            for _ in range(300):
                self.wfile.write(b"12345678")
                self.wfile.flush()
                time.sleep(0.1)


def test_a_mirror_that_trickles_bytes_is_cut_off_at_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bachnet import DownloadError
    from bachnet.data import download

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setattr(download, "DOWNLOAD_DEADLINE", 1.0)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    cache = tmp_path / "cache"
    monkeypatch.setenv("BACHNET_DATA_DIR", str(cache))
    url = f"http://127.0.0.1:{server.server_address[1]}/slow.zip"
    started = time.monotonic()
    try:
        with pytest.raises(DownloadError, match=r"slow\.zip: the server was too slow: the "
                           r"download took more than 1 s \(\d+ bytes received\)"):  # fmt: skip
            download.fetch("slow.zip", sha256="0" * 64, url=url, progress=False)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert time.monotonic() - started < 5
    kept = sorted(p.name for p in cache.iterdir())
    assert kept == [".bachnet-partials.txt.lock", ".slow.zip.lock"]  # nothing kept


def _damaged_archive(folder: Path, kind: str) -> Path:
    import io
    import struct
    import tarfile
    import zipfile

    data = b"note0,note1,note2,note3\n" + b"72,67,64,48\n" * 200
    if kind == "truncated.tar.gz":
        path = folder / kind
        with tarfile.open(path, "w:gz") as tar:
            info = tarfile.TarInfo("train/1.csv")
            info.size = len(data * 20)
            tar.addfile(info, io.BytesIO(data * 20))
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return path
    path = folder / f"{kind}.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("train/1.csv", data)
    raw = bytearray(path.read_bytes())
    if kind == "understated":  # the local header and the central directory say 10 bytes
        struct.pack_into("<I", raw, raw.find(b"PK\x03\x04") + 22, 10)
        struct.pack_into("<I", raw, raw.find(b"PK\x01\x02") + 24, 10)
    else:  # one byte of the member's data flipped: its CRC fails
        raw[30 + len("train/1.csv") + 40] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("kind", ["understated", "bad-crc", "truncated.tar.gz"])
def test_a_damaged_archive_names_itself(tmp_path: Path, kind: str) -> None:
    from bachnet.data import safe_extract

    archive = _damaged_archive(tmp_path, kind)
    with pytest.raises(InputError, match=re.escape(f"{archive}: a damaged archive (")):
        safe_extract(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]  # nothing unpacked


def test_unwritable_outputs_are_refused_before_composing(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bachnet.apps import cli

    def never(model: str | None) -> BachNet:
        raise AssertionError("the model was loaded: the outputs were not checked first")

    monkeypatch.setattr(cli, "_load_model", never)
    monkeypatch.chdir(tmp_path)
    bad = [Path("x" * 300 + ".mid")]  # longer than any file system's name limit
    if Path("/proc/self").is_dir():  # Linux: nothing can be made in /proc, not even by root
        bad.append(Path("/proc/no-such-dir/x.mid"))
    outputs = ["good.mid", "new/folder/ok.csv", *map(str, bad)]
    args = ["generate", "-m", str(tiny_model), *(a for o in outputs for a in ("-o", o))]
    line = one_error_line(CliRunner().invoke(main, args), 2)
    assert f"{bad[0]}: cannot be written (File name too long)" in line
    if len(bad) > 1:
        assert "/proc/no-such-dir/x.mid: cannot be written (/proc/no-such-dir: " in line
    assert "good.mid" not in line and "ok.csv" not in line
    assert list(tmp_path.iterdir()) == []  # the probes left nothing behind


def test_an_output_that_fails_at_write_time_does_not_lose_the_others(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses
    import errno

    from bachnet.music import table

    def full_disk(piece: Chorale, path: Path, options: object) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    xml = dataclasses.replace(table.lookup("x.musicxml", "write"), write=full_disk)
    monkeypatch.setitem(table._BY_SUFFIX, ".musicxml", xml)
    first, good, last = tmp_path / "a.musicxml", tmp_path / "b.mid", tmp_path / "c.csv"
    args = ["generate", "-m", str(tiny_model), "--steps", "16", "--seed", "1"]
    for out in (first, good, last):
        args += ["-o", str(out)]
    line = one_error_line(CliRunner().invoke(main, args), 1)
    assert line == (
        f"Error: could not write {first} (No space left on device); wrote {good}, {last}"
    )
    assert Chorale.read(good) == Chorale.read(last)  # both written, the same piece
    assert not first.exists()


# ------------------------------------------------------------------ music longer than the cap


def _midi(track: bytes, division: bytes = b"\x01\xe0") -> bytes:
    header = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01" + division
    return header + b"MTrk" + len(track).to_bytes(4, "big") + track


HUGE_DELTA = _midi(b"\x00\x90\x3c\x40" + b"\xff\xff\xff\x7f\x80\x3c\x00" + b"\x00\xff\x2f\x00")
"""37 bytes: one note of 2**28 ticks (music21 grew to gigabytes reading it)."""


def _musicxml(measures: str) -> str:
    parts = "".join(
        f'<score-part id="P{i}"><part-name>{i}</part-name></score-part>' for i in "1234"
    )
    body = "".join(f'<part id="P{i}">{measures}</part>' for i in "1234")
    return (
        '<?xml version="1.0"?><score-partwise version="3.1">'
        f"<part-list>{parts}</part-list>{body}</score-partwise>"
    )


def _note(duration: int) -> str:
    return (
        "<note><pitch><step>C</step><octave>5</octave></pitch>"
        f"<duration>{duration}</duration><type>whole</type></note>"
    )


LONG_NOTE = _musicxml(
    f'<measure number="1"><attributes><divisions>1</divisions></attributes>{_note(400_000_000)}'
    "</measure>"
)
"""About 1 KB: one note of 400 million quarters (music21 allocated 7.4 GB)."""


def test_music_files_longer_than_the_cap_are_refused_before_music21(tmp_path: Path) -> None:
    import zipfile

    from bachnet.formats import read_melody

    midi = tmp_path / "huge.mid"
    midi.write_bytes(HUGE_DELTA)
    with pytest.raises(LimitError, match=r"huge.mid: the music lasts 2,236,963 sixteenths"):
        Chorale.read(midi)
    xml = tmp_path / "long.musicxml"
    xml.write_text(LONG_NOTE, encoding="utf-8")
    with pytest.raises(LimitError, match="lasts 1,600,000,000 sixteenths, more than the 65,536"):
        Chorale.read(xml)
    with pytest.raises(LimitError, match="1,600,000,000 sixteenths"):
        read_melody(xml)
    mxl = tmp_path / "long.mxl"
    with zipfile.ZipFile(mxl, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("score.musicxml", LONG_NOTE)
    with pytest.raises(LimitError, match="1,600,000,000 sixteenths"):
        Chorale.read(mxl)
    bars = "".join(f'<measure number="{n}">{_note(4)}</measure>' for n in range(2, 4098))
    many = tmp_path / "many.musicxml"
    many.write_text(
        _musicxml(
            f'<measure number="1"><attributes><divisions>1</divisions></attributes>'
            f"{_note(4)}</measure>{bars}"
        ),
        encoding="utf-8",
    )
    with pytest.raises(LimitError, match="lasts 65,552 sixteenths"):
        Chorale.read(many)
    result = CliRunner().invoke(main, ["harmonize", str(midi), "-o", str(tmp_path / "x.mid")])
    assert "huge.mid: the music lasts 2,236,963 sixteenths" in one_error_line(result)


def test_damaged_timing_is_a_one_line_error(tmp_path: Path) -> None:
    smpte = tmp_path / "smpte.mid"
    smpte.write_bytes(_midi(b"\x00\x90\x3c\x40\x60\x80\x3c\x00\x00\xff\x2f\x00", b"\xe7\x28"))
    with pytest.raises(InputError, match="SMPTE"):
        Chorale.read(smpte)
    broken = tmp_path / "broken.mxl"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(InputError, match=r"broken\.mxl"):
        Chorale.read(broken)
    bad_xml = tmp_path / "bad.musicxml"
    bad_xml.write_text("<score-partwise><part id='P1'><measure>", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.musicxml"):
        Chorale.read(bad_xml)


@pytest.mark.parametrize("suffix", [".mid", ".musicxml"])
@pytest.mark.parametrize("pickup", [0, 4])
def test_the_length_read_from_bytes_is_the_length_music21_reads(
    tmp_path: Path, suffix: str, pickup: int
) -> None:
    from bachnet.formats.length import check_length

    piece = Chorale([[72, 67, 64, 48]] * 12 + [[74, 67, 62, 43]] * 24, pickup=pickup)
    path = piece.write(tmp_path / f"piece{suffix}")
    # MIDI: rests before a pickup fill its bar; MusicXML: the last bar is filled out
    written = (
        36 + (16 - pickup) % 16 if suffix == ".mid" else pickup + 16 * math.ceil((36 - pickup) / 16)
    )
    assert check_length(path) == written
    assert Chorale.read(path) == piece


# ------------------------------------------------------------------ tempo, audio and long lines


@pytest.mark.parametrize("tempo", ["1e-300", "0.001", "5000"])
def test_a_tempo_no_one_could_sing_is_refused(tiny_model: Path, tmp_path: Path, tempo: str) -> None:
    out = tmp_path / "s.mid"
    result = CliRunner().invoke(
        main, ["generate", "-m", str(tiny_model), "-o", str(out), "--steps", "16", "--tempo", tempo]
    )
    assert "not in the range 10.0<=x<=1000.0" in one_error_line(result)
    assert not out.exists()
    with pytest.raises(InputError, match=r"tempo must be 10\.\.1000 quarter notes per minute"):
        PIECE.write(tmp_path / "p.mid", tempo=float(tempo))


def test_audio_longer_than_an_hour_is_refused_before_rendering(tmp_path: Path) -> None:
    from bachnet.formats.audio import render

    long_piece = Chorale([[72, 67, 64, 48]] * 65_536)
    with pytest.raises(LimitError, match="last 1,638 minutes, more than the 60 minutes"):
        render(long_piece, tempo=10)  # checked before FluidSynth is looked for


def test_a_line_too_long_to_harmonise_is_refused_before_any_work(
    tiny_model: Path, tmp_path: Path
) -> None:
    melody = tmp_path / "long.csv"
    melody.write_text("\n".join(["72"] * 20_000) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["harmonize", str(melody), "-m", str(tiny_model),
                                       "-o", str(tmp_path / "h.mid")])  # fmt: skip
    assert "20,000 steps is more than the 4,096" in one_error_line(result)
    net = BachNet.load(tiny_model)
    with pytest.raises(LimitError, match="fill: 5,000 steps is more than the 4,096"):
        piece = Chorale([[72, 67, 64, 48]] * 5000)
        net.fill(piece, piece.mask(voices="A"))
