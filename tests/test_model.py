"""Tests for bachnet.model.config and bachnet.net: configs, the network, evaluation, save and load.

Backend-neutral: these tests also run with ``KERAS_BACKEND=jax`` (``nox -s tests_jax``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest

from bachnet import (
    BachNet,
    Chorale,
    Dataset,
    ModelConfig,
    ModelFileError,
    TrainConfig,
    Vocabulary,
)
from bachnet.core.files import sha256_of
from bachnet.errors import InputError
from bachnet.model.saving import CONFIG_FILE, WEIGHTS_FILE

TINY = ModelConfig(lstm_units=(16,), embedding_dim=8, dense_units=8, window=32, dropout=0.0)


def tiny_net(seed: int = 0, config: ModelConfig = TINY) -> BachNet:
    keras.utils.set_random_seed(seed)
    return BachNet(config)


# ------------------------------------------------------------------------------- configs


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"vocab_size": 1}, "vocab_size must be >= 2, got 1"),
        ({"embedding_dim": 0}, "embedding_dim must be >= 1, got 0"),
        ({"lstm_units": ()}, "lstm_units must be a non-empty tuple of layer sizes, got ()"),
        ({"lstm_units": [16]}, "lstm_units must be a non-empty tuple of layer sizes, got [16]"),
        ({"lstm_units": (16, 0)}, "every LSTM needs >= 1 unit, got 0"),
        ({"lstm_units": (16.5,)}, "every LSTM needs >= 1 unit, got 16.5"),
        ({"dropout": 1.0}, "dropout must be in [0, 1), got 1.0"),
        ({"dropout": -0.1}, "dropout must be in [0, 1), got -0.1"),
        ({"dense_units": -1}, "dense_units must be >= 0, got -1"),
        ({"window": 0}, "window must be >= 1, got 0"),
    ],
)
def test_model_config_rejects_bad_values(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelConfig(**fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"epochs": 0}, "epochs must be >= 1, got 0"),
        ({"batch_size": 0}, "batch_size must be >= 1, got 0"),
        ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0, got 0.0"),
        ({"learning_rate": -1e-3}, "learning_rate must be a finite number > 0, got -0.001"),
        ({"decay_epochs": 0}, "decay_epochs must be > 0, got 0"),
        ({"clipnorm": -1.0}, "clipnorm must be a finite number >= 0, got -1.0"),
        ({"weight_decay": -0.5}, "weight_decay must be a finite number >= 0, got -0.5"),
        ({"patience": 0}, "patience must be >= 1, got 0"),
        ({"stride": 0}, "stride must be >= 1, got 0"),
        ({"transpose": 25}, "transpose must be in 0..24 semitones, got 25"),
        ({"transpose": -1}, "transpose must be in 0..24 semitones, got -1"),
    ],
)
def test_train_config_rejects_bad_values(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainConfig(**fields)


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(),
        ModelConfig(lstm_units=(32, 16), dropout=0.3, layer_norm=False, dense_units=0, window=64),
    ],
)
def test_model_config_round_trips_through_json(config: ModelConfig) -> None:
    data = json.loads(json.dumps(config.to_dict()))
    assert data["lstm_units"] == list(config.lstm_units)
    again = ModelConfig.from_dict(data)
    assert again == config
    assert isinstance(again.lstm_units, tuple)


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(),
        TrainConfig(epochs=3, batch_size=8, learning_rate=0.01, decay_epochs=20.0, stride=1),
        TrainConfig(clipnorm=0.0, weight_decay=1e-4, patience=2, transpose=0, seed=7),
    ],
)
def test_train_config_round_trips_through_json(config: TrainConfig) -> None:
    data = config.to_dict()
    if math.isinf(config.decay_epochs):
        assert data["decay_epochs"] is None  # JSON has no infinity
    text = json.dumps(data, allow_nan=False)
    assert TrainConfig.from_dict(json.loads(text)) == config


def test_from_dict_fills_defaults_and_rejects_unknown_keys() -> None:
    assert ModelConfig.from_dict({"lstm_units": [8]}) == ModelConfig(lstm_units=(8,))
    assert TrainConfig.from_dict({}) == TrainConfig()
    with pytest.raises(ValueError, match=r"unknown ModelConfig field\(s\): colour, units"):
        ModelConfig.from_dict({"lstm_units": [8], "units": 3, "colour": "red"})
    with pytest.raises(ValueError, match=r"unknown TrainConfig field\(s\): lr"):
        TrainConfig.from_dict({"lr": 0.1})
    with pytest.raises(ValueError, match="dropout must be in"):
        ModelConfig.from_dict({"dropout": 2})  # the values are validated too


def test_learning_rate_schedule() -> None:
    config = TrainConfig(learning_rate=0.01, decay_epochs=10)
    assert config.learning_rate_at(0) == pytest.approx(0.01)
    assert config.learning_rate_at(10) == pytest.approx(0.001)
    assert config.learning_rate_at(5) == pytest.approx(0.01 * 0.1**0.5)
    assert TrainConfig(learning_rate=0.01).learning_rate_at(1000) == pytest.approx(0.01)


# ------------------------------------------------------------------------------- network


def test_default_network_is_the_seed_network() -> None:
    keras.utils.set_random_seed(0)
    net = BachNet()
    assert net.count_params() == 5_663_663
    assert "5,663,663 parameters" in repr(net)
    layers = net.keras_model.layers
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in layers)
    assert "Lambda" not in json.dumps(net.keras_model.get_config())
    lstms = [layer for layer in layers if isinstance(layer, keras.layers.LSTM)]
    assert [layer.units for layer in lstms] == [512, 512, 512]
    assert net.keras_model.output_shape == (None, None, 47)
    ids = np.random.default_rng(0).integers(0, 47, size=(2, 7))
    logits = net.logits(ids)
    assert logits.shape == (2, 7, 47) and logits.dtype == np.float32
    assert np.isfinite(logits).all()


@pytest.mark.parametrize(
    ("config", "params"),
    [
        (TINY, 47 * 8 + 4 * 16 * (8 + 16 + 1) + 2 * 16 + (16 * 8 + 8) + (8 * 47 + 47)),
        (
            ModelConfig(lstm_units=(16, 8), embedding_dim=8, dense_units=0, layer_norm=False),
            47 * 8 + 4 * 16 * (8 + 16 + 1) + 4 * 8 * (16 + 8 + 1) + (8 * 47 + 47),
        ),
    ],
)
def test_small_networks_have_the_expected_shape(config: ModelConfig, params: int) -> None:
    net = tiny_net(config=config)
    assert net.count_params() == params
    assert net.keras_model.output_shape == (None, None, 47)
    assert net.logits(np.zeros((3, 5), dtype=np.int32)).shape == (3, 5, 47)
    assert net.logits([1, 2, 3]).shape == (1, 3, 47)  # one sequence gets a batch axis


def test_vocabulary_must_match_the_config() -> None:
    with pytest.raises(ValueError, match=r"the vocabulary has 47 ids but config\.vocab_size is 10"):
        BachNet(ModelConfig(vocab_size=10))
    assert BachNet(ModelConfig(lstm_units=(4,), embedding_dim=4)).vocab == Vocabulary()


# ------------------------------------------------------------------- training and scoring


@pytest.fixture(scope="module")
def one_chorale(jsb_dataset: Dataset) -> Chorale:
    return jsb_dataset.split("train")[0]


@pytest.fixture(scope="module")
def overfitted(one_chorale: Chorale) -> tuple[BachNet, dict[str, list[float]]]:
    """A tiny network trained 40 epochs on a single chorale (no dropout, no transposition)."""
    net = tiny_net(seed=1)
    config = TrainConfig(epochs=40, batch_size=4, learning_rate=1e-2, transpose=0, patience=40)
    history = net.fit([one_chorale], config=config, verbose=0)
    return net, history


def test_small_model_overfits_one_chorale(
    overfitted: tuple[BachNet, dict[str, list[float]]], one_chorale: Chorale
) -> None:
    net, history = overfitted
    assert len(history["loss"]) == 40
    first, last = history["loss"][0], history["loss"][-1]
    assert first > 3.0  # about ln(47) = 3.85 at the start
    assert last < 0.5 * first, f"loss only fell from {first:.3f} to {last:.3f}"
    metrics = net.evaluate([one_chorale])
    assert metrics["loss"] < 0.5 * first
    assert metrics["accuracy"] > 0.5


def reference_metrics(net: BachNet, chorales: list[Chorale]) -> dict[str, float]:
    """Scores computed one chorale at a time from `BachNet.logits`, in float64 NumPy."""
    nll, correct, count = 0.0, 0, 0
    for chorale in chorales:
        tokens = net.vocab.encode(chorale)
        logits = net.logits(tokens[None, :-1])[0].astype(np.float64)
        top = logits.max(-1, keepdims=True)
        log_probs = logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
        target = tokens[1:]
        nll -= log_probs[np.arange(len(target)), target].sum()
        correct += int((logits.argmax(-1) == target).sum())
        count += len(target)
    return {"loss": nll / count, "accuracy": correct / count, "tokens": float(count)}


def test_evaluate_scores_every_token_once_and_matches_numpy(
    overfitted: tuple[BachNet, dict[str, list[float]]],
    jsb_dataset: Dataset,
    tiny_chorales: list[Chorale],
) -> None:
    net, _ = overfitted
    short, other = sorted(jsb_dataset.split("valid"), key=len)[:2]  # eager LSTMs are slow
    opening = Chorale(other.chords[:64], name="opening")
    chorales = [short, opening, *tiny_chorales]  # many lengths: padding is used
    assert len({len(c) for c in chorales}) == len(chorales)
    metrics = net.evaluate(chorales, batch_size=3)
    assert set(metrics) == {"loss", "loss_per_chorale", "accuracy", "perplexity", "tokens"}
    assert metrics["tokens"] == sum(4 * len(c) - 1 for c in chorales)
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["loss"]), rel=1e-12)
    expected = reference_metrics(net, chorales)
    assert metrics["tokens"] == expected["tokens"]
    assert metrics["loss"] == pytest.approx(expected["loss"], rel=1e-5)
    assert metrics["accuracy"] == pytest.approx(expected["accuracy"], abs=1.5 / expected["tokens"])
    # Batching is an implementation detail: one at a time gives the same figures.
    alone = net.evaluate(chorales, batch_size=1)
    assert alone["loss"] == pytest.approx(metrics["loss"], rel=1e-5)
    assert alone["tokens"] == metrics["tokens"]
    # Per chorale: the mean of each chorale's own mean, which one-chorale calls give directly.
    each = [net.evaluate([c]) for c in chorales]
    per_chorale = sum(e["loss"] for e in each) / len(each)
    assert metrics["loss_per_chorale"] == pytest.approx(per_chorale, rel=1e-5)
    pooled = sum(e["loss"] * e["tokens"] for e in each) / sum(e["tokens"] for e in each)
    assert metrics["loss"] == pytest.approx(pooled, rel=1e-5)


def test_evaluate_rejects_no_chorales_and_foreign_notes() -> None:
    net = tiny_net()
    with pytest.raises(ValueError, match="at least one chorale"):
        net.evaluate([])
    with pytest.raises(ValueError, match="MIDI pitch 84"):
        net.evaluate([Chorale([[84, 67, 64, 48]] * 4)])


def test_evaluate_one_step_chorale_scores_three_tokens() -> None:
    metrics = tiny_net().evaluate([Chorale([[72, 67, 64, 48]])])
    assert metrics["tokens"] == 3
    assert 0 <= metrics["accuracy"] <= 1


def test_calibrate_finds_the_temperature_and_folds_it_into_the_weights(
    overfitted: tuple[BachNet, dict[str, list[float]]], one_chorale: Chorale, tmp_path: Path
) -> None:
    trained, _ = overfitted
    net = BachNet.from_pretrained(trained.save_pretrained(tmp_path / "copy"))  # keep the fixture
    pieces = [Chorale(one_chorale.chords[:48])]
    ids = net.vocab.encode(pieces[0])[None, :-1]
    raw = net.logits(ids)
    before = net.evaluate(pieces)
    first = net.calibrate(pieces)
    assert 0.3 < first["temperature"] < 3.5  # inside the search range: a real optimum
    assert first["loss_before"] == pytest.approx(before["loss"], rel=1e-6)
    assert first["loss_after"] <= first["loss_before"]
    np.testing.assert_allclose(net.logits(ids), raw / first["temperature"], rtol=1e-4, atol=1e-5)
    after = net.evaluate(pieces)
    assert after["loss"] == pytest.approx(first["loss_after"], rel=1e-5)
    assert after["accuracy"] == before["accuracy"]  # the argmax never moves
    # Make it three times too sure of itself: calibration finds 3 and undoes it.
    layer = net.network.output_layer(net.keras_model)
    layer.set_weights([weight * 3.0 for weight in layer.get_weights()])
    second = net.calibrate(pieces)
    assert second["temperature"] == pytest.approx(3.0, rel=2e-3)
    assert second["loss_after"] == pytest.approx(first["loss_after"], rel=1e-5)
    recorded = net.metadata["calibration"]["temperature"]
    assert recorded == pytest.approx(first["temperature"] * 3.0, rel=2e-3)
    loaded = BachNet.from_pretrained(net.save_pretrained(tmp_path / "calibrated"))
    assert loaded.evaluate(pieces)["loss"] == pytest.approx(second["loss_after"], rel=1e-5)
    assert loaded.metadata["calibration"]["temperature"] == recorded
    with pytest.raises(ValueError, match="calibrate\\(\\) needs at least one chorale"):
        net.calibrate([])


def test_calibrate_scales_the_step_model_output_too() -> None:
    keras.utils.set_random_seed(5)
    config = ModelConfig(architecture="step_lstm", lstm_units=(8,), embedding_dim=4, window=32)
    net = BachNet(config)
    piece = Chorale([[72, 67, 64, 48]] * 4 + [[74, 65, 62, 43]] * 4 + [[72, 64, 55, 48]] * 8)
    ids = np.concatenate([np.zeros(16, np.int32), net.vocab.encode(piece)])[None]
    raw = net.logits(ids)
    result = net.calibrate([piece])
    np.testing.assert_allclose(net.logits(ids), raw / result["temperature"], rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------- save, load


@pytest.fixture
def saved(tmp_path: Path) -> tuple[BachNet, Path]:
    net = tiny_net(seed=3)
    net.metadata["corpus"] = {"source": "test", "chorales": 3}
    folder = net.save_pretrained(tmp_path / "model")
    return net, folder


def test_save_then_load_gives_identical_logits(saved: tuple[BachNet, Path]) -> None:
    net, folder = saved
    loaded = BachNet.load(folder)
    assert loaded.config == net.config
    assert loaded.vocab == net.vocab
    assert loaded.metadata == {"corpus": {"source": "test", "chorales": 3}}
    ids = np.random.default_rng(5).integers(0, 47, size=(3, 40))
    np.testing.assert_array_equal(loaded.logits(ids), net.logits(ids))


def test_saved_folder_is_config_and_weights_only(saved: tuple[BachNet, Path]) -> None:
    net, folder = saved
    assert sorted(p.name for p in folder.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]
    document = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    assert document["model"] == net.config.to_dict()
    assert document["vocabulary"] == net.vocab.get_config()
    assert Vocabulary.from_config(document["vocabulary"]) == net.vocab
    assert document["weights"]["file"] == WEIGHTS_FILE
    assert document["weights"]["sha256"] == sha256_of(folder / WEIGHTS_FILE)
    assert document["weights"]["parameters"] == net.count_params()
    assert document["metadata"] == net.metadata
    # Saving again over the same folder leaves no temporary files behind.
    net.save_pretrained(folder)
    assert sorted(p.name for p in folder.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]


def edit_config(folder: Path, change: Any) -> None:
    path = folder / CONFIG_FILE
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document), encoding="utf-8")


def assert_load_fails(folder: Path, pattern: str) -> str:
    with pytest.raises(ModelFileError, match=pattern) as caught:
        BachNet.load(folder)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert len(message) < 600 and "\n" not in message, message  # one clear line
    return message


def test_load_missing_config(tmp_path: Path, saved: tuple[BachNet, Path]) -> None:
    assert_load_fails(tmp_path / "nowhere", "no config.json")
    _, folder = saved
    (folder / CONFIG_FILE).unlink()
    message = assert_load_fails(folder, r"no config\.json \(not a saved bachnet model\)")
    assert str(folder) in message


def test_load_missing_weights(saved: tuple[BachNet, Path]) -> None:
    _, folder = saved
    (folder / WEIGHTS_FILE).unlink()
    assert_load_fails(folder, re.escape(f"{folder}: no {WEIGHTS_FILE}"))


def test_load_truncated_weights(saved: tuple[BachNet, Path]) -> None:
    _, folder = saved
    weights = folder / WEIGHTS_FILE
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    assert_load_fails(folder, "sha256 .* does not match .*truncated, tampered with")


def test_load_tampered_weights(saved: tuple[BachNet, Path]) -> None:
    _, folder = saved
    weights = folder / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    weights.write_bytes(bytes(data))
    message = assert_load_fails(folder, "does not match")
    assert sha256_of(weights) in message


@pytest.mark.filterwarnings("ignore:Skipping nested container:UserWarning")
def test_load_config_that_does_not_match_the_weights(saved: tuple[BachNet, Path]) -> None:
    _, folder = saved

    def more_units(document: dict[str, Any]) -> None:
        document["model"]["lstm_units"] = [24]

    edit_config(folder, more_units)  # the sha256 still matches: the weights are untouched
    assert_load_fails(folder, "changed after the model was saved")

    def older_file(document: dict[str, Any]) -> None:  # saved before network_sha256 existed
        document["weights"].pop("network_sha256")

    edit_config(folder, older_file)
    assert_load_fails(folder, "does not match the weights")

    def consistent_count(document: dict[str, Any]) -> None:
        # Also fix the recorded parameter count: loading the weights themselves must fail.
        document["weights"]["parameters"] = tiny_net(
            config=ModelConfig.from_dict(document["model"])
        ).count_params()

    edit_config(folder, consistent_count)
    assert_load_fails(folder, "does not fit the model in config.json")


@pytest.mark.parametrize(
    "breakage",
    [
        lambda text: text[: len(text) // 2],  # not JSON
        lambda text: text.replace('"lstm_units"', '"units"'),  # unknown field
        lambda text: text.replace('"dropout": 0.0', '"dropout": 5'),  # invalid value
        lambda text: text.replace('"sha256"', '"md5"'),  # missing hash
    ],
)
def test_load_unreadable_config(saved: tuple[BachNet, Path], breakage: Any) -> None:
    _, folder = saved
    path = folder / CONFIG_FILE
    path.write_text(breakage(path.read_text(encoding="utf-8")), encoding="utf-8")
    assert_load_fails(folder, "unreadable model config")


def test_step_lstm_trains_saves_loads_and_composes(one_chorale: Chorale, tmp_path: Path) -> None:
    """The step-level type through the whole surface: fit, evaluate, save/load, generate."""
    keras.utils.set_random_seed(4)
    config = ModelConfig(
        architecture="step_lstm", lstm_units=(24,), embedding_dim=8, dense_units=16, window=64
    )
    net = BachNet(config)
    assert net.count_params() == config.parameters
    settings = TrainConfig(epochs=30, batch_size=4, learning_rate=1e-2, transpose=0, patience=30)
    history = net.fit([one_chorale], config=settings, verbose=0)
    first, last = history["loss"][0], history["loss"][-1]
    assert first > 3.0 and last < 0.5 * first, f"loss only fell from {first:.3f} to {last:.3f}"
    assert net.evaluate([one_chorale])["loss"] < 0.5 * first
    loaded = BachNet.load(net.save_pretrained(tmp_path / "step"))
    assert loaded.config.architecture == "step_lstm"
    ids = net.vocab.encode(one_chorale)[None, :40]
    np.testing.assert_allclose(loaded.logits(ids), net.logits(ids), atol=1e-6)
    pieces = loaded.generate(steps=16, num_samples=2, seed=0)
    assert isinstance(pieces, list) and len(pieces) == 2
    for piece in pieces:
        assert len(piece) >= 16 and piece.fermatas and len(piece) % 16 == 0


def test_bar_lstm_trains_saves_loads_and_composes(one_chorale: Chorale, tmp_path: Path) -> None:
    """The bar-aware type through the whole surface, on a piece with a pickup."""
    keras.utils.set_random_seed(5)
    config = ModelConfig(
        architecture="bar_lstm", lstm_units=(24,), embedding_dim=8, dense_units=16, window=64
    )
    net = BachNet(config)
    assert net.count_params() == config.parameters
    piece = one_chorale.replace(pickup=len(one_chorale) % 16)
    settings = TrainConfig(epochs=30, batch_size=4, learning_rate=1e-2, transpose=0, patience=30)
    history = net.fit([piece], config=settings, verbose=0)
    first, last = history["loss"][0], history["loss"][-1]
    assert first > 3.0 and last < 0.5 * first, f"loss only fell from {first:.3f} to {last:.3f}"
    loaded = BachNet.load(net.save_pretrained(tmp_path / "bar"))
    assert loaded.config.architecture == "bar_lstm"
    assert loaded.evaluate([piece])["loss"] == pytest.approx(net.evaluate([piece])["loss"])
    phrased = loaded.generate(phrases=(8, 8), seed=0)
    assert phrased.fermatas == (28, 60) and phrased.pickup == 4


def test_a_model_with_nan_weights_is_refused(tmp_path: Path) -> None:
    from bachnet.errors import ModelFileError
    from bachnet.model.saving import WEIGHTS_FILE

    keras.utils.set_random_seed(0)
    net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4))
    broken = net.keras_model.get_layer("logits")
    kernel, bias = broken.get_weights()
    broken.set_weights([kernel, np.full_like(bias, np.nan)])
    folder = net.save_pretrained(tmp_path / "nan")
    assert (folder / WEIGHTS_FILE).is_file()
    with pytest.raises(ModelFileError, match="holds NaN or infinite values"):
        BachNet.load(folder)


# ------------------------------------------------------------------------------ narrowing


def test_narrowing_drops_the_units_that_send_nothing(tiny_chorales: list[Chorale]) -> None:
    """Units whose outputs reach nothing (zero outgoing weights) are the ones dropped, and
    without them the network predicts exactly as before (no layer norm: it would mix every
    unit's statistics)."""
    config = ModelConfig(
        architecture="beat_lstm",
        lstm_units=(8, 6),
        embedding_dim=4,
        dense_units=4,
        dropout=0.0,
        layer_norm=False,
    )
    net = tiny_net(seed=3, config=config)
    deaf = {w.path: w for w in net.keras_model.weights}
    for path, rows in (  # layer 1's units 1 and 6, layer 2's unit 4: forward and recurrent
        ("lstm_2/lstm_cell/kernel", [1, 6]),
        ("lstm_1/lstm_cell/recurrent_kernel", [1, 6]),
        ("dense/kernel", [4]),
        ("lstm_2/lstm_cell/recurrent_kernel", [4]),
    ):
        value = deaf[path].numpy()
        value[rows] = 0.0
        deaf[path].assign(value)
    narrow = net.narrowed((6, 5), tiny_chorales)
    assert narrow.config.lstm_units == (6, 5)
    assert narrow.config.architecture == "beat_lstm" and narrow.vocab == net.vocab
    kernel = deaf["lstm_1/lstm_cell/kernel"].numpy()
    kept = [0, 2, 3, 4, 5, 7]
    expected = np.concatenate([kernel[:, gate * 8 + np.array(kept)] for gate in range(4)], -1)
    np.testing.assert_allclose(narrow.keras_model.get_layer("lstm_1").weights[0].numpy(), expected)
    ids = np.array([[0] * 16 + list(net.vocab.encode(tiny_chorales[0]))])
    np.testing.assert_allclose(net.logits(ids), narrow.logits(ids), atol=1e-5)


def test_narrowing_keeps_a_trained_model_closer_than_chance(jsb_dataset: Dataset) -> None:
    """On a model trained a little, the units kept by what they send cost less than the same
    number of units kept in each layer's own order (its first 16, their weights as they are)."""
    config = ModelConfig(
        architecture="beat_lstm",
        lstm_units=(24, 24),
        embedding_dim=8,
        dense_units=8,
        window=64,
        dropout=0.0,
    )
    net = tiny_net(seed=0, config=config)
    pieces = list(jsb_dataset.split("train")[:6])
    net.fit(pieces, config=TrainConfig(epochs=4, batch_size=16, learning_rate=1e-2), verbose=0)
    valid = list(jsb_dataset.split("valid")[:3])
    wide = net.evaluate(valid)["loss"]
    narrow = net.narrowed((16, 16), pieces).evaluate(valid)["loss"]
    first = np.arange(16)  # the first 16 units of each layer, their weights as they are

    def gates(matrix: np.ndarray) -> np.ndarray:
        return np.concatenate([matrix[..., gate * 24 + first] for gate in range(4)], -1)

    weights = {w.path: w.numpy() for w in net.keras_model.weights}
    for layer in (1, 2):
        cell = f"lstm_{layer}/lstm_cell/"
        kernel = weights[cell + "kernel"]
        weights[cell + "kernel"] = gates(kernel[first] if layer == 2 else kernel)
        weights[cell + "recurrent_kernel"] = gates(weights[cell + "recurrent_kernel"][first])
        weights[cell + "bias"] = gates(weights[cell + "bias"])
        for name in ("gamma", "beta"):
            weights[f"norm_{layer}/{name}"] = weights[f"norm_{layer}/{name}"][first]
    weights["dense/kernel"] = weights["dense/kernel"][first]
    cut = BachNet(dataclasses.replace(config, lstm_units=(16, 16)), net.vocab)
    for weight in cut.keras_model.weights:
        weight.assign(weights[weight.path])
    chance = cut.evaluate(valid)["loss"]
    assert narrow < chance, (wide, narrow, chance)


@pytest.mark.parametrize(
    ("units", "message"),
    [
        ((8,), r"2 layer sizes of 1 to the present \[8, 8\]"),
        ((9, 8), r"got \[9, 8\]"),
        ((0, 8), r"got \[0, 8\]"),
    ],
)
def test_narrowing_names_a_bad_size(
    units: tuple[int, ...], message: str, tiny_chorales: list[Chorale]
) -> None:
    net = tiny_net(config=ModelConfig(lstm_units=(8, 8), embedding_dim=4, dense_units=4))
    with pytest.raises(InputError, match=message):
        net.narrowed(units, tiny_chorales)
    with pytest.raises(InputError, match="no chorales"):
        net.narrowed((4, 4), [])
    with pytest.raises(InputError, match=r"with_shifts\(\(\)\) first"):
        net.with_shifts((0, 1)).narrowed((4, 4), tiny_chorales)
