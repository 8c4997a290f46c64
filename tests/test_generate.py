"""Tests for bachnet.generation.compose: incremental steps, the compiled loop, constraints,
arguments, settings."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest
from keras import ops

from bachnet import BachNet, Chorale, ModelConfig
from bachnet.errors import InputError, LimitError
from bachnet.generation import compose
from bachnet.generation import decoder as decoder_module
from bachnet.generation.compose import (
    JSB_VOICE_RANGES,
    generate,
    generate_tokens,
    next_token,
    step_fn,
)
from bachnet.generation.config import GenerationConfig
from bachnet.generation.decoder import Decoder, compiled_loops, decoder_for
from bachnet.generation.rules import VoiceRange, get_rules, in_stream
from bachnet.generation.samplers import Sampler, TopK
from bachnet.music.keys import Key
from bachnet.music.ranges import JSB, VoiceRanges

UNITS = (16, 12)
VOCAB = 47


@pytest.fixture(scope="module")
def net() -> BachNet:
    """A tiny two-layer model with fixed random weights, shared so compiled loops are reused."""
    keras.utils.set_random_seed(0)
    return BachNet(ModelConfig(lstm_units=UNITS, embedding_dim=8, dense_units=8, window=32))


@pytest.fixture(scope="module")
def prompt() -> Chorale:
    return Chorale([[72, 67, 64, 48], [72, 67, 64, 48], [74, 67, 62, 43], [0, 65, 60, 41]])


@pytest.mark.parametrize(
    "kind",
    ["tiny", "one-layer-no-norm-no-dense", "beat_lstm", "bar_lstm", "step_lstm", "step_lstm-bare"],
)
@pytest.mark.parametrize("tables", [False, True])
def test_step_fn_matches_full_context_logits(net: BachNet, kind: str, tables: bool) -> None:
    """One token at a time with carried state equals the full model, for every model type,
    with the first layer's input read from tables (as the compiled loop reads it) or not."""
    if kind != "tiny":
        keras.utils.set_random_seed(1)
        config = ModelConfig(lstm_units=(10,), embedding_dim=6, dense_units=0, layer_norm=False)
        if kind == "beat_lstm":
            config = ModelConfig(architecture="beat_lstm", lstm_units=(10, 6), embedding_dim=6)
        if kind == "step_lstm":
            config = ModelConfig(architecture="step_lstm", lstm_units=(10, 6), embedding_dim=6)
        if kind == "bar_lstm":
            config = ModelConfig(architecture="bar_lstm", lstm_units=(10, 6), embedding_dim=6)
        if kind == "step_lstm-bare":
            config = dataclasses.replace(config, architecture="step_lstm")
        net = BachNet(config)
    units = net.config.lstm_units
    ids = np.random.default_rng(1).integers(0, VOCAB, size=(2, 140)).astype(np.int32)
    step = step_fn(net, tables=tables)
    states = net.network.initial_state(2)
    incremental = []
    for t in range(ids.shape[1]):
        logits, states = step(ids[:, t], t, states)
        incremental.append(ops.convert_to_numpy(logits))
    # step_lstm: its last output and chord; bar_lstm: the voices' last tokens and held counts
    extra = {"step_lstm": 2, "bar_lstm": 1}.get(net.config.architecture, 0)
    assert len(states) == 2 * len(units) + extra
    np.testing.assert_allclose(np.stack(incremental, axis=1), net.logits(ids), atol=1e-5)


def test_step_lstm_is_causal_and_writes_each_voice_from_the_ones_above() -> None:
    """Changing a token changes no logit before it; the alto's logits (at the soprano's
    token) depend on the soprano just chosen; windows of any length work."""
    keras.utils.set_random_seed(3)
    net = BachNet(ModelConfig(architecture="step_lstm", lstm_units=(8,), embedding_dim=4))
    ids = np.random.default_rng(0).integers(1, VOCAB, size=(1, 26)).astype(np.int32)
    base = net.logits(ids)
    for where in (13, 16, 20, 25):
        changed = ids.copy()
        changed[0, where] = (changed[0, where] % (VOCAB - 1)) + 1
        other = net.logits(changed)
        np.testing.assert_allclose(other[:, :where], base[:, :where], atol=1e-6)
        assert not np.allclose(other[:, where], base[:, where], atol=1e-6)
    for length in (1, 3, 4, 5):
        np.testing.assert_allclose(net.logits(ids[:, :length]), base[:, :length], atol=1e-5)


def test_beat_lstm_logits_depend_on_the_place_in_the_beat() -> None:
    """The same tokens read one step later (shifted by 4) give other logits: it knows the beat."""
    keras.utils.set_random_seed(2)
    net = BachNet(ModelConfig(architecture="beat_lstm", lstm_units=(8,), embedding_dim=4))
    ids = np.random.default_rng(0).integers(1, VOCAB, size=(1, 8)).astype(np.int32)
    shifted = np.concatenate([np.zeros((1, 4), np.int32), ids], axis=1)
    plain = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4))
    plain_shifted = np.concatenate([np.zeros((1, 16), np.int32), ids], axis=1)
    assert not np.allclose(net.logits(ids)[0, -1], net.logits(shifted)[0, -1], atol=1e-4)
    # A beat later (16 tokens), only the state differs, not the position: sanity of the period.
    assert net.network.lead == 16 and plain.network.lead == 4
    assert plain.logits(plain_shifted).shape == (1, 24, VOCAB)


def test_greedy_equals_the_seed_way(net: BachNet) -> None:
    first = np.random.default_rng(2).integers(0, VOCAB, size=(2, 8)).astype(np.int32)
    fast = generate_tokens(net, first, 12, sampler="greedy")
    context = first
    for _ in range(12):
        drawn = next_token(net, context, sampler="greedy")
        context = np.concatenate([context, drawn[:, None]], axis=1)
    assert fast.dtype == np.int32
    np.testing.assert_array_equal(fast, context)


