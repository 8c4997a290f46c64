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
* ``"voice_lstm"``: ``beat_lstm`` plus, for the voice it writes next, that voice's own token
  one step earlier and how many steps it has held it (0-15, TonicNet's repetition counter),
  each embedded and added to the input. The LSTMs need not carry either across the three
  tokens in between.
* ``"bar_lstm"``: ``voice_lstm`` knowing each token's place in the 4/4 bar (64 values), each
  piece read from the bar line before its pickup.
* ``"meter_lstm"``: ``bar_lstm`` knowing the bar of the piece's own metre: 4/4 (64 places),
  3/4 (48) and 3/2 (96) each have their own places. The metre travels with the ids the full
  model reads (`Network.encode`) and in the state of its step (`Network.initial_state`).
* ``"phrase_lstm"``: ``meter_lstm`` that hears where the piece's phrases end: each token's
  16th step is also read as how many steps ahead the next fermata stands (0 to
  `PHRASE_STEPS` - 1, or none that near), embedded and added to the input, as DeepBach reads
  its fermata track. A piece whose fermatas are not known reads "no plan" instead (row 0),
  so one network writes with and without a phrase plan. The plan travels with the ids the full
  model reads (`Network.encode`) and in the state of its step (`Network.initial_state`).
* ``"step_lstm"``: one recurrent step per 16th-note step instead of per token. The LSTMs
  read each whole chord (its four voice embeddings side by side, plus the step's 16th
  position in the beat); a small head then writes the next chord voice by voice, from the
  LSTM's output, the voices of that chord already chosen and which voice comes next. Four
  times fewer recurrent steps per token than the token-level types.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import keras
import numpy as np
import numpy.typing as npt
from keras import ops

from bachnet.core.aliases import StepFn, Tensor
from bachnet.errors import InputError
from bachnet.model.transposed import (
    TranspositionCopies,
    TranspositionMixture,
    shifted_states,
    shifted_step,
)
from bachnet.music.grid import METERS, bar_steps

if TYPE_CHECKING:
    from bachnet.model.config import ModelConfig

__all__ = [
    "BAR",
    "BEAT",
    "MARK_WIDTH",
    "METER_FIRST_ROW",
    "NETWORKS",
    "PHRASE_ROWS",
    "PHRASE_STEPS",
    "BeatLSTMNetwork",
    "BeatPosition",
    "LSTMNetwork",
    "MeterLSTMNetwork",
    "MeterPosition",
    "Network",
    "PhraseLSTMNetwork",
    "PhrasePosition",
    "StepLSTM",
    "StepLSTMNetwork",
    "VoiceContext",
    "VoiceLSTMNetwork",
    "fermata_marks",
    "meter_weights",
    "network_for",
    "phrase_places",
    "phrase_weights",
]

VOICES = 4
"""Tokens per 16th-note step: soprano, alto, tenor, bass."""

BEAT = 16
"""Tokens per quarter-note beat: 4 sixteenth steps x 4 voices."""

BAR = 64
"""Tokens per 4/4 bar: 16 sixteenth steps x 4 voices."""

HELD = 16
"""Values of the held-steps input of ``voice_lstm``: 0..15 steps (longer holds count as 15)."""

METER_FIRST_ROW: dict[str, int] = {
    "4/4": 0,
    "2/2": 0,
    "2/4": 0,
    "3/4": 64,
    "6/8": 64,
    "3/2": 112,
    "6/4": 112,
    "12/8": 112,
}
"""Where ``meter_lstm``'s places of a metre begin in its place embedding; a bar of the metre
takes ``4 * bar_steps(meter)`` rows from there. Bach's 4/4, 3/4 and 3/2 each have their own
rows (208 in all); a metre of the same length shares them (2/2 the 4/4 rows, 6/8 the 3/4
ones, 6/4 and 12/8 the 3/2 ones, 2/4 the first half bar of 4/4)."""

METER_ROWS = 208
"""Rows of ``meter_lstm``'s place embedding: 64 (4/4) + 48 (3/4) + 96 (3/2)."""

PHRASE_STEPS = 64
"""``phrase_lstm`` hears the next fermata up to this many 16th steps ahead (four 4/4 bars,
longer than all but a few of Bach's phrases)."""

PHRASE_ROWS = PHRASE_STEPS + 2
"""Rows of ``phrase_lstm``'s phrase embedding: 0 no plan known; ``1 + d`` the next fermata
``d`` steps ahead (``d < PHRASE_STEPS``); the last, none that near."""


def phrase_places(steps: int, fermatas: Sequence[int] | None) -> npt.NDArray[np.int32]:
    """Each of ``steps`` steps' row in ``phrase_lstm``'s phrase embedding: 0 for every step
    when ``fermatas`` is ``None`` (no plan known), else ``1 +`` the steps to the first fermata
    at or after it (a fermata's own step: 1), `PHRASE_ROWS` - 1 when none is that near.

    Examples:
        >>> phrase_places(6, [2, 4]).tolist(), phrase_places(3, None).tolist()
        ([3, 2, 1, 2, 1, 65], [0, 0, 0])
    """
    if fermatas is None:
        return np.zeros(steps, np.int32)
    marks = np.sort(np.asarray(list(fermatas), np.int64))
    at = np.arange(steps)
    upcoming = np.searchsorted(marks, at)
    ahead = np.full(steps, PHRASE_STEPS, np.int64)
    has = upcoming < len(marks)
    ahead[has] = marks[upcoming[has]] - at[has]
    return (1 + np.minimum(ahead, PHRASE_STEPS)).astype(np.int32)


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


@keras.saving.register_keras_serializable(package="bachnet")
class VoiceContext(keras.layers.Layer):  # type: ignore[misc]
    """What the next token's voice holds: ``(batch, time)`` ids -> its token a step earlier and
    how many steps before that it held the same token.

    At stream position ``t`` the next token is ``t + 1``; its voice wrote token ``t - 3`` one
    step (four tokens) earlier. Outside the window that token is unknown: id ``pad`` (the
    vocabulary size), held 0.

    Examples:
        >>> import numpy as np
        >>> tokens = np.array([[5, 1, 1, 1, 5, 2, 2, 2, 5, 3, 3, 3, 6, 4]], "int32")
        >>> before, held = VoiceContext(pad=47)(tokens)
        >>> before.numpy().tolist()
        [[47, 47, 47, 5, 1, 1, 1, 5, 2, 2, 2, 5, 3, 3]]
        >>> held.numpy().tolist()
        [[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0]]
    """

    def __init__(self, pad: int, horizon: int = HELD - 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pad = int(pad)
        self.horizon = int(horizon)

    def _shift(self, tokens: Tensor, by: int) -> Tensor:
        length = ops.shape(tokens)[1]
        padded = ops.pad(tokens, ((0, 0), (by, 0)), constant_values=self.pad)
        return padded[:, :length]

    def call(self, tokens: Tensor) -> Tensor:
        """``(before, held)``, both ``(batch, time)`` int32."""
        tokens = ops.cast(tokens, "int32")
        before = self._shift(tokens, VOICES - 1)
        known = ops.cast(before != self.pad, "int32")
        alive = known
        held = ops.zeros_like(before)
        for k in range(1, self.horizon + 1):
            earlier = self._shift(tokens, VOICES - 1 + VOICES * k)
            alive = alive * ops.cast(earlier == before, "int32")
            held = held + alive
        return before, held

    def compute_output_shape(
        self, input_shape: tuple[int | None, ...]
    ) -> tuple[tuple[int | None, ...], tuple[int | None, ...]]:
        return input_shape, input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pad": self.pad, "horizon": self.horizon}


@keras.saving.register_keras_serializable(package="bachnet")
class MeterPosition(keras.layers.Layer):  # type: ignore[misc]
    """Ids that carry their piece's metre -> ``(tokens, places)``.

    An id is ``token + vocab_size * code``, ``code`` the metre's index in
    `bachnet.music.grid.METERS` (`Network.encode`; a ``phrase_lstm`` adds its phrase row
    times ``len(METERS)`` to the code, `PhrasePosition`); a stream starts on a bar line, so the
    place of token ``t`` is the metre's first row (`METER_FIRST_ROW`) plus ``t`` modulo its bar.

    Examples:
        >>> import numpy as np
        >>> ids = np.array([[1, 2, 3, 4], [48, 49, 50, 51]], "int32")  # 4/4; 3/4 (code 1)
        >>> tokens, places = MeterPosition(47)(ids)
        >>> tokens.numpy().tolist(), places.numpy().tolist()
        ([[1, 2, 3, 4], [1, 2, 3, 4]], [[0, 1, 2, 3], [64, 65, 66, 67]])
    """

    def __init__(self, vocab_size: int = 47, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)

    def call(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        """Plain token ids and each one's row in the place embedding."""
        ids = ops.cast(ids, "int32")
        code = ops.floor_divide(ids, self.vocab_size)
        tokens = ids - code * self.vocab_size
        first, bar = meter_rows(ops.mod(code, len(METERS)))
        time = ops.expand_dims(ops.arange(ops.shape(ids)[1], dtype="int32"), 0)
        return tokens, first + ops.mod(time, bar)

    def compute_output_shape(
        self, input_shape: tuple[int | None, ...]
    ) -> tuple[tuple[int | None, ...], tuple[int | None, ...]]:
        return input_shape, input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size}


@keras.saving.register_keras_serializable(package="bachnet")
class PhrasePosition(keras.layers.Layer):  # type: ignore[misc]
    """Ids that carry a phrase plan -> each one's row in the phrase embedding.

    An id is ``token + vocab_size * (metre code + len(METERS) * row)``, ``row`` the token's
    step's `phrase_places` row (`Network.encode`).

    Examples:
        >>> import numpy as np
        >>> ids = np.array([[1, 47 * 8 + 2, 47 * 17 + 3]], "int32")  # rows 0, 1 (4/4), 2 (3/4)
        >>> PhrasePosition(47)(ids).numpy().tolist()
        [[0, 1, 2]]
    """

    def __init__(self, vocab_size: int = 47, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)

    def call(self, ids: Tensor) -> Tensor:
        """Each id's phrase row."""
        return ops.floor_divide(ops.cast(ids, "int32"), self.vocab_size * len(METERS))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size}


def _known(meter: str) -> str:
    """``meter`` without spaces, once `bachnet.music.grid.bar_steps` has checked it."""
    bar_steps(meter)
    return meter.replace(" ", "")


def meter_rows(code: Tensor) -> tuple[Tensor, Tensor]:
    """The first place row and tokens per bar of metre ``code`` (any shape of int32 codes)."""
    first = ops.take(ops.convert_to_tensor([METER_FIRST_ROW[m] for m in METERS], "int32"), code)
    bars = [VOICES * bar_steps(meter) for meter in METERS]
    return first, ops.take(ops.convert_to_tensor(bars, "int32"), code)


class Network:
    """A model type: how to build it, how to start and advance it one token at a time.

    Attributes:
        name: the ``architecture`` value in `bachnet.ModelConfig` and ``config.json``.
        lead: silence tokens read before a piece starts (generation without a prompt and
            evaluation read them first; training pieces are padded with them when
            ``pad_lead`` is set).
        align: training windows start at multiples of this many tokens into a piece.
        pad_lead: training pieces start with ``lead`` silence tokens.
        period: tokens in the cycle of places the model knows (`BEAT`: the place in the
            beat; `BAR`: in the 4/4 bar); 0 for none.
        meters: the model knows the bar of each piece's own metre (``meter_lstm``); the
            others read every piece as 4/4.
        phrases: the model hears where the next fermata stands (``phrase_lstm``).
    """

    name: ClassVar[str] = ""
    lead: ClassVar[int] = 4
    align: ClassVar[int] = 1
    pad_lead: ClassVar[bool] = False
    period: ClassVar[int] = 0
    meters: ClassVar[bool] = False
    phrases: ClassVar[bool] = False

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    def bar_tokens(self, meter: str = "4/4") -> int:
        """Tokens in one bar of ``meter`` as the model counts them: its own for a model that
        knows metres, else a 4/4 bar's `BAR`.

        Examples:
            >>> from bachnet import ModelConfig
            >>> network_for(ModelConfig(architecture="meter_lstm")).bar_tokens("3/4")
            48
            >>> network_for(ModelConfig(architecture="bar_lstm")).bar_tokens("3/4")
            64
        """
        return VOICES * bar_steps(meter) if self.meters else BAR

    def bar_lines(self, meter: str = "4/4") -> bool:
        """Whether step 0 of the streams this model reads for a piece in ``meter`` is a bar
        line of that metre (`lead_for` puts it there): true of a model that knows the bar,
        in 4/4 or, if it knows metres, in any; a rule that watches the bar
        (`bachnet.generation.rules.Rule.in_stream`) needs it.

        Examples:
            >>> from bachnet import ModelConfig
            >>> bar = network_for(ModelConfig(architecture="bar_lstm"))
            >>> bar.bar_lines("4/4"), bar.bar_lines("3/4"), network_for(ModelConfig()).bar_lines()
            (True, False, False)
        """
        return self.period == BAR and (self.meters or VOICES * bar_steps(meter) == BAR)

    def meter_places(self, meter: str) -> tuple[int, int] | None:
        """The first place row and the tokens per bar of ``meter`` for a model that knows
        metres (metres alike in both read alike); ``None`` for the others.

        Examples:
            >>> from bachnet import ModelConfig
            >>> network_for(ModelConfig(architecture="meter_lstm")).meter_places("3/4")
            (64, 48)
        """
        return (METER_FIRST_ROW[_known(meter)], self.bar_tokens(meter)) if self.meters else None

    def meter_code(self, meter: str = "4/4") -> int:
        """The code a model that knows metres reads ``meter`` as (its index in
        `bachnet.music.grid.METERS`); 0 (4/4) for the others."""
        return METERS.index(_known(meter)) if self.meters else 0

    def encode(self, ids: Any, meter: str = "4/4", fermatas: Sequence[int] | None = None) -> Any:
        """``ids`` as the full model reads a piece in ``meter``: each id plus ``vocab_size``
        times the metre's code for a model that knows metres; unchanged for the others. A
        model that hears phrases (``phrase_lstm``) also reads each token's `phrase_places`
        row for ``fermatas``, the steps of the stream (counted from its first token, the
        silence before the piece included) that hold a fermata; ``None``: no plan known.

        Examples:
            >>> import numpy as np
            >>> from bachnet import ModelConfig
            >>> net = network_for(ModelConfig(architecture="meter_lstm"))
            >>> net.encode(np.array([0, 37]), "3/4").tolist()
            [47, 84]
        """
        code = self.meter_code(meter)
        if self.phrases and fermatas is not None:
            ids = np.asarray(ids)
            time = ids.shape[-1]
            rows = np.repeat(phrase_places(-(-time // VOICES), fermatas), VOICES)[:time]
            return ids + (code + len(METERS) * rows) * self.config.vocab_size
        return ids + code * self.config.vocab_size if code else ids

    def align_for(self, meter: str = "4/4") -> int:
        """Training windows of a piece in ``meter`` start at multiples of this many tokens:
        `align`, or a whole bar of the metre for a model that knows metres."""
        return self.bar_tokens(meter) if self.meters else self.align

    def lead_for(self, pickup: int, meter: str = "4/4") -> int:
        """Silence tokens before a piece that opens with ``pickup`` 16ths before its first
        bar line: `lead`, or for a model that knows the bar, enough to put step 0 of the
        stream on a bar line (a piece on a bar line gets a whole bar of silence).

        Examples:
            >>> from bachnet import ModelConfig
            >>> network_for(ModelConfig(architecture="bar_lstm")).lead_for(4)  # 12 steps
            48
            >>> network_for(ModelConfig(architecture="meter_lstm")).lead_for(4, "3/4")
            32
        """
        if self.period != BAR:
            return self.lead
        steps = self.bar_tokens(meter) // VOICES
        return VOICES * (steps - pickup % steps)

    def padding_for(self, pickup: int, meter: str = "4/4") -> int:
        """Silence tokens before a piece in training and scoring: `lead_for` its pickup when
        the model was trained with a lead (``pad_lead``), else none.

        Examples:
            >>> from bachnet import ModelConfig
            >>> network_for(ModelConfig()).padding_for(4), network_for(ModelConfig(
            ...     architecture="bar_lstm")).padding_for(4)
            (0, 48)
        """
        return self.lead_for(pickup, meter) if self.pad_lead else 0

    def prefix_for(self, pickup: int, meter: str = "4/4") -> int:
        """Silence tokens put before a prompt, so that its bar lines fall where the model
        expects them: 0, except for a model that knows the bar (then ``lead_for(pickup)``
        less a bar when the prompt starts on a bar line).

        Examples:
            >>> from bachnet import ModelConfig
            >>> bar = network_for(ModelConfig(architecture="bar_lstm"))
            >>> bar.prefix_for(4), bar.prefix_for(0)
            (48, 0)
        """
        if self.period != BAR:
            return 0
        return self.lead_for(pickup, meter) % self.bar_tokens(meter)

    def build(self) -> keras.Model:
        """The Keras model: ids ``(batch, time)`` -> logits ``(batch, time, vocab)``."""
        raise NotImplementedError

    def initial_state(
        self,
        batch: Tensor,
        meter: str = "4/4",
        fermatas: Sequence[Sequence[int] | None] | None = None,
    ) -> list[Tensor]:
        """The state before the first token, for ``batch`` streams of a piece in ``meter``
        (``fermatas``: each stream's phrase plan, read by a model that hears phrases)."""
        raise NotImplementedError

    def step(self, model: keras.Model, *, tables: bool = False, meter: str | None = None) -> StepFn:
        """One token through ``model``'s own layers (its logits equal the full model's).

        ``tables``: a model type may read part of its arithmetic from tables computed from
        the weights (see `LSTMNetwork.step`); only worth it inside a compiled loop, which
        computes them once before the loop. ``meter``: a model that knows metres reads
        the places of that metre's bar as constants of the step (one compiled program per
        metre, the cheapest) instead of from the metre's code in its state (any metre;
        ``None``); the streams must then be in that metre. Other models ignore it.
        """
        raise NotImplementedError

    def output_layer(self, model: keras.Model) -> keras.layers.Dense:
        """The ``Dense`` layer of ``model`` that writes the logits (scaled by calibration)."""
        layer: keras.layers.Dense = model.get_layer("logits")
        return layer


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
    voice_context = False

    def build(self) -> keras.Model:
        config = self.config
        ids = keras.Input(shape=(None,), dtype="int32", name="tokens")
        stream = ids
        if config.shifts:
            stream, valid = TranspositionCopies(config.shifts, config.vocab_size, name="copies")(
                ids
            )
        if self.meters:
            tokens, where = MeterPosition(config.vocab_size, name="meter_position")(stream)
        else:
            tokens = stream
        x = keras.layers.Embedding(config.vocab_size, config.embedding_dim, name="embedding")(
            tokens
        )
        if self.positions:
            if not self.meters:
                where = BeatPosition(self.period, name="beat_position")(tokens)
            rows = METER_ROWS if self.meters else self.period
            place = keras.layers.Embedding(rows, config.embedding_dim, name="position")(where)
            x = keras.layers.Add(name="token_and_position")([x, place])
        if self.phrases:
            rows = PhrasePosition(config.vocab_size, name="phrase_position")(stream)
            ahead = keras.layers.Embedding(PHRASE_ROWS, config.embedding_dim, name="phrase")(rows)
            x = keras.layers.Add(name="with_phrase")([x, ahead])
        if self.voice_context:
            before, held = VoiceContext(config.vocab_size, name="voice_context")(tokens)
            before = keras.layers.Embedding(
                config.vocab_size + 1, config.embedding_dim, name="voice_before"
            )(before)
            held = keras.layers.Embedding(HELD, config.embedding_dim, name="voice_held")(held)
            x = keras.layers.Add(name="with_voice_context")([x, before, held])
        for i, units in enumerate(config.lstm_units, start=1):
            x = keras.layers.Dropout(config.dropout, name=f"dropout_{i}")(x)
            x = keras.layers.LSTM(units, return_sequences=True, name=f"lstm_{i}")(x)
            if config.layer_norm:
                x = keras.layers.LayerNormalization(name=f"norm_{i}")(x)
        if config.dense_units:
            x = keras.layers.Dense(config.dense_units, activation="relu", name="dense")(x)
        logits = keras.layers.Dense(config.vocab_size, name="logits")(x)
        if config.shifts:
            logits = TranspositionMixture(config.shifts, config.vocab_size, name="mixture")(
                [logits, valid]
            )
        return keras.Model(ids, logits, name="bachnet")

    def _initial_state(
        self, batch: Tensor, meter: str = "4/4", marks: npt.NDArray[np.float32] | None = None
    ) -> list[Tensor]:
        """``[h1, c1, h2, c2, ...]``, all zeros (``voice_lstm`` adds one, see its class;
        ``meter_lstm`` one more: the metre's code, a float ``(batch, 1)``; ``phrase_lstm``
        one more: ``marks``, each stream's fermata steps, `fermata_marks`). NumPy arrays
        (float32): made without the backend, they cost nothing beside a compiled loop."""
        rows = int(batch)
        states: list[Tensor] = [
            np.zeros((rows, units), np.float32) for units in self.config.lstm_units for _ in "hc"
        ]
        if self.voice_context:
            nothing = [float(self.config.vocab_size)] * VOICES + [0.0] * VOICES
            states.append(np.tile(np.array([nothing], np.float32), (rows, 1)))
        if self.meters:
            states.append(np.full((rows, 1), float(self.meter_code(meter)), np.float32))
        if self.phrases:
            states.append(marks if marks is not None else fermata_marks(rows, None))
        return states

    def initial_state(
        self,
        batch: Tensor,
        meter: str = "4/4",
        fermatas: Sequence[Sequence[int] | None] | None = None,
    ) -> list[Tensor]:
        """The state of `_initial_state`; for a model that averages transpositions
        (``shifts``), each stream's copies side by side (`transposed.shifted_states`).
        ``fermatas``, for a model that hears phrases: one plan per stream (its fermatas'
        steps counted from the stream's first token; ``None`` for a stream without a plan),
        or ``None`` for no plan at all; other models ignore it."""
        count = len(self.config.shifts)
        marks = fermata_marks(int(batch), fermatas) if self.phrases else None
        if not count:
            return self._initial_state(batch, meter, marks)
        if marks is not None:
            marks = np.repeat(marks, count, axis=0)
        return shifted_states(self._initial_state(batch * count, meter, marks), count)

    def step(self, model: keras.Model, *, tables: bool = False, meter: str | None = None) -> StepFn:
        """One token: ``(ids (batch,), index, [h1, c1, ...]) -> (logits, [h1, c1, ...])``.

        With ``tables``, the first LSTM's input is read from tables instead of projecting the
        sum of the token's embeddings: each embedding times the layer's input kernel (the
        token's table with the bias added), one row of each summed. The same arithmetic in
        another order, so the logits agree to rounding. Inside a compiled loop (XLA moves
        the tables out of it: they are computed once per call) a token costs about 8 % less
        at batch 1 (`benchmarks/batch1.py`); anywhere else each call would compute the tables
        anew, so the default is off.

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
            >>> step = net.network.step(net.keras_model, tables=True)
            >>> states = net.network.initial_state(1)
            >>> for index, token in enumerate((37, 32, 29)):
            ...     same, states = step(np.array([token], "int32"), index, states)
            >>> bool(np.allclose(same, logits, atol=1e-5))
            True
        """
        config = self.config
        embedding = model.get_layer("embedding")
        position = model.get_layer("position") if self.positions else None
        period = self.period
        recurrent = [
            (
                model.get_layer(f"lstm_{i}"),
                model.get_layer(f"norm_{i}") if config.layer_norm else None,
            )
            for i in range(1, len(config.lstm_units) + 1)
        ]
        head = [model.get_layer("dense")] if config.dense_units else []
        head.append(model.get_layer("logits"))
        context = self.voice_context
        before_embedding = model.get_layer("voice_before") if context else None
        held_embedding = model.get_layer("voice_held") if context else None
        layers = len(recurrent)

        meters = self.meters
        fixed = None if meter is None else self.meter_places(meter)  # known now: constants
        phrase = model.get_layer("phrase") if self.phrases else None
        tail = 2 * layers + (1 if context else 0)  # where the metre's code (and plan) sit
        first_cell = recurrent[0][0].cell

        def table(layer: keras.layers.Embedding, rows: slice | None = None) -> Tensor:
            """``layer``'s embeddings (those of ``rows``) times the first LSTM's input
            kernel, the bias in the token's table."""
            weights = layer.embeddings if rows is None else layer.embeddings[rows]
            projected = ops.matmul(weights, first_cell.kernel)
            if layer is embedding and first_cell.use_bias:
                projected = projected + first_cell.bias
            return projected

        def embed(layer: keras.layers.Embedding, ids: Tensor) -> Tensor:
            """``layer``'s rows for ``ids``; with ``tables``, projected by the first LSTM."""
            return ops.take(table(layer), ids, axis=0) if tables else layer(ids)

        def step(token: Tensor, index: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
            x = embed(embedding, token)
            extra: list[Tensor] = []
            if position is not None:
                at = ops.cast(index, "int32")
                if fixed is not None:
                    first, bar = fixed
                elif meters:
                    first, bar = meter_rows(ops.cast(states[tail][:, 0], "int32"))
                else:
                    first, bar = 0, period
                streams = ops.zeros_like(ops.cast(token, "int32"))  # a place for each stream
                place = streams + ops.mod(at, bar)  # in the bar, from its first row
                if fixed is not None and tables:  # the table of that bar's places only
                    places = table(position, slice(first, first + bar))
                    x = x + ops.take(places, place, axis=0)
                else:
                    x = x + embed(position, place + first)
            if before_embedding is not None and held_embedding is not None:
                # The voices' last tokens, then their held counts (floats, so that every state
                # has one dtype), column 0 of each the voice of this token, column 1 the next
                # one's: the next voice's context is read straight from column 1, and the
                # columns turn by one. (Before any token all voices are alike: any index may
                # start.)
                voices = states[2 * layers]
                value = ops.expand_dims(ops.cast(token, voices.dtype), 1)
                held = ops.where(value == voices[:, :1], voices[:, VOICES : VOICES + 1] + 1.0, 0.0)
                before = ops.cast(voices[:, 1], "int32")
                count = ops.cast(ops.minimum(voices[:, VOICES + 1], HELD - 1), "int32")
                x = x + embed(before_embedding, before) + embed(held_embedding, count)
                extra = [
                    ops.concatenate([voices[:, 1:VOICES], value, voices[:, VOICES + 1 :], held], 1)
                ]
            if phrase is not None:
                marks = states[tail + 1]
                at = ops.cast(ops.floor_divide(ops.cast(index, "int32"), VOICES), marks.dtype)
                ahead = ops.where(marks >= at, marks - at, float(PHRASE_STEPS))
                near = ops.minimum(ops.min(ahead, axis=1), float(PHRASE_STEPS))
                row = ops.where(marks[:, 0] < 0, 0.0, 1.0 + near)
                x = x + embed(phrase, ops.cast(row, "int32"))
            new_states: list[Tensor] = []
            for i, (lstm, norm) in enumerate(recurrent):
                if tables and i == 0:
                    x, (h, c) = _projected_cell(lstm.cell, x, states[0], states[1])
                else:
                    x, (h, c) = lstm.cell(x, [states[2 * i], states[2 * i + 1]], training=False)
                new_states += [h, c]
                if norm is not None:
                    x = norm(x)
            for layer in head:
                x = layer(x)
            return x, new_states + extra + states[tail:]

        if config.shifts:
            return shifted_step(step, config.shifts, config.vocab_size)
        return step


def _projected_cell(
    cell: keras.layers.LSTMCell, projected: Tensor, h: Tensor, c: Tensor
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """``cell`` (Keras' ``LSTMCell`` at inference) one step on for an input already
    multiplied by its kernel, the bias added: ``(h, (h, c))``, as ``cell`` returns."""
    z = projected + ops.matmul(h, cell.recurrent_kernel)
    gate_in, gate_forget, candidate, gate_out = ops.split(z, 4, axis=-1)
    c = cell.recurrent_activation(gate_forget) * c + cell.recurrent_activation(
        gate_in
    ) * cell.activation(candidate)
    h = cell.recurrent_activation(gate_out) * cell.activation(c)
    return h, (h, c)


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
    period = BEAT


class VoiceLSTMNetwork(BeatLSTMNetwork):
    """`BeatLSTMNetwork` plus what the voice to write holds (`VoiceContext`).

    Its step state is ``[h1, c1, ..., voices (batch, 8)]``: each voice's last token, then how
    many steps each has held it, the voices turned so that column 0 of each is the voice of
    the next token read (floats, so that every state has one dtype).

    Examples:
        >>> import numpy as np
        >>> from bachnet import BachNet, ModelConfig
        >>> keras.utils.set_random_seed(0)
        >>> config = ModelConfig(architecture="voice_lstm", lstm_units=(8,), embedding_dim=4)
        >>> net = BachNet(config)
        >>> net.count_params() == config.parameters
        True
        >>> step = net.network.step(net.keras_model)
        >>> states = net.network.initial_state(1)
        >>> tokens = [0] * 16 + [37, 32, 29, 13] * 3 + [38, 32, 29, 13, 38, 33]
        >>> for index, token in enumerate(tokens):
        ...     logits, states = step(np.array([token], "int32"), index, states)
        >>> bool(np.allclose(logits, net.logits([tokens])[:, -1], atol=1e-5))
        True
    """

    name = "voice_lstm"
    voice_context = True


class BarLSTMNetwork(VoiceLSTMNetwork):
    """`VoiceLSTMNetwork` that knows each token's place in its 4/4 bar, not only in its beat.

    The stream starts on a bar line: a piece is read after `lead_for` its pickup silence
    tokens (training pieces are padded so, and windows start on bar lines), so the place of
    token ``t`` is ``t mod 64``: its voice and its step's 16th position in the bar, learnt as
    one embedding of 64 values.

    Examples:
        >>> from bachnet import ModelConfig
        >>> config = ModelConfig(architecture="bar_lstm", lstm_units=(8,), embedding_dim=4)
        >>> network = BarLSTMNetwork(config)
        >>> network.build().get_layer("position").input_dim, network.lead_for(0)
        (64, 64)
    """

    name = "bar_lstm"
    lead = BAR
    align = BAR
    period = BAR


class MeterLSTMNetwork(BarLSTMNetwork):
    """`BarLSTMNetwork` that knows the bar of each piece's own metre, not only 4/4's.

    Each metre has its own rows of the place embedding (`METER_FIRST_ROW`): a 3/4 bar's 48
    places, a 3/2 bar's 96. A piece is read from the bar line of its own metre before its
    pickup (`lead_for`); the full model reads its ids with the metre's code added
    (`Network.encode`), the step keeps the code in its state (`initial_state`).

    Examples:
        >>> import numpy as np
        >>> from bachnet import BachNet, ModelConfig
        >>> keras.utils.set_random_seed(0)
        >>> net = BachNet(ModelConfig(architecture="meter_lstm", lstm_units=(8,),
        ...                           embedding_dim=4))
        >>> net.count_params() == net.config.parameters
        True
        >>> network = net.network
        >>> step, states = network.step(net.keras_model), network.initial_state(1, "3/4")
        >>> tokens = [0] * 48 + [37, 32, 29, 13] * 14
        >>> for index, token in enumerate(tokens):
        ...     logits, states = step(np.array([token], "int32"), index, states)
        >>> three = net.keras_model(network.encode(np.array([tokens]), "3/4"))[:, -1]
        >>> four = net.keras_model(np.array([tokens]))[:, -1]
        >>> bool(np.allclose(logits, three, atol=1e-5)), bool(np.allclose(logits, four, atol=1e-5))
        (True, False)
    """

    name = "meter_lstm"
    meters = True


class PhraseLSTMNetwork(MeterLSTMNetwork):
    """`MeterLSTMNetwork` that hears how far ahead the next fermata stands.

    Each token's step is read as one of `PHRASE_ROWS` rows (`phrase_places`): no plan known,
    the next fermata 0 to 63 steps ahead, or none that near; the rows' embedding is added to
    the input. Trained on pieces with and without their fermatas, it writes either way: with
    a phrase plan it can make for each cadence before it is forced. The full model reads the
    plan in its ids (`Network.encode`), the step in its state (`initial_state`'s
    ``fermatas``).

    Examples:
        >>> import numpy as np
        >>> from bachnet import BachNet, ModelConfig
        >>> keras.utils.set_random_seed(0)
        >>> net = BachNet(ModelConfig(architecture="phrase_lstm", lstm_units=(8,),
        ...                           embedding_dim=4))
        >>> net.count_params() == net.config.parameters
        True
        >>> network, tokens = net.network, [0] * 64 + [37, 32, 29, 13] * 14
        >>> step, states = network.step(net.keras_model), network.initial_state(1, "4/4", [[24]])
        >>> for index, token in enumerate(tokens):
        ...     logits, states = step(np.array([token], "int32"), index, states)
        >>> planned = net.keras_model(network.encode(np.array([tokens]), "4/4", [24]))[:, -1]
        >>> unplanned = net.keras_model(np.array([tokens]))[:, -1]
        >>> bool(np.allclose(logits, planned, atol=1e-5)), bool(np.allclose(logits, unplanned))
        (True, False)
    """

    name = "phrase_lstm"
    phrases = True


MARK_WIDTH = 128
"""Fermatas in one stream's plan, at most: ``phrase_lstm``'s plan state is this wide for
every plan, so that one compiled loop serves them all (a model that averages transpositions
needs its states' widths fixed)."""


def fermata_marks(
    batch: int, fermatas: Sequence[Sequence[int] | None] | None
) -> npt.NDArray[np.float32]:
    """The plan state of ``phrase_lstm``'s step: ``(batch, MARK_WIDTH)`` fermata steps, each
    row's in order and padded with -1 (never ahead); a row of -1 alone is a stream without a
    plan.

    Raises:
        InputError: a plan for another number of streams, a negative step, or more than
            `MARK_WIDTH` fermatas.

    Examples:
        >>> marks = fermata_marks(2, [[40, 8], None])
        >>> marks.shape, marks[:, :3].tolist()
        ((2, 128), [[8.0, 40.0, -1.0], [-1.0, -1.0, -1.0]])
    """
    plans = [None] * batch if fermatas is None else list(fermatas)
    if len(plans) != batch:
        raise InputError(f"{len(plans)} phrase plans for {batch} streams: give one per stream")
    longest = max([0, *(len(plan) for plan in plans if plan is not None)])
    if longest > MARK_WIDTH:
        raise InputError(
            f"a phrase plan of {longest} fermatas: a phrase_lstm hears at most {MARK_WIDTH}"
        )
    marks = np.full((batch, MARK_WIDTH), -1.0, np.float32)
    for row, plan in enumerate(plans):
        if plan is None:
            continue
        steps = sorted(int(step) for step in plan)
        if steps and steps[0] < 0:
            raise InputError(f"a fermata's step must be >= 0, got {steps[0]}")
        marks[row, : len(steps)] = steps
        if not steps:  # a plan without fermatas: none ahead, not "no plan"
            marks[row, 0] = 1e9
    return marks


@keras.saving.register_keras_serializable(package="bachnet")
class StepLSTM(keras.layers.Layer):  # type: ignore[misc]
    """The whole step-level network as one layer: ``(batch, time)`` ids -> next-token logits.

    Token ``(s, v)`` (voice ``v`` of step ``s``; windows start on a beat) predicts the next
    token: voice ``v + 1`` of step ``s`` from the LSTMs' output after step ``s - 1`` and the
    voices ``0..v`` of step ``s``; the bass (``v = 3``) predicts the next step's soprano from
    the output after step ``s``. A time axis that is not a whole number of steps is padded
    with silence inside and cut back, which changes nothing before it (the model is causal).

    Examples:
        >>> import numpy as np
        >>> keras.utils.set_random_seed(0)
        >>> layer = StepLSTM(47, 4, (8,), 0.0, True, 4)
        >>> tuple(layer(np.zeros((2, 7), "int32")).shape)
        (2, 7, 47)
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        lstm_units: tuple[int, ...] | list[int],
        dropout: float,
        layer_norm: bool,
        dense_units: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim = int(vocab_size), int(embedding_dim)
        self.lstm_units = tuple(int(u) for u in lstm_units)
        self.dropout, self.layer_norm, self.dense_units = dropout, bool(layer_norm), dense_units
        chord = VOICES * self.embedding_dim
        self.voice_embedding = keras.layers.Embedding(
            VOICES * self.vocab_size, self.embedding_dim, name="voice_embedding"
        )
        self.position = keras.layers.Embedding(VOICES, chord, name="position")
        self.drops = [
            keras.layers.Dropout(dropout, name=f"dropout_{i}")
            for i in range(1, len(self.lstm_units) + 1)
        ]
        self.lstms = [
            keras.layers.LSTM(units, return_sequences=True, name=f"lstm_{i}")
            for i, units in enumerate(self.lstm_units, start=1)
        ]
        self.norms = (
            [
                keras.layers.LayerNormalization(name=f"norm_{i}")
                for i in range(1, len(self.lstm_units) + 1)
            ]
            if self.layer_norm
            else []
        )
        self.head = (
            [keras.layers.Dense(dense_units, activation="relu", name="dense")]
            if dense_units
            else []
        )
        self.logits = keras.layers.Dense(self.vocab_size, name="logits")

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        chord = VOICES * self.embedding_dim
        self.voice_embedding.build((None, None, VOICES))
        self.position.build((None,))
        width = chord
        for i, lstm in enumerate(self.lstms):
            lstm.build((None, None, width))
            width = self.lstm_units[i]
            if self.norms:
                self.norms[i].build((None, None, width))
        width = width + chord + VOICES
        for layer in self.head:
            layer.build((None, width))
            width = self.dense_units
        self.logits.build((None, width))

    def embed(self, tokens: Tensor, voices: Tensor) -> Tensor:
        """Voice-specific embeddings of ``tokens`` sung by ``voices`` (broadcastable)."""
        return self.voice_embedding(
            ops.cast(tokens, "int32") + ops.cast(voices, "int32") * self.vocab_size
        )

    def recur(self, chords: Tensor, training: bool | None = None) -> Tensor:
        """``(batch, steps, 4 * embedding_dim)`` chord inputs -> the top LSTM's outputs."""
        x = chords
        for i, lstm in enumerate(self.lstms):
            x = self.drops[i](x, training=training)
            x = lstm(x, training=training)
            if self.norms:
                x = self.norms[i](x)
        return x

    def predict_voice(self, state: Tensor, known: Tensor, target: Tensor) -> Tensor:
        """Logits of voice ``target`` (one-hot, last axis 4) from an LSTM output and the
        embeddings of the voices already chosen (zeros for the others, flattened)."""
        x = ops.concatenate([state, known, ops.cast(target, state.dtype)], axis=-1)
        for layer in self.head:
            x = layer(x)
        return self.logits(x)

    def call(self, tokens: Tensor, training: bool | None = None) -> Tensor:
        tokens = ops.cast(tokens, "int32")
        batch, time = ops.shape(tokens)[0], ops.shape(tokens)[1]
        steps = (time + VOICES - 1) // VOICES
        padded = ops.pad(tokens, [[0, 0], [0, steps * VOICES - time]])
        chords = ops.reshape(padded, (batch, steps, VOICES))
        embedded = self.embed(chords, ops.arange(VOICES, dtype="int32"))  # (b, s, 4, d)
        flat = ops.reshape(embedded, (batch, steps, VOICES * self.embedding_dim))
        place = self.position(ops.mod(ops.arange(steps, dtype="int32"), VOICES))
        outputs = self.recur(flat + ops.expand_dims(place, 0), training=training)
        before = ops.concatenate([ops.zeros_like(outputs[:, :1]), outputs[:, :-1]], axis=1)
        state = ops.stack([before, before, before, outputs], axis=2)  # (b, s, 4, units)
        known_mask = ops.convert_to_tensor(_KNOWN, dtype=embedded.dtype)  # token -> voices
        known = ops.expand_dims(embedded, 2) * ops.reshape(known_mask, (1, 1, VOICES, VOICES, 1))
        known = ops.reshape(known, (batch, steps, VOICES, VOICES * self.embedding_dim))
        target = ops.broadcast_to(
            ops.reshape(ops.convert_to_tensor(_TARGET, dtype=embedded.dtype), (1, 1, 4, 4)),
            (batch, steps, VOICES, VOICES),
        )
        logits = self.predict_voice(state, known, target)
        return ops.reshape(logits, (batch, steps * VOICES, self.vocab_size))[:, :time]

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (input_shape[0], input_shape[1], self.vocab_size)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "lstm_units": list(self.lstm_units),
            "dropout": self.dropout,
            "layer_norm": self.layer_norm,
            "dense_units": self.dense_units,
        }


_KNOWN = [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0]]
"""Row ``v``: the voices of the current step known when token ``(s, v)`` is read."""

_TARGET = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]]
"""Row ``v``: the voice that token ``(s, v)`` predicts (the next one; after the bass, S)."""


class StepLSTMNetwork(Network):
    """One LSTM step per 16th-note step, a small head per voice (see `StepLSTM`).

    Examples:
        >>> from bachnet import ModelConfig
        >>> config = ModelConfig(architecture="step_lstm", lstm_units=(8,), embedding_dim=4)
        >>> model = StepLSTMNetwork(config).build()
        >>> model.output_shape, model.count_params() == config.parameters
        ((None, None, 47), True)
    """

    name = "step_lstm"
    lead = BEAT
    align = BEAT
    pad_lead = True

    def build(self) -> keras.Model:
        config = self.config
        tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
        core = StepLSTM(
            config.vocab_size,
            config.embedding_dim,
            config.lstm_units,
            config.dropout,
            config.layer_norm,
            config.dense_units,
            name="step_lstm",
        )
        return keras.Model(tokens, core(tokens), name="bachnet")

    def output_layer(self, model: keras.Model) -> keras.layers.Dense:
        layer: keras.layers.Dense = model.get_layer("step_lstm").logits
        return layer

    def initial_state(
        self,
        batch: Tensor,
        meter: str = "4/4",
        fermatas: Sequence[Sequence[int] | None] | None = None,
    ) -> list[Tensor]:
        """``[h1, c1, ..., top output, chosen voices' embeddings (batch, 4 * dim)]``, zeros
        (a plan of ``fermatas`` is not read)."""
        config = self.config
        states = [ops.zeros((batch, units)) for units in config.lstm_units for _ in range(2)]
        return [
            *states,
            ops.zeros((batch, config.lstm_units[-1])),
            ops.zeros((batch, VOICES * config.embedding_dim)),
        ]

    def step(self, model: keras.Model, *, tables: bool = False, meter: str | None = None) -> StepFn:
        """One token; the LSTMs advance when a step's bass arrives (both branches are
        computed and one is kept, so the program has static shapes on every backend).
        ``tables`` and ``meter`` change nothing here.

        Examples:
            >>> import numpy as np
            >>> from bachnet import BachNet, ModelConfig
            >>> keras.utils.set_random_seed(0)
            >>> config = ModelConfig(architecture="step_lstm", lstm_units=(8,), embedding_dim=4)
            >>> net = BachNet(config)
            >>> step = net.network.step(net.keras_model)
            >>> states = net.network.initial_state(1)
            >>> tokens = [0, 0, 0, 0, 37, 32, 29, 13, 38, 32]
            >>> for index, token in enumerate(tokens):
            ...     logits, states = step(np.array([token], "int32"), index, states)
            >>> bool(np.allclose(logits, net.logits([tokens])[:, -1], atol=1e-5))
            True
        """
        core: StepLSTM = model.get_layer("step_lstm")
        layers = len(core.lstm_units)
        dim = core.embedding_dim

        def step(token: Tensor, index: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
            index = ops.cast(index, "int32")
            voice = ops.mod(index, VOICES)
            top, known = states[2 * layers], states[2 * layers + 1]
            batch = ops.shape(token)[0]
            mine = core.embed(token, voice)  # (batch, dim)
            slot = ops.cast(ops.arange(VOICES) == voice, known.dtype)
            known = ops.reshape(known, (batch, VOICES, dim)) + ops.expand_dims(
                mine, 1
            ) * ops.reshape(slot, (1, VOICES, 1))
            known = ops.reshape(known, (batch, VOICES * dim))
            # the chord complete (after the bass): advance the LSTMs
            place = core.position(ops.full((batch,), ops.mod(index // VOICES, VOICES)))
            x = known + place
            new_states: list[Tensor] = []
            for i, lstm in enumerate(core.lstms):
                x, (h, c) = lstm.cell(x, [states[2 * i], states[2 * i + 1]], training=False)
                new_states += [h, c]
                if core.norms:
                    x = core.norms[i](x)
            last = voice == VOICES - 1
            target = ops.cast(ops.arange(VOICES) == ops.mod(voice + 1, VOICES), known.dtype)
            target = ops.broadcast_to(ops.expand_dims(target, 0), (batch, VOICES))
            within = core.predict_voice(top, known, target)
            after = core.predict_voice(x, ops.zeros_like(known), target)
            logits = ops.where(last, after, within)
            kept = [ops.where(last, new, old) for new, old in zip(new_states, states, strict=False)]
            return logits, [
                *kept,
                ops.where(last, x, top),
                ops.where(last, ops.zeros_like(known), known),
            ]

        return step


NETWORKS: dict[str, type[Network]] = {
    cls.name: cls
    for cls in (
        LSTMNetwork,
        BeatLSTMNetwork,
        VoiceLSTMNetwork,
        BarLSTMNetwork,
        MeterLSTMNetwork,
        PhraseLSTMNetwork,
        StepLSTMNetwork,
    )
}
"""Model types by their ``architecture`` name."""


def network_for(config: ModelConfig) -> Network:
    """The model type that ``config.architecture`` names.

    Raises:
        InputError: an unknown architecture.

    Examples:
        >>> from bachnet import ModelConfig
        >>> network_for(ModelConfig()).name
        'lstm'
    """
    try:
        return NETWORKS[config.architecture](config)
    except KeyError:
        known = ", ".join(sorted(NETWORKS))
        raise InputError(f"unknown architecture {config.architecture!r} (known: {known})") from None


def meter_weights(bar: keras.Model, meter: keras.Model) -> None:
    """Give ``meter``, a ``meter_lstm`` Keras model, the weights of ``bar``, a ``bar_lstm`` one
    of the same sizes: every layer's own, and its 4/4 places as the start for every metre's,
    to be fine-tuned on pieces in their own metres. A 3/4 bar starts from 4/4's beats 1, 2
    and 4 (one strong beat, then two weak ones that lead to the next bar line), a 3/2 bar from
    4/4's first half and then its second half twice.

    Raises:
        InputError: the two models do not have the same layers and sizes.
    """
    beat, half = BAR // 4, BAR // 2
    three = [np.arange(2 * beat), np.arange(3 * beat, BAR)]  # 3/4: beats 1, 2 and 4 of 4/4
    rows = np.concatenate([np.arange(BAR), *three, np.arange(BAR), np.arange(half, BAR)])
    _copy_weights(bar, meter, "a bar_lstm", "a meter_lstm", {"position": rows})


def phrase_weights(meter: keras.Model, phrase: keras.Model) -> None:
    """Give ``phrase``, a ``phrase_lstm`` Keras model, the weights of ``meter``, a
    ``meter_lstm`` one of the same sizes; its phrase embedding starts at zero, so it predicts
    exactly as ``meter`` does until it is fine-tuned on pieces with their fermatas.

    Raises:
        InputError: the two models do not have the same layers and sizes.
    """
    _copy_weights(meter, phrase, "a meter_lstm", "a phrase_lstm")
    table = phrase.get_layer("phrase")
    table.set_weights([np.zeros_like(table.get_weights()[0])])


def _copy_weights(
    source: keras.Model,
    target: keras.Model,
    what: str,
    into: str,
    rows: dict[str, npt.NDArray[np.int64]] | None = None,
) -> None:
    """Every layer of ``source`` that has weights gives them to ``target``'s layer of the
    same name; a layer named in ``rows`` gives those rows of its first weight (an embedding
    read anew). ``what`` and ``into`` name the two models in the error.

    Raises:
        InputError: a layer missing from ``target`` or of another size.
    """
    for layer in source.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if rows and layer.name in rows:
            weights = [weights[0][rows[layer.name]], *weights[1:]]
        try:
            target.get_layer(layer.name).set_weights(weights)
        except ValueError as error:
            raise InputError(
                f"cannot give layer {layer.name!r} of {what} to {into}: {error}"
            ) from None
