"""Tests for bachnet.training.fit and the `train`/`evaluate` commands: history, schedule, early
stopping, run folders, and resuming (in process and after a real ``kill -9``)."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from bachnet import BachNet, Chorale, Dataset, ModelConfig, TrainConfig, Vocabulary, Windows
from bachnet.apps.cli import main
from bachnet.data import ENV_DATA_DIR, JSB_ARCHIVE

SMALL = ModelConfig(lstm_units=(16,), embedding_dim=8, dense_units=8, window=32, dropout=0.0)
SMALL_FLAGS = ["--lstm-units", "16", "--embedding-dim", "8", "--dense-units", "8", "--window", "32"]
KEYS = {"loss", "accuracy", "perplexity", "val_loss", "val_accuracy", "val_perplexity"}


def small_net(seed: int = 0, config: ModelConfig = SMALL) -> BachNet:
    keras.utils.set_random_seed(seed)
    return BachNet(config)


@pytest.fixture(scope="module")
def few(jsb_dataset: Dataset) -> tuple[list[Chorale], list[Chorale]]:
    """Six training and three validation chorales: about five batches of 32 windows an epoch."""
    return list(jsb_dataset.split("train")[:6]), list(jsb_dataset.split("valid")[:3])


def iterations(checkpoint: Path) -> int:
    """The optimizer's step counter saved in a checkpoint (its only integer scalar)."""
    with np.load(checkpoint / "optimizer.npz") as saved:
        counters = [
            saved[k] for k in saved.files if saved[k].ndim == 0 and saved[k].dtype.kind in "iu"
        ]
    assert len(counters) == 1
    return int(counters[0])


# ---------------------------------------------------------------------- history, schedule


def test_history_keys_and_learning_rate_schedule(
    few: tuple[list[Chorale], list[Chorale]],
) -> None:
    train, valid = few
    config = TrainConfig(epochs=3, batch_size=32, learning_rate=0.01, decay_epochs=2.0)
    history = small_net().fit(train, valid, config=config, verbose=0)
    assert set(history) == {*KEYS, "learning_rate"}
    assert all(len(values) == 3 for values in history.values())
    for epoch, rate in enumerate(history["learning_rate"]):
        assert rate == pytest.approx(0.01 * 0.1 ** (epoch / 2.0), rel=1e-6)
        assert rate == pytest.approx(config.learning_rate_at(epoch), rel=1e-6)
    for prefix in ("", "val_"):
        ppl = np.array(history[prefix + "perplexity"])
        np.testing.assert_allclose(ppl, np.exp(history[prefix + "loss"]), rtol=1e-4)
    assert history["loss"][-1] < history["loss"][0]


# ------------------------------------------------------------------------ early stopping


def validation_loss(net: BachNet, valid: list[Chorale]) -> float:
    """Mean cross-entropy over the validation windows `train` uses, recomputed in NumPy."""
    windows = Windows(valid, net.vocab, length=net.config.window, stride=net.config.window)
    inputs, targets = next(windows.batches(batch_size=windows.per_epoch))
    logits = net.logits(inputs).astype(np.float64)
    top = logits.max(-1, keepdims=True)
    log_probs = logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
    return float(-np.take_along_axis(log_probs, targets[..., None], axis=-1).mean())


