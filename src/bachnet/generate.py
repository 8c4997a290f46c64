"""Fast incremental generation: the prompt is read once, then one LSTM step per token.

The original BachNet re-ran the whole 256-token window through the network for every new token.
Here the recurrent state is carried forward instead: each new token costs one step of each LSTM
layer, and the whole loop (prompt and new tokens, batched over samples) runs as one compiled program
(``tf.function(jit_compile=True)`` on TensorFlow, ``jax.jit`` on JAX; eager on PyTorch).

The original BachNet's functions and their counterparts:

* ``predict_next_token(model, context)`` -> ``BachNet.logits(context)[:, -1]`` and a
  `bachnet.samplers.Sampler`, or `next_token`.
* ``generate_sequence(model, prompt, n)`` -> `generate_tokens` (token ids in, token ids out).
* ``generate_chorale(model, seed_chords, steps)`` -> `BachNet.generate` / `generate`.

A per-token *constraint* restricts what may be drawn at each new position: either one forced
id per token (``-1`` for free) or a boolean mask of allowed ids. That is how a given soprano can
be harmonised: force the soprano tokens and let the model choose the rest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .chorale import MAX_STEPS, Chorale
from .endings import (
    APPROACH_STEPS,
    LOOKAHEAD_STEPS,
    cadence_masks,
    cadence_point,
    final_length,
    finish,
    first_cadence,
    move_into_key,
    tonic_mask,
)
from .errors import InputError, LimitError
from .keys import Key, find_key, key_shift, transpose_into
from .rules import Context, Rule, RulesSpec, VoiceRange, get_rules
from .rules import apply as apply_rules
from .samplers import Sampler
from .samplers import get as get_sampler

if TYPE_CHECKING:
    from .model import BachNet

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "JSB_VOICE_RANGES",
    "MEMORY_ENV",
    "MODE_TRIES",
    "VOICES_PER_STEP",
    "SamplerSpec",
    "bucket",
    "compiled",
    "constraint_mask",
    "generate",
    "generate_tokens",
    "memory_limit",
    "next_token",
    "sound_first_mask",
    "step_fn",
]


SamplerSpec = str | dict[str, Any] | Sampler
"""Anything `bachnet.samplers.get` accepts: a name, a config dict or a `Sampler`."""

VOICES_PER_STEP = 4

MODE_TRIES = 4
"""Bodies drawn per piece with ``key=...``: the first in the mode asked for is kept."""

JSB_VOICE_RANGES: tuple[tuple[int, int], ...] = ((60, 81), (52, 74), (46, 69), (36, 66))
"""Lowest and highest MIDI pitch of soprano, alto, tenor and bass in the JSB train split."""


def step_fn(net: BachNet) -> Callable[[Any, Any, list[Any]], tuple[Any, list[Any]]]:
    """One token through the network: ``(ids (batch,), index, states) -> (logits, states)``.

    ``index`` is the token's place in the stream (the stream starts on a beat); the model
    type owns the step and its state (`bachnet.networks.Network.step`), so the logits equal
    those of the full model.

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
    return net.network.step(net.keras_model)


def _loop(net: BachNet, sampler: Sampler, rules: Sequence[Rule]) -> Callable[..., Any]:
    """The whole generation as one function of ``(buffer, first, stop, noise, allowed)``.

    ``buffer`` may be longer than the stream (padded to a length bucket, so that a new
    ``steps`` value reuses the compiled program); the loop runs up to ``stop``.
    """
    from keras import ops

    step = step_fn(net)
    network = net.network
    table = net.vocab.pitch_of(np.arange(net.vocab.size)).astype(np.int32)
    ramp = np.arange(VOICES_PER_STEP, dtype=np.int32)

    def context(tokens: Any, position: Any) -> Context:
        pitches = ops.convert_to_tensor(table)
        here = position // VOICES_PER_STEP
        voice = position - here * VOICES_PER_STEP
        before = ops.maximum(here - 1, 0) * VOICES_PER_STEP + ramp
        previous = ops.take(pitches, ops.take(tokens, before, axis=1))
        previous = previous * ops.cast(here > 0, "int32")
        current = ops.take(pitches, ops.take(tokens, here * VOICES_PER_STEP + ramp, axis=1))
        current = current * ops.cast(ops.expand_dims(ramp < voice, 0), "int32")
        return Context(voice=voice, step=here, previous=previous, current=current, pitches=pitches)

    def run(buffer: Any, first: Any, stop: Any, noise: Any, allowed: Any) -> Any:
        states = network.initial_state(ops.shape(buffer)[0])

        def body(t: Any, carry: tuple[Any, list[Any]]) -> tuple[Any, list[Any]]:
            tokens, states = carry
            logits, states = step(ops.take(tokens, t, axis=1), t, states)
            logits = ops.cast(logits, "float32")
            # The constraint first (forced tokens always win), then the rules, each of which
            # is skipped where it would leave nothing to draw, then the sampler.
            logits = ops.where(ops.take(allowed, t + 1, axis=1), logits, float("-inf"))
            if rules:
                logits = apply_rules(rules, logits, context(tokens, t + 1))
            drawn = sampler.draw(sampler.filter(logits), ops.take(noise, t + 1, axis=1))
            known = ops.take(tokens, t + 1, axis=1)
            chosen = ops.where(t + 1 < first, known, ops.cast(drawn, "int32"))
            tokens = ops.slice_update(tokens, (0, t + 1), ops.expand_dims(chosen, 1))
            return tokens, states

        tokens, _ = ops.fori_loop(0, stop - 1, body, (buffer, states))
        return tokens

    return compiled(run)


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


