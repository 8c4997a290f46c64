"""The compiled decoding programs: one object per (model, sampler, rules) owns its program.

As keras-hub's ``make_generate_function``: a `Decoder` compiles the whole sampling loop once
(``tf.function(jit_compile=True)`` on TensorFlow, ``jax.jit`` on JAX, eager on PyTorch) and
is kept with the model (`decoder_for`), so every later call with the same sampler and rules,
and a token buffer of the same padded length (`bucket`), reuses it. A `BeamStep` does the same
for one token of a beam search (`beam_step_for`). Both count their traces (``traces``), which
the tests read to check that nothing recompiles.

Inside both, each token's logits are masked the same way (`masked_logits`): the constraint
first (forced tokens always win), then the rules, which see the `Context` built from the tokens
(`bachnet.generation.rules.Context.at`).

Examples:
    >>> import keras
    >>> from bachnet import BachNet, ModelConfig
    >>> from bachnet.generation.samplers import get
    >>> keras.utils.set_random_seed(0)
    >>> net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4))
    >>> ids = decode(net, np.zeros((1, 4), "int32"), 8, get("greedy"), [], seed=0)
    >>> ids.shape, decoder_for(net, get("greedy"), []).traces
    ((1, 12), 1)
"""

from __future__ import annotations

import hashlib
import os
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError, LimitError
from bachnet.generation.rules import Context, Rule
from bachnet.generation.rules import apply as apply_rules
from bachnet.generation.samplers import Sampler
from bachnet.model.protocol import LanguageModel
from bachnet.music.grid import VOICES

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "MEMORY_ENV",
    "SILENCE_KEPT",
    "SILENCE_READ_MIN",
    "SMC_RESAMPLE",
    "VOICES_PER_STEP",
    "BeamStep",
    "Decoder",
    "beam_step_for",
    "bucket",
    "check_memory",
    "compiled",
    "compiled_loops",
    "decode",
    "decoder_for",
    "masked_logits",
    "memory_limit",
    "step_fn",
]

VOICES_PER_STEP = len(VOICES)
"""Tokens per 16th-note step: soprano, alto, tenor, bass."""

MEMORY_ENV = "BACHNET_MAX_MEMORY"
"""Environment variable: the most bytes one generation call may allocate for its buffers."""

DEFAULT_MEMORY_LIMIT = 2**31
"""Without ``$BACHNET_MAX_MEMORY``: 2 GiB (64 pieces of about 11,000 steps each)."""

SILENCE_READ_MIN = 8
"""A `Decoder` keeps the states after a prompt's opening silence (the lead before a piece)
when it is at least this many tokens long, and starts later calls with the same silence,
shapes and start states there."""

SILENCE_KEPT = 16
"""How many such states one `Decoder` keeps (the oldest dropped first)."""

SMC_RESAMPLE = 0.5
"""With particles (`decode`'s ``particles``), a piece's particles are drawn again when their
effective number falls below this share of them."""

_LOOPS: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


def compiled_loops(model: LanguageModel) -> dict[Any, Decoder | BeamStep]:
    """The decoders built so far for ``model``, by setting (cleared with the model).

    Examples:
        >>> import bachnet
        >>> net = bachnet.BachNet(bachnet.ModelConfig(lstm_units=(8,), embedding_dim=4))
        >>> compiled_loops(net)
        {}
    """
    return _LOOPS.setdefault(model.keras_model, {})


def _rules_key(rules: Sequence[Rule]) -> tuple[Any, ...]:
    # The class is part of the key: an unregistered subclass inherits its parent's name.
    return tuple((type(rule), repr(rule.get_config())) for rule in rules)


def decoder_for(
    model: LanguageModel,
    sampler: Sampler,
    rules: Sequence[Rule],
    meter: str | None = None,
    particles: int = 1,
) -> Decoder:
    """The model's `Decoder` for ``sampler`` and ``rules``: built on first use, then kept.

    Samplers and rules with equal classes and configs share one decoder. A model that knows
    metres has one for each bar it is given (``meter``: its places are constants of the
    program, `bachnet.model.networks.Network.step`; ``None``: any metre, read from the
    state); the others one for all. Each number of ``particles`` has its own.

    Examples:
        >>> import bachnet
        >>> from bachnet.generation.samplers import TopK
        >>> net = bachnet.BachNet(bachnet.ModelConfig(lstm_units=(8,), embedding_dim=4))
        >>> decoder_for(net, TopK(5), []) is decoder_for(net, TopK(5), [])
        True
    """
    places = None if meter is None else model.network.meter_places(meter)
    key = (type(sampler), repr(sampler.get_config()), _rules_key(rules), places, particles)
    cache = compiled_loops(model)
    found = cache.get(key)
    if not isinstance(found, Decoder):
        found = Decoder(model, sampler, rules, meter if places else None, particles)
        cache[key] = found
    return found