@pytest.mark.parametrize("in_folder", [False, True], ids=["in-memory", "run-folder"])
def test_early_stopping_restores_the_best_weights(tmp_path: Path, in_folder: bool) -> None:
    # Validation notes never occur in training: the better the model learns its training
    # chorale, the worse it predicts the validation one, so val_loss rises from epoch 2 on.
    train = [Chorale([[72, 67, 64, 48], [74, 67, 62, 43], [72, 65, 60, 45]] * 8, name="low")]
    valid = [Chorale([[81, 77, 70, 57], [80, 76, 69, 56], [79, 75, 68, 53]] * 8, name="high")]
    config = TrainConfig(epochs=10, batch_size=4, learning_rate=0.01, patience=1, transpose=0)
    net = small_net(seed=2)
    run_dir = tmp_path / "run" if in_folder else None
    history = net.fit(train, valid, config=config, run_dir=run_dir, verbose=0)
    val = history["val_loss"]
    assert 2 <= len(val) < config.epochs, val
    best = int(np.argmin(val))
    assert best == len(val) - 1 - config.patience  # stopped `patience` epochs after the best
    assert val[-1] > val[best] + 1e-3
    assert validation_loss(net, valid) == pytest.approx(val[best], rel=1e-5)
    if in_folder:
        state = json.loads((tmp_path / "run" / "state.json").read_text(encoding="utf-8"))
        assert state["stopped"] is True
        assert state["best_epoch"] == best + 1
        assert state["best"] == pytest.approx(val[best])
        # Training again into the stopped run does not train: it restores the best weights.
        again = small_net(seed=9)
        assert again.fit(train, valid, config=config, run_dir=run_dir, verbose=0) == history
        assert validation_loss(again, valid) == pytest.approx(val[best], rel=1e-5)


# ---------------------------------------------------------------------------- run folder