MEMORY_ENV = "BACHNET_MAX_MEMORY"
"""Environment variable: the most bytes one generation call may allocate for its buffers."""

DEFAULT_MEMORY_LIMIT = 2**31
"""Without ``$BACHNET_MAX_MEMORY``: 2 GiB (64 pieces of about 11,000 steps each)."""


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


def constraint_mask(
    constraint: npt.ArrayLike, batch: int, new: int, vocab: int
) -> npt.NDArray[np.bool_]:
    """Validate a per-token constraint and return it as a ``(1 or batch, new, vocab)`` mask.

    Args:
        constraint: forced ids ``(new,)`` with -1 = free, or a boolean mask of allowed ids
            ``(new, vocab)`` or ``(batch, new, vocab)``.
        batch: samples generated at once.
        new: new tokens.
        vocab: vocabulary size.

    Raises:
        ValueError: a wrong shape or dtype, an id out of range, or a token with no allowed id.

    Examples:
        >>> constraint_mask([-1, 3], batch=1, new=2, vocab=4).astype(int).tolist()
        [[[1, 1, 1, 1], [0, 0, 0, 1]]]
    """
    array = np.asarray(constraint)
    if array.ndim == 1 and array.dtype.kind in "iu":
        if array.shape[0] != new:
            raise ValueError(
                f"constraint has {array.shape[0]} forced ids, expected one per new token ({new})"
            )
        bad = (array < -1) | (array >= vocab)
        if bad.any():
            raise ValueError(
                f"constraint id {array[bad][0]} is outside -1..{vocab - 1} (-1 = free)"
            )
        mask = np.ones((new, vocab), dtype=bool)
        forced = array >= 0
        mask[forced] = False
        mask[np.flatnonzero(forced), array[forced]] = True
        array = mask
    wrong_batch = array.ndim == 3 and array.shape[0] not in (1, batch)
    if (
        array.dtype != bool
        or array.shape[-2:] != (new, vocab)
        or array.ndim not in (2, 3)
        or wrong_batch
    ):
        raise ValueError(
            f"constraint must be ({new},) forced ids or a boolean mask of shape ({new}, {vocab}) "
            f"or ({batch}, {new}, {vocab}); got dtype {array.dtype}, shape {array.shape}"
        )
    if not array.any(axis=-1).all():
        where = np.argwhere(~array.any(axis=-1))[0]
        raise ValueError(f"constraint allows no id at new token {where[-1]}")
    return array.reshape((-1, new, vocab))


def sound_first_mask(vocab: int, steps: int) -> npt.NDArray[np.bool_]:
    """A ``(4 * steps, vocab)`` mask that forbids silence (id 0) in the first step only.

    Examples:
        >>> mask = sound_first_mask(47, 2)
        >>> mask.shape, bool(mask[0, 0]), bool(mask[4, 0])
        ((8, 47), False, True)
    """
    mask = np.ones((VOICES_PER_STEP * steps, vocab), dtype=bool)
    mask[:VOICES_PER_STEP, 0] = False
    return mask