def test_prompt_tokens_are_kept(net: BachNet) -> None:
    first = np.random.default_rng(3).integers(0, VOCAB, size=(2, 8)).astype(np.int32)
    out = generate_tokens(net, first, 12, seed=0)
    assert out.shape == (2, 20)
    np.testing.assert_array_equal(out[:, :8], first)
    assert out.min() >= 0 and out.max() < VOCAB


def test_one_dimensional_prompt_and_no_new_tokens(net: BachNet) -> None:
    assert generate_tokens(net, [0, 0, 0, 0], 8, seed=0).shape == (1, 12)
    np.testing.assert_array_equal(generate_tokens(net, [[5, 6, 7, 8]], 0), [[5, 6, 7, 8]])


def test_same_seed_same_chorale_other_seed_other_chorale(net: BachNet) -> None:
    a = generate(net, steps=8, seed=11)
    b = generate(net, steps=8, seed=11)
    c = generate(net, steps=8, seed=12)
    assert isinstance(a, Chorale)
    assert a == b
    assert a != c


def test_num_samples_gives_different_pieces(net: BachNet) -> None:
    pieces = net.generate(steps=8, num_samples=3, seed=5, cadence=False)
    assert isinstance(pieces, list) and len(pieces) == 3
    assert all(isinstance(p, Chorale) and len(p) == 8 for p in pieces)
    contents = {p.chords.tobytes() for p in pieces}
    assert len(contents) == 3


def test_lengths_with_and_without_prompt(net: BachNet, prompt: Chorale) -> None:
    alone = generate(net, None, steps=8, seed=0, cadence=False)
    assert isinstance(alone, Chorale) and len(alone) == 8  # the silent start step is dropped
    alone_too = generate(net, None, steps=8, seed=0, include_prompt=False, cadence=False)
    assert alone_too == alone
    with_prompt = generate(net, prompt, steps=8, seed=0, cadence=False)
    without = generate(net, prompt, steps=8, seed=0, include_prompt=False, cadence=False)
    assert isinstance(with_prompt, Chorale) and isinstance(without, Chorale)
    assert len(with_prompt) == len(prompt) + 8
    assert len(without) == 8
    np.testing.assert_array_equal(with_prompt.chords[: len(prompt)], prompt.chords)
    np.testing.assert_array_equal(with_prompt.chords[len(prompt) :], without.chords)


def test_result_is_whole_four_voice_steps(net: BachNet) -> None:
    piece = generate(net, steps=8, seed=1, cadence=False)
    assert isinstance(piece, Chorale)
    assert piece.chords.shape == (8, 4)
    sounding = piece.chords[piece.chords > 0]
    assert ((sounding >= 36) & (sounding <= 81)).all()


def test_forced_ids_appear_at_their_positions(net: BachNet) -> None:
    forced = np.full(32, -1, dtype=np.int64)
    soprano = np.array([25, 27, 29, 30, 32, 30, 29, 27])  # MIDI 60, 62, 64, 65, 67, ...
    forced[0::4] = soprano
    forced[5] = 0  # alto of step 1 is silent
    for num in (1, 3):
        out = generate_tokens(net, np.zeros((num, 4), np.int32), 32, seed=4, constraint=forced)
        new = out[:, 4:]
        np.testing.assert_array_equal(new[:, 0::4], np.broadcast_to(soprano, (num, 8)))
        assert (new[:, 5] == 0).all()
    piece = generate(net, steps=8, seed=4, constraint=forced, cadence=False)
    assert isinstance(piece, Chorale)
    np.testing.assert_array_equal(piece.chords[:, 0], soprano + 35)


def test_forced_ids_with_greedy(net: BachNet) -> None:
    forced = np.full(16, -1)
    forced[3] = 46
    out = generate_tokens(net, np.zeros((1, 4), np.int32), 16, sampler="greedy", constraint=forced)
    assert out[0, 7] == 46


def test_mask_restricts_draws(net: BachNet) -> None:
    allowed_soprano = net.vocab.ids_of([60, 62, 64, 65, 67])
    mask = np.ones((32, VOCAB), dtype=bool)
    mask[0::4] = False
    mask[0::4, allowed_soprano] = True
    mask[1::4, 0] = False  # the alto never rests
    pieces = generate(net, steps=8, seed=7, num_samples=3, constraint=mask, cadence=False)
    assert isinstance(pieces, list)
    for piece in pieces:
        assert set(piece.chords[:, 0].tolist()) <= {60, 62, 64, 65, 67}
        assert (piece.chords[:, 1] > 0).all()


def test_batch_wise_mask(net: BachNet) -> None:
    mask = np.zeros((3, 16, VOCAB), dtype=bool)
    for sample, token in enumerate((3, 17, 40)):
        mask[sample, :, token] = True
        mask[sample, 8:] = True  # the last two steps are free
    out = generate_tokens(net, np.zeros((3, 4), np.int32), 16, seed=0, constraint=mask)
    for sample, token in enumerate((3, 17, 40)):
        assert (out[sample, 4:12] == token).all()


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        (np.full(31, -1), r"31 forced ids, expected one per new token \(32\)"),
        (np.array([47] + [-1] * 31), r"constraint id 47 is outside -1\.\.46"),
        (np.array([-2] + [-1] * 31), r"constraint id -2 is outside -1\.\.46"),
        (np.ones((31, VOCAB), bool), r"boolean mask of shape \(32, 47\)"),
        (np.ones((32, VOCAB - 1), bool), r"got dtype bool, shape \(32, 46\)"),
        (np.ones((32, VOCAB), np.float32), r"got dtype float32"),
        (np.ones((2, 3, 32, VOCAB), bool), r"shape \(2, 3, 32, 47\)"),
        (np.ones((2, 32, VOCAB), bool), r"or \(3, 32, 47\)"),
        (np.full((3, 32), -1), r"got dtype int64, shape \(3, 32\)"),
    ],
)
def test_bad_constraints(net: BachNet, constraint: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(net, steps=8, num_samples=3, constraint=constraint)


def test_constraint_row_that_allows_nothing(net: BachNet) -> None:
    mask = np.ones((32, VOCAB), dtype=bool)
    mask[13] = False
    with pytest.raises(ValueError, match="allows no id at new token 13"):
        generate(net, steps=8, constraint=mask)
    batch = np.ones((2, 32, VOCAB), dtype=bool)
    batch[1, 20] = False
    with pytest.raises(ValueError, match="allows no id at new token 20"):
        generate(net, steps=8, num_samples=2, constraint=batch)


def test_bad_arguments(net: BachNet, prompt: Chorale) -> None:
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        generate(net, steps=0)
    with pytest.raises(ValueError, match="num_samples must be >= 1, got 0"):
        generate(net, steps=8, num_samples=0)
    with pytest.raises(TypeError, match="prompt must be a Chorale or None, got ndarray"):
        generate(net, prompt.chords, steps=8)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="new_tokens must be >= 0"):
        generate_tokens(net, [[0, 0, 0, 0]], -1)
    with pytest.raises(ValueError, match="length >= 1"):
        generate_tokens(net, np.zeros((1, 0), np.int32), 4)
    with pytest.raises(ValueError, match=r"prompt ids must be in 0\.\.46"):
        generate_tokens(net, [[0, 47]], 4)
    with pytest.raises(ValueError, match="unknown sampler 'nope'"):
        generate(net, steps=8, sampler="nope")
    with pytest.raises(TypeError, match="expected a sampler name"):
        generate(net, steps=8, sampler=3)  # type: ignore[arg-type]