def test_run_folder_contents(tmp_path: Path, few: tuple[list[Chorale], list[Chorale]]) -> None:
    train, _ = few
    run = tmp_path / "run"
    config = TrainConfig(epochs=3, batch_size=32, seed=4)
    history = small_net().fit(train, config=config, run_dir=run, verbose=0)
    # Without validation data there are no val_ figures; the rate stays constant.
    assert set(history) == {"loss", "accuracy", "perplexity", "learning_rate"}
    assert history["learning_rate"] == pytest.approx([1e-3] * 3)
    assert sorted(p.name for p in run.iterdir()) == [
        ".lock",  # held by the training process while it runs
        "best.weights.h5",
        "checkpoints",
        "history.csv",
        "run.json",
        "state.json",
    ]
    checkpoints = list((run / "checkpoints").iterdir())
    assert [p.name for p in checkpoints] == ["epoch-0003"]
    assert sorted(p.name for p in checkpoints[0].iterdir()) == [
        "model.weights.h5",
        "optimizer.npz",
        "random.npz",
    ]
    steps = Windows(train, Vocabulary(), length=32, seed=4).batches_per_epoch(
        32, drop_remainder=True
    )
    assert iterations(checkpoints[0]) == 3 * steps

    run_json = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert run_json["model"] == SMALL.to_dict()
    assert run_json["vocabulary"] == Vocabulary().get_config()
    assert TrainConfig.from_dict(run_json["train"]) == config

    state = json.loads((run / "state.json").read_text(encoding="utf-8"))
    assert state["epoch"] == 3
    assert state["checkpoint"] == "checkpoints/epoch-0003"
    assert state["history"] == history

    with open(run / "history.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    assert set(rows[0]) == {"epoch", *history}
    for key, values in history.items():
        assert [float(row[key]) for row in rows] == values


# -------------------------------------------------------------------------------- resume


def test_resume_in_process_continues_the_same_run(
    tmp_path: Path, few: tuple[list[Chorale], list[Chorale]]
) -> None:
    train, valid = few
    config = TrainConfig(epochs=2, batch_size=32, learning_rate=0.005, decay_epochs=3.0)
    run = tmp_path / "run"
    first = small_net(seed=1).fit(train, valid, config=config, run_dir=run, verbose=0)
    assert len(first["loss"]) == 2

    longer = dataclasses.replace(config, epochs=4)
    resumed = small_net(seed=1).fit(train, valid, config=longer, run_dir=run, verbose=0)
    assert set(resumed) == set(first)
    for key, values in resumed.items():
        assert len(values) == 4
        assert values[:2] == first[key]
    assert resumed["learning_rate"] == pytest.approx([longer.learning_rate_at(e) for e in range(4)])
    steps = Windows(train, Vocabulary(), length=32).batches_per_epoch(32, drop_remainder=True)
    assert iterations(run / "checkpoints" / "epoch-0004") == 4 * steps

    # Same weights, optimizer state and windows: as if the run had never stopped.
    straight = small_net(seed=1).fit(train, valid, config=longer, run_dir=tmp_path / "b", verbose=0)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(resumed[key], straight[key], rtol=1e-4)


def test_resume_with_another_configuration_fails(
    tmp_path: Path, few: tuple[list[Chorale], list[Chorale]]
) -> None:
    train, _ = few
    run = tmp_path / "run"
    config = TrainConfig(epochs=1, batch_size=32)
    small_net().fit(train, config=config, run_dir=run, verbose=0)
    wider = ModelConfig(**{**SMALL.to_dict(), "lstm_units": (24,)})
    with pytest.raises(ValueError, match="holds a run with another model configuration"):
        small_net(config=wider).fit(train, config=config, run_dir=run, verbose=0)
    other = TrainConfig(epochs=1, batch_size=16)
    with pytest.raises(ValueError, match="holds a run with another train configuration"):
        small_net().fit(train, config=other, run_dir=run, verbose=0)


def test_a_run_begun_before_a_field_existed_resumes(
    tmp_path: Path, few: tuple[list[Chorale], list[Chorale]]
) -> None:
    """``run.json`` written before ``ema`` (train) and ``architecture`` (model) existed."""
    train, _ = few
    run = tmp_path / "run"
    config = TrainConfig(epochs=1, batch_size=32)
    small_net().fit(train, config=config, run_dir=run, verbose=0)
    saved = json.loads((run / "run.json").read_text(encoding="utf-8"))
    del saved["train"]["ema"], saved["model"]["architecture"]  # as an older bachnet wrote it
    (run / "run.json").write_text(json.dumps(saved), encoding="utf-8")
    longer = dataclasses.replace(config, epochs=2)
    history = small_net().fit(train, config=longer, run_dir=run, verbose=0)
    assert len(history["loss"]) == 2  # resumed: the missing fields read as their defaults
    with pytest.raises(ValueError, match="another train configuration"):  # a real change
        small_net().fit(train, config=dataclasses.replace(longer, ema=0.9), run_dir=run, verbose=0)


# --------------------------------------------------------------------------- the commands


@pytest.fixture
def filled_cache(cache_dir: Path, jsb_archive: Path) -> Path:
    """This test's ``BACHNET_DATA_DIR`` with the JSB archive already in it (no download)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(jsb_archive, cache_dir / JSB_ARCHIVE)
    return cache_dir


def one_line_error(result: Any) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return str(lines[0])


def test_fit_records_what_a_saved_model_needs(
    tmp_path: Path, few: tuple[list[Chorale], list[Chorale]]
) -> None:
    """A model trained through the library (not the CLI) keeps its own voice ranges."""
    train, valid = few
    net = small_net()
    config = TrainConfig(epochs=2, batch_size=32, seed=4)
    net.fit(train, valid, config=config, verbose=0)
    chords = np.concatenate([c.chords for c in train])
    expected = [[int(chords[chords[:, v] > 0, v].min()), int(chords[:, v].max())] for v in range(4)]
    assert net.metadata["voice_ranges"] == expected
    assert net.metadata["epochs_run"] == 2
    assert net.metadata["train"] == config.to_dict()
    loaded = BachNet.load(net.save_pretrained(tmp_path / "model"))
    assert loaded.metadata["voice_ranges"] == expected


def test_run_settings_read_back_and_name_a_damaged_file(
    tmp_path: Path, few: tuple[list[Chorale], list[Chorale]]
) -> None:
    from bachnet.training.fit import run_settings

    train, _ = few
    run = tmp_path / "run"
    config = TrainConfig(epochs=1, batch_size=32, seed=4)
    net = small_net()
    net.fit(train, config=config, run_dir=run, verbose=0)
    settings = run_settings(run)
    assert settings.model == net.config and settings.train == config
    (run / "run.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"run\.json: cannot read"):
        run_settings(run)


def test_cli_resume_needs_a_run(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    line = one_line_error(CliRunner().invoke(main, ["train", "-o", str(empty), "--resume"]))
    assert "nothing to resume" in line and "run.json" in line


def epochs_done(state_file: Path) -> int:
    return int(json.loads(state_file.read_text(encoding="utf-8"))["epoch"])


@pytest.mark.slow  # a whole training run or process: CI's nox -s slow
def test_cli_train_survives_kill_9_and_resumes(tmp_path: Path, filled_cache: Path) -> None:
    run = tmp_path / "run"
    log = tmp_path / "train.log"
    env = {**os.environ, ENV_DATA_DIR: str(filled_cache), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "bachnet.apps.cli", "train", "-o", str(run), *SMALL_FLAGS]
    command += ["--batch-size", "256", "--epochs", "40", "-v", "2"]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 240
            state_file = run / "state.json"
            while time.monotonic() < deadline and process.poll() is None:
                if state_file.exists() and epochs_done(state_file) >= 2:
                    break
                time.sleep(0.05)
            assert process.poll() is None, log.read_text(errors="replace")
            assert state_file.exists(), "no epoch finished in time:\n" + log.read_text()
            os.kill(process.pid, signal.SIGKILL)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert "Epoch 1/40" in log.read_text(errors="replace")

    state = json.loads((run / "state.json").read_text(encoding="utf-8"))
    finished = state["epoch"]
    assert finished >= 2
    assert (run / state["checkpoint"] / "optimizer.npz").is_file()
    assert not (run / "model").exists()  # killed long before the end
    total = finished + 1

    result = CliRunner().invoke(main, ["train", "-o", str(run), "--resume", "--epochs", str(total)])
    assert result.exit_code == 0, result.output
    assert f"Epoch {finished + 1}/{total}" in result.output
    assert f"Epoch {finished}/" not in result.output and "Epoch 1/" not in result.output
    assert "test: loss" in result.output

    after = json.loads((run / "state.json").read_text(encoding="utf-8"))
    assert after["epoch"] == total
    for key, values in after["history"].items():
        assert len(values) == total
        assert values[:finished] == state["history"][key]
    with open(run / "history.csv", newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == total
    # The optimizer's step counter went on from the killed run's (not from zero).
    train_split = Dataset.jsb(progress=False).split("train")
    network = BachNet.load(run / "model").network  # a bar model's windows start on bar lines
    lead = [network.padding_for(piece.pickup, piece.meter) for piece in train_split]
    align = [network.align_for(piece.meter) for piece in train_split]
    windows = Windows(train_split, Vocabulary(), length=32, align=align, lead=lead)
    steps = windows.batches_per_epoch(256, drop_remainder=True)
    assert iterations(run / after["checkpoint"]) == total * steps

    net = BachNet.load(run / "model")
    # The flags it was given; `bachnet train`'s defaults (the default preset's recipe) elsewhere.
    assert net.config == ModelConfig(
        architecture="meter_lstm",
        dropout=0.3,
        lstm_units=(16,),
        embedding_dim=8,
        dense_units=8,
        window=32,
    )
    assert net.metadata["epochs_run"] == total
    assert set(net.metadata["metrics"]["test"]) == {
        "loss",
        "loss_per_chorale",
        "accuracy",
        "perplexity",
        "tokens",
    }

    # A new run (no --resume) may not start in the used folder; the folder stays as it was.
    before = sorted(str(p.relative_to(run)) for p in run.rglob("*"))
    args = ["train", "-o", str(run), *SMALL_FLAGS, "--epochs", "2"]
    line = one_line_error(CliRunner().invoke(main, args))
    assert "already holds a run" in line and "--resume" in line
    assert sorted(str(p.relative_to(run)) for p in run.rglob("*")) == before


def test_cli_evaluate_prints_the_scores(tmp_path: Path, filled_cache: Path) -> None:
    folder = small_net(seed=5).save_pretrained(tmp_path / "model")
    result = CliRunner().invoke(main, ["evaluate", str(folder), "--split", "valid"])
    assert result.exit_code == 0, result.output
    header, figures = result.output.strip().splitlines()
    valid = Dataset.jsb(progress=False).split("valid")
    tokens = sum(4 * len(c) - 1 for c in valid)
    assert header == f"valid: 76 chorales, {tokens} tokens"
    found = re.fullmatch(
        r"loss (\d+\.\d{4}) nats/token \(per chorale (\d+\.\d{4})\), "
        r"accuracy (\d\.\d{4}), perplexity (\d+\.\d{4})",
        figures,
    )
    assert found, figures
    loss, per_chorale, accuracy, perplexity = (float(v) for v in found.groups())
    assert abs(per_chorale - loss) < 0.2
    assert 3.0 < loss < 4.5  # an untrained network: about ln(47) = 3.85
    assert 0.0 <= accuracy < 0.3
    assert perplexity == pytest.approx(math.exp(loss), abs=0.01)


def test_cli_evaluate_unknown_split_is_one_line(tmp_path: Path, filled_cache: Path) -> None:
    folder = small_net().save_pretrained(tmp_path / "model")
    line = one_line_error(CliRunner().invoke(main, ["evaluate", str(folder), "--split", "dev"]))
    assert "no split 'dev'" in line


def test_resume_with_dropout_is_exact(
    tmp_path: Path, few: tuple[list[Chorale], list[Chorale]]
) -> None:
    """Stopping after 2 epochs and resuming to 4 gives the losses of 4 epochs in one go:
    the dropout layers' seed generators are checkpointed with the weights."""
    train, valid = few
    config = ModelConfig(lstm_units=(16,), embedding_dim=8, dense_units=8, window=32, dropout=0.3)

    def run(folder: Path, epochs: int) -> dict[str, list[float]]:
        keras.utils.set_random_seed(epochs)  # a different start: only the checkpoint counts
        net = BachNet(config)
        settings = TrainConfig(epochs=epochs, batch_size=32, seed=4, patience=100)
        return net.fit(train, valid, config=settings, run_dir=folder, verbose=0)

    keras.utils.set_random_seed(0)
    whole = BachNet(config).fit(
        train, valid, config=TrainConfig(epochs=4, batch_size=32, seed=4, patience=100),
        run_dir=tmp_path / "whole", verbose=0,
    )  # fmt: skip
    keras.utils.set_random_seed(0)
    BachNet(config).fit(
        train, valid, config=TrainConfig(epochs=2, batch_size=32, seed=4, patience=100),
        run_dir=tmp_path / "split", verbose=0,
    )  # fmt: skip
    resumed = run(tmp_path / "split", 4)
    assert resumed["loss"] == whole["loss"]
    assert resumed["val_loss"] == whole["val_loss"]


@pytest.mark.parametrize("with_folder", [False, True])
def test_ema_validates_and_keeps_the_averaged_weights(
    tmp_path: Path, few: tuple[list[Chorale], list[Chorale]], with_folder: bool
) -> None:
    """With ``ema`` the model that comes back (and best.weights.h5) holds the moving average,
    not the last raw weights, which the checkpoint keeps for resuming."""
    train, valid = few
    config = ModelConfig(lstm_units=(16,), embedding_dim=8, dense_units=8, window=32, dropout=0.0)
    keras.utils.set_random_seed(0)
    net = BachNet(config)
    settings = TrainConfig(epochs=1, batch_size=8, seed=1, ema=0.5, patience=100)
    folder = tmp_path / "run"
    net.fit(train, valid, config=settings, run_dir=folder if with_folder else None, verbose=0)
    final = [np.asarray(w) for w in net.keras_model.trainable_weights]

    def same(a: list[Any], b: list[Any]) -> bool:
        return all(np.array_equal(x, np.asarray(y)) for x, y in zip(a, b, strict=True))

    if not with_folder:
        averages = net.keras_model.optimizer._model_variables_moving_average
        assert same(final, averages)
        return
    best, raw = BachNet(config), BachNet(config)
    best.keras_model.load_weights(str(folder / "best.weights.h5"))
    (checkpoint,) = (folder / "checkpoints").iterdir()
    raw.keras_model.load_weights(str(checkpoint / "model.weights.h5"))
    assert same(final, best.keras_model.trainable_weights)
    assert not same(final, raw.keras_model.trainable_weights)  # several batches at 0.5 apart


def test_ema_must_be_a_momentum() -> None:
    with pytest.raises(ValueError, match="ema must be a momentum"):
        TrainConfig(ema=1.0)


# -------------------------------------------------------------- distillation and fine-tuning


def divergence_from(teacher: BachNet, student: BachNet, pieces: list[Chorale]) -> float:
    """Mean KL(teacher || student) over the tokens of ``pieces``, in nats."""
    windows = Windows(pieces, student.vocab, length=student.config.window, stride=32)
    inputs, _ = next(windows.batches(batch_size=windows.per_epoch))

    def log_probs(net: BachNet) -> np.ndarray:
        logits = net.logits(inputs).astype(np.float64)
        top = logits.max(-1, keepdims=True)
        return logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))

    p, q = log_probs(teacher), log_probs(student)
    return float((np.exp(p) * (p - q)).sum(-1).mean())


