"""Tests for bachnet.generation.rules: each rule on hand-made chords, the registry and plugins, and
rules inside the compiled generation loop (compiled and eager agree, forced voices kept)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import importlib
import itertools
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from bachnet import BachNet, ModelConfig, Vocabulary, rules
from bachnet.generation.compose import generate, generate_tokens
from bachnet.generation.rules import (
    Context,
    Leap,
    ParallelFifths,
    ParallelOctaves,
    Rule,
    Spacing,
    VoiceCrossing,
    VoiceRange,
    apply,
    get,
    get_rules,
)

VOCAB = Vocabulary()
PITCHES = VOCAB.pitch_of(np.arange(VOCAB.size)).astype(np.int32)


def context(voice: int, previous: list[int], current: list[int]) -> Context:
    return Context(
        voice=np.int32(voice),
        step=np.int32(1),
        previous=np.array([previous], np.int32),
        current=np.array([current], np.int32),
        pitches=PITCHES,
    )


def banned(rule: Rule, ctx: Context) -> set[int]:
    """MIDI pitches the rule flags for the voice of ``ctx``."""
    flags = np.asarray(keras.ops.convert_to_numpy(rule.violations(ctx)))[0]
    return {int(PITCHES[i]) for i in np.flatnonzero(flags)}


# --------------------------------------------------------------------------- parallels


def test_parallel_fifth_is_flagged_and_oblique_or_contrary_fifths_are_not() -> None:
    # Soprano G4 -> A4 (up); the alto was C4 (a fifth below G4) and now draws.
    flagged = banned(ParallelFifths(), context(1, [67, 60, 52, 48], [69, 0, 0, 0]))
    assert 62 in flagged  # C4 -> D4, up, a fifth under A4: parallel
    assert 76 in flagged  # C4 -> E5, up, a fifth (above the soprano): parallel too
    assert 60 not in flagged  # oblique: the alto stays on C4
    assert 50 not in flagged  # D3, a compound fifth under A4, but moving down: contrary
    assert flagged == {62, 76}


def test_parallel_octaves_and_unisons() -> None:
    # Soprano C5 -> D5, bass C3 -> ? ; the tenor and alto are not octaves with the soprano.
    ctx = context(3, [72, 67, 64, 48], [74, 67, 65, 0])
    flagged = banned(ParallelOctaves(), ctx)
    assert {50, 62}.issubset(flagged)  # C3 -> D3 or D4 under C5 -> D5: parallel octaves
    assert 38 not in flagged  # C3 -> D2 moves down: contrary
    assert 48 not in flagged  # the bass holds C3 (oblique)
    assert 43 not in flagged
    unison = context(2, [72, 64, 64, 48], [74, 65, 0, 0])  # alto E4 -> F4, tenor E4 -> F4
    assert 65 in banned(ParallelOctaves(), unison)


def test_silence_and_undrawn_voices_never_make_parallels() -> None:
    # The alto has not been drawn yet (0): nothing to be parallel with for the soprano.
    assert banned(ParallelFifths(), context(0, [67, 60, 52, 48], [0, 0, 0, 0])) == set()
    # The previous chord had a rest in the soprano.
    assert banned(ParallelFifths(), context(1, [0, 60, 52, 48], [69, 0, 0, 0])) == set()


# ------------------------------------------------------------------- crossing, spacing, leaps


def test_voice_crossing_and_overlap() -> None:
    ctx = context(2, [72, 67, 64, 48], [72, 62, 0, 0])
    crossing = banned(VoiceCrossing(), ctx)
    assert min(crossing) == 63 and 62 not in crossing  # a unison with the alto is fine
    overlap = banned(VoiceCrossing(overlap=True), ctx)
    assert 47 in overlap  # below where the bass was (C3)
    assert 48 not in overlap and 55 not in overlap


def test_spacing_only_for_the_upper_pairs() -> None:
    alto = banned(Spacing(), context(1, [0, 0, 0, 0], [76, 0, 0, 0]))
    assert max(alto) == 63 and 64 not in alto
    bass = banned(Spacing(), context(3, [0, 0, 0, 0], [76, 64, 52, 0]))
    assert bass == set()  # tenor-bass may be wide


def test_leap_and_range() -> None:
    assert banned(Leap(semitones=7), context(0, [72, 67, 64, 48], [0, 0, 0, 0])) == {
        p for p in range(36, 82) if abs(p - 72) > 7
    }
    assert banned(VoiceRange(), context(0, [0, 0, 0, 0], [0, 0, 0, 0])) == set(range(36, 60))


def test_a_leap_rule_may_count_only_some_intervals() -> None:
    """``intervals=[5, 7]``: fourths and fifths, up or down, and nothing else."""
    fourths_fifths = Leap(weight=1.0, intervals=[7, 5, 5], voices=[3])
    assert fourths_fifths.get_config()["intervals"] == [5, 7]
    assert get(fourths_fifths.get_config()) == fourths_fifths
    assert banned(fourths_fifths, context(3, [72, 67, 64, 48], [72, 67, 64, 0])) == {41, 43, 53, 55}
    for bad, message in (([0], "1..48 semitones"), ([], "1..48 semitones"), ("57", "list")):
        with pytest.raises(ValueError, match=message):
            Leap(intervals=bad)  # type: ignore[arg-type]


def test_hard_and_soft_rules_and_precedence() -> None:
    ctx = context(0, [72, 67, 64, 48], [0, 0, 0, 0])
    logits = np.zeros((1, VOCAB.size), np.float32)
    hard = np.asarray(apply([Leap(semitones=2)], logits, ctx))
    soft = np.asarray(apply([Leap(semitones=2, weight=3.0)], logits, ctx))
    far = int(VOCAB.ids_of(80))
    assert hard[0, far] == -np.inf and soft[0, far] == -3.0 and soft[0, 0] == 0.0
    # A rule that would leave nothing is skipped; the rules before it stay.
    only_far = np.full((1, VOCAB.size), -np.inf, np.float32)
    only_far[0, far] = 0.0
    kept = np.asarray(apply([Leap(semitones=2)], only_far, ctx))
    assert np.isfinite(kept[0]).sum() == 1 and kept[0, far] == 0.0


# ------------------------------------------------------------------------- registry, config


@pytest.mark.parametrize("name", rules.available())
def test_every_rule_round_trips_its_config(name: str) -> None:
    rule = get(name)
    config = rule.get_config()
    assert config["name"] == name
    assert get(dict(config)) == rule and repr(rule).startswith(type(rule).__name__)


def test_bad_parameters_and_names_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="weight must be None"):
        Leap(weight=-1)
    with pytest.raises(ValueError, match="semitones must be an integer"):
        Spacing(semitones=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"unknown rule 'no_such'; known rules: .*leap"):
        get("no_such")
    with pytest.raises(ValueError, match="ranges needs 4"):
        VoiceRange(ranges=[(1, 2)])
    assert get_rules(None) == [] and len(get_rules("default")) == len(rules.DEFAULT_RULES)
    assert len(get_rules("strict")) == len(rules.STRICT_RULES)
    harmonize_set, default_set = get_rules("harmonize"), get_rules("default")
    changed = [(a, b) for a, b in zip(harmonize_set, default_set, strict=False) if a != b]
    assert changed == [(ParallelOctaves(weight=8.0), ParallelOctaves(weight=6.0))]
    assert harmonize_set[len(default_set) :] == [rules.EighthMotion(weight=0.5)]
    particles_set = get_rules("particles")  # the default set and two more, in that order
    assert particles_set[: len(default_set)] == default_set
    assert particles_set[len(default_set) :] == [
        Leap(weight=1.0, voices=[3], intervals=[5, 7]),
        rules.EighthMotion(weight=0.5),
    ]
    for voices, message in (([4], "voice numbers 0..3"), ([], "at least one voice"), ("3", "list")):
        with pytest.raises(ValueError, match=message):
            Leap(voices=voices)  # type: ignore[arg-type]


def test_a_leap_rule_watches_only_its_voices() -> None:
    """A soft step preference for the bass penalises the bass's leaps, not the soprano's."""
    bass_only = Leap(weight=0.8, semitones=2, voices=[3, 3])
    assert bass_only.get_config()["voices"] == [3] and get(bass_only.get_config()) == bass_only
    pitches = np.array([0, 48, 50, 55], "int32")  # silence, C3, D3 (a step), G3 (a leap)
    previous = np.array([[72, 67, 64, 48]], "int32")
    logits = np.zeros((1, 4), "float32")
    for voice, expected in ((3, [0.0, 0.0, 0.0, -0.8]), (0, [0.0, 0.0, 0.0, 0.0])):
        context = Context(
            voice=np.int32(voice), step=np.int32(1), previous=previous,
            current=np.array([[72, 67, 64, 0]], "int32"), pitches=pitches,
        )  # fmt: skip
        out = keras.ops.convert_to_numpy(bass_only(logits, context))
        np.testing.assert_allclose(out[0], expected, atol=1e-6)


PLUGIN = """
from keras import ops
from bachnet.generation.rules import Rule