def generate_tokens(
    net: BachNet,
    prompt: npt.ArrayLike,
    new_tokens: int,
    *,
    sampler: SamplerSpec = "top_p",
    seed: int | None = None,
    constraint: npt.ArrayLike | None = None,
    rules: RulesSpec = None,
) -> npt.NDArray[np.int32]:
    """Continue token streams: ``(batch, prompt_len)`` ids in, ``(batch, prompt_len + new)`` out.

    The original BachNet's ``generate_sequence``. The prompt must hold at least one token.

    Args:
        net: the model.
        prompt: token ids, one row per sample (a 1-D array is one sample).
        new_tokens: how many tokens to add.
        sampler: anything `bachnet.samplers.get` accepts.
        seed: makes the result repeatable (the same seed gives the same tokens).
        constraint: per new token, forced ids ``(new,)`` with -1 = free, or a boolean mask
            ``(new, vocab)`` / ``(batch, new, vocab)`` of allowed ids.
        rules: voice-leading rules (`bachnet.rules.get_rules`; none by default at this
            level). Token ``i`` of the stream is voice ``i mod 4`` of step ``i // 4``.

    Examples:
        >>> generate_tokens(net, [[0, 0, 0, 0]], 8, seed=0).shape  # doctest: +SKIP
        (1, 12)
    """
    ids = np.asarray(prompt, dtype=np.int32)
    if ids.ndim == 1:
        ids = ids[None]
    if ids.ndim != 2 or ids.shape[1] < 1:
        raise ValueError(f"prompt must be (batch, length >= 1) token ids, got shape {ids.shape}")
    if new_tokens < 0:
        raise ValueError(f"new_tokens must be >= 0, got {new_tokens}")
    vocab = net.config.vocab_size
    if ids.min() < 0 or ids.max() >= vocab:
        raise ValueError(f"prompt ids must be in 0..{vocab - 1}")
    chosen = get_sampler(sampler)
    ruleset = get_rules(rules)
    batch, first = ids.shape
    total = first + new_tokens
    padded = bucket(total)
    needed = batch * padded * vocab * 5  # the noise (float32) and the allowed mask (bool)
    limit = memory_limit()
    if needed > limit:
        raise LimitError(
            f"generating {new_tokens:,} tokens x {batch:,} samples needs about "
            f"{needed / 2**30:.1f} GiB of buffers, more than the {limit / 2**30:.1f} GiB allowed; "
            f"ask for fewer steps or samples, or raise ${MEMORY_ENV} (bytes)"
        )
    buffer = np.zeros((batch, padded), dtype=np.int32)
    buffer[:, :first] = ids
    allowed = np.ones((batch, padded, vocab), dtype=bool)
    if constraint is not None:
        allowed[:, first:total] = constraint_mask(constraint, batch, new_tokens, vocab)
    noise = np.zeros((batch, padded, vocab), dtype=np.float32)
    noise[:, :total] = np.random.default_rng(seed).random((batch, total, vocab), dtype=np.float32)
    # The class is part of the key: an unregistered subclass inherits its parent's name.
    key = (
        type(chosen),
        repr(chosen.get_config()),
        tuple((type(rule), repr(rule.get_config())) for rule in ruleset),
    )
    cache: dict[Any, Any] = net._generators
    if key not in cache:
        cache[key] = _loop(net, chosen, ruleset)
    out = cache[key](buffer, np.int32(first), np.int32(total), noise, allowed)
    return np.asarray(out, dtype=np.int32)[:, :total]


def next_token(
    net: BachNet, context: npt.ArrayLike, *, sampler: SamplerSpec = "top_p", seed: int | None = None
) -> npt.NDArray[np.int32]:
    """The original BachNet's ``predict_next_token``: re-read the context, draw one id per row.

    Slow by design (the whole context runs through the network); kept as the reference that
    `generate_tokens` is measured against.

    Args:
        net: the model.
        context: ``(batch, time)`` token ids (a 1-D array is one row).
        sampler: anything `bachnet.samplers.get` accepts.
        seed: makes the draw repeatable.

    Returns:
        int32 ids of shape ``(batch,)``.

    Examples:
        >>> import keras
        >>> from bachnet import BachNet, ModelConfig
        >>> keras.utils.set_random_seed(0)
        >>> net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16))
        >>> context = np.array([[37, 32, 29, 13], [0, 0, 0, 0]])
        >>> ids = next_token(net, context, sampler="greedy")
        >>> ids.shape, ids.dtype
        ((2,), dtype('int32'))
        >>> bool((ids == net.logits(context)[:, -1].argmax(-1)).all())
        True
    """
    logits = net.logits(context)[:, -1]
    return np.asarray(get_sampler(sampler)(logits, seed=seed), dtype=np.int32)


