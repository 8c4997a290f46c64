"""`BachNet`: the LSTM language model over chorale tokens, its evaluation, saving and loading."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .aliases import PathLike
from .chorale import Chorale
from .config import ModelConfig, TrainConfig
from .errors import BachNetError
from .files import atomic_path, sha256_of, write_json
from .vocab import Vocabulary

if TYPE_CHECKING:
    import keras

    from .generate import SamplerSpec
    from .harmonize import MelodySpec, Method
    from .keys import Key
    from .rules import RulesSpec
    from .train import History

__all__ = [
    "CONFIG_FILE",
    "FORMAT_VERSION",
    "WEIGHTS_FILE",
    "BachNet",
    "ModelFileError",
    "build_keras_model",
    "config_schema",
]


CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
FORMAT_VERSION = 2
"""Version of ``config.json``: 2 added ``model.architecture`` (version 1 files are LSTMs)."""


class ModelFileError(BachNetError, ValueError):
    """A saved model folder is missing a file, is truncated, or does not match its config.

    Examples:
        >>> import tempfile
        >>> BachNet.load(tempfile.mkdtemp())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        bachnet.model.ModelFileError: ...: no config.json (not a saved bachnet model)
    """


def build_keras_model(config: ModelConfig) -> keras.Model:
    """The Keras network of ``config.architecture``: ids ``(batch, time)`` -> logits.

    See `bachnet.networks` for the model types and their contract.

    Examples:
        >>> model = build_keras_model(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4))
        >>> model.output_shape, [layer.name for layer in model.layers][1:4]
        ((None, None, 47), ['embedding', 'dropout_1', 'lstm_1'])
    """
    from .networks import network_for

    return network_for(config).build()


class BachNet:
    """A chorale language model: predicts the next token of a flattened S,A,T,B stream.

    Args:
        config: the architecture (defaults: the original BachNet's 5.66 M-parameter network).
        vocab: the token vocabulary; its size must equal ``config.vocab_size``.
        metadata: free-form facts saved with the model (corpus hash, metrics, command).

    Examples:
        >>> net = BachNet(ModelConfig(lstm_units=(32,), embedding_dim=8, dense_units=16))
        >>> net.keras_model.output_shape
        (None, None, 47)
        >>> BachNet().count_params()  # doctest: +SKIP
        5663663
    """

    def __init__(
        self,
        config: ModelConfig | None = None,
        vocab: Vocabulary | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config or ModelConfig()
        self.vocab = vocab or Vocabulary()
        if self.vocab.size != self.config.vocab_size:
            raise ValueError(
                f"the vocabulary has {self.vocab.size} ids but config.vocab_size is "
                f"{self.config.vocab_size}"
            )
        self.metadata: dict[str, Any] = dict(metadata or {})
        from .networks import network_for

        self.network = network_for(self.config)
        self.keras_model = self.network.build()
        self._generators: dict[Any, Any] = {}

    def __repr__(self) -> str:
        units = "x".join(str(u) for u in self.config.lstm_units)
        kind = self.config.architecture
        return f"<BachNet {kind} {units}, {self.count_params():,} parameters>"

    def count_params(self) -> int:
        """Number of weights.

        Examples:
            >>> import keras
            >>> keras.utils.set_random_seed(0)
            >>> config = ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16)
            >>> net = BachNet(config)
            >>> net.count_params()
            891
        """
        return int(self.keras_model.count_params())

    # ------------------------------------------------------------------------------ training
    def fit(
        self,
        train: Iterable[Chorale],
        valid: Iterable[Chorale] | None = None,
        *,
        config: TrainConfig | None = None,
        run_dir: PathLike | None = None,
        verbose: int | str = "auto",
    ) -> History:
        """Train on chorales; see `bachnet.train.train` for every detail.

        Examples:
            >>> train = Dataset.jsb().split("train")  # doctest: +SKIP
            >>> net.fit(train, config=TrainConfig(epochs=1))  # doctest: +SKIP
        """
        from .train import train as _train

        return _train(self, train, valid, config=config, run_dir=run_dir, verbose=verbose)

    # ---------------------------------------------------------------------------- evaluation
    def logits(self, tokens: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Logits for every position of a ``(batch, time)`` array of token ids (inference mode).

        This is the original BachNet's ``predict_next_token`` building block:
        ``logits(ids)[:, -1]`` are the next-token logits after re-reading the whole context.

        Args:
            tokens: token ids, ``(batch, time)`` or one ``(time,)`` sequence.

        Returns:
            Float32 logits of shape ``(batch, time, vocab)``.

        Examples:
            >>> import keras
            >>> keras.utils.set_random_seed(0)
            >>> config = ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16)
            >>> net = BachNet(config)
            >>> logits = net.logits([[0, 0, 0, 0, 37, 32, 29, 13]])
            >>> logits.shape, logits.dtype
            ((1, 8, 47), dtype('float32'))
        """
        array = np.asarray(tokens, dtype=np.int32)
        if array.ndim == 1:
            array = array[None]
        return np.asarray(self.keras_model.predict_on_batch(array), dtype=np.float32)

    def evaluate(self, chorales: Iterable[Chorale], *, batch_size: int = 16) -> dict[str, float]:
        """Loss (nats per token), accuracy and perplexity over whole chorales.

        Each chorale is read from its first token to its last in one pass, so every token
        after the first is scored exactly once, given *all* the tokens of its chorale before
        it (no window limit: the LSTM carries its state through the piece). The first token of
        each chorale has no context and is not scored. Perplexity is ``exp(loss)``.

        Raises:
            ValueError: no chorales, or a note outside the vocabulary.

        Examples:
            >>> net.evaluate(Dataset.jsb().split("test"))  # doctest: +SKIP
            {'loss': 0.41, 'accuracy': 0.87, 'perplexity': 1.51, 'tokens': 74184.0}
        """
        logits, target = self._scored(chorales, batch_size, "evaluate")
        log_probs = logits - _logsumexp(logits)
        loss = -float(np.take_along_axis(log_probs, target[:, None], axis=-1).mean())
        return {
            "loss": loss,
            "accuracy": float((logits.argmax(-1) == target).mean()),
            "perplexity": float(np.exp(loss)),
            "tokens": float(len(target)),
        }

    def calibrate(self, chorales: Iterable[Chorale], *, batch_size: int = 16) -> dict[str, float]:
        """Temperature scaling: fit one temperature to ``chorales``, fold it into the weights.

        A network trained with dropout tends to be a little too sure of itself. This finds
        the temperature ``T`` that minimises the loss of `evaluate` on ``chorales`` (pass the
        validation split, never the test split) and divides the output layer's kernel and
        bias by it, so the logits are ``logits / T`` from then on, in every use (evaluation,
        generation, saving), with no new setting to carry. The most likely token never
        changes, so accuracy stays the same. Recorded in ``metadata["calibration"]``
        (temperatures multiply when it is called again). Guo et al., "On Calibration of
        Modern Neural Networks", ICML 2017.

        Returns:
            ``temperature``, ``loss_before``, ``loss_after`` (nats per token on
            ``chorales``) and ``tokens``.

        Raises:
            ValueError: no chorales, or a note outside the vocabulary.

        Examples:
            >>> net.calibrate(Dataset.jsb().split("valid"))  # doctest: +SKIP
            {'temperature': 1.08, 'loss_before': 0.3887, 'loss_after': 0.3872, 'tokens': 74184.0}
        """
        logits, target = self._scored(chorales, batch_size, "calibrate")
        rows = np.arange(len(target))

        def loss_at(log_t: float) -> float:
            scaled = logits / np.exp(log_t)
            return float((_logsumexp(scaled)[:, 0] - scaled[rows, target]).mean())

        low, high = np.log(0.25), np.log(4.0)  # golden-section search on log T (convex)
        ratio = (np.sqrt(5.0) - 1.0) / 2.0
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        for _ in range(60):
            if loss_at(a) < loss_at(b):
                high, b = b, a
                a = high - ratio * (high - low)
            else:
                low, a = a, b
                b = low + ratio * (high - low)
        temperature = float(np.exp((low + high) / 2.0))
        layer = self.network.output_layer(self.keras_model)
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel / temperature, bias / temperature])
        before = self.metadata.get("calibration", {}).get("temperature", 1.0)
        result = {
            "temperature": temperature,
            "loss_before": loss_at(0.0),
            "loss_after": loss_at(np.log(temperature)),
            "tokens": float(len(target)),
        }
        self.metadata["calibration"] = {**result, "temperature": float(before) * temperature}
        return result

    def _scored(
        self, chorales: Iterable[Chorale], batch_size: int, caller: str
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]:
        """Logits ``(tokens, vocab)`` of every scored token and its targets ``(tokens,)``."""
        encoded = sorted((self.vocab.encode(c) for c in chorales), key=len)
        if not encoded:
            raise ValueError(f"{caller}() needs at least one chorale")
        # A model trained with a beat of silence before each piece reads it here too; the
        # scored tokens stay the same (all but each piece's first).
        lead = self.network.lead if self.network.pad_lead else 0
        all_logits, all_targets = [], []
        for begin in range(0, len(encoded), batch_size):
            group = encoded[begin : begin + batch_size]
            longest = lead + max(len(t) for t in group)
            ids = np.zeros((len(group), longest), dtype=np.int32)
            mask = np.zeros((len(group), longest - 1), dtype=bool)
            for row, tokens in enumerate(group):
                ids[row, lead : lead + len(tokens)] = tokens
                mask[row, lead : lead + len(tokens) - 1] = True
            all_logits.append(self.logits(ids[:, :-1]).astype(np.float64)[mask])
            all_targets.append(ids[:, 1:][mask])
        target = np.concatenate(all_targets)
        if len(target) == 0:
            raise ValueError("the chorales are too short to score (one token each)")
        return np.concatenate(all_logits), target

    # ---------------------------------------------------------------------------- generation
    def generate(
        self,
        prompt: Chorale | None = None,
        *,
        steps: int = 64,
        sampler: SamplerSpec = "top_p",
        num_samples: int = 1,
        seed: int | None = None,
        include_prompt: bool = True,
        constraint: npt.ArrayLike | None = None,
        voice_ranges: Sequence[tuple[int, int]] | bool = True,
        rules: RulesSpec = "default",
        key: str | Key | None = None,
        cadence: bool = True,
    ) -> Chorale | list[Chorale]:
        """Compose: continue ``prompt`` by ``steps`` 16th notes; see `bachnet.generate.generate`.

        Examples:
            >>> BachNet.from_pretrained().generate(steps=64, seed=1)  # doctest: +SKIP
            <Chorale 'bachnet chorale': 64 steps (16 quarters)>
        """
        from .generate import generate as _generate

        return _generate(
            self,
            prompt,
            steps=steps,
            sampler=sampler,
            num_samples=num_samples,
            seed=seed,
            include_prompt=include_prompt,
            constraint=constraint,
            voice_ranges=voice_ranges,
            rules=rules,
            key=key,
            cadence=cadence,
        )

    def harmonize(
        self,
        soprano: MelodySpec,
        *,
        sampler: SamplerSpec = "top_p",
        rules: RulesSpec = "default",
        seed: int | None = None,
        num_samples: int = 1,
        candidates: int = 8,
        method: Method = "rerank",
        voice_ranges: Sequence[tuple[int, int]] | bool = True,
    ) -> Chorale | list[Chorale]:
        """Write alto, tenor and bass under a melody; see `bachnet.harmonize.harmonize`.

        Examples:
            >>> net = BachNet.from_pretrained()  # doctest: +SKIP
            >>> net.harmonize([72] * 8 + [74] * 8 + [76] * 16, seed=0)  # doctest: +SKIP
            <Chorale 'bachnet harmonisation': 32 steps (8 quarters)>
        """
        from .harmonize import harmonize as _harmonize

        return _harmonize(
            self,
            soprano,
            sampler=sampler,
            rules=rules,
            seed=seed,
            num_samples=num_samples,
            candidates=candidates,
            method=method,
            voice_ranges=voice_ranges,
        )

    # ------------------------------------------------------------------------- save and load
    def save_pretrained(self, directory: PathLike) -> Path:
        """Write ``config.json`` and ``model.weights.h5`` into ``directory``, atomically.

        ``config.json`` holds the architecture, the vocabulary, the weights file's sha256 and
        ``metadata`` (corpus hash, training command, metrics). Nothing is pickled.

        Returns:
            The folder.

        Examples:
            >>> import tempfile
            >>> import keras
            >>> keras.utils.set_random_seed(0)
            >>> config = ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16)
            >>> net = BachNet(config)
            >>> folder = net.save_pretrained(tempfile.mkdtemp())
            >>> sorted(path.name for path in folder.iterdir())
            ['config.json', 'model.weights.h5']
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        # The weights alone, without a training optimizer's state: a bare copy of the network.
        bare = build_keras_model(self.config)
        bare.set_weights(self.keras_model.get_weights())
        with atomic_path(folder / WEIGHTS_FILE, suffix=".weights.h5") as tmp:
            bare.save_weights(str(tmp), overwrite=True)
            digest = sha256_of(tmp)
        document: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "model": self.config.to_dict(),
            "vocabulary": self.vocab.get_config(),
            "weights": {"file": WEIGHTS_FILE, "sha256": digest, "parameters": self.count_params()},
            "metadata": self.metadata,
        }
        document["weights"]["network_sha256"] = _network_digest(document, digest)
        write_json(folder / CONFIG_FILE, document)
        return folder

    @classmethod
    def load(cls, directory: PathLike) -> BachNet:
        """Load a folder written by `save_pretrained`, checking the weights' sha256.

        Raises:
            ModelFileError: a missing, truncated, tampered or mismatched file.

        Examples:
            >>> import tempfile
            >>> import keras
            >>> keras.utils.set_random_seed(0)
            >>> config = ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16)
            >>> net = BachNet(config)
            >>> loaded = BachNet.load(net.save_pretrained(tempfile.mkdtemp()))
            >>> loaded.config == net.config, np.allclose(loaded.logits([1, 2]), net.logits([1, 2]))
            (True, True)
        """
        folder = Path(directory)
        config_path = folder / CONFIG_FILE
        if not config_path.is_file():
            raise ModelFileError(f"{folder}: no {CONFIG_FILE} (not a saved bachnet model)")
        try:
            document = json.loads(config_path.read_text(encoding="utf-8"))
            if not isinstance(document, dict):
                raise TypeError(f"expected a JSON object, got {type(document).__name__}")
            version = document.get("format", 1)
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise ValueError(f"format {version!r} is not a format version (1, 2, ...)")
            if version > FORMAT_VERSION:
                raise ValueError(
                    f"format {version!r} is newer than this bachnet reads ({FORMAT_VERSION}); "
                    "upgrade bachnet"
                )
            _validate_schema(document)
            config = ModelConfig.from_dict(document["model"])
            vocab = Vocabulary.from_config(document["vocabulary"])
            if vocab.size != config.vocab_size:
                raise ValueError(
                    f"the vocabulary has {vocab.size} ids but the model {config.vocab_size}"
                )
            expected = document["weights"]["sha256"]
            name = document["weights"].get("file", WEIGHTS_FILE)
            metadata = document.get("metadata", {})
            if not isinstance(metadata, dict):
                raise TypeError(f"metadata must be a JSON object, got {type(metadata).__name__}")
            if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
                raise ValueError(f"weights file {name!r} must be a plain file name in the folder")
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
        if actual != expected:
            raise ModelFileError(
                f"{weights}: sha256 {actual} does not match {expected} recorded in {CONFIG_FILE} "
                "(the file is truncated, tampered with or from another model)"
            )
        try:
            net = cls(config, vocab, metadata=metadata)
        except ValueError as error:
            raise ModelFileError(f"{config_path}: {error}") from None
        recorded = document["weights"].get("parameters")
        if isinstance(recorded, int) and recorded != net.count_params():
            raise ModelFileError(
                f"{weights}: holds {recorded:,} parameters but the model in {CONFIG_FILE} has "
                f"{net.count_params():,} (the config does not match the weights)"
            )
        try:
            net.keras_model.load_weights(str(weights))
        except Exception as error:  # h5py / keras raise many kinds on a mismatch
            detail = " ".join(str(error).split())  # Keras quotes whole tensors: keep it short
            detail = detail if len(detail) <= 300 else detail[:300] + " ..."
            raise ModelFileError(
                f"{weights}: does not fit the model in {CONFIG_FILE} ({detail})"
            ) from None
        return net

    @classmethod
    def from_pretrained(cls, name_or_path: PathLike | None = None) -> BachNet:
        """A trained model: the bundled default, a named preset, a URL or a local folder.

        Args:
            name_or_path: ``None`` for the default preset shipped inside the package (works
                offline); a preset name (see ``bachnet models``); an ``https://`` URL of a
                ``.zip`` of a saved model; or a folder written by `save_pretrained`.

        Raises:
            ModelFileError: bad files. ValueError: an unknown name.

        Examples:
            >>> net = BachNet.from_pretrained()  # doctest: +SKIP
        """
        from .pretrained import resolve

        return cls.load(resolve(name_or_path))


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every ``config.json`` is checked against on load.

    Shipped as ``bachnet/config.schema.json``; `BachNet.load` checks the format version
    first (so a newer file is named as such), then this schema, then the values' meaning.

    Examples:
        >>> schema = config_schema()
        >>> schema["required"], schema["properties"]["format"]["maximum"] == FORMAT_VERSION
        (['model', 'vocabulary', 'weights'], True)
    """
    from importlib import resources

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
        raise ValueError(f"{where}: {detail} (see bachnet/config.schema.json)")


def _logsumexp(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    top = x.max(axis=-1, keepdims=True)
    total: npt.NDArray[np.float64] = top + np.log(np.exp(x - top).sum(axis=-1, keepdims=True))
    return total


def _network_digest(document: dict[str, Any], weights_sha256: str) -> str:
    """sha256 of what fixes the network's meaning: its model and vocabulary sections and its
    weights' hash (canonical JSON). Recorded at save, checked at load."""
    import hashlib

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