def test_prompt_outside_the_vocabulary(net: BachNet) -> None:
    with pytest.raises(ValueError, match="outside the vocabulary"):
        generate(net, Chorale([[90, 67, 64, 48]]), steps=8)


def test_sampler_as_name_dict_or_instance(net: BachNet) -> None:
    by_name = generate(net, steps=8, seed=3, sampler="top_k", cadence=False)
    by_dict = generate(net, steps=8, seed=3, sampler={"name": "top_k", "k": 10}, cadence=False)
    by_instance = generate(net, steps=8, seed=3, sampler=TopK(10), cadence=False)
    assert by_name == by_dict == by_instance
    narrow = generate(net, steps=8, seed=3, sampler=TopK(1), cadence=False, key="C")
    greedy = generate(net, steps=8, seed=99, sampler="greedy", cadence=False, key="C")
    assert narrow == greedy  # top-1 filtering leaves only the argmax (the seed drew no key)


def test_compiled_loop_is_reused(net: BachNet) -> None:
    compiled_loops(net).clear()
    generate(net, steps=8, seed=0, sampler="temperature")
    assert len(compiled_loops(net)) == 1
    (decoder,) = compiled_loops(net).values()
    assert isinstance(decoder, Decoder)
    assert decoder.traces >= 1
    traces = decoder.traces
    generate(net, steps=8, seed=1, sampler={"name": "temperature", "temperature": 1.0})
    generate(net, steps=8, seed=2, sampler="temperature", num_samples=1)
    generate(net, steps=30, seed=3, sampler="temperature", cadence=False)  # the same bucket
    assert list(compiled_loops(net).values()) == [decoder]
    assert decoder.traces == traces  # same shapes: no new trace, on every backend
    rules = [VoiceRange(ranges=JSB), *in_stream(get_rules("default"), "4/4", False)]
    assert decoder_for(net, decoder.sampler, rules) is decoder  # (`tie` needs a bar: left out)
    generate(net, steps=8, seed=0, sampler="greedy")
    assert len(compiled_loops(net)) == 2
    assert decoder_for(net, TopK(5), []) is decoder_for(net, TopK(5), [])


def test_the_silence_before_a_piece_is_read_once_and_draws_the_same_pieces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keras.utils.set_random_seed(0)
    config = ModelConfig(architecture="meter_lstm", lstm_units=(8,), embedding_dim=4)
    bar = BachNet(config)  # a bar's silence (64 tokens) before a piece on its bar line
    monkeypatch.setattr(decoder_module, "SILENCE_READ_MIN", 10**6)  # never skipped
    whole = [bar.generate(steps=12, seed=seed, num_samples=2) for seed in range(3)]
    monkeypatch.undo()
    compiled_loops(bar).clear()
    first = [bar.generate(steps=12, seed=seed, num_samples=2) for seed in range(3)]
    decoders = [d for d in compiled_loops(bar).values() if isinstance(d, Decoder)]
    assert sum(len(d._after_silence) for d in decoders) >= 1  # the silence was kept ...
    traces = sum(d.traces for d in decoders)
    again = [bar.generate(steps=12, seed=seed, num_samples=2) for seed in range(3)]
    assert first == whole and again == whole  # ... and read past with the same draws
    assert sum(d.traces for d in decoders) == traces  # by the same program
    three = bar.generate(steps=12, seed=0, meter="3/4")  # other starting states: read anew
    assert three.meter == "3/4"


def test_a_model_that_knows_metres_has_a_loop_for_each_bar_with_its_places_fixed() -> None:
    keras.utils.set_random_seed(2)
    net = BachNet(ModelConfig(architecture="meter_lstm", lstm_units=(8,), embedding_dim=4))
    network = net.network
    ids = np.random.default_rng(2).integers(0, VOCAB, size=(2, 120)).astype(np.int32)
    full = net.keras_model(network.encode(ids, "3/4"))
    for step in (network.step(net.keras_model, tables=True, meter="3/4"), step_fn(net)):
        states = network.initial_state(2, "3/4")
        for t in range(ids.shape[1]):
            logits, states = step(ids[:, t], t, states)
        np.testing.assert_allclose(logits, full[:, -1], atol=1e-5)
    compiled_loops(net).clear()
    net.generate(steps=8, seed=0, cadence=False)  # 4/4
    assert decoder_for(net, TopK(5), [], "4/4") is decoder_for(net, TopK(5), [], "2/2")
    assert {d.meter for d in compiled_loops(net).values() if isinstance(d, Decoder)} == {"4/4"}
    net.generate(steps=12, seed=0, meter="3/4")
    assert {d.meter for d in compiled_loops(net).values() if isinstance(d, Decoder)} == {
        "3/4",
        "4/4",
    }
    assert (
        decoder_for(
            BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4)), TopK(5), [], "3/4"
        ).meter
        is None
    )


