"""Tests for models that average their predictions over transpositions (``shifts``).

Backend-neutral: these tests also run with ``KERAS_BACKEND=jax`` (``nox -s tests_jax``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from bachnet import BachNet, Chorale, Dataset, ModelConfig
from bachnet.apps.cli import main
from bachnet.errors import InputError
from bachnet.generation.decoder import step_fn
from bachnet.model import scoring

TINY = dict(lstm_units=(16,), embedding_dim=8, dense_units=8, window=64, dropout=0.0)
SHIFTS = (-2, 0, 1)


def net_of(architecture: str, shifts: tuple[int, ...] = (), seed: int = 0) -> BachNet:
    keras.utils.set_random_seed(seed)
    return BachNet(ModelConfig(architecture=architecture, shifts=shifts, **TINY))  # type: ignore[arg-type]


def piece_with_a_rest_and_the_top_note() -> Chorale:
    """Reaches the vocabulary's top note (MIDI 81: a shift up cannot read it) and rests."""
    chords = [(72, 67, 64, 48)] * 6 + [(74, 0, 62, 43)] * 4 + [(81, 69, 65, 53)] * 4
    return Chorale(chords + [(79, 67, 62, 55)] * 6 + [(76, 67, 60, 48)] * 8)


def manual_mixture(net: BachNet, piece: Chorale, shifts: tuple[int, ...]) -> float:
    """The pooled loss of the mean of ``net``'s probabilities for ``piece`` read at each
    shift it fits (each prediction moved back), renormalised: what ``shifts`` computes
    for a piece every copy can read from start to end."""
    _, target, _ = scoring.scored(net, [piece], 16, "test")
    vocab = net.vocab
    moved_back = []
    for shift in shifts:
        logits, _, _ = scoring.scored(net, [piece.transpose(shift)], 16, "test")
        log_probs = logits - scoring._logsumexp(logits)
        note = np.arange(vocab.size) + shift
        outside = (note < 1) | (note > vocab.size - 1)
        note[0], outside[0] = 0, False
        picked = log_probs[:, np.clip(note, 0, vocab.size - 1)]
        moved_back.append(np.where(outside, -np.inf, picked))
    mixed = np.logaddexp.reduce(np.stack(moved_back), axis=0)
    mixed -= scoring._logsumexp(mixed)
    return float(-mixed[np.arange(len(target)), target].mean())


# --------------------------------------------------------------------------- the network


@pytest.mark.parametrize("architecture", ["lstm", "beat_lstm", "voice_lstm", "meter_lstm"])
def test_the_step_equals_the_full_model_as_a_copy_drops_out(architecture: str) -> None:
    net = net_of(architecture, SHIFTS)
    pieces = [piece_with_a_rest_and_the_top_note(), piece_with_a_rest_and_the_top_note()]
    pieces[1] = pieces[1].transpose(-5)  # a second stream that every copy can read
    rows = np.stack([net.vocab.encode(piece) for piece in pieces])
    step = step_fn(net, tables=architecture != "lstm")  # as the compiled sampling loop reads it
    states = net.network.initial_state(2)
    stepped = []
    for index in range(rows.shape[1]):
        logits, states = step(rows[:, index].astype("int32"), np.int32(index), states)
        stepped.append(np.asarray(logits))
    full = np.asarray(net.keras_model(rows))
    np.testing.assert_allclose(np.stack(stepped, axis=1), full, atol=2e-5)
    np.testing.assert_allclose(np.exp(full).sum(-1), 1.0, atol=1e-4)
    # the +1 copy of stream 0 dropped out at its first 81 (step 10, soprano: token 40)
    assert np.asarray(states[-1]).tolist() == [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]


def test_the_mixture_is_the_mean_of_the_transposed_readings() -> None:
    plain = net_of("voice_lstm")
    piece = piece_with_a_rest_and_the_top_note().transpose(-3)  # every copy reads it
    shifted = plain.with_shifts(SHIFTS)
    loss = shifted.evaluate([piece])["loss"]
    assert loss == pytest.approx(manual_mixture(plain, piece, SHIFTS), abs=1e-5)
    single = plain.evaluate([piece])["loss"]
    assert loss != pytest.approx(single, abs=1e-4)
    assert plain.with_shifts((0,)).evaluate([piece])["loss"] == pytest.approx(single, abs=1e-6)


def test_a_copy_that_cannot_read_a_note_leaves_the_others() -> None:
    """The +1 copy cannot read MIDI 81: the loss stays finite, the other two carry on."""
    net = net_of("beat_lstm", SHIFTS)
    metrics = net.evaluate([piece_with_a_rest_and_the_top_note()])
    assert np.isfinite(metrics["loss"]) and metrics["loss"] > 0