def test_distillation_pulls_the_student_toward_its_teacher(
    few: tuple[list[Chorale], list[Chorale]],
) -> None:
    # The teacher is an untrained network: a distribution far from the data's. With most of
    # the target on it, the student ends far closer to it than the same run on the data alone.
    train, valid = few
    teacher = small_net(seed=7)
    plain_config = TrainConfig(epochs=3, batch_size=32, learning_rate=0.01, transpose=0)
    distil_config = dataclasses.replace(plain_config, teachers=("random",), distill=0.9)
    plain, distilled = small_net(seed=1), small_net(seed=1)
    before = divergence_from(teacher, plain, valid)
    history = distilled.fit(train, valid, config=distil_config, verbose=0, teachers=[teacher])
    plain.fit(train, valid, config=plain_config, verbose=0)
    after_plain = divergence_from(teacher, plain, valid)
    after_distilled = divergence_from(teacher, distilled, valid)
    assert after_distilled < 0.5 * after_plain, (before, after_plain, after_distilled)
    # Validation is scored on the true tokens, as in any run (the best epoch's weights kept).
    lead = [distilled.network.padding_for(piece.pickup) for piece in valid]
    windows = Windows(valid, distilled.vocab, length=32, stride=32, lead=lead)
    inputs, targets = next(windows.batches(batch_size=windows.per_epoch))
    logits = distilled.logits(inputs).astype(np.float64)
    top = logits.max(-1, keepdims=True)
    log_probs = logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
    hard = float(-np.take_along_axis(log_probs, targets[..., None], axis=-1).mean())
    assert min(history["val_loss"]) == pytest.approx(hard, rel=1e-4)