def beam_step_for(model: LanguageModel, rules: Sequence[Rule]) -> BeamStep:
    """The model's `BeamStep` for ``rules``: built on first use, then kept.

    Examples:
        >>> import bachnet
        >>> net = bachnet.BachNet(bachnet.ModelConfig(lstm_units=(8,), embedding_dim=4))
        >>> beam_step_for(net, []) is beam_step_for(net, [])
        True
    """
    key = ("harmonize.beam", _rules_key(rules))
    cache = compiled_loops(model)
    found = cache.get(key)
    if not isinstance(found, BeamStep):
        found = cache[key] = BeamStep(model, rules)
    return found


def step_fn(
    model: LanguageModel, *, tables: bool = False, meter: str | None = None
) -> Callable[[Any, Any, list[Any]], tuple[Any, list[Any]]]:
    """One token through the network: ``(ids (batch,), index, states) -> (logits, states)``.

    ``index`` is the token's place in the stream (the stream starts on a beat); the model
    type owns the step and its state (`bachnet.model.networks.Network.step`), so the logits equal
    those of the full model. ``tables``: the step for a compiled loop (see
    `bachnet.model.networks.LSTMNetwork.step`).

    Examples:
        >>> import keras
        >>> from bachnet import BachNet, ModelConfig
        >>> keras.utils.set_random_seed(0)
        >>> net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16))
        >>> step = step_fn(net)
        >>> states = net.network.initial_state(1)
        >>> for index, token in enumerate((37, 32, 29)):
        ...     logits, states = step(np.array([token], "int32"), index, states)
        >>> tuple(logits.shape), len(states)
        ((1, 47), 2)
        >>> bool(np.allclose(logits, net.logits([[37, 32, 29]])[:, -1], atol=1e-5))
        True
    """
    return model.network.step(model.keras_model, tables=tables, meter=meter)


def compiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as one compiled program on the current backend: ``tf.function(jit_compile=True)``
    on TensorFlow, ``jax.jit`` on JAX, itself (eager) on PyTorch.

    Examples:
        >>> double = compiled(lambda x: x * 2)
        >>> int(double(np.int32(4)))
        8
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True, reduce_retracing=True)  # type: ignore[no-any-return]
    if backend == "jax":
        import jax

        return jax.jit(fn)  # type: ignore[no-any-return]
    return fn


def masked_logits(
    logits: Any,
    allowed: Any,
    rules: Sequence[Rule],
    position: Any,
    tokens: Callable[[], tuple[Any, Any, Any]],
    pitches: Any,
) -> Any:
    """The logits of the token at ``position``: ``-inf`` where the constraint forbids an id,
    then the rules (each skipped where it would leave nothing to draw, `rules.apply`).

    ``tokens`` gives the ``(batch, 4)`` token ids of the previous step, of this one and of the
    next (forced ids or 0), for the rules' `Context` (called only when there are rules).
    """
    from keras import ops

    logits = ops.where(allowed, ops.cast(logits, "float32"), float("-inf"))
    if rules:
        previous, current, following = tokens()
        context = Context.at(position, previous, current, pitches, following)
        logits = apply_rules(rules, logits, context)
    return logits


