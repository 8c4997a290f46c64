"""Hyper-parameters as data: `ModelConfig` (the network) and `TrainConfig` (its training)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bachnet.errors import InputError, LimitError

__all__ = [
    "MAX_PARAMETERS",
    "ModelConfig",
    "TrainConfig",
]


_C = TypeVar("_C", "ModelConfig", "TrainConfig")


def _from_dict(cls: type[_C], data: Mapping[str, Any]) -> _C:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
    values = dict(data)
    for name in ("lstm_units", "teachers", "shifts"):
        if name in values:
            values[name] = tuple(values[name])
    return cls(**values)


MAX_PARAMETERS = 200_000_000
"""The largest network `ModelConfig` accepts (800 MB of float32 weights); checked before any
layer is built, so an untrusted ``config.json`` cannot make bachnet allocate without bound."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise InputError(message)


@dataclass(frozen=True)
class ModelConfig:
    """Every architecture hyper-parameter of `BachNet`; the defaults: the original BachNet.

    Embedding -> ``len(lstm_units)`` x [Dropout, LSTM, LayerNormalization] -> Dense(relu)
    -> Dense(vocab_size) logits. The defaults have 5,663,663 parameters.

    Attributes:
        architecture: the model type (see `bachnet.model.networks`): ``"lstm"`` (the original
            BachNet), ``"beat_lstm"`` (the same, knowing each token's voice and its
            place in the beat), ``"voice_lstm"`` (also what the voice to write holds and for
            how long), ``"bar_lstm"`` (``voice_lstm`` knowing the place in the 4/4 bar),
            ``"meter_lstm"`` (``bar_lstm`` knowing the bar of each piece's metre),
            ``"phrase_lstm"`` (``meter_lstm`` hearing how far ahead the next fermata is) or
            ``"step_lstm"`` (one LSTM step per chord).
        vocab_size: token ids (silence + 46 pitches = 47).
        embedding_dim: size of the token embedding.
        lstm_units: units of each LSTM layer, bottom to top.
        dropout: dropout rate applied to each LSTM layer's input.
        layer_norm: layer normalisation after each LSTM.
        dense_units: units of the ReLU layer before the logits (0 = none).
        window: tokens per training window (also the original BachNet's generation context).
        shifts: semitone shifts the network reads every piece at, side by side, averaging
            what the copies predict (`bachnet.model.transposed`; an ensemble with no new
            weights, e.g. ``(-1, 0, 1)``); ``()`` (the default) reads each piece once.
            ``0`` must be one of them; not for ``step_lstm``.

    Examples:
        >>> ModelConfig(lstm_units=(256, 256)).lstm_units
        (256, 256)
        >>> ModelConfig(dropout=1.5)
        Traceback (most recent call last):
        ...
        bachnet.errors.InputError: dropout must be in [0, 1), got 1.5
    """

    architecture: str = "lstm"
    vocab_size: int = 47
    embedding_dim: int = 128
    lstm_units: tuple[int, ...] = (512, 512, 512)
    dropout: float = 0.2
    layer_norm: bool = True
    dense_units: int = 256
    window: int = 256
    shifts: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _check(
            isinstance(self.architecture, str) and bool(self.architecture),
            f"architecture must be a model type's name, got {self.architecture!r}",
        )
        _check(self.vocab_size >= 2, f"vocab_size must be >= 2, got {self.vocab_size}")
        _check(self.embedding_dim >= 1, f"embedding_dim must be >= 1, got {self.embedding_dim}")
        _check(
            isinstance(self.lstm_units, tuple) and len(self.lstm_units) >= 1,
            f"lstm_units must be a non-empty tuple of layer sizes, got {self.lstm_units!r}",
        )
        for units in self.lstm_units:
            _check(
                isinstance(units, int) and units >= 1, f"every LSTM needs >= 1 unit, got {units!r}"
            )
        _check(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")
        _check(self.dense_units >= 0, f"dense_units must be >= 0, got {self.dense_units}")
        _check(self.window >= 1, f"window must be >= 1, got {self.window}")
        _check(
            isinstance(self.shifts, tuple)
            and all(isinstance(s, int) and -12 <= s <= 12 for s in self.shifts)
            and len(set(self.shifts)) == len(self.shifts)
            and (not self.shifts or 0 in self.shifts),
            f"shifts must be distinct semitone shifts in -12..12 that include 0, got "
            f"{self.shifts!r}",
        )
        _check(
            not self.shifts or self.architecture != "step_lstm",
            "a step_lstm cannot average transpositions (shifts); use a token-level model",
        )
        if self.parameters > MAX_PARAMETERS:
            raise LimitError(
                f"this configuration has {self.parameters:,} parameters, more than the "
                f"{MAX_PARAMETERS:,} bachnet builds (lstm_units={list(self.lstm_units)}, "
                f"embedding_dim={self.embedding_dim}, dense_units={self.dense_units})"
            )

    @property
    def parameters(self) -> int:
        """The network's parameter count, worked out from the configuration (nothing is built).

        Examples:
            >>> ModelConfig().parameters  # the original BachNet
            5663663
            >>> ModelConfig(architecture="beat_lstm", lstm_units=(384, 384)).parameters
            2089391
        """
        if self.architecture == "step_lstm":
            return self._step_parameters()
        total = self.vocab_size * self.embedding_dim
        if self.architecture in ("beat_lstm", "voice_lstm"):
            total += 16 * self.embedding_dim  # the position-in-beat embedding
        if self.architecture == "bar_lstm":
            total += 64 * self.embedding_dim  # the position-in-bar embedding
        if self.architecture in ("meter_lstm", "phrase_lstm"):
            total += 208 * self.embedding_dim  # the places in 4/4, 3/4 and 3/2 bars
        if self.architecture == "phrase_lstm":
            total += 66 * self.embedding_dim  # steps to the next fermata, or no plan
        if self.architecture in ("voice_lstm", "bar_lstm", "meter_lstm", "phrase_lstm"):
            # the voice's last token; held 0-15
            total += (self.vocab_size + 1 + 16) * self.embedding_dim
        width = self.embedding_dim
        for units in self.lstm_units:
            total += 4 * units * (width + units + 1)
            if self.layer_norm:
                total += 2 * units
            width = units
        if self.dense_units:
            total += (width + 1) * self.dense_units
            width = self.dense_units
        return total + (width + 1) * self.vocab_size

    def _step_parameters(self) -> int:
        chord = 4 * self.embedding_dim
        total = 4 * self.vocab_size * self.embedding_dim + 4 * chord  # voices; 16th position
        width = chord
        for units in self.lstm_units:
            total += 4 * units * (width + units + 1) + (2 * units if self.layer_norm else 0)
            width = units
        width += chord + 4  # the head also reads the chosen voices and the voice to write
        if self.dense_units:
            total += (width + 1) * self.dense_units
            width = self.dense_units
        return total + (width + 1) * self.vocab_size

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields.

        Examples:
            >>> data = ModelConfig(lstm_units=(8, 8)).to_dict()
            >>> data["lstm_units"], data["window"]
            ([8, 8], 256)
        """
        data = dataclasses.asdict(self)
        data["lstm_units"] = list(self.lstm_units)
        if self.shifts:
            data["shifts"] = list(self.shifts)
        else:  # a model that reads each piece once writes the config.json it always wrote
            del data["shifts"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Inverse of `to_dict`; unknown keys are an error.

        Examples:
            >>> ModelConfig.from_dict({"lstm_units": [8], "window": 16}).lstm_units
            (8,)
            >>> ModelConfig.from_dict({"units": 8})
            Traceback (most recent call last):
            ...
            bachnet.errors.InputError: unknown ModelConfig field(s): units
        """
        return _from_dict(cls, data)


@dataclass(frozen=True)
class TrainConfig:
    """Every training hyper-parameter.

    The learning rate follows ``learning_rate * 0.1 ** (epoch / decay_epochs)``. Windows are
    random (with transposition by up to ``transpose`` semitones) unless ``stride`` is set,
    which cuts the original BachNet's fixed windows every ``stride`` tokens.

    Attributes:
        epochs: the most epochs to run.
        batch_size: windows per batch.
        learning_rate: Nadam's initial learning rate.
        decay_epochs: epochs for the learning rate to fall tenfold (``inf``: constant).
        clipnorm: gradient clipping by global norm (0 = off).
        weight_decay: decoupled weight decay of Nadam (0 = off).
        ema: momentum of an exponential moving average of the weights, updated every batch
            (0 = off; e.g. 0.995 averages over the last ~200 batches). Validation, early
            stopping and the saved model use the averaged weights; training steps the raw ones.
        patience: early stopping after this many epochs without a better validation loss.
        stride: fixed windows every ``stride`` tokens; ``None`` for random windows.
        transpose: largest random transposition in semitones (random windows only).
        seed: seeds windows, shuffling and initial weights.
        teachers: models (preset names or folders) to distil: the loss is cross-entropy
            against ``distill`` x their averaged prediction (the mean of their log-probabilities,
            renormalised) + ``1 - distill`` x the true token (knowledge distillation, Hinton et
            al. 2015); empty: plain training. Validation is always scored on the true tokens.
        distill: the teachers' share of the training target, in [0, 1).

    Examples:
        >>> TrainConfig(epochs=5).learning_rate_at(0)
        0.001
    """

    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-3
    decay_epochs: float = math.inf
    clipnorm: float = 1.0
    weight_decay: float = 0.0
    ema: float = 0.0
    patience: int = 10
    stride: int | None = None
    transpose: int = 6
    seed: int = 0
    teachers: tuple[str, ...] = ()
    distill: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        _check(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        _check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        _check(
            math.isfinite(self.learning_rate) and self.learning_rate > 0,
            f"learning_rate must be a finite number > 0, got {self.learning_rate}",
        )
        _check(self.decay_epochs > 0, f"decay_epochs must be > 0, got {self.decay_epochs}")
        _check(
            math.isfinite(self.clipnorm) and self.clipnorm >= 0,
            f"clipnorm must be a finite number >= 0, got {self.clipnorm}",
        )
        _check(
            math.isfinite(self.weight_decay) and self.weight_decay >= 0,
            f"weight_decay must be a finite number >= 0, got {self.weight_decay}",
        )
        _check(
            math.isfinite(self.ema) and 0 <= self.ema < 1,
            f"ema must be a momentum in [0, 1), got {self.ema}",
        )
        _check(self.patience >= 1, f"patience must be >= 1, got {self.patience}")
        _check(self.stride is None or self.stride >= 1, f"stride must be >= 1, got {self.stride}")
        _check(
            0 <= self.transpose <= 24, f"transpose must be in 0..24 semitones, got {self.transpose}"
        )
        _check(
            math.isfinite(self.distill) and 0 <= self.distill < 1,
            f"distill must be a share in [0, 1), got {self.distill}",
        )

    def learning_rate_at(self, epoch: int) -> float:
        """The scheduled learning rate of a (0-based) epoch.

        Examples:
            >>> config = TrainConfig(learning_rate=1e-3, decay_epochs=10)
            >>> [round(config.learning_rate_at(epoch), 6) for epoch in (0, 10, 20)]
            [0.001, 0.0001, 1e-05]
        """
        return float(self.learning_rate * 0.1 ** (epoch / self.decay_epochs))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (an infinite ``decay_epochs`` becomes ``null``).

        Examples:
            >>> data = TrainConfig(epochs=5).to_dict()
            >>> data["epochs"], data["decay_epochs"]
            (5, None)
        """
        data = dataclasses.asdict(self)
        if math.isinf(self.decay_epochs):
            data["decay_epochs"] = None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Inverse of `to_dict`; unknown keys are an error.

        Examples:
            >>> TrainConfig.from_dict({"epochs": 5, "decay_epochs": None}).decay_epochs
            inf
            >>> config = TrainConfig(batch_size=32)
            >>> TrainConfig.from_dict(config.to_dict()) == config
            True
        """
        values = dict(data)
        if values.get("decay_epochs", 0) is None:
            values["decay_epochs"] = math.inf
        return _from_dict(cls, values)
