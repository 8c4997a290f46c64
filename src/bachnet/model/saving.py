"""Saved models: a folder of ``config.json`` (architecture, vocabulary, hashes, metadata) and
``model.weights.h5``; nothing is pickled and loading runs no code from the folder."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from bachnet.core.aliases import PathLike
from bachnet.core.files import atomic_path, sha256_of, write_json
from bachnet.errors import InputError, InputTypeError, ModelFileError
from bachnet.model.config import ModelConfig
from bachnet.model.networks import network_for
from bachnet.music.vocab import Vocabulary

if TYPE_CHECKING:
    import keras

    from bachnet.model.protocol import LanguageModel

__all__ = [
    "CONFIG_FILE",
    "FORMAT_VERSION",
    "VOCABULARY_ATTRIBUTE",
    "WEIGHTS_FILE",
    "ModelFileError",
    "build_keras_model",
    "check_sha256",
    "config_schema",
    "load",
    "load_weights",
    "save",
]

M = TypeVar("M", bound="LanguageModel")

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
FORMAT_VERSION = 2
"""Version of ``config.json``: 2 added ``model.architecture`` (version 1 files are LSTMs)."""
VOCABULARY_ATTRIBUTE = "bachnet_vocabulary"
"""The weights file's own record of the vocabulary, ``[low, high]`` (an HDF5 attribute of its
root, covered by the weights' sha256): editing ``config.json``'s vocabulary alone is caught on
load. Files saved before it existed lack it and are checked against ``metadata["voice_ranges"]``."""


def build_keras_model(config: ModelConfig) -> keras.Model:
    """The Keras network of ``config.architecture``: ids ``(batch, time)`` -> logits.

    See `bachnet.model.networks` for the model types and their contract.

    Examples:
        >>> model = build_keras_model(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4))
        >>> model.output_shape, [layer.name for layer in model.layers][1:4]
        ((None, None, 47), ['embedding', 'dropout_1', 'lstm_1'])
    """
    return network_for(config).build()


def save(model: LanguageModel, directory: PathLike) -> Path:
    """Write ``config.json`` and ``model.weights.h5`` into ``directory``, atomically.

    ``config.json`` holds the architecture, the vocabulary, the weights file's sha256 and
    ``metadata`` (corpus hash, training command, metrics); the weights file also records the
    vocabulary's range (`VOCABULARY_ATTRIBUTE`). Nothing is pickled.

    Returns:
        The folder.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    # The weights alone, without a training optimizer's state: a bare copy of the network.
    bare = build_keras_model(model.config)
    bare.set_weights(model.keras_model.get_weights())
    with atomic_path(folder / WEIGHTS_FILE, suffix=".weights.h5") as tmp:
        bare.save_weights(str(tmp), overwrite=True)
        _record_vocabulary(tmp, model.vocab)
        digest = sha256_of(tmp)
    document: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "model": model.config.to_dict(),
        "vocabulary": model.vocab.get_config(),
        "weights": {"file": WEIGHTS_FILE, "sha256": digest, "parameters": model.count_params()},
        "metadata": model.metadata,
    }
    document["weights"]["network_sha256"] = _network_digest(document, digest)
    write_json(folder / CONFIG_FILE, document)
    return folder