def test_samplers_with_equal_configs_but_other_classes_do_not_share_a_loop(net: BachNet) -> None:
    class LowestFirst(Sampler):
        """Not registered, so its config is the base class's ``{"name": "sampler"}``."""

        def draw(self, logits: object, noise: object) -> object:
            return ops.cast(ops.argmin(logits, axis=-1), "int32")

    base = generate_tokens(net, np.zeros((1, 4), np.int32), 8, seed=0, sampler=Sampler())
    lowest = generate_tokens(net, np.zeros((1, 4), np.int32), 8, seed=0, sampler=LowestFirst())
    assert not np.array_equal(base, lowest)
    context = np.zeros((1, 4), np.int32)
    for _ in range(8):
        drawn = np.argmin(net.logits(context)[:, -1], axis=-1).astype(np.int32)
        context = np.concatenate([context, drawn[:, None]], axis=1)
    np.testing.assert_array_equal(lowest, context)


# ------------------------------------------------------------------------------ voice ranges
def _inside(chorale: Chorale, ranges: tuple[tuple[int, int], ...]) -> bool:
    chords = chorale.chords
    return all(
        ((chords[:, v] == 0) | ((chords[:, v] >= low) & (chords[:, v] <= high))).all()
        for v, (low, high) in enumerate(ranges)
    )


def test_voices_stay_in_their_ranges_by_default(net: BachNet) -> None:
    pieces = generate(net, None, steps=24, num_samples=4, seed=5)
    assert all(_inside(p, JSB_VOICE_RANGES) for p in pieces)
    # The untrained model left alone puts notes anywhere: the ranges are doing the work.
    free = generate(net, None, steps=24, num_samples=4, seed=5, voice_ranges=False)
    assert not all(_inside(p, JSB_VOICE_RANGES) for p in free)


def test_without_a_prompt_the_first_step_sounds(net: BachNet) -> None:
    pieces = generate(net, None, steps=4, num_samples=8, seed=2)
    assert all((p.chords[0] > 0).all() for p in pieces)


def test_custom_and_metadata_voice_ranges(net: BachNet, prompt: Chorale) -> None:
    narrow = ((70, 72), (60, 62), (50, 52), (40, 42))
    piece = generate(
        net, prompt, steps=16, seed=3, voice_ranges=narrow, include_prompt=False, cadence=False
    )
    assert _inside(piece, narrow)
    keras.utils.set_random_seed(0)
    other = BachNet(net.config, metadata={"voice_ranges": [list(r) for r in narrow]})
    other.keras_model.set_weights(net.keras_model.get_weights())
    assert _inside(
        generate(other, prompt, steps=16, seed=3, include_prompt=False, cadence=False), narrow
    )


def test_a_forced_note_wins_over_the_voice_range_and_the_rules(net: BachNet) -> None:
    forced = np.full(8, -1)
    forced[0] = net.vocab.ids_of(40)  # a bass note forced into the soprano
    piece = generate(net, None, steps=2, seed=0, constraint=forced)
    assert piece.chords[0, 0] == 40
    # The free voices keep their ranges: the range rule comes first, and the crossing rule
    # (every alto in range would cross below E2) is skipped where it would leave no pitch.
    for chord in piece.chords:
        for voice in range(1, 4):
            low, high = JSB_VOICE_RANGES[voice]
            assert chord[voice] == 0 or low <= chord[voice] <= high


# ------------------------------------------------------------------- keys and cadences


def test_pieces_end_with_a_held_cadence_in_the_key_asked_for(net: BachNet) -> None:
    pieces = generate(net, None, steps=30, num_samples=6, seed=0, key="D minor")
    for piece in pieces:
        (last,) = piece.fermatas
        # 30 steps, then the dominant from step 36 (the final chord on a half bar, step 40) or
        # half a bar later; the final chord lasts to the end of its bar
        assert (last, len(piece)) in ((40, 48), (48, 64))
        final = piece.chords[-1]
        assert final[3] % 12 == 2  # D in the bass
        assert {int(p) % 12 for p in final} <= {2, 5, 6, 9}  # D minor or D major triad
        assert (piece.chords[last:] == final).all()
        assert (piece.chords[last - 4 : last, 3] % 12 == 9).all()  # the bass on the dominant, A
        if last == 48:  # the later point is taken only when the bass lies near the dominant
            bass = piece.chords[:44, 3]
            assert min((int(bass[bass > 0][-1]) - 9) % 12, (9 - int(bass[bass > 0][-1])) % 12) <= 2


def test_a_prompt_with_a_pickup_keeps_its_bars_and_cadences_on_a_half_bar(net: BachNet) -> None:
    rows = [[67, 62, 59, 43]] * 4 + [[72, 67, 64, 48]] * 16 + [[71, 67, 62, 43]] * 12
    opening = Chorale(rows, "hymn", fermatas=[19], pickup=4)
    for piece in generate(net, opening, steps=24, num_samples=4, seed=2):
        assert (piece.pickup, piece.meter) == (4, "4/4")
        assert piece.fermatas[0] == 19  # the prompt's own fermata is kept
        last = piece.fermatas[-1]
        assert piece.bar_positions()[last] in (0, 8)  # beat 1 or 3 of its bar
        assert piece.bar_positions()[-1] == 15  # held to the end of that bar
    continued = generate(net, opening, steps=24, seed=2, include_prompt=False)
    assert continued.pickup == (4 - len(opening)) % 16 and 19 not in continued.fermatas