def _cadence(
    net: BachNet,
    ids: npt.NDArray[np.int32],
    base: int,
    done: int,
    earliest: int,
    keys: Sequence[Key],
    ranges: Sequence[tuple[int, int]],
    sampler: SamplerSpec,
    seed: int | None,
    ruleset: Sequence[Rule],
) -> tuple[list[npt.NDArray[np.int32]], list[int]]:
    """End each body with a V-I cadence at its `cadence_point`, in one batched pass.

    ``ids`` holds ``base`` tokens (the prompt's ``done`` steps, or the silent lead) and then
    the bodies; ``earliest`` counts new steps. A row whose cadence starts later is forced
    through its own body tokens up to that point, so all rows share one call (one compiled
    program). Returns each row cut after its final chord, and the final chord's length
    (`final_length`).
    """
    vocab = net.vocab.size
    cadence_tokens = VOICES_PER_STEP * (APPROACH_STEPS + 1)
    skip = base - VOICES_PER_STEP * done  # the lead, when there is no prompt
    pieces = [net.vocab.decode(row[skip:]).chords for row in ids]
    starts = [
        cadence_point(chords, key, done + earliest) - done
        for chords, key in zip(pieces, keys, strict=True)
    ]
    low = base + VOICES_PER_STEP * min(starts)
    high = base + VOICES_PER_STEP * max(starts) + cadence_tokens
    allowed = np.ones((len(ids), high - low, vocab), dtype=bool)
    masks = cadence_masks(keys, net.vocab, ranges)
    one_hot = np.eye(vocab, dtype=bool)  # forcing a row through its own body tokens
    for row, start in enumerate(starts):
        begin = base + VOICES_PER_STEP * start - low
        allowed[row, :begin] = one_hot[ids[row, low : low + begin]]
        allowed[row, begin : begin + cadence_tokens] = masks[row]
    out = generate_tokens(
        net,
        ids[:, :low],
        high - low,
        sampler=sampler,
        seed=None if seed is None else seed + 1,
        constraint=allowed,
        rules=ruleset,
    )
    ends = [base + VOICES_PER_STEP * start + cadence_tokens for start in starts]
    rows = [out[row, :end] for row, end in enumerate(ends)]
    lengths = [final_length(done + start + APPROACH_STEPS) for start in starts]
    return rows, lengths