def load(directory: PathLike, build: Callable[[ModelConfig, Vocabulary, dict[str, Any]], M]) -> M:
    """Load a folder written by `save`, checking the weights' sha256 before anything is built.

    Args:
        directory: the model folder.
        build: makes the (untrained) model from its config, vocabulary and metadata; its
            ``ValueError`` becomes a `ModelFileError`.

    Raises:
        ModelFileError: a missing, truncated, tampered or mismatched file.
    """
    folder = Path(directory)
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise ModelFileError(f"{folder}: no {CONFIG_FILE} (not a saved bachnet model)")
    try:
        document = json.loads(config_path.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise InputTypeError(f"expected a JSON object, got {type(document).__name__}")
        if document.get("kind") == "filler":
            raise InputError(
                "this folder holds a filler (a whole-texture model for fill(method='gibbs'), "
                "loaded with bachnet.model.filler.Filler), not a token model"
            )
        version = document.get("format", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InputError(f"format {version!r} is not a format version (1, 2, ...)")
        if version > FORMAT_VERSION:
            raise InputError(
                f"format {version!r} is newer than this bachnet reads ({FORMAT_VERSION}); "
                "upgrade bachnet"
            )
        _validate_schema(document)
        config = ModelConfig.from_dict(document["model"])
        vocab = Vocabulary.from_config(document["vocabulary"])
        if vocab.size != config.vocab_size:
            raise InputError(
                f"the vocabulary has {vocab.size} ids but the model {config.vocab_size}"
            )
        expected = document["weights"]["sha256"]
        name = document["weights"].get("file", WEIGHTS_FILE)
        metadata = document.get("metadata", {})
        if not isinstance(metadata, dict):
            raise InputTypeError(f"metadata must be a JSON object, got {type(metadata).__name__}")
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise InputError(f"weights file {name!r} must be a plain file name in the folder")
    except (ValueError, KeyError, TypeError) as error:
        raise ModelFileError(f"{config_path}: unreadable model config ({error})") from None
    weights = folder / name
    if not weights.is_file():
        raise ModelFileError(f"{folder}: no {weights.name}")
    least = 4 * config.parameters  # float32: a file this small cannot hold the model
    if weights.stat().st_size < least:
        raise ModelFileError(
            f"{weights}: {weights.stat().st_size:,} bytes cannot hold the "
            f"{config.parameters:,} parameters {CONFIG_FILE} describes (at least "
            f"{least:,} bytes); nothing was built"
        )
    actual = sha256_of(weights)
    recorded_network = document["weights"].get("network_sha256")
    if recorded_network is not None and recorded_network != _network_digest(document, expected):
        raise ModelFileError(
            f"{config_path}: its model or vocabulary section was changed after the model was "
            "saved (a shifted vocabulary would move every note); network_sha256 does not match"
        )
    check_sha256(weights, expected, actual)
    _check_vocabulary(config_path, weights, vocab, metadata)
    try:
        model = build(config, vocab, metadata)
    except ValueError as error:
        raise ModelFileError(f"{config_path}: {error}") from None
    recorded = document["weights"].get("parameters")
    if isinstance(recorded, int) and recorded != model.count_params():
        raise ModelFileError(
            f"{weights}: holds {recorded:,} parameters but the model in {CONFIG_FILE} has "
            f"{model.count_params():,} (the config does not match the weights)"
        )
    load_weights(model.keras_model, weights, f"the model in {CONFIG_FILE}")
    return model


def check_sha256(weights: Path, expected: str, actual: str | None = None) -> None:
    """Raise `ModelFileError` unless the file ``weights`` has the sha256 ``expected``
    (``actual``: its hash, when already worked out)."""
    actual = sha256_of(weights) if actual is None else actual
    if actual != expected:
        raise ModelFileError(
            f"{weights}: sha256 {actual} does not match {expected} recorded in {CONFIG_FILE} "
            "(the file is truncated, tampered with or from another model)"
        )


def load_weights(keras_model: keras.Model, weights: Path, what: str) -> None:
    """Load ``weights`` into ``keras_model``; a mismatch is a `ModelFileError` saying the file
    does not fit ``what``."""
    try:
        keras_model.load_weights(str(weights))
    except Exception as error:  # h5py / keras raise many kinds on a mismatch
        detail = " ".join(str(error).split())  # Keras quotes whole tensors: keep it short
        detail = detail if len(detail) <= 300 else detail[:300] + " ..."
        raise ModelFileError(f"{weights}: does not fit {what} ({detail})") from None
    for variable in keras_model.weights:
        values = np.asarray(variable)
        if not np.isfinite(values).all():
            raise ModelFileError(
                f"{weights}: {variable.path} holds NaN or infinite values: the model is broken "
                "(a diverged training run?), so it is not loaded"
            )


def _record_vocabulary(weights: Path, vocab: Vocabulary) -> None:
    """Write ``vocab``'s range into the weights file ``weights`` (`VOCABULARY_ATTRIBUTE`)."""
    import h5py  # type: ignore[import-untyped]

    with h5py.File(weights, "r+") as file:
        file.attrs[VOCABULARY_ATTRIBUTE] = np.array([vocab.low, vocab.high], dtype=np.int64)


def _recorded_vocabulary(weights: Path) -> tuple[int, int] | None:
    """The range the weights file ``weights`` was saved with; ``None`` for a file saved before
    bachnet recorded it (or one h5py cannot open: loading the weights then names the fault).

    Raises:
        ModelFileError: a record that is not a pair of pitches.
    """
    import h5py

    try:
        with h5py.File(weights, "r") as file:
            value = file.attrs.get(VOCABULARY_ATTRIBUTE)
    except Exception:  # not HDF5, damaged: `load_weights` says so
        return None
    if value is None:
        return None
    pair = np.asarray(value)
    if pair.shape != (2,) or pair.dtype.kind not in "iu":
        raise ModelFileError(
            f"{weights}: its {VOCABULARY_ATTRIBUTE} attribute {value!r} is not a pitch range "
            "[low, high]"
        )
    return int(pair[0]), int(pair[1])


def _trained_range(metadata: dict[str, Any]) -> tuple[int, int] | None:
    """The lowest and highest pitch of ``metadata["voice_ranges"]`` (the training chorales',
    every one of them inside the vocabulary they were encoded with); ``None`` if absent."""
    ranges = metadata.get("voice_ranges")
    if not isinstance(ranges, list):
        return None
    pitches = [
        pitch
        for pair in ranges
        if isinstance(pair, list)
        for pitch in pair
        if isinstance(pitch, int) and not isinstance(pitch, bool) and pitch > 0
    ]
    return (min(pitches), max(pitches)) if pitches else None


def _check_vocabulary(
    config_path: Path, weights: Path, vocab: Vocabulary, metadata: dict[str, Any]
) -> None:
    """Raise `ModelFileError` if ``vocab`` (from ``config.json``) is not the vocabulary the
    network was saved or trained with, with or without ``network_sha256``.

    The weights file's own record (`VOCABULARY_ATTRIBUTE`) decides; a file saved before it
    existed is checked against the pitches the model was trained on (``voice_ranges``).
    """
    recorded = _recorded_vocabulary(weights)
    ours = f"{vocab.low}..{vocab.high}"
    if recorded is not None:
        low, high = recorded
        if (low, high) != (vocab.low, vocab.high):
            shift = vocab.low - low
            semitones = "a semitone" if abs(shift) == 1 else f"{abs(shift)} semitones"
            effect = (
                f"every note would be {semitones} {'high' if shift > 0 else 'low'}"
                if high - low == vocab.high - vocab.low
                else "the notes would be misread"
            )
            raise ModelFileError(
                f"{config_path}: the vocabulary {ours} does not match the model: "
                f"{weights.name} was saved with {low}..{high} ({effect})"
            )
        return
    trained = _trained_range(metadata)
    if trained is not None and not vocab.low <= trained[0] <= trained[1] <= vocab.high:
        raise ModelFileError(
            f"{config_path}: the vocabulary {ours} does not match the model: it was trained on "
            f"pitches {trained[0]}..{trained[1]} (metadata voice_ranges), outside that range"
        )


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every ``config.json`` is checked against on load.

    Shipped as ``bachnet/config.schema.json``; `BachNet.load` checks the format version
    first (so a newer file is named as such), then this schema, then the values' meaning.

    Examples:
        >>> schema = config_schema()
        >>> schema["required"], schema["properties"]["format"]["maximum"] == FORMAT_VERSION
        (['model', 'vocabulary', 'weights'], True)
    """
    text = resources.files("bachnet").joinpath("config.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _validate_schema(document: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the first place ``document`` breaks `config_schema`."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(config_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the top level"
        meaning = error.schema.get("description") if isinstance(error.schema, dict) else None
        detail = f"{error.message}: {meaning}" if meaning else error.message
        raise InputError(f"{where}: {detail} (see bachnet/config.schema.json)")


def _network_digest(document: dict[str, Any], weights_sha256: str) -> str:
    """sha256 of what fixes the network's meaning: its model and vocabulary sections and its
    weights' hash (canonical JSON). Recorded at save, checked at load."""
    canonical = json.dumps(
        {
            "model": document["model"],
            "vocabulary": document["vocabulary"],
            "weights": weights_sha256,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