class NoSilence(Rule):
    def violations(self, context):
        return ops.broadcast_to(ops.expand_dims(context.pitches == 0, 0), (1, 47))
"""


def test_a_rule_plugin_is_found_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fake_rule_plugin.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "fake_rule_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-rule-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[bachnet.generation.rules]\nno_silence = fake_rule_plugin:NoSilence\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fake_rule_plugin", raising=False)
    importlib.invalidate_caches()
    rules._RULES.reset_plugins()
    try:
        rule = get("no_silence")
        assert rule.name == "no_silence" and "no_silence" in rules.available()
        ctx = context(0, [0, 0, 0, 0], [0, 0, 0, 0])
        assert banned(rule, ctx) == {0}
    finally:
        rules._RULES.reset_plugins()


# ------------------------------------------------------------------- inside generation


@pytest.fixture(scope="module")
def net() -> BachNet:
    keras.utils.set_random_seed(0)
    return BachNet(ModelConfig(lstm_units=(16,), embedding_dim=8, dense_units=8, window=32))


def _parallels(chords: np.ndarray, interval: int) -> int:
    count = 0
    for before, after in itertools.pairwise(chords):
        for a in range(4):
            for b in range(a + 1, 4):
                if 0 in (before[a], before[b], after[a], after[b]):
                    continue
                was = abs(int(before[a]) - int(before[b])) % 12 == interval
                now = abs(int(after[a]) - int(after[b])) % 12 == interval
                moves = np.sign(after[a] - before[a]) * np.sign(after[b] - before[b]) > 0
                count += was and now and moves
    return count


def test_generation_with_hard_rules_has_no_parallels_or_crossings(net: BachNet) -> None:
    free = generate(net, None, steps=48, num_samples=8, seed=0, rules=None, cadence=False)
    ruled = generate(net, None, steps=48, num_samples=8, seed=0, cadence=False, rules="strict")
    raw = sum(_parallels(p.chords, 7) + _parallels(p.chords, 0) for p in free)
    assert raw > 0  # the random tiny model writes parallels without rules
    for piece in ruled:
        chords = piece.chords
        assert _parallels(chords, 7) == 0 and _parallels(chords, 0) == 0
        sounding = (chords[:, :-1] > 0) & (chords[:, 1:] > 0)
        assert not ((chords[:, 1:] > chords[:, :-1]) & sounding).any()


def test_compiled_and_eager_rules_agree(net: BachNet) -> None:
    """The compiled loop draws exactly what an eager re-implementation draws."""
    prompt = np.tile(VOCAB.ids_of([72, 67, 64, 48]), (2, 1)).astype(np.int32)
    ruleset = get_rules("default")
    out = generate_tokens(net, prompt, 16, sampler="greedy", rules=ruleset)
    tokens = prompt.copy()
    for _ in range(16):
        logits = net.logits(tokens)[:, -1]
        position = tokens.shape[1]
        step, voice = divmod(position, 4)
        prev = PITCHES[tokens[:, 4 * (step - 1) : 4 * step]]
        cur = np.zeros((2, 4), np.int32)
        cur[:, :voice] = PITCHES[tokens[:, 4 * step : 4 * step + voice]]
        ctx = Context(voice=voice, step=step, previous=prev, current=cur, pitches=PITCHES)
        ruled = np.asarray(keras.ops.convert_to_numpy(apply(ruleset, logits, ctx)))
        tokens = np.concatenate([tokens, ruled.argmax(-1)[:, None].astype(np.int32)], axis=1)
    np.testing.assert_array_equal(out, tokens)


def test_rules_never_change_a_forced_voice(net: BachNet) -> None:
    # Force a soprano line that would make parallel octaves with almost any bass.
    melody = [72, 74, 76, 77, 79, 77, 76, 74]
    forced = np.full(4 * len(melody), -1)
    forced[0::4] = VOCAB.ids_of(melody)
    pieces = generate(
        net, None, steps=len(melody), num_samples=4, seed=1, constraint=forced, cadence=False
    )
    for piece in pieces:
        assert piece.chords[:, 0].tolist() == melody


def test_eighth_motion_flags_only_a_held_pitch_on_the_second_eighth() -> None:
    rule = rules.EighthMotion(weight=0.3, voices=[1])
    pitches = np.array([0, 67, 69], "int32")  # silence, G4 (the alto's pitch), A4
    previous = np.array([[72, 67, 64, 48]], "int32")
    for step, voice, expected in (
        (6, 1, [False, True, False]),  # beat 2, second eighth: holding G4 is flagged
        (4, 1, [False, False, False]),  # on the beat: holding is fine
        (7, 1, [False, False, False]),  # the fourth sixteenth: not watched
        (6, 0, [False, False, False]),  # the soprano is not one of its voices
    ):
        context = Context(
            voice=np.int32(voice), step=np.int32(step), previous=previous,
            current=np.zeros((1, 4), "int32"), pitches=pitches,
        )  # fmt: skip
        assert keras.ops.convert_to_numpy(rule.violations(context)).tolist() == [expected]


def test_hold_flags_a_held_pitch_only_where_it_watches() -> None:
    rule = rules.Hold(weight=0.3, positions=[0])
    pitches = np.array([0, 48, 43], "int32")  # silence, C3 (the bass's pitch), G2
    previous = np.array([[72, 67, 64, 48]], "int32")
    for step, voice, expected in (
        (8, 3, [False, True, False]),  # onto beat 3: holding C3 is flagged
        (9, 3, [False, False, False]),  # the second sixteenth: not watched
        (8, 2, [False, False, False]),  # the tenor holds E4, not C3: nothing to flag
    ):
        context = Context(
            voice=np.int32(voice), step=np.int32(step), previous=previous,
            current=np.zeros((1, 4), "int32"), pitches=pitches,
        )  # fmt: skip
        assert keras.ops.convert_to_numpy(rule.violations(context)).tolist() == [expected]
    both = rules.Hold(weight=0.3, positions=[0, 2])
    context = Context(
        voice=np.int32(3), step=np.int32(6), previous=previous,
        current=np.zeros((1, 4), "int32"), pitches=pitches,
    )  # fmt: skip
    assert keras.ops.convert_to_numpy(both.violations(context)).tolist() == [[False, True, False]]
    for positions in ([], [4], [True]):
        with pytest.raises(ValueError, match="positions"):
            rules.Hold(weight=0.3, positions=positions)


def test_chords_flags_a_bass_that_makes_a_chord_outside_bachs_commonest() -> None:
    from bachnet.judge.features import BACH_CHORDS

    rule = rules.Chords(weight=1.0)
    flagged = banned(rule, context(3, [72, 67, 64, 48], [72, 67, 64, 0]))  # C-E-G above
    # C major over C, E or G (root position, 6, 6/4), A minor seventh over A: Bach's
    for ok in (48, 52, 55, 45, 57, 40, 43):
        assert ok not in flagged
    assert {50, 53}.issubset(flagged)  # over D (0-2-5-10) or F (0-2-7-11): not
    for pitch in range(36, 67):
        chord = tuple(sorted({(p - pitch) % 12 for p in (72, 67, 64, pitch)}))
        assert (pitch in flagged) == (chord not in BACH_CHORDS)
    # a doubled pitch class counts once; a silent upper voice or another voice: nothing
    doubled = banned(rule, context(3, [72, 67, 64, 48], [72, 60, 64, 0]))
    assert 48 not in doubled and 50 in doubled
    assert banned(rule, context(3, [72, 67, 64, 48], [72, 0, 64, 0])) == set()
    assert banned(rule, context(2, [72, 67, 64, 48], [72, 67, 0, 0])) == set()