class _Compiled:
    """A compiled program that counts how often it was traced."""

    def __init__(self) -> None:
        self.traces = 0
        """How many times the program was traced (compiled); on an eager backend (PyTorch),
        how many times it ran."""

    def _compile(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def traced(*args: Any) -> Any:
            self.traces += 1  # Python runs here only while the program is traced
            return fn(*args)

        return compiled(traced)


class Decoder(_Compiled):
    """The whole sampling loop of a model for one sampler and rule set, compiled once.

    Call it with ``(buffer, first, stop, noise, allowed[, states])``: ``buffer`` ``(batch, length)``
    token ids, the first ``first`` of them given (the prompt); the tokens from ``first`` up to
    ``stop`` are drawn, one network step each, from ``noise`` ``(batch, length, vocab)``
    uniform numbers and the ``allowed`` ``(batch, length, vocab)`` mask. ``length`` may exceed
    ``stop`` (a padded `bucket`), so that a new number of steps reuses the program;
    ``states`` are the network's before the first token (`Network.initial_state`, which
    carries the metre of a model that knows metres; by default a 4/4 piece's). `decode`
    prepares those buffers.

    Attributes:
        sampler: the sampler.
        rules: the rules, in order.
        meter: for a model that knows metres, the metre whose bar the program holds as
            constants (its streams must be in it); ``None``: any, read from the states.
        traces: how many times the loop was traced (compiled).

    Examples:
        >>> import keras
        >>> from bachnet import BachNet, ModelConfig
        >>> from bachnet.generation.samplers import Greedy
        >>> keras.utils.set_random_seed(0)
        >>> net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4))
        >>> decoder = Decoder(net, Greedy(), [])
        >>> buffer = np.zeros((1, 256), "int32")
        >>> noise = np.zeros((1, 256, 47), "float32")
        >>> allowed = np.ones((1, 256, 47), bool)
        >>> decoder(buffer, np.int32(4), np.int32(12), noise, allowed)[:, 4:12].shape
        (1, 8)
        >>> _ = decoder(buffer, np.int32(4), np.int32(20), noise, allowed)
        >>> decoder.traces  # one program for both lengths
        1
    """

    def __init__(
        self,
        model: LanguageModel,
        sampler: Sampler,
        rules: Sequence[Rule],
        meter: str | None = None,
        particles: int = 1,
    ) -> None:
        super().__init__()
        self.sampler = sampler
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.network = model.network
        self.meter = meter
        self.particles = particles
        loop = _sampling_loop(model, sampler, self.rules, meter, particles)
        self._run = self._compile(loop)
        self._after_silence: dict[tuple[Any, ...], list[npt.NDArray[Any]]] = {}

    def __call__(
        self,
        buffer: Any,
        first: Any,
        stop: Any,
        noise: Any,
        allowed: Any,
        states: list[Any] | None = None,
    ) -> npt.NDArray[np.int32]:
        return self.draw(buffer, first, stop, noise, allowed, states)[0]

    def draw(
        self,
        buffer: Any,
        first: Any,
        stop: Any,
        noise: Any,
        allowed: Any,
        states: list[Any] | None = None,
        marks: Any = None,
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """The loop's tokens and each row's log-weight (zeros without particles).

        ``marks`` ``(batch // particles, length)``: uniform numbers in [0, 1), one per piece
        and token, for the resampling of a decoder with particles (ignored without)."""
        if states is None:
            states = self.network.initial_state(len(buffer), self.meter or "4/4")
        if marks is None:
            marks = np.zeros((max(1, len(buffer) // self.particles), 1), dtype=np.float32)
        begin, states = self._silence_read(buffer, first, noise, allowed, states, marks)
        tokens, _, weights = self._run(
            buffer, np.int32(begin), first, stop, noise, allowed, states, marks
        )
        return np.asarray(tokens, dtype=np.int32), np.asarray(weights, dtype=np.float32)

    def _silence_read(
        self, buffer: Any, first: Any, noise: Any, allowed: Any, states: list[Any], marks: Any
    ) -> tuple[int, list[Any]]:
        """Where the loop may start, and the states there: past the silence that opens
        every row of the prompt (the lead before a piece), read once per shape and start.

        The silence is read by this same program at the same shapes (a loop that stops
        where the silence ends), so the states are those the whole loop reaches there,
        bit for bit, and the draws that follow are the same.
        """
        given = np.asarray(buffer)[:, : int(first) - 1]  # the last prompt token draws the next
        silent = int(np.argmax(np.any(given != 0, axis=0))) if np.any(given) else given.shape[1]
        if silent < SILENCE_READ_MIN:
            return 0, states
        arrays = [np.asarray(state) for state in states]
        key = (
            np.shape(buffer),
            silent,
            tuple((a.shape, a.dtype.str, hashlib.sha1(a.tobytes()).digest()) for a in arrays),
        )
        found = self._after_silence.get(key)
        if found is None:
            _, read, _ = self._run(
                buffer, np.int32(0), first, np.int32(silent + 1), noise, allowed, states, marks
            )
            found = [np.asarray(state) for state in read]
            if len(self._after_silence) >= SILENCE_KEPT:
                self._after_silence.pop(next(iter(self._after_silence)))
            self._after_silence[key] = found
        return silent, list(found)

    def __repr__(self) -> str:
        many = f", {self.particles} particles" if self.particles > 1 else ""
        return f"<Decoder {self.sampler!r}, {len(self.rules)} rules{many}, {self.traces} traces>"


def _sampling_loop(
    model: LanguageModel,
    sampler: Sampler,
    rules: Sequence[Rule],
    meter: str | None,
    particles: int = 1,
) -> Callable[..., Any]:
    import keras
    from keras import ops

    # the loop is compiled on TensorFlow and JAX: the step's tables are computed once per call
    compiled_backend = keras.backend.backend() in ("tensorflow", "jax")
    step = step_fn(model, tables=compiled_backend, meter=meter)
    table = _pitch_table(model)
    ramp = np.arange(VOICES_PER_STEP, dtype=np.int32)
    spread = np.arange(particles, dtype="float32") / particles

    def resample(position: Any, weights: Any, marks: Any, rows: list[Any]) -> tuple[Any, list[Any]]:
        """At a step's end, each piece whose weights grew uneven has its particles drawn
        again in proportion to them (systematic resampling), their weights reset."""
        grouped = ops.reshape(weights, (-1, particles))
        shares = ops.softmax(grouped, axis=1)
        effective = 1.0 / ops.sum(shares * shares, axis=1)
        at_end = (position + 1) % VOICES_PER_STEP == 0
        uneven = (effective < SMC_RESAMPLE * particles) & at_end  # (pieces,)

        def again() -> tuple[Any, list[Any]]:
            start = ops.take(marks, ops.minimum(position, ops.shape(marks)[1] - 1), axis=1)
            points = ops.expand_dims(start, 1) / particles + spread  # (pieces, particles)
            cumulative = ops.expand_dims(ops.cumsum(shares, axis=1), 1)
            below = ops.cast(cumulative <= ops.expand_dims(points, 2), "int32")
            chosen = ops.minimum(ops.sum(below, axis=2), particles - 1)
            own = ops.arange(particles, dtype="int32")
            chosen = ops.where(ops.expand_dims(uneven, 1), chosen, own)
            first = ops.expand_dims(ops.arange(ops.shape(grouped)[0], dtype="int32"), 1)
            parents = ops.reshape(chosen + first * particles, (-1,))
            reset = ops.where(ops.repeat(uneven, particles), 0.0, weights)
            return reset, [ops.take(row, parents, axis=0) for row in rows]

        return ops.cond(ops.any(uneven), again, lambda: (weights, rows))  # type: ignore[no-any-return]

    def run(
        buffer: Any,
        begin: Any,
        first: Any,
        stop: Any,
        noise: Any,
        allowed: Any,
        states: Any,
        marks: Any,
    ) -> Any:
        def body(t: Any, carry: tuple[Any, list[Any], Any, Any]) -> tuple[Any, list[Any], Any, Any]:
            # ``token``: the id at ``t``, carried from the step that wrote it (not read back
            # from ``tokens``, which the step's fused arithmetic would then copy every token)
            tokens, states, token, weights = carry
            logits, states = step(token, t, states)
            position = t + 1

            def around() -> tuple[Any, Any, Any]:
                here = position // VOICES_PER_STEP
                before = ops.maximum(here - 1, 0) * VOICES_PER_STEP + ramp
                now = here * VOICES_PER_STEP + ramp
                after = (here + 1) * VOICES_PER_STEP + ramp
                length = ops.shape(tokens)[1]
                following = ops.take(tokens, ops.minimum(after, length - 1), axis=1)
                following = following * ops.cast(ops.expand_dims(after < length, 0), "int32")
                return ops.take(tokens, before, axis=1), ops.take(tokens, now, axis=1), following

            mask = ops.take(allowed, position, axis=1)
            masked = masked_logits(logits, mask, rules, position, around, table)
            drawn = sampler.draw(sampler.filter(masked), ops.take(noise, position, axis=1))
            known = ops.take(tokens, position, axis=1)
            chosen = ops.where(position < first, known, ops.cast(drawn, "int32"))
            tokens = ops.slice_update(tokens, (0, position), ops.expand_dims(chosen, 1))
            if particles > 1:
                raw = ops.cast(logits, "float32")
                gained = ops.logsumexp(masked, axis=-1) - ops.logsumexp(raw, axis=-1)
                narrowed = ops.logical_not(ops.all(mask, axis=-1)) & (position >= first)
                weights = weights + ops.where(narrowed, gained, 0.0)
                weights, (tokens, chosen, *states) = resample(
                    position, weights, marks, [tokens, chosen, *states]
                )
            return tokens, states, chosen, weights

        weights = ops.zeros((ops.shape(buffer)[0],), dtype="float32")
        start = (buffer, states, ops.take(buffer, begin, axis=1), weights)
        tokens, states, _, weights = ops.fori_loop(begin, stop - 1, body, start)
        return tokens, states, weights

    return run


class BeamStep(_Compiled):
    """One token through the model for every beam of a beam search, compiled once.

    Call it with ``(token (beams,), index, states, previous (beams, 4), current (beams, 4),
    following (beams, 4), allowed (beams, vocab))``, where ``previous``, ``current`` and
    ``following`` are the token ids of the step before the next token, of its own step so far
    and of the step after it (forced ids or 0); it returns ``(scores, states)``:
    the next token's log-probabilities under the model, ``-inf`` where the constraint or a
    hard rule forbids it, less the penalty of soft rules.

    Attributes:
        rules: the rules, in order.
        traces: how many times the step was traced (compiled).

    Examples:
        >>> import keras
        >>> from bachnet import BachNet, ModelConfig
        >>> keras.utils.set_random_seed(0)
        >>> net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4))
        >>> advance = BeamStep(net, [])
        >>> ids = np.zeros((2, 4), "int32")
        >>> scores, states = advance(ids[:, 0], np.int32(0), net.network.initial_state(2), ids,
        ...                          ids, ids, np.ones((2, 47), bool))
        >>> tuple(scores.shape), bool(np.allclose(np.exp(scores).sum(-1), 1, atol=1e-4))
        ((2, 47), True)
    """

    def __init__(self, model: LanguageModel, rules: Sequence[Rule]) -> None:
        super().__init__()
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._run = self._compile(_beam_advance(model, self.rules))

    def __call__(
        self,
        token: Any,
        index: Any,
        states: list[Any],
        previous: Any,
        current: Any,
        following: Any,
        allowed: Any,
    ) -> tuple[Any, list[Any]]:
        scores, states = self._run(token, index, states, previous, current, following, allowed)
        return scores, states

    def __repr__(self) -> str:
        return f"<BeamStep {len(self.rules)} rules, {self.traces} traces>"


def _beam_advance(model: LanguageModel, rules: Sequence[Rule]) -> Callable[..., Any]:
    from keras import ops

    step = model.network.step(model.keras_model)
    table = _pitch_table(model)

    def advance(
        token: Any,
        index: Any,
        states: list[Any],
        previous: Any,
        current: Any,
        following: Any,
        allowed: Any,
    ) -> tuple[Any, list[Any]]:
        logits, states = step(token, index, states)
        norm = ops.logsumexp(ops.cast(logits, "float32"), axis=-1, keepdims=True)
        masked = masked_logits(
            logits, allowed, rules, index + 1, lambda: (previous, current, following), table
        )
        return masked - norm, states

    return advance


def _pitch_table(model: LanguageModel) -> npt.NDArray[np.int32]:
    """``(vocab,)`` MIDI pitch of every token id, 0 for silence."""
    return model.vocab.pitch_of(np.arange(model.vocab.size)).astype(np.int32)


def memory_limit() -> int:
    """Bytes one generation call may allocate: ``$BACHNET_MAX_MEMORY`` or 2 GiB.

    Raises:
        InputError: ``$BACHNET_MAX_MEMORY`` is not a positive whole number.
    """
    text = os.environ.get(MEMORY_ENV)
    if text is None or not text.strip():
        return DEFAULT_MEMORY_LIMIT
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError(f"${MEMORY_ENV}={text!r} is not a positive number of bytes")
    return value


def bucket(length: int) -> int:
    """The padded buffer length for a stream of ``length`` tokens: one compiled program
    serves every length up to it (the next power of two, at least 256).

    Examples:
        >>> bucket(10), bucket(256), bucket(257), bucket(4 * 130)
        (256, 256, 512, 1024)
    """
    return max(256, 1 << max(0, length - 1).bit_length())


def check_memory(batch: int, tokens: int, new_tokens: int, vocab: int) -> None:
    """Refuse a generation whose buffers would need more than `memory_limit` bytes.

    Args:
        batch: rows drawn at once.
        tokens: tokens per row, the prompt's included.
        new_tokens: the new tokens per row (for the message).
        vocab: vocabulary size.

    Raises:
        LimitError: too much; the message says how much and how to allow it.
        InputError: a bad ``$BACHNET_MAX_MEMORY``.

    Examples:
        >>> check_memory(1, 260, 256, 47)  # about 0.1 MiB: fine
    """
    needed = batch * bucket(tokens) * vocab * 5  # the noise (float32) and the allowed mask (bool)
    limit = memory_limit()
    if needed > limit:
        raise LimitError(
            f"generating {new_tokens:,} tokens x {batch:,} samples needs about "
            f"{needed / 2**30:.1f} GiB of buffers, more than the {limit / 2**30:.1f} GiB allowed; "
            f"ask for fewer steps or samples, or raise ${MEMORY_ENV} (bytes)"
        )


def decode(
    model: LanguageModel,
    ids: npt.NDArray[np.int32],
    new_tokens: int,
    sampler: Sampler,
    rules: Sequence[Rule],
    *,
    seed: int | None,
    allowed: npt.NDArray[np.bool_] | None = None,
    meter: str = "4/4",
    fermatas: Sequence[Sequence[int] | None] | None = None,
    particles: int = 1,
) -> npt.NDArray[np.int32]:
    """Draw ``new_tokens`` after each row of ``ids`` ``(batch, first)`` with the model's
    `Decoder`: ``(batch, first + new_tokens)`` ids, the rows read as a piece in ``meter``
    (a stream on its bar line). ``fermatas``: each row's phrase plan, its fermatas as steps
    of the row's stream, for a model that hears phrases (others ignore it; ``None``: no plan).

    The buffers are checked (`check_memory`) before they are allocated. ``allowed`` is
    a mask already checked (`bachnet.generation.masks.constraint_mask`): ``(1 or batch,
    new_tokens, vocab)``, or ``None`` for no constraint.

    ``particles`` > 1 draws each row by sequential Monte Carlo: as that many rows at once,
    each token as above, each row carrying a weight, the log of the probability its own
    history gave to what the constraint allows at every token the constraint narrows (a
    melody's note, a cadence's chords, a scale), less the rules' penalties there. At the end
    of each step, a piece whose weights have grown uneven (an effective number of particles
    below `SMC_RESAMPLE` of them) has its particles drawn again in proportion to them
    (systematic resampling): the drafts that make the coming constraints likely carry on,
    the others stop. At the end one particle a piece is drawn by weight. Without a
    constraint the draws are as plain ones, at ``particles`` times the rows.

    Raises:
        LimitError: the buffers would need more memory than `memory_limit` allows.
    """
    batch, first = ids.shape
    vocab = model.config.vocab_size
    total = first + new_tokens
    padded = bucket(total)
    rows = batch * particles
    check_memory(rows, total, new_tokens, vocab)
    buffer = np.zeros((rows, padded), dtype=np.int32)
    buffer[:, :first] = np.repeat(ids, particles, axis=0)
    mask = np.ones((rows, padded, vocab), dtype=bool)
    if allowed is not None:
        mask[:, first:total] = (
            np.repeat(allowed, particles, axis=0) if len(allowed) > 1 else allowed
        )
        # Forced tokens go into the buffer ahead of time, so that the rules of a step see the
        # voices a constraint gives below the one being drawn (each is overwritten by itself).
        region = mask[:, first:total]
        forced = region.sum(axis=-1) == 1
        buffer[:, first:total] = np.where(forced, region.argmax(axis=-1), 0)
    rng = np.random.default_rng(seed)
    noise = np.zeros((rows, padded, vocab), dtype=np.float32)
    noise[:, :total] = rng.random((rows, total, vocab), dtype=np.float32)
    plans = None if fermatas is None else [plan for plan in fermatas for _ in range(particles)]
    states = model.network.initial_state(rows, meter, plans)
    decoder = decoder_for(model, sampler, rules, meter, particles)
    if particles == 1:
        return decoder(buffer, np.int32(first), np.int32(total), noise, mask, states)[:, :total]
    marks = rng.random((batch, padded), dtype=np.float32)
    out, weights = decoder.draw(
        buffer, np.int32(first), np.int32(total), noise, mask, states, marks
    )
    grouped = weights.astype(np.float64).reshape(batch, particles)
    shares = np.exp(grouped - grouped.max(axis=1, keepdims=True))
    shares /= shares.sum(axis=1, keepdims=True)
    picked = [row * particles + rng.choice(particles, p=share) for row, share in enumerate(shares)]
    return out[picked, :total]
