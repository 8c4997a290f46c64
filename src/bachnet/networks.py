"""Model types: each builds its Keras network and owns its initial state and one-token step.

Every type honours one contract: ``keras_model(ids)`` maps ``(batch, time)`` token ids to
next-token logits ``(batch, time, vocab)`` in the stream's own order (S, A, T, B per 16th
step), for windows that start on a beat (a multiple of `BEAT` tokens into a piece, as the
JSB data is beat-aligned from step 0). A type that needs positions derives them from that
alignment. For fast generation each type also gives `Network.initial_state` and
`Network.step` (the idea of keras-hub's ``call_with_cache``): one token in, its logits and the
new state out. Generation, evaluation, samplers and rules only use this surface, so a new type
is one new class registered in `NETWORKS`.

Built in:

* ``"lstm"``: token embedding -> stacked LSTMs -> dense head (the original BachNet).
* ``"beat_lstm"``: the same, plus a learned embedding of each token's place in the beat
  (its voice x its step's 16th position: 16 values) added to the token embedding, and one
  beat of silence before every training piece, so that a piece starts on a beat. The model
  knows which voice it writes and where the beat is, instead of inferring both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import keras
from keras import ops

from .aliases import Tensor

if TYPE_CHECKING:
    from .config import ModelConfig

__all__ = [
    "BEAT",
    "NETWORKS",
    "BeatLSTMNetwork",
    "BeatPosition",
    "LSTMNetwork",
    "Network",
    "network_for",
]

BEAT = 16
"""Tokens per quarter-note beat: 4 sixteenth steps x 4 voices."""

StepFn = Callable[[Tensor, Tensor, list[Tensor]], tuple[Tensor, list[Tensor]]]
"""``(token ids (batch,), stream index (scalar), states) -> (logits (batch, vocab), states)``."""


@keras.saving.register_keras_serializable(package="bachnet")
class BeatPosition(keras.layers.Layer):  # type: ignore[misc]
    """Each token's place in its beat: ``(batch, time)`` ids -> ``(batch, time)`` ``t mod period``.

    Examples:
        >>> import numpy as np
        >>> BeatPosition(period=4)(np.zeros((1, 6), "int32")).numpy().tolist()
        [[0, 1, 2, 3, 0, 1]]
    """

    def __init__(self, period: int = BEAT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.period = int(period)

    def call(self, tokens: Tensor) -> Tensor:
        """Positions ``0, 1, ..., period - 1, 0, ...`` along the time axis."""
        positions = ops.mod(ops.arange(ops.shape(tokens)[1], dtype="int32"), self.period)
        return ops.broadcast_to(ops.expand_dims(positions, 0), ops.shape(tokens))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "period": self.period}


class Network:
    """A model type: how to build it, how to start and advance it one token at a time.

    Attributes:
        name: the ``architecture`` value in `bachnet.ModelConfig` and ``config.json``.
        lead: silence tokens read before a piece starts (generation without a prompt and
            evaluation read them first; training pieces are padded with them when
            ``pad_lead`` is set).
        align: training windows start at multiples of this many tokens into a piece.
        pad_lead: training pieces start with ``lead`` silence tokens.
    """

    name: ClassVar[str] = ""
    lead: ClassVar[int] = 4
    align: ClassVar[int] = 1
    pad_lead: ClassVar[bool] = False

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    def build(self) -> keras.Model:
        """The Keras model: ids ``(batch, time)`` -> logits ``(batch, time, vocab)``."""
        raise NotImplementedError

    def initial_state(self, batch: Tensor) -> list[Tensor]:
        """The state before the first token, for ``batch`` streams."""
        raise NotImplementedError

    def step(self, model: keras.Model) -> StepFn:
        """One token through ``model``'s own layers (its logits equal the full model's)."""
        raise NotImplementedError


class LSTMNetwork(Network):
    """Embedding -> ``len(lstm_units)`` x [Dropout, LSTM, LayerNormalization] -> Dense -> logits.

    Built from stock `keras.layers` (no Lambda layers), so it runs on the TensorFlow, JAX and
    PyTorch backends and its weights load without executing code.

    Examples:
        >>> from bachnet import ModelConfig
        >>> config = ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4)
        >>> model = LSTMNetwork(config).build()
        >>> model.output_shape, [layer.name for layer in model.layers][1:4]
        ((None, None, 47), ['embedding', 'dropout_1', 'lstm_1'])
    """

    name = "lstm"
    positions = False

    def build(self) -> keras.Model:
        config = self.config
        tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
        x = keras.layers.Embedding(config.vocab_size, config.embedding_dim, name="embedding")(
            tokens
        )
        if self.positions:
            where = BeatPosition(BEAT, name="beat_position")(tokens)
            place = keras.layers.Embedding(BEAT, config.embedding_dim, name="position")(where)
            x = keras.layers.Add(name="token_and_position")([x, place])
        for i, units in enumerate(config.lstm_units, start=1):
            x = keras.layers.Dropout(config.dropout, name=f"dropout_{i}")(x)
            x = keras.layers.LSTM(units, return_sequences=True, name=f"lstm_{i}")(x)
            if config.layer_norm:
                x = keras.layers.LayerNormalization(name=f"norm_{i}")(x)
        if config.dense_units:
            x = keras.layers.Dense(config.dense_units, activation="relu", name="dense")(x)
        logits = keras.layers.Dense(config.vocab_size, name="logits")(x)
        return keras.Model(tokens, logits, name="bachnet")

    def initial_state(self, batch: Tensor) -> list[Tensor]:
        """``[h1, c1, h2, c2, ...]``, all zeros."""
        return [ops.zeros((batch, units)) for units in self.config.lstm_units for _ in range(2)]

    def step(self, model: keras.Model) -> StepFn:
        """One token: ``(ids (batch,), index, [h1, c1, ...]) -> (logits, [h1, c1, ...])``.

        Examples:
            >>> import numpy as np
            >>> from bachnet import BachNet, ModelConfig
            >>> keras.utils.set_random_seed(0)
            >>> config = ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4)
            >>> net = BachNet(config)
            >>> step = net.network.step(net.keras_model)
            >>> states = net.network.initial_state(1)
            >>> for index, token in enumerate((37, 32, 29)):
            ...     logits, states = step(np.array([token], "int32"), index, states)
            >>> bool(np.allclose(logits, net.logits([[37, 32, 29]])[:, -1], atol=1e-5))
            True
        """
        config = self.config
        embedding = model.get_layer("embedding")
        position = model.get_layer("position") if self.positions else None
        recurrent = [
            (
                model.get_layer(f"lstm_{i}"),
                model.get_layer(f"norm_{i}") if config.layer_norm else None,
            )
            for i in range(1, len(config.lstm_units) + 1)
        ]
        head = [model.get_layer("dense")] if config.dense_units else []
        head.append(model.get_layer("logits"))

        def step(token: Tensor, index: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
            x = embedding(token)
            if position is not None:
                place = ops.mod(ops.cast(index, "int32"), BEAT)
                x = x + position(ops.full(ops.shape(token), place, dtype="int32"))
            new_states: list[Tensor] = []
            for i, (lstm, norm) in enumerate(recurrent):
                x, (h, c) = lstm.cell(x, [states[2 * i], states[2 * i + 1]], training=False)
                new_states += [h, c]
                if norm is not None:
                    x = norm(x)
            for layer in head:
                x = layer(x)
            return x, new_states

        return step


class BeatLSTMNetwork(LSTMNetwork):
    """`LSTMNetwork` plus an embedding of each token's place in the beat (16 values).

    The place of token ``t`` of a beat-aligned stream is ``t mod 16``: its voice (``t mod 4``)
    and its step's 16th position in the beat (``t // 4 mod 4``).

    Examples:
        >>> from bachnet import ModelConfig
        >>> config = ModelConfig(architecture="beat_lstm", lstm_units=(8,), embedding_dim=4)
        >>> "position" in [layer.name for layer in BeatLSTMNetwork(config).build().layers]
        True
    """

    name = "beat_lstm"
    positions = True
    lead = BEAT
    align = BEAT
    pad_lead = True


NETWORKS: dict[str, type[Network]] = {cls.name: cls for cls in (LSTMNetwork, BeatLSTMNetwork)}
"""Model types by their ``architecture`` name."""


def network_for(config: ModelConfig) -> Network:
    """The model type that ``config.architecture`` names.

    Raises:
        ValueError: an unknown architecture.

    Examples:
        >>> from bachnet import ModelConfig
        >>> network_for(ModelConfig()).name
        'lstm'
    """
    try:
        return NETWORKS[config.architecture](config)
    except KeyError:
        known = ", ".join(sorted(NETWORKS))
        raise ValueError(f"unknown architecture {config.architecture!r} (known: {known})") from None
