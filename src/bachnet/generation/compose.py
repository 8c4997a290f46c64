"""Composing: a prompt (or nothing) in, new chorales out, with a key, rules and a cadence.

The prompt is read once, then one network step per token: the recurrent state is carried
forward instead of re-reading a window for every new token (the original BachNet's way), and
the whole loop, batched over samples, runs as one compiled program owned by a
`bachnet.generation.decoder.Decoder`.

The original BachNet's functions and their counterparts:

* ``predict_next_token(model, context)`` -> ``BachNet.logits(context)[:, -1]`` and a
  `bachnet.generation.samplers.Sampler`, or `next_token`.
* ``generate_sequence(model, prompt, n)`` -> `generate_tokens` (token ids in, token ids out).
* ``generate_chorale(model, seed_chords, steps)`` -> `BachNet.generate` / `generate`.

How a piece is made is set by a `bachnet.generation.config.GenerationConfig` (or its fields as
keywords). A per-token *constraint* restricts what may be drawn at each new position: either
one forced id per token (``-1`` for free) or a boolean mask of allowed ids
(`bachnet.generation.masks.constraint_mask`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError, InputTypeError
from bachnet.generation.config import COMPOSE_SETTINGS, GenerationConfig, SamplerSpec
from bachnet.generation.decoder import (
    DEFAULT_MEMORY_LIMIT,
    MEMORY_ENV,
    VOICES_PER_STEP,
    bucket,
    check_memory,
    compiled,
    decode,
    memory_limit,
    step_fn,
)
from bachnet.generation.masks import (
    body_mask,
    cadence_constraint,
    constraint_mask,
    narrow,
    opening_mask,
    sound_first_mask,
)
from bachnet.generation.rules import Rule, RulesSpec, get_rules
from bachnet.generation.samplers import Sampler
from bachnet.generation.samplers import get as get_sampler
from bachnet.model import scoring
from bachnet.model.networks import BAR
from bachnet.model.protocol import LanguageModel
from bachnet.music.cadence import (
    APPROACH_STEPS,
    LEAD_IN,
    LOOKAHEAD_STEPS,
    cadence_point,
    cadence_rows,
    final_length,
    finish,
    first_cadence,
    loosen_approach,
    move_into_key,
    one_bass,
    scale_rows,
)
from bachnet.music.chorale import Chorale
from bachnet.music.grid import STEP_QUARTERS
from bachnet.music.keys import Key, find_key, key_shift, transpose_into
from bachnet.music.phrases import (
    MAX_PHRASE,
    PLAN_METERS,
    PLAN_PICKUP,
    draw_lengths,
    fermata_lengths,
    local_key,
    plan_phrases,
)
from bachnet.music.ranges import JSB, VoiceRanges

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "HOME_CLOSING",
    "HOME_OPENING",
    "HOME_TRIES",
    "JSB_VOICE_RANGES",
    "MEMORY_ENV",
    "MODE_TRIES",
    "PLAIN_KEYS",
    "VOICES_PER_STEP",
    "GenerationConfig",
    "SamplerSpec",
    "bucket",
    "compiled",
    "constraint_mask",
    "draw_homes",
    "generate",
    "generate_tokens",
    "memory_limit",
    "next_token",
    "sound_first_mask",
    "step_fn",
]

HOME_TRIES = 6
"""Bodies drawn per piece composed in a home key (no prompt): the first whose key
(`bachnet.music.keys.find_key`) is its home key is kept, else the first in its mode. A piece
short enough for `HOME_OPENING` and `HOME_CLOSING` to hold its whole body draws one."""

MODE_TRIES = HOME_TRIES
"""The earlier name of `HOME_TRIES` (bodies drawn per piece with ``key=...``)."""

HOME_OPENING = 32
"""Steps at the start of a piece composed in a home key (two bars of 4/4) in which every voice
keeps to the home key's scale (in minor with the raised sixth and seventh)."""

HOME_CLOSING = 48
"""Steps before a piece's earliest cadence point (three bars of 4/4; to the end of its body)
in which every voice keeps to the home key's scale, so that it turns home before the cadence."""

JSB_VOICE_RANGES: VoiceRanges = JSB
"""Lowest and highest MIDI pitch of soprano, alto, tenor and bass in the JSB train split (an
alias of `bachnet.music.ranges.JSB`)."""