def generate(
    net: BachNet,
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
    """Compose ``steps`` new 16th-note steps (4 tokens each) after ``prompt``.

    By default a piece opens on its key's tonic chord and ends with a cadence (V-I, the
    final chord on beat 1 or 3 under a fermata, held to the end of its bar; see
    `bachnet.endings`): ``steps`` is then a minimum and a piece is up to 35 steps longer.
    ``cadence=False`` stops after exactly ``steps`` steps.

    By default the music follows voice-leading rules (`bachnet.rules.DEFAULT_RULES`: no
    parallel fifths or octaves, no voice crossing, close spacing, no leap beyond an octave,
    a preference for steps over leaps)
    and each voice stays inside its range (``voice_ranges``, itself a
    `bachnet.rules.VoiceRange` rule). ``rules=None`` and ``voice_ranges=False`` give the raw
    model.

    Args:
        net: the model.
        prompt: a chorale to continue (e.g. ``Dataset.jsb().split("test").draw(seed=1,
            steps=16)``), or ``None``: the model then starts after the silence it reads
            before a piece (a step for an ``"lstm"``, a beat for a ``"beat_lstm"``), which is
            not part of the result, and writes the whole piece itself. A prompt starts on a
            beat.
        steps: new 16th-note steps (>= 1).
        sampler: anything `bachnet.samplers.get` accepts (default: nucleus, p = 0.98).
        num_samples: pieces to compose at once (a batch).
        seed: the same seed gives the same pieces.
        include_prompt: start the result with the prompt.
        constraint: per new token (``4 * steps`` of them), see `generate_tokens`; forced
            tokens win over rules and ranges.
        voice_ranges: ``True`` for the ranges the model was trained on (its metadata, else
            `JSB_VOICE_RANGES`), four ``(low, high)`` MIDI pairs (soprano first), or ``False``
            for none. With no prompt, the first step must also sound in all four voices.
        rules: ``"default"``, ``None`` for none, or rule specs (names, config dicts,
            `bachnet.rules.Rule` instances); see `bachnet.rules`.
        key: the key to compose in (``"D minor"``, ``"Bb"``, a `bachnet.keys.Key`); without
            it a piece gets one of the keys of at most four sharps or flats (drawn from the
            seed), or a prompt keeps its own. A prompt is transposed into ``key`` (same mode).
        cadence: end with a cadence in the key.

    Returns:
        A `Chorale`, or a list of ``num_samples`` of them when ``num_samples > 1``.

    Examples:
        >>> net = BachNet.from_pretrained()  # doctest: +SKIP
        >>> net.generate(steps=32, sampler={"name": "top_k", "k": 5}, seed=0)  # doctest: +SKIP
        <Chorale: 32 steps (8 quarters)>
    """
    if steps < 1:
        raise InputError(f"steps must be >= 1, got {steps}")
    if steps > MAX_STEPS:
        raise LimitError(f"steps must be at most {MAX_STEPS:,} (4,096 bars), got {steps:,}")
    if num_samples < 1:
        raise InputError(f"num_samples must be >= 1, got {num_samples}")
    if prompt is not None and not isinstance(prompt, Chorale):
        raise TypeError(f"prompt must be a Chorale or None, got {type(prompt).__name__}")
    ranges = net.metadata.get("voice_ranges", JSB_VOICE_RANGES)
    if voice_ranges is not True and voice_ranges is not False:
        ranges = voice_ranges
    wanted = None if key is None else Key.parse(key)
    if prompt is not None and wanted is not None:  # move the prompt into the key asked for
        found = find_key(prompt)
        if found.mode != wanted.mode:
            raise ValueError(
                f"the prompt is in {found}: it can be moved to a {found.mode} key, not {wanted}"
            )
        moved = transpose_into(prompt, key_shift(found, wanted), ranges)
        prompt = Chorale(moved, name=prompt.name, fermatas=prompt.fermatas)
    lead = np.zeros(net.network.lead, np.int32)  # silence before a piece (a step or a beat)
    start = net.vocab.encode(prompt) if prompt is not None else lead
    done = len(prompt) if prompt is not None else 0
    earliest = first_cadence(done, steps) if cadence else steps
    body = earliest + LOOKAHEAD_STEPS if cadence else steps
    vocab = net.vocab.size
    tries = MODE_TRIES if wanted is not None and prompt is None else 1
    mask = np.ones((num_samples * tries, VOICES_PER_STEP * body, vocab), dtype=bool)
    if prompt is None:
        first = (
            sound_first_mask(vocab, 1) if wanted is None else tonic_mask(wanted, net.vocab, ranges)
        )
        mask[:, :VOICES_PER_STEP] = first
    if constraint is not None:
        asked = np.ones_like(mask)
        given = constraint_mask(constraint, num_samples, VOICES_PER_STEP * steps, vocab)
        asked[:, : VOICES_PER_STEP * steps] = (
            np.repeat(given, tries, axis=0) if len(given) > 1 else given
        )
        both = asked & mask  # forced tokens win where they clash with the opening chord
        mask = np.where(both.any(axis=-1, keepdims=True), both, asked)
    ruleset = get_rules(rules)
    if voice_ranges is not False:
        ruleset = [VoiceRange(ranges=ranges), *ruleset]
    ids = generate_tokens(
        net,
        np.tile(start, (num_samples * tries, 1)),
        VOICES_PER_STEP * body,
        sampler=sampler,
        seed=seed,
        constraint=mask,
        rules=ruleset,
    )
    skip = len(start) if prompt is None else 0
    keys: list[Key] = []
    if cadence or wanted is not None:
        kept = len(start) + VOICES_PER_STEP * earliest  # what every piece keeps of its body
        analysed = [find_key(net.vocab.decode(row[skip:kept]).chords) for row in ids]
        chosen = []
        for sample in range(num_samples):
            drawn = range(sample * tries, (sample + 1) * tries)
            fits = [r for r in drawn if wanted is None or analysed[r].mode == wanted.mode]
            chosen.append(fits[0] if fits else drawn[0])
        ids = ids[chosen]
        keys = [analysed[r] for r in chosen]
    rows: list[npt.NDArray[np.int32]] = list(ids)
    lengths = [0] * len(rows)
    if cadence:
        rows, lengths = _cadence(
            net, ids, len(start), done, earliest, keys, ranges, sampler, seed, ruleset
        )
    keep = 0 if (prompt is not None and include_prompt) else len(start)
    name = f"{prompt.name} (continued)" if prompt is not None and prompt.name else "bachnet chorale"
    pieces = []
    found_keys: list[Key | None] = [*keys] if keys else [None] * len(rows)
    for row, length, found_key in zip(rows, lengths, found_keys, strict=True):
        piece = finish(net.vocab.decode(row[keep:], strict=True, name=name), cadence, length)
        if found_key is not None and prompt is None:
            piece = move_into_key(piece, found_key, wanted, ranges)
        pieces.append(piece)
    return pieces if num_samples > 1 else pieces[0]