def test_default_pieces_are_seeded_and_end_on_a_triad(net: BachNet) -> None:
    pieces = generate(net, None, steps=8, num_samples=12, seed=3)
    again = generate(net, None, steps=8, num_samples=12, seed=3)
    assert pieces == again
    for piece in pieces:
        tonic = int(piece.chords[-1, 3]) % 12
        classes = {(int(p) - tonic) % 12 for p in piece.chords[-1]}
        assert classes <= {0, 3, 4, 7} and len(piece) % 16 == 0
        assert piece.fermatas in ((len(piece) - 8,), (len(piece) - 16,))


def test_a_prompt_is_moved_into_the_key_asked_for(net: BachNet) -> None:
    from bachnet.music.keys import Key, find_key

    prompt = Chorale([[72, 67, 64, 48]] * 4 + [[71, 67, 62, 43]] * 4 + [[72, 67, 64, 48]] * 8)
    piece = generate(net, prompt, steps=8, seed=0, key="F major")
    assert find_key(piece.chords[: len(prompt)]) == Key.parse("F")
    with pytest.raises(ValueError, match="moved to a major key, not A minor"):
        generate(net, prompt, steps=8, seed=0, key="A minor")


# ----------------------------------------------------------------------- the settings
def test_a_config_and_keywords_give_the_same_pieces(net: BachNet, prompt: Chorale) -> None:
    config = GenerationConfig(steps=8, sampler="top_k", rules=["leap"], include_prompt=False)
    by_config = generate(net, prompt, config, seed=4)
    by_keywords = generate(
        net, prompt, steps=8, sampler="top_k", rules=["leap"], include_prompt=False, seed=4
    )
    assert by_config == by_keywords == net.generate(prompt, config=config, seed=4)
    assert generate(net, prompt, config, seed=4, steps=12) == generate(
        net, prompt, config.replace(steps=12), seed=4
    )
    with pytest.raises(InputError, match="give steps, key in config= or as keywords"):
        net.generate(prompt, config=config, steps=16, key="D")
    with pytest.raises(TypeError, match="unexpected keyword argument 'method'"):
        generate(net, prompt, method="beam")


def test_config_checks_its_settings() -> None:
    config = GenerationConfig(rules=("leap", "spacing"), voice_ranges=[[60, 81]] + [[40, 70]] * 3)
    assert isinstance(config.voice_ranges, VoiceRanges) and config.rules == ("leap", "spacing")
    assert GenerationConfig(key="bb").key == Key.parse("Bb minor")
    assert GenerationConfig(voice_ranges=np.bool_(False)).voice_ranges is False
    cases = [
        ({"steps": 0}, InputError, "steps must be >= 1"),
        ({"steps": 10**9}, LimitError, "at most"),
        ({"candidates": 0}, InputError, "candidates must be >= 1"),
        ({"method": "search"}, InputError, "method must be one of"),
        ({"key": "H major"}, ValueError, "cannot read a key"),
        ({"sampler": "nope"}, ValueError, "unknown sampler"),
        ({"rules": ["nope"]}, ValueError, "unknown rule"),
        ({"voice_ranges": [(60, 81)]}, InputError, "ranges needs 4"),
    ]
    for settings, error, message in cases:
        with pytest.raises(error, match=message):
            GenerationConfig(**settings)
    with pytest.raises(TypeError, match="unexpected keyword argument 'stpes'"):
        GenerationConfig().replace(stpes=3)