def generate_tokens(
    model: LanguageModel,
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
        model: the model.
        prompt: token ids, one row per sample (a 1-D array is one sample).
        new_tokens: how many tokens to add.
        sampler: anything `bachnet.generation.samplers.get` accepts.
        seed: makes the result repeatable (the same seed gives the same tokens).
        constraint: per new token, forced ids ``(new,)`` with -1 = free, or a boolean mask
            ``(new, vocab)`` / ``(batch, new, vocab)`` of allowed ids.
        rules: voice-leading rules (`bachnet.generation.rules.get_rules`; none by default at
            this level). Token ``i`` of the stream is voice ``i mod 4`` of step ``i // 4``.

    Raises:
        InputError: a bad prompt, count or constraint.
        LimitError: the buffers would need more memory than allowed
            (`bachnet.generation.decoder.memory_limit`).

    Examples:
        >>> generate_tokens(net, [[0, 0, 0, 0]], 8, seed=0).shape  # doctest: +SKIP
        (1, 12)
    """
    ids = np.asarray(prompt, dtype=np.int32)
    if ids.ndim == 1:
        ids = ids[None]
    if ids.ndim != 2 or ids.shape[1] < 1:
        raise InputError(f"prompt must be (batch, length >= 1) token ids, got shape {ids.shape}")
    if new_tokens < 0:
        raise InputError(f"new_tokens must be >= 0, got {new_tokens}")
    vocab = model.config.vocab_size
    if ids.min() < 0 or ids.max() >= vocab:
        raise InputError(f"prompt ids must be in 0..{vocab - 1}")
    chosen = get_sampler(sampler)
    ruleset = get_rules(rules)
    check_memory(len(ids), ids.shape[1] + new_tokens, new_tokens, vocab)
    allowed = None
    if constraint is not None:
        allowed = constraint_mask(constraint, len(ids), new_tokens, vocab)
    return decode(model, ids, new_tokens, chosen, ruleset, seed=seed, allowed=allowed)


def next_token(
    model: LanguageModel,
    context: npt.ArrayLike,
    *,
    sampler: SamplerSpec = "top_p",
    seed: int | None = None,
) -> npt.NDArray[np.int32]:
    """The original BachNet's ``predict_next_token``: re-read the context, draw one id per row.

    Slow by design (the whole context runs through the network); kept as the reference that
    `generate_tokens` is measured against.

    Args:
        model: the model.
        context: ``(batch, time)`` token ids (a 1-D array is one row).
        sampler: anything `bachnet.generation.samplers.get` accepts.
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
    logits = scoring.logits(model, context)[:, -1]
    return np.asarray(get_sampler(sampler)(logits, seed=seed), dtype=np.int32)


# ------------------------------------------------------------------------------- composing
@overload
def generate(
    model: LanguageModel,
    prompt: Chorale | None = None,
    config: GenerationConfig | None = None,
    *,
    num_samples: Literal[1] = 1,
    seed: int | None = None,
    constraint: npt.ArrayLike | None = None,
    **settings: Any,
) -> Chorale: ...


@overload
def generate(
    model: LanguageModel,
    prompt: Chorale | None = None,
    config: GenerationConfig | None = None,
    *,
    num_samples: int,
    seed: int | None = None,
    constraint: npt.ArrayLike | None = None,
    **settings: Any,
) -> Chorale | list[Chorale]: ...


def generate(
    model: LanguageModel,
    prompt: Chorale | None = None,
    config: GenerationConfig | None = None,
    *,
    num_samples: int = 1,
    seed: int | None = None,
    constraint: npt.ArrayLike | None = None,
    **settings: Any,
) -> Chorale | list[Chorale]:
    """Compose ``config.steps`` new 16th-note steps (4 tokens each) after ``prompt``.

    By default a piece opens on its key's tonic chord and ends with a cadence (V-I, the
    final chord on beat 1 or 3 under a fermata, held to the end of its bar; see
    `bachnet.music.cadence`): ``steps`` is then a minimum and a piece is up to 35 steps longer.
    ``cadence=False`` stops after exactly ``steps`` steps.

    By default the music follows voice-leading rules (`bachnet.generation.rules.DEFAULT_RULES`:
    parallel fifths and octaves penalised down to about Bach's rate, no leap beyond an octave,
    a bass that prefers steps; ``rules="strict"`` for textbook voice leading) and each voice
    stays inside its range (``voice_ranges``, itself a `bachnet.generation.rules.VoiceRange`
    rule). ``rules=None`` and ``voice_ranges=False`` give the raw model.

    Args:
        model: the model.
        prompt: a chorale to continue (e.g. ``Dataset.jsb().split("test").draw(seed=1,
            steps=16)``), or ``None``: the model then starts after the silence it reads
            before a piece (a step for an ``"lstm"``, a beat for a ``"beat_lstm"``), which is
            not part of the result, and writes the whole piece itself. A prompt starts on a
            beat.
        config: the settings (`bachnet.generation.config.GenerationConfig`: ``steps``,
            ``sampler``, ``rules``, ``voice_ranges``, ``key``, ``cadence``,
            ``include_prompt``); default: its defaults.
        num_samples: pieces to compose at once (a batch).
        seed: the same seed gives the same pieces.
        constraint: per new token (``4 * steps`` of them), see `generate_tokens`; forced
            tokens win over rules and ranges.
        **settings: fields of the config to change for this call, e.g. ``steps=32``.

    Returns:
        A `Chorale`, or a list of ``num_samples`` of them when ``num_samples > 1``.

    Raises:
        InputError: a bad setting, prompt or constraint; a prompt in the other mode than
            ``key``.
        TypeError: a prompt that is not a `Chorale`, or an unknown setting.

    Examples:
        >>> net = BachNet.from_pretrained()  # doctest: +SKIP
        >>> generate(net, steps=32, sampler={"name": "top_k", "k": 5}, seed=0)  # doctest: +SKIP
        <Chorale: 32 steps (8 quarters)>
    """
    config = GenerationConfig.of(config, settings, COMPOSE_SETTINGS, "generate")
    if num_samples < 1:
        raise InputError(f"num_samples must be >= 1, got {num_samples}")
    if prompt is not None and not isinstance(prompt, Chorale):
        raise InputTypeError(f"prompt must be a Chorale or None, got {type(prompt).__name__}")
    if config.form == "AAB":
        return _bar_form(model, prompt, config, num_samples, seed, constraint)
    ranges = config.ranges_for(model)
    wanted = config.wanted_key()
    if prompt is not None and wanted is not None:
        prompt = _into_key(prompt, wanted, ranges)
    if prompt is not None and config.meter != "4/4" and config.meter != prompt.meter:
        raise InputError(f"the prompt is in {prompt.meter}, not the {config.meter} asked for")
    meter = prompt.meter if prompt is not None else config.meter
    if meter != "4/4" and config.phrases is None and config.fermatas is None:
        if meter not in PLAN_METERS:
            raise InputError(f"the prompt is in {meter}: bachnet continues 4/4 or 3/4 pieces")
        config = config.replace(phrases="auto", meter=meter)  # 3/4 is written in phrases
    elif prompt is not None:
        config = config.replace(meter=meter) if meter in PLAN_METERS else config
    if config.meter != "4/4" and model.network.period == BAR and not model.network.meters:
        warnings.warn(
            f"this model knows the place in a 4/4 bar, not in a {config.meter} one: its "
            "strong beats fall where a 4/4 bar has them; a model that knows each piece's own "
            "bar (jsb-meter) writes 3/4 with its own",
            stacklevel=3,
        )
    if config.phrases is not None or config.fermatas is not None:
        if not config.cadence:
            raise InputError("a phrase plan ends every phrase with a cadence: it needs cadence")
        return _phrased(model, prompt, config, num_samples, seed, constraint, ranges, wanted)
    start = _opening_tokens(model, prompt, 0)
    done = len(prompt) if prompt is not None else 0
    pickup = prompt.pickup if prompt is not None else 0  # bar lines fall at pickup + 16 k
    steps = config.steps
    earliest = first_cadence(done - pickup, steps) if config.cadence else steps
    body = earliest + LOOKAHEAD_STEPS if config.cadence else steps
    new = VOICES_PER_STEP * body
    vocab = model.vocab.size
    # Without a prompt a piece has a home key (the one asked for, or drawn: `draw_homes`): it
    # opens on its tonic chord, keeps to its scale in its first and last bars, cadences in
    # it, and of `HOME_TRIES` bodies the first that stays in it is kept.
    home_key = prompt is None and (config.cadence or wanted is not None)
    closing = max(1, earliest - HOME_CLOSING) if config.cadence else body
    covered = closing <= min(HOME_OPENING, body)  # the scale bars hold the whole body
    tries = HOME_TRIES if home_key and not covered else 1
    rows = num_samples * tries
    check_memory(rows, len(start) + new, new, vocab)
    asked = None
    if constraint is not None:
        asked = constraint_mask(constraint, num_samples, VOICES_PER_STEP * steps, vocab)
    homes: list[Key] = []
    opening = None
    if prompt is None:
        drawn = [wanted] * num_samples if wanted is not None else None
        homes = drawn or draw_homes(np.random.default_rng(seed), num_samples)
        homes = [home for home in homes for _ in range(tries)]  # row r is sample r // tries
        opening = np.stack([opening_mask(model.vocab, home, ranges) for home in homes])
    mask = body_mask(rows, new, vocab, opening=opening, constraint=asked, tries=tries)
    if home_key:
        scales = {  # each home's scale rows, computed once for all its rows
            home: (
                scale_rows(home, model.vocab, min(HOME_OPENING, body)),
                scale_rows(home, model.vocab, body - closing),
            )
            for home in set(homes)
        }
        for index, home in enumerate(homes):
            opening_scale, closing_scale = scales[home]
            narrow(mask[index], 0, opening_scale)
            if closing < body:
                narrow(mask[index], VOICES_PER_STEP * closing, closing_scale)
    sampler = get_sampler(config.sampler)
    ruleset = config.rules_for(model)
    ids = decode(
        model,
        np.tile(start, (rows, 1)),
        new,
        sampler,
        ruleset,
        seed=seed,
        allowed=mask,
        particles=config.particles,
    )
    keys: list[Key] = []
    if config.cadence or wanted is not None:
        skip = len(start) - VOICES_PER_STEP * done  # the silence before the piece
        kept = len(start) + VOICES_PER_STEP * earliest  # what every piece keeps of its body
        ids, keys = _pick_bodies(model, ids[:, skip:kept], ids, num_samples, tries, homes)
    pieces: list[npt.NDArray[np.int32]] = list(ids)
    lengths = [0] * len(pieces)
    if config.cadence:
        pieces, lengths = _cadence(
            model, ids, len(start), done, earliest, keys, ranges, sampler, seed, ruleset, pickup,
            config.particles,
        )  # fmt: skip
    shown = prompt is not None and config.include_prompt
    keep = len(start) - VOICES_PER_STEP * done if shown else len(start)
    name = f"{prompt.name} (continued)" if prompt is not None and prompt.name else "bachnet chorale"
    found_keys: list[Key | None] = [*keys] if keys else [None] * len(pieces)
    chorales = []
    for row, length, found_key in zip(pieces, lengths, found_keys, strict=True):
        piece = model.vocab.decode(row[keep:], strict=True, name=name)
        if prompt is not None:  # the prompt's bars (and, kept, its fermatas) go on
            shown = keep == 0
            piece = piece.replace(
                fermatas=prompt.fermatas if shown else (),
                pickup=(pickup - (0 if shown else done)) % prompt.bar_steps,
                meter=prompt.meter,
            )
        piece = finish(piece, config.cadence, length)
        if found_key is not None and prompt is None:
            piece = move_into_key(piece, found_key, wanted, ranges)
        chorales.append(piece)
    return chorales if num_samples > 1 else chorales[0]


def _bar_form(
    model: LanguageModel,
    prompt: Chorale | None,
    config: GenerationConfig,
    num_samples: int,
    seed: int | None,
    constraint: npt.ArrayLike | None,
) -> Chorale | list[Chorale]:
    """Bar form, AAB: the first two phrases written, then written out again, then the rest.

    The Stollen is composed first (a phrase plan of its two phrases); its second fermata
    chord is held for a beat, so the repeat's pickup falls on the beat after it; the
    Abgesang continues the two Stollen as a prompt, its plan counted from their last fermata.
    """
    if prompt is not None or constraint is not None:
        raise InputError("form='AAB' composes a whole piece: it takes no prompt or constraint")
    if config.fermatas is not None:
        raise InputError("form='AAB' takes phrase lengths (phrases=), not fermatas=")
    pieces = []
    for i in range(num_samples):
        sample_seed = None if seed is None else seed + i
        lengths = (
            draw_lengths(config.steps * STEP_QUARTERS, seed=sample_seed, meter=config.meter)
            if config.phrases in (None, "auto")
            else [int(q) for q in config.phrases]
        )
        while config.phrases in (None, "auto") and len(lengths) < 3:
            lengths.append(lengths[-1])
        if len(lengths) < 3:
            raise InputError(
                f"form='AAB' needs at least three phrases (two for A, one or more for B), "
                f"got {len(lengths)}"
            )
        first = generate(
            model, None, config.replace(form=None, phrases=tuple(lengths[:2])), seed=sample_seed
        )
        assert isinstance(first, Chorale)
        end = first.fermatas[-1] + APPROACH_STEPS  # the second fermata chord held a beat
        stollen = first.chords[:end]
        twice = Chorale(
            np.concatenate([stollen, stollen]),
            name=first.name,
            fermatas=(*first.fermatas, *(f + end for f in first.fermatas)),
            pickup=first.pickup,
            meter=first.meter,
        )
        piece = generate(
            model,
            twice,
            config.replace(form=None, phrases=tuple(lengths[2:]), key=None),
            seed=sample_seed,
        )
        assert isinstance(piece, Chorale)
        pieces.append(piece.replace(name=first.name))
    return pieces if num_samples > 1 else pieces[0]


PLAIN_KEYS: tuple[Key, ...] = (
    *(Key(tonic) for tonic in (0, 7, 2, 9, 5, 10, 3)),
    *(Key(tonic, "minor") for tonic in (9, 4, 11, 6, 2, 7, 0)),
)
"""The home keys of a piece composed without a key asked for: major and minor keys of at
most three sharps or flats (C G D A F Bb Eb; a e b f# d g c)."""


def draw_homes(rng: np.random.Generator, count: int) -> list[Key]:
    """``count`` home keys drawn evenly from `PLAIN_KEYS` (major and minor half and half)."""
    return [PLAIN_KEYS[int(i)] for i in rng.integers(0, len(PLAIN_KEYS), count)]


def _phrased(
    model: LanguageModel,
    prompt: Chorale | None,
    config: GenerationConfig,
    num_samples: int,
    seed: int | None,
    constraint: npt.ArrayLike | None,
    ranges: VoiceRanges,
    wanted: Key | None,
) -> Chorale | list[Chorale]:
    """Compose to a phrase plan in one pass: every cadence is a mask on the tokens drawn.

    Each sample gets its home key (the key asked for, the prompt's, or one of `PLAIN_KEYS`,
    `draw_homes`, moved at the end only if its voices would leave their ranges), its
    phrase lengths (with ``"auto"``) and its cadences (`bachnet.music.phrases.plan_phrases`).
    A fermata chord inside the piece is held for a beat, the last to the end of its bar; in
    the `LEAD_IN` steps before a cadence's approach every voice keeps to the scale of the
    key it cadences in, so the music turns towards it before the cadence is forced.
    """
    rng = np.random.default_rng(seed)
    done = len(prompt) if prompt is not None else 0
    # the most a plan can ask for, checked before anything per sample is built
    positions = config.fermata_positions
    if positions is not None:
        bar, beat = positions[-1]
        quarters = 4.0 * (bar + 1) + beat
    elif config.phrases == "auto":
        quarters = config.steps * STEP_QUARTERS + MAX_PHRASE
    else:
        quarters = sum(config.phrases)  # type: ignore[arg-type]
    most = VOICES_PER_STEP * (done + int(quarters / STEP_QUARTERS) + model.network.lead + 64)
    check_memory(num_samples, most, most, model.vocab.size)
    if prompt is not None:
        homes = [find_key(prompt)] * num_samples
        marks = [f for f in prompt.fermatas if f >= done - prompt.bar_steps]
        start: int | None = marks[-1] if marks else done - APPROACH_STEPS
    else:
        homes = [wanted] * num_samples if wanted is not None else draw_homes(rng, num_samples)
        start = None
    plans = []
    for i, home in enumerate(homes):
        sample_seed = None if seed is None else seed + i
        if positions is not None:
            lengths = fermata_lengths(
                positions,
                pickup=prompt.pickup if prompt is not None else PLAN_PICKUP,
                origin=start,
                meter=config.meter,
            )
        elif config.phrases == "auto":
            lengths = draw_lengths(
                config.steps * STEP_QUARTERS, seed=sample_seed, meter=config.meter
            )
        else:
            lengths = list(config.phrases)  # type: ignore[arg-type]
        plans.append(
            plan_phrases(
                lengths,
                mode=home.mode,
                start=start,
                after=done,
                seed=sample_seed,
                meter=config.meter,
            )
        )
    pickup = prompt.pickup if prompt is not None else plans[0].pickup
    last = max(plan.fermatas[-1] for plan in plans)
    new = VOICES_PER_STEP * (last + 1 - done)
    vocab = model.vocab.size
    first = _opening_tokens(model, prompt, pickup, config.meter)
    check_memory(num_samples, len(first) + new, new, vocab)
    asked = None
    if constraint is not None:
        asked = constraint_mask(constraint, num_samples, new, vocab)
    mask = body_mask(num_samples, new, vocab, constraint=asked)
    for row, (home, plan) in enumerate(zip(homes, plans, strict=True)):
        if prompt is None:
            mask[row, :VOICES_PER_STEP] &= opening_mask(model.vocab, home, ranges)
        end = plan.fermatas[-1]
        # a minor piece ends as Bach's do: on a major chord (132 of his 183), an open fifth
        # (30) or a minor chord (21)
        last_third = rng.choice(["major", "open", "minor"], p=[0.72, 0.16, 0.12])
        for fermata, (kind, relation) in zip(plan.fermatas, plan.cadences, strict=True):
            local = local_key(home, relation)
            held, third = APPROACH_STEPS, None
            if fermata == end:
                held, third = 1, last_third if home.mode == "minor" else None
            rows = cadence_rows(kind, local, model.vocab, ranges, held, third)
            one_bass(rows, model.vocab)  # known ahead: the alto and tenor steer clear of it
            loosen_approach(rows, local, model.vocab)  # the inner voices move into it
            approach = fermata - APPROACH_STEPS
            begin = max(done, approach - LEAD_IN)
            scale = scale_rows(local, model.vocab, approach - begin)
            narrow(mask[row], VOICES_PER_STEP * (begin - done), scale)
            narrow(mask[row], VOICES_PER_STEP * (approach - done), rows)
    sampler = get_sampler(config.sampler)
    ruleset = config.rules_for(model)
    skip = len(first) - VOICES_PER_STEP * done
    before = prompt.fermatas if prompt is not None else ()
    offset = skip // VOICES_PER_STEP  # a piece's step -> its stream's (a phrase model's plan)
    tokens = decode(
        model,
        np.tile(first, (num_samples, 1)),
        new,
        sampler,
        ruleset,
        seed=seed,
        allowed=mask,
        meter=config.meter,
        fermatas=[[f + offset for f in (*before, *plan.fermatas)] for plan in plans],
        particles=config.particles,
    )
    name = f"{prompt.name} (continued)" if prompt is not None and prompt.name else "bachnet chorale"
    chorales = []
    for row, (home, plan) in enumerate(zip(homes, plans, strict=True)):
        end = plan.fermatas[-1]
        chords = np.array(model.vocab.decode(tokens[row, skip:], strict=True).chords)[: end + 1]
        for fermata in plan.fermatas[:-1]:  # an inner fermata chord is held for a beat
            chords[fermata + 1 : fermata + APPROACH_STEPS] = chords[fermata]
        piece = Chorale(
            chords,
            name=name,
            fermatas=(*before, *plan.fermatas[:-1]),
            pickup=pickup,
            meter=config.meter,
        )
        piece = finish(piece, True, final_length(end - pickup, piece.bar_steps))
        if prompt is None:
            piece = move_into_key(piece, home, wanted, ranges)
        elif not config.include_prompt:
            kept = [f - done for f in piece.fermatas if f >= done]
            piece = piece.replace(
                piece.chords[done:], fermatas=kept, pickup=(pickup - done) % piece.bar_steps
            )
        chorales.append(piece)
    return chorales if num_samples > 1 else chorales[0]


def _opening_tokens(
    model: LanguageModel, prompt: Chorale | None, pickup: int, meter: str = "4/4"
) -> npt.NDArray[np.int32]:
    """What the model reads before the new tokens: the prompt (after the silence that puts its
    bar lines where a model that knows the bar expects them), or silence before a piece in
    ``meter`` with ``pickup``."""
    network = model.network
    if prompt is None:
        return np.zeros(network.lead_for(pickup, meter), np.int32)
    silence = np.zeros(network.prefix_for(prompt.pickup, prompt.meter), np.int32)
    return np.concatenate([silence, model.vocab.encode(prompt)]).astype(np.int32)


def _into_key(prompt: Chorale, wanted: Key, ranges: VoiceRanges) -> Chorale:
    """The prompt moved into ``wanted`` (it must be in the same mode)."""
    found = find_key(prompt)
    if found.mode != wanted.mode:
        raise InputError(
            f"the prompt is in {found}: it can be moved to a {found.mode} key, not {wanted}"
        )
    moved = transpose_into(prompt, key_shift(found, wanted), ranges)
    return prompt.replace(moved)


def _pick_bodies(
    model: LanguageModel,
    bodies: npt.NDArray[np.int32],
    ids: npt.NDArray[np.int32],
    num_samples: int,
    tries: int,
    homes: Sequence[Key],
) -> tuple[npt.NDArray[np.int32], list[Key]]:
    """Each sample's body (of its ``tries``) and the key it cadences in.

    ``bodies`` are the rows of ``ids`` cut to what every piece keeps (the key is found there).
    With ``homes`` (one a row: a piece composed in a home key) the first body whose key is its
    home key is kept, else the first in its mode, else the first; the piece cadences in its
    home key, the key it opened in (a move from the key its body drifted to pushed voices out
    of their ranges and the opening off the tonic). Without, each sample's one body and the
    key found in it.
    """
    analysed = [find_key(model.vocab.decode(row).chords) for row in bodies]
    if not homes:
        return ids, analysed
    chosen = []
    for sample in range(num_samples):
        drawn = range(sample * tries, (sample + 1) * tries)
        same = [r for r in drawn if analysed[r] == homes[r]]
        mode = [r for r in drawn if analysed[r].mode == homes[r].mode]
        chosen.append((same or mode or [drawn[0]])[0])
    return ids[chosen], [homes[r] for r in chosen]


def _cadence(
    model: LanguageModel,
    ids: npt.NDArray[np.int32],
    base: int,
    done: int,
    earliest: int,
    keys: Sequence[Key],
    ranges: VoiceRanges,
    sampler: Sampler,
    seed: int | None,
    ruleset: Sequence[Rule],
    pickup: int = 0,
    particles: int = 1,
) -> tuple[list[npt.NDArray[np.int32]], list[int]]:
    """End each body with a V-I cadence at its `cadence_point`, in one batched pass.

    ``ids`` holds ``base`` tokens (the prompt's ``done`` steps, or the silent lead) and then
    the bodies; ``earliest`` counts new steps. A row whose cadence starts later is forced
    through its own body tokens up to that point, so all rows share one call (one compiled
    program; `bachnet.generation.masks.cadence_constraint`). Returns each row cut after its
    final chord, and the final chord's length (`final_length`).
    """
    cadence_tokens = VOICES_PER_STEP * (APPROACH_STEPS + 1)
    skip = base - VOICES_PER_STEP * done  # the lead, when there is no prompt
    pieces = [model.vocab.decode(row[skip:]).chords for row in ids]
    starts = [
        cadence_point(chords, key, done + earliest) - done
        for chords, key in zip(pieces, keys, strict=True)
    ]
    begins = [base + VOICES_PER_STEP * start for start in starts]
    low = min(begins)
    allowed = cadence_constraint(model.vocab, ids, low, begins, keys, ranges)
    out = decode(
        model,
        ids[:, :low],
        allowed.shape[1],
        sampler,
        ruleset,
        seed=None if seed is None else seed + 1,
        allowed=allowed,
        particles=particles,
    )
    rows = [out[row, : begin + cadence_tokens] for row, begin in enumerate(begins)]
    lengths = [final_length(done + start + APPROACH_STEPS - pickup) for start in starts]
    return rows, lengths