def test_generation_and_harmonisation_run_and_repeat_with_a_seed() -> None:
    net = net_of("meter_lstm", (-1, 0, 1))
    first = net.generate(steps=16, seed=3, cadence=None)
    again = net.generate(steps=16, seed=3, cadence=None)
    assert first == again and first.chords.shape == (16, 4)
    melody = [72, 72, 74, 74, 76, 76, 74, 74, 72, 72, 72, 72, 71, 71, 72, 72]
    voiced = net.harmonize(melody, seed=0, method="beam", candidates=3)
    assert voiced.chords[:, 0].tolist() == melody


# --------------------------------------------------------------------------- the contract


@pytest.mark.parametrize(
    ("shifts", "message"),
    [
        ((-1, 1), "include 0"),
        ((0, 0), "distinct"),
        ((0, 13), "-12..12"),
    ],
)
def test_bad_shifts_are_named(shifts: tuple[int, ...], message: str) -> None:
    with pytest.raises(InputError, match=message):
        ModelConfig(architecture="beat_lstm", shifts=shifts)
    with pytest.raises(InputError, match="step_lstm"):
        ModelConfig(architecture="step_lstm", shifts=(0, 1))


def test_saved_and_loaded_with_its_shifts_and_calibrated_only_before(tmp_path: Path) -> None:
    plain = net_of("beat_lstm")
    assert "shifts" not in plain.config.to_dict()  # config.json as it always was
    shifted = plain.with_shifts((-1, 0, 1))
    assert shifted.count_params() == plain.count_params()
    loaded = BachNet.load(shifted.save_pretrained(tmp_path / "model"))
    document = json.loads((tmp_path / "model" / "config.json").read_text(encoding="utf-8"))
    assert document["model"]["shifts"] == [-1, 0, 1] and loaded.config.shifts == (-1, 0, 1)
    piece = piece_with_a_rest_and_the_top_note()
    assert loaded.evaluate([piece])["loss"] == pytest.approx(
        shifted.evaluate([piece])["loss"], abs=1e-6
    )
    with pytest.raises(InputError, match="calibrate the model before"):
        shifted.calibrate([piece])


def test_cli_calibrate_shifts_saves_a_model_that_averages(
    tmp_path: Path, tiny_chorales: list[Chorale]
) -> None:
    data = tmp_path / "csv"
    for split, pieces in {"train": tiny_chorales[:1], "valid": tiny_chorales[1:],
                          "test": tiny_chorales}.items():  # fmt: skip
        (data / split).mkdir(parents=True)
        for number, piece in enumerate(pieces):
            (data / split / f"{number}.csv").write_text(piece.to_csv(), encoding="utf-8")
    model = net_of("beat_lstm").save_pretrained(tmp_path / "model")
    out = tmp_path / "averaged"
    runner = CliRunner()
    args = ["calibrate", str(model), "-o", str(out), "--data", str(data)]
    result = runner.invoke(main, [*args, "--shifts", "-1,0,1"])
    assert result.exit_code == 0, result.output
    assert "valid: shifts [-1, 0, 1]; loss" in result.output
    saved = BachNet.load(out)
    assert saved.config.shifts == (-1, 0, 1)
    test = saved.evaluate(Dataset.from_folder(data).split("test"))
    assert saved.metadata["metrics"]["test"]["loss"] == round(test["loss"], 4)
    assert saved.metadata["calibration"]["command"].endswith("--shifts -1,0,1")
    bad = runner.invoke(main, [*args[:3], str(tmp_path / "x"), *args[4:], "--shifts", "1,2"])
    assert bad.exit_code == 2 and "include 0" in bad.output


def test_train_init_trains_one_network_and_says_how_to_average_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    piece = piece_with_a_rest_and_the_top_note()
    train = [piece.transpose(-shift) for shift in range(1, 4)]
    for split, pieces in {"train": train, "valid": train[:1], "test": train[:1]}.items():
        (data / split).mkdir(parents=True)
        for number, piece in enumerate(pieces):
            (data / split / f"{number}.csv").write_text(piece.to_csv(), encoding="utf-8")
    saved = net_of("meter_lstm", (-1, 0, 1)).save_pretrained(tmp_path / "keys")
    args = ["train", "--init", str(saved), "--data", str(data), "--epochs", "1"]
    result = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "without its shifts [-1, 0, 1]" in result.output
    assert "--shifts -1,0,1" in result.output
    trained = BachNet.load(tmp_path / "run" / "model")
    assert trained.config.shifts == () and trained.config.architecture == "meter_lstm"
    kept = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "kept"), "--shifts", "-1,0,1"])
    assert kept.exit_code == 0, kept.output
    assert "without its shifts" not in kept.output
    assert BachNet.load(tmp_path / "kept" / "model").config.shifts == (-1, 0, 1)
    bad = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "bad"), "--shifts", "1,x"])
    assert bad.exit_code == 2 and "whole semitones" in bad.output