def test_teachers_must_match_the_configuration(few: tuple[list[Chorale], list[Chorale]]) -> None:
    train, _ = few
    config = TrainConfig(epochs=1, teachers=("a", "b"))
    with pytest.raises(ValueError, match=r"names 2 teacher\(s\) \(a, b\) but 1 were given"):
        small_net().fit(train, config=config, verbose=0, teachers=[small_net(seed=3)])
    other = BachNet(dataclasses.replace(SMALL, vocab_size=47), vocab=Vocabulary(low=30, high=75))
    with pytest.raises(ValueError, match=r"teacher a reads pitches 30\.\.75"):
        small_net().fit(train, config=TrainConfig(teachers=("a",)), verbose=0, teachers=[other])


@pytest.mark.slow  # a whole training run or process: CI's nox -s slow
def test_cli_fine_tunes_from_a_trained_model(tmp_path: Path, tiny_chorales: list[Chorale]) -> None:
    data = tmp_path / "hymns"
    for index, piece in enumerate(tiny_chorales * 4):
        Chorale(np.tile(piece.chords, (8, 1))).write(data / f"{index}.csv")
    base = tmp_path / "base"
    common = ["--data", str(data), "--epochs", "1", "--batch-size", "8"]
    result = CliRunner().invoke(main, ["train", "-o", str(base), *SMALL_FLAGS, *common])
    assert result.exit_code == 0, result.output
    tuned = tmp_path / "tuned"
    args = ["train", "-o", str(tuned), "--init", str(base / "model"), *common]
    result = CliRunner().invoke(main, [*args, "--lr", "1e-9", "--teacher", str(base / "model")])
    assert result.exit_code == 0, result.output
    assert "starting from" in result.output
    run = json.loads((tuned / "run.json").read_text(encoding="utf-8"))
    assert run["init"] == str(base / "model") and run["train"]["teachers"] == [str(base / "model")]
    # A learning rate of 1e-9 leaves the weights where the base model had them.
    first, second = BachNet.load(base / "model"), BachNet.load(tuned / "model")
    assert second.config == first.config
    for a, b in zip(first.keras_model.get_weights(), second.keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # Unset options follow the fine-tuning defaults.
    again = tmp_path / "again"
    args = ["train", "-o", str(again), "--init", str(base / "model"), *common]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    settings = json.loads((again / "run.json").read_text(encoding="utf-8"))["train"]
    assert settings["learning_rate"] == 1e-4 and settings["patience"] == 5
    assert settings["decay_epochs"] is None and settings["epochs"] == 1


@pytest.mark.slow  # whole training runs: CI's nox -s slow
def test_cli_narrows_a_trained_model_and_resumes(
    tmp_path: Path, tiny_chorales: list[Chorale]
) -> None:
    data = tmp_path / "hymns"
    for index, piece in enumerate(tiny_chorales * 4):
        Chorale(np.tile(piece.chords, (8, 1))).write(data / f"{index}.csv")
    base = tmp_path / "base"
    common = ["--data", str(data), "--epochs", "1", "--batch-size", "8", "--window", "32"]
    flags = ["--lstm-units", "16,16", "--embedding-dim", "8", "--dense-units", "8"]
    result = CliRunner().invoke(main, ["train", "-o", str(base), *flags, *common])
    assert result.exit_code == 0, result.output
    narrow = tmp_path / "narrow"
    args = ["train", "-o", str(narrow), "--init", str(base / "model"), *common]
    result = CliRunner().invoke(main, [*args, "--lstm-units", "12,16"])
    assert result.exit_code == 0, result.output
    assert "narrowed from 16,16 to 12,16 units" in result.output
    assert BachNet.load(narrow / "model").config.lstm_units == (12, 16)
    result = CliRunner().invoke(main, ["train", "-o", str(narrow), "--resume", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert "narrowed" not in result.output  # the checkpoint's weights, not a new narrowing
    assert BachNet.load(narrow / "model").config.lstm_units == (12, 16)
    wide = ["train", "-o", str(tmp_path / "wide"), "--init", str(base / "model"), *common]
    result = CliRunner().invoke(main, [*wide, "--lstm-units", "24,16"])
    assert result.exit_code != 0 and "--lstm-units: narrowing needs 2 layer sizes" in result.output