def test_the_user_constraint_is_checked_once(net: BachNet, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def counted(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(args)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    original = compose.constraint_mask
    monkeypatch.setattr(compose, "constraint_mask", counted)
    forced = np.full(32, -1)
    forced[0] = net.vocab.ids_of(72)
    piece = generate(net, steps=8, seed=0, constraint=forced)
    assert len(calls) == 1 and piece.chords[0, 0] == 72


# ------------------------------------------------------------------- phrases and fermatas
def _bass_roots(piece: Chorale) -> list[int]:
    return [int(piece.chords[f, 3]) % 12 for f in piece.fermatas]


@pytest.mark.parametrize("particles", [1, 4])
def test_a_phrase_plan_puts_fermatas_and_cadences_where_asked(
    net: BachNet, tmp_path: Path, particles: int
) -> None:
    """The plan holds however the pieces are drawn: one draft each, or four carried on by
    sequential Monte Carlo (`GenerationConfig.particles`)."""
    from bachnet.music.phrases import local_key, plan_phrases

    options: dict[str, Any] = {"num_samples": 4, "seed": 5, "key": "C", "particles": particles}
    pieces = generate(net, None, phrases=(8, 8, 12, 8), **options)
    again = generate(net, None, phrases=(8, 8, 12, 8), **options)
    assert pieces == again
    if particles > 1:
        assert pieces != generate(net, None, phrases=(8, 8, 12, 8), **{**options, "particles": 1})
    for i, piece in enumerate(pieces):
        plan = plan_phrases((8, 8, 12, 8), seed=5 + i)
        assert piece.fermatas == plan.fermatas == (28, 60, 108, 140)
        assert piece.pickup == 4 and len(piece) == 148  # the last chord held to its bar's end
        for fermata, (kind, relation) in zip(piece.fermatas, plan.cadences, strict=True):
            local = local_key(Key(0), relation)
            root = {"authentic": local.tonic, "deceptive": local.tonic + 9}.get(
                kind, local.tonic + 7
            )
            assert int(piece.chords[fermata, 3]) % 12 == root % 12, (fermata, kind, relation)
            if fermata != piece.fermatas[-1]:  # an inner fermata chord is held a beat
                assert (piece.chords[fermata : fermata + 4] == piece.chords[fermata]).all()
        assert (piece.chords[140:] == piece.chords[140]).all()
    # in the score: a fermata in every part on the note that holds each fermata step
    from music21 import converter
    from music21.expressions import Fermata

    score = converter.parse(str(pieces[0].write(tmp_path / "p.musicxml")))
    for part in score.parts:
        marked = [
            (float(n.offset), float(n.offset + n.quarterLength))
            for n in part.stripTies().flatten().notes  # a tied note is one note
            if any(isinstance(e, Fermata) for e in n.expressions)
        ]
        for fermata in pieces[0].fermatas:
            assert any(a <= fermata / 4 < b for a, b in marked)


def test_the_inner_voices_move_into_a_planned_cadences_approach(
    net: BachNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cadence's approach chord is asked of the alto and tenor on the beat's last eighth
    only (`APPROACH_LOOSE` 16ths before it they may take any note of the key's scale); the
    soprano and bass hold it all beat."""
    from bachnet.generation import compose
    from bachnet.music import cadence
    from bachnet.music.phrases import local_key, plan_phrases

    assert cadence.APPROACH_LOOSE == 2
    asked: list[np.ndarray] = []
    decode = compose.decode

    def spy(*args: object, **kwargs: object) -> object:
        asked.append(np.asarray(kwargs["allowed"]))
        return decode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(compose, "decode", spy)
    piece = generate(net, None, phrases=(8, 8, 8), seed=4, key="C")
    plan = plan_phrases((8, 8, 8), seed=4)
    mask = asked[0][0]
    pitch = net.vocab.pitch_of(np.arange(net.vocab.size))

    def classes(step: int, voice: int) -> set[int]:
        return {int(p) % 12 for p in pitch[mask[4 * step + voice]] if p}

    widened = 0
    for fermata, (kind, relation) in zip(plan.fermatas[:-1], plan.cadences, strict=False):
        rows = cadence.scale_rows(local_key(Key(0), relation), net.vocab, 1)
        scale = {int(p) % 12 for p in pitch[rows[1]] if p}  # the cadence key's scale
        start = fermata - 4
        for voice in (1, 2):  # alto, tenor: the chord's notes on the last eighth, more before
            last = classes(start + 2, voice)
            assert classes(start + 3, voice) == last
            for step in (start, start + 1):
                assert classes(step, voice) >= last | (scale if kind != "half" else set())
            widened += classes(start, voice) > last
            assert int(piece.chords[fermata - 1, voice]) % 12 in last
        for voice in (0, 3):  # soprano, bass: the same all beat
            assert all(
                classes(step, voice) == classes(start, voice) for step in range(start, fermata)
            )
    assert widened > 0
    monkeypatch.setattr(cadence, "APPROACH_LOOSE", 0)  # as before: the chord all beat
    asked.clear()
    generate(net, None, phrases=(8, 8, 8), seed=4, key="C")
    mask = asked[0][0]
    for fermata in plan.fermatas[:-1]:
        for voice in range(4):
            assert all(
                classes(step, voice) == classes(fermata - 4, voice)
                for step in range(fermata - 4, fermata)
            )


def _bass_parallels_into_cadences(pieces: list[Chorale], ends: list[list[int]]) -> int:
    """Alto-bass and tenor-bass parallel fifths and octaves in the changes into each
    cadence's approach beat and chord (``ends``: each piece's cadence chord steps)."""
    from bachnet.music.metrics import parallel_motion

    count = 0
    for piece, cadences in zip(pieces, ends, strict=True):
        chords = piece.chords.astype(np.int64)
        steps = [s for f in cadences for s in range(f - 4, f + 1)]
        fifths, octaves = parallel_motion(chords[[s - 1 for s in steps]], chords[steps])
        count += int((fifths | octaves)[:, [4, 5]].sum())
    return count


def test_a_cadence_bass_is_one_pitch_known_ahead(
    net: BachNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    # strict rules ban parallels wherever they can see both voices; a cadence's bass is one
    # pitch, so the alto and tenor, drawn before it, see it too
    from bachnet.generation import compose, masks

    def phrased() -> int:
        pieces = generate(
            net, None, phrases=(8, 8, 8, 8), num_samples=12, seed=3, key="C", rules="strict"
        )
        return _bass_parallels_into_cadences(pieces, [[*p.fermatas, 124] for p in pieces])

    def ended() -> int:  # the default ending: one V-I at the cadence point
        pieces = generate(net, None, steps=48, num_samples=12, seed=3, rules="strict")
        last = [len(p) - 1 - int(np.argmax((p.chords[::-1] != p.chords[-1]).any(axis=1))) + 1
                for p in pieces]  # fmt: skip
        return _bass_parallels_into_cadences(pieces, [[end] for end in last])

    assert phrased() == 0
    assert ended() == 0
    for module in (compose, masks):  # the bass's pitch class alone, as before
        monkeypatch.setattr(module, "one_bass", lambda rows, vocab: rows)
    assert phrased() + ended() > 0


def test_particles_end_a_piece_with_its_cadence_and_bad_counts_are_named(net: BachNet) -> None:
    plain = generate(net, None, steps=32, num_samples=3, seed=2, key="G")
    drawn = generate(net, None, steps=32, num_samples=3, seed=2, key="G", particles=3)
    assert drawn != plain
    for piece in drawn:
        assert int(piece.chords[-1, 3]) % 12 == 7  # on the tonic of G, as every default ending
    for bad in (0, 65, 2.5):
        with pytest.raises(InputError, match=re.escape(f"particles must be 1..64, got {bad}")):
            generate(net, None, steps=16, seed=0, particles=bad)


def test_auto_phrases_cover_the_steps_asked_for(net: BachNet) -> None:
    piece = generate(net, None, phrases="auto", steps=96, seed=1)
    gaps = np.diff([-4, *piece.fermatas])  # the first phrase counts from half a bar before
    assert len(piece) >= 96 and len(piece.fermatas) >= 3
    assert set((gaps // 4).tolist()) <= {6, 7, 8, 9, 10, 12}


def test_a_phrase_plan_continues_a_prompt(net: BachNet) -> None:
    rows = [[67, 62, 59, 43]] * 4 + [[72, 67, 64, 48]] * 16 + [[71, 67, 62, 43]] * 12
    opening = Chorale(rows, "hymn", fermatas=[20], pickup=4)
    piece = generate(net, opening, phrases=(8, 8), seed=0)
    assert piece.fermatas == (20, 52, 84) and piece.pickup == 4
    assert (piece.chords[:32] == opening.chords).all()
    alone = generate(net, opening, phrases=(8, 8), seed=0, include_prompt=False)
    assert alone.fermatas == (20, 52) and alone.pickup == 4


@pytest.mark.parametrize(
    ("phrases", "match"),
    [
        ((8, 0), "a phrase is a whole number of quarters, 3..32; got 0"),
        ((8, -8), "got -8"),
        ((8, 7.5), "got 7.5"),
        ((8, 40), "got 40"),
        (("8",), "a phrase length is a number of quarters"),
        ((), "at least one phrase"),
        ("some", "phrases must be lengths in quarters or 'auto'"),
    ],
)
def test_a_bad_phrase_plan_is_named(net: BachNet, phrases: object, match: str) -> None:
    with pytest.raises(InputError, match=re.escape(match)):
        generate(net, None, phrases=phrases, seed=0)


def test_a_plan_that_does_not_fit_after_the_prompt_is_named(net: BachNet) -> None:
    opening = Chorale([[72, 67, 64, 48]] * 32, fermatas=[16])  # a fermata in its last bar
    with pytest.raises(InputError, match="leaves no beat for its cadence"):
        generate(net, opening, phrases=(3, 8), seed=0)  # would end at step 28, in the prompt
    assert generate(net, opening, phrases=(5, 8), seed=0).fermatas == (16, 36, 68)
    with pytest.raises(InputError, match="needs cadence"):
        generate(net, None, phrases=(8,), cadence=False)


def test_fermatas_placed_by_bar_and_beat(net: BachNet) -> None:
    piece = generate(net, None, fermatas="2.3, 4.3, 7.1, 9.3", seed=4, key="C")
    assert piece.fermatas == (28, 60, 100, 140) and piece.pickup == 4
    bar_beat = [((f - 4) // 16 + 1, (f - 4) % 16 // 4 + 1) for f in piece.fermatas]
    assert bar_beat == [(2, 3), (4, 3), (7, 1), (9, 3)]
    same = generate(net, None, phrases=(8, 8, 10, 10), seed=4, key="C")
    assert piece == same  # the same plan, given by fermatas or by lengths
    assert generate(net, None, fermatas=[2.3, (4, 3)], seed=0).fermatas == (28, 60)
    # after a prompt, bars count in the whole piece (the prompt's pickup and bars)
    rows = [[67, 62, 59, 43]] * 4 + [[72, 67, 64, 48]] * 16 + [[71, 67, 62, 43]] * 12
    opening = Chorale(rows, "hymn", fermatas=[20], pickup=4)
    assert generate(net, opening, fermatas="3.3, 5.3", seed=0).fermatas == (20, 44, 76)


def test_three_four_is_written_in_phrases_with_fermatas_on_downbeats(
    net: BachNet, tmp_path: Path
) -> None:
    piece = generate(net, None, meter="3/4", steps=96, seed=1)
    assert piece.meter == "3/4" and piece.pickup == 4 and len(piece.fermatas) >= 2
    positions = piece.bar_positions()
    assert all(positions[f] == 0 for f in piece.fermatas)  # Bach's: 158 of 195 on beat 1
    assert (len(piece) - piece.pickup) % 12 == 0  # the final chord fills its bar
    assert len(piece) >= 96
    back = Chorale.read(piece.write(tmp_path / "waltz.musicxml"))
    assert back == piece and back.meter == "3/4"
    placed = generate(net, None, meter="3/4", fermatas="4.1, 8.1, 11.3", seed=0)
    assert placed.fermatas == (40, 88, 132)  # pickup 4, bars of 12 sixteenths
    # a 3/4 prompt is continued in 3/4
    go_on = generate(net, piece.replace(piece.chords[:40], fermatas=[40 - 1]), steps=24, seed=0)
    assert go_on.meter == "3/4" and (len(go_on) - go_on.pickup) % 12 == 0
    with pytest.raises(InputError, match="a 3/4 bar has 3 beats"):
        generate(net, None, meter="3/4", fermatas="2.4")
    with pytest.raises(InputError, match="composes in 4/4 or 3/4, not '6/8'"):
        generate(net, None, meter="6/8")
    with pytest.raises(InputError, match="the prompt is in 4/4, not the 3/4 asked for"):
        generate(net, Chorale([[72, 67, 64, 48]] * 16), meter="3/4")


def test_bar_form_writes_its_first_two_phrases_out_twice(net: BachNet) -> None:
    from bachnet.music.phrases import repeated_opening

    piece = generate(net, None, form="AAB", phrases=(8, 8, 8, 12), seed=2)
    assert piece.fermatas == (28, 60, 92, 124, 156, 204) and piece.pickup == 4
    assert (piece.chords[:64] == piece.chords[64:128]).all()  # the Stollen, twice
    assert repeated_opening(piece) == 64  # as the phrase table finds Bach's bar form
    assert len(generate(net, None, form="AAB", steps=64, seed=0).fermatas) >= 5
    with pytest.raises(InputError, match="needs at least three phrases"):
        generate(net, None, form="AAB", phrases=(8, 8))
    with pytest.raises(InputError, match="takes no prompt"):
        generate(net, piece, form="AAB", phrases=(8, 8, 8))
    with pytest.raises(InputError, match="form must be None or 'AAB'"):
        generate(net, None, form="ABA")


@pytest.mark.parametrize(
    ("fermatas", "match"),
    [
        ("2.2.2", "fermata '2.2.2': give bar.beat"),
        ("0.3", "bars count from 1"),
        ("2.5", "beats from 1 to 4"),
        ("2.3, 1.3", "fermatas must be in order"),
        ("2.3, 2.4", "fermata 2.4: its phrase would be 1 quarters long"),
        ("2.3, 12.3", "fermata 12.3: its phrase would be 40 quarters long"),
        ("", "fermata '': give bar.beat"),
    ],
)
def test_bad_fermata_positions_are_named(net: BachNet, fermatas: str, match: str) -> None:
    with pytest.raises(InputError, match=re.escape(match)):
        generate(net, None, fermatas=fermatas, seed=0)
    with pytest.raises(InputError, match="phrases or fermatas, not both"):
        generate(net, None, phrases=(8,), fermatas="2.3")


# ------------------------------------------------------------- a model that knows the bar
def test_a_bar_model_reads_every_piece_from_a_bar_line() -> None:
    from bachnet.generation.compose import _opening_tokens
    from bachnet.model.scoring import nll_per_piece
    from bachnet.training.windows import Windows

    keras.utils.set_random_seed(4)
    bar = BachNet(ModelConfig(architecture="bar_lstm", lstm_units=(8,), embedding_dim=4))
    beat = BachNet(ModelConfig(architecture="beat_lstm", lstm_units=(8,), embedding_dim=4))
    rows = [[67, 62, 59, 43]] * 4 + [[72, 67, 64, 48]] * 16 + [[71, 67, 62, 43]] * 12
    upbeat, downbeat = Chorale(rows, pickup=4), Chorale(rows)
    # silence up to the bar line before the pickup, or a whole bar before a downbeat
    assert [bar.network.lead_for(p.pickup) for p in (upbeat, downbeat)] == [48, 64]
    assert len(_opening_tokens(bar, upbeat, 4)) == 48 + 4 * len(rows)
    assert len(_opening_tokens(beat, upbeat, 4)) == 4 * len(rows)  # a beat model: no prefix
    # so the pickup changes what a bar model makes of the same notes, not a beat model's
    a, b = nll_per_piece(bar, [upbeat, downbeat])
    c, d = nll_per_piece(beat, [upbeat, downbeat])
    assert a != pytest.approx(b) and c == pytest.approx(d)
    # training windows start on bar lines of the padded pieces
    windows = Windows([upbeat, downbeat] * 4, bar.vocab, length=64, align=64, lead=[48, 64] * 4)
    starts = windows.plan(0)[:, 0] - windows.offsets[windows.plan(0)[:, 2]]
    assert len(starts) and (starts % 64 == 0).all()
    # a continuation keeps its prompt's bars and ends its cadence on beat 1 or 3
    piece = generate(bar, upbeat, steps=16, seed=0)
    assert (piece.chords[: len(rows)] == upbeat.chords).all() and piece.pickup == 4
    assert piece.bar_positions()[piece.fermatas[-1]] in (0, 8)
    with pytest.warns(UserWarning, match="knows the place in a 4/4 bar, not in a 3/4 one"):
        generate(bar, None, meter="3/4", steps=24, seed=0)


def test_a_final_chord_never_holds_both_thirds(net: BachNet) -> None:
    for piece in generate(net, None, phrases=(8, 8), key="A minor", num_samples=6, seed=3):
        final = {int(p) % 12 for p in piece.chords[-1] if p}
        assert not {0, 1} <= final  # C and C# together
        assert final <= {9, 0, 1, 4}
    for piece in generate(net, None, steps=16, key="A minor", num_samples=6, seed=3):
        assert {int(p) % 12 for p in piece.chords[-1] if p} <= {9, 1, 4}  # a Picardy third


def test_a_huge_phrased_request_is_refused_before_any_work(net: BachNet) -> None:
    with pytest.raises(LimitError, match="needs about"):
        generate(net, None, phrases="auto", steps=64, num_samples=10_000_000)


def _scale(key: Key) -> set[int]:
    steps = (0, 2, 4, 5, 7, 9, 11) if key.mode == "major" else (0, 2, 3, 5, 7, 8, 9, 10, 11)
    return {(key.tonic + s) % 12 for s in steps}


@pytest.mark.parametrize("key", [None, "D", "g"])
def test_a_piece_in_a_home_key_opens_in_its_scale_and_cadences_on_its_tonic(
    net: BachNet, key: str | None
) -> None:
    """Even a random model keeps to the home key's scale in its first bars and ends on the
    tonic: the opening and the closing are masks, not the model's choice."""
    pieces = net.generate(steps=96, seed=5, num_samples=3, key=key)
    assert isinstance(pieces, list)
    for piece in pieces:
        chords = piece.chords
        bass, top = int(chords[0, 3]), [int(p) for p in chords[0] if p]
        home = Key.parse(key) if key else Key(bass % 12, "major")
        if key is None and (home.tonic + 3) % 12 in {p % 12 for p in top}:
            home = Key(bass % 12, "minor")  # the opening tonic triad names the mode
        opening = {int(p) % 12 for p in chords[: compose.HOME_OPENING].ravel() if p}
        assert opening <= _scale(home), (key, opening - _scale(home))
        last = chords[np.flatnonzero(chords.any(axis=1))[-1]]
        assert int(last[3]) % 12 == home.tonic


def test_of_the_bodies_drawn_the_one_in_its_home_key_is_kept(net: BachNet) -> None:
    c, g = Key.parse("C"), Key.parse("G")
    in_c = Chorale([[72, 67, 64, 48]] * 4 + [[71, 65, 62, 43]] * 4 + [[72, 64, 55, 48]] * 8)
    in_g = in_c.transpose(7)
    bodies = np.stack([net.vocab.encode(in_g), net.vocab.encode(in_c)])
    ids, keys = compose._pick_bodies(net, bodies, bodies, 1, 2, [c, c])
    assert keys == [c] and np.array_equal(ids[0], bodies[1])
    ids, keys = compose._pick_bodies(net, bodies, bodies, 1, 2, [g, g])
    assert keys == [g] and np.array_equal(ids[0], bodies[0])
    # neither in the home key (A minor): the first in its mode, else the first drawn
    a = Key.parse("a")
    ids, keys = compose._pick_bodies(net, bodies, bodies, 1, 2, [a, a])
    assert keys == [a] and np.array_equal(ids[0], bodies[0])
    ids, keys = compose._pick_bodies(net, bodies, bodies, 2, 1, [])  # no home: keys found
    assert keys == [g, c] and np.array_equal(ids, bodies)
