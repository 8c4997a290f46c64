"""Tests for bachnet.music.keys: key names, key finding against music21, shifts, cadence masks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bachnet import Chorale, Dataset, InputError, Vocabulary
from bachnet.music.keys import (
    HOLD_STEPS,
    Key,
    cadence_mask,
    ends_on_tonic,
    find_key,
    hold,
    key_shift,
    nearest_plain_shift,
    transpose_into,
)
from bachnet.music.ranges import JSB, VoiceRanges

RANGES = ((60, 81), (52, 74), (46, 69), (36, 66))  # bachnet.music.ranges.JSB, as plain pairs
ALL_KEYS = [Key(tonic, mode) for mode in ("major", "minor") for tonic in range(12)]


# ------------------------------------------------------------------------------ Key names
@pytest.mark.parametrize(
    ("text", "tonic", "mode"),
    [
        ("D minor", 2, "minor"),
        ("F# major", 6, "major"),
        ("Bb", 10, "major"),
        ("g", 7, "minor"),
        ("E- major", 3, "major"),
        ("c#", 1, "minor"),
        ("  a  MINOR ", 9, "minor"),
        ("d major", 2, "major"),
        ("Cb", 11, "major"),
        ("B#", 0, "major"),
        ("bb", 10, "minor"),
        ("b", 11, "minor"),
    ],
)
def test_parse(text: str, tonic: int, mode: str) -> None:
    assert Key.parse(text) == Key(tonic, mode)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "H", "D dorian", "Dmajor minor", "C#b", "X#", "12", "c ##"])
def test_parse_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read a key from"):
        Key.parse(text)


def test_parse_passes_a_key_through() -> None:
    key = Key(4, "minor")
    assert Key.parse(key) is key


@pytest.mark.parametrize("key", ALL_KEYS, ids=str)
def test_str_round_trip(key: Key) -> None:
    assert Key.parse(str(key)) == key


@pytest.mark.parametrize(
    ("text", "accidentals"),
    [
        ("C major", 0),
        ("A minor", 0),
        ("D major", 2),
        ("C minor", -3),
        ("F major", -1),
        ("Db major", -5),
        ("F# major", 6),
        ("Eb minor", -6),
        ("G# minor", 5),
        ("Bb minor", -5),
        ("B major", 5),
        ("E major", 4),
        ("Ab major", -4),
    ],
)
def test_str_and_accidentals(text: str, accidentals: int) -> None:
    key = Key.parse(text)
    assert str(key) == text
    assert key.accidentals == accidentals


@pytest.mark.parametrize("key", ALL_KEYS, ids=str)
def test_spelling_agrees_with_accidentals(key: Key) -> None:
    name = str(key).split()[0]
    assert -6 <= key.accidentals <= 6
    if "#" in name:
        assert key.accidentals > 0
    if "b" in name:
        assert key.accidentals < 0
    # a minor key shares its relative major's signature (up to the F# / Gb enharmonic)
    if key.mode == "minor":
        relative = Key((key.tonic + 3) % 12, "major")
        assert key.accidentals % 12 == relative.accidentals % 12


@pytest.mark.parametrize("key", ALL_KEYS, ids=str)
def test_spelling_like_music21(key: Key) -> None:
    """music21's key analysis spells every key as `str` does, except C# major (Db here)."""
    from music21.analysis.discrete import AardenEssen
    from music21.pitch import Pitch

    tonic = Pitch(key.tonic)
    valid = AardenEssen.keysValidMajor if key.mode == "major" else AardenEssen.keysValidMinor
    if tonic.name not in valid:
        tonic.getEnharmonic(inPlace=True)
    expected = "Db" if str(key) == "Db major" else tonic.name.replace("-", "b")
    assert str(key).split()[0] == expected


def test_chord_degrees() -> None:
    c, a = Key.parse("C"), Key.parse("a")
    assert c.triad == (0, 4, 7)
    assert a.triad == (9, 0, 4)
    assert (c.dominant, c.subdominant) == (7, 5)
    assert (a.dominant, a.subdominant) == (4, 2)
    assert str(Key.parse("Bb").transpose(3)) == "Db major"


@pytest.mark.parametrize("bad", [(12, "major"), (-1, "minor"), (True, "major"), (0, "dorian")])
def test_key_validation(bad: tuple[object, object]) -> None:
    with pytest.raises(ValueError, match=r"tonic|mode"):
        Key(*bad)  # type: ignore[arg-type]


def test_key_is_frozen_and_hashable() -> None:
    key = Key(2, "minor")
    assert {key, Key.parse("d")} == {key}
    with pytest.raises(AttributeError):
        key.tonic = 3  # type: ignore[misc]


# -------------------------------------------------------------------------------- find_key
C_MAJOR_SCALE = [72, 74, 76, 77, 79, 81, 83, 84]
A_MINOR_SCALE = [69, 71, 72, 74, 76, 77, 80, 81]  # harmonic minor
# the same scales harmonised: I V I IV I IV V I, and i V i iv i iv V i
C_MAJOR_CHORDS = [
    [72, 67, 64, 48], [74, 67, 59, 43], [76, 67, 60, 48], [77, 69, 60, 53],
    [79, 72, 64, 48], [81, 72, 65, 53], [83, 74, 67, 55], [84, 76, 67, 48],
]  # fmt: skip
A_MINOR_CHORDS = [
    [69, 64, 60, 45], [71, 64, 56, 52], [72, 64, 57, 45], [74, 69, 65, 50],
    [76, 69, 60, 45], [77, 69, 62, 50], [80, 71, 64, 52], [81, 72, 64, 45],
]  # fmt: skip


def _music21_key(chords: np.ndarray) -> Key:
    analysed = Chorale(chords).to_music21().analyze("key")
    return Key(analysed.tonic.pitchClass, analysed.mode)


def test_find_key_harmonised_scales() -> None:
    for chords, key in ((C_MAJOR_CHORDS, "C"), (A_MINOR_CHORDS, "a")):
        piece = np.repeat(np.array(chords), [4] * 7 + [8], axis=0)
        assert find_key(piece) == Key.parse(key) == _music21_key(piece)


def test_find_key_bare_scales_like_music21() -> None:
    """A bare scale is a weak cue: the Aarden-Essen profiles hear C major's as A minor."""
    for scale in (C_MAJOR_SCALE, A_MINOR_SCALE):
        piece = np.zeros((len(scale) * 4, 4), dtype=np.int16)
        piece[:, 0] = np.repeat(scale, 4)
        assert find_key(piece) == _music21_key(piece) == Key.parse("a")


def test_find_key_cadences() -> None:
    # I - IV - V7 - I in C major, and i - iv - V - i in A minor, a beat each, last one held
    c_major = [[72, 67, 64, 48], [72, 69, 65, 53], [71, 65, 62, 55], [72, 64, 55, 48]]
    a_minor = [[72, 69, 64, 57], [74, 69, 65, 50], [71, 68, 64, 52], [69, 64, 60, 45]]
    for chords, key in ((c_major, "C"), (a_minor, "a")):
        piece = np.repeat(np.array(chords), [4, 4, 4, 8], axis=0)
        assert find_key(piece) == Key.parse(key)
        assert find_key(Chorale(piece)) == Key.parse(key)
        for shift in (-5, 2, 6):
            assert find_key(Chorale(piece).transpose(shift)) == Key.parse(key).transpose(shift)


def test_find_key_matches_music21_by_construction() -> None:
    rng = np.random.default_rng(7)
    for _ in range(10):
        chords = rng.integers(50, 72, size=(16, 4))
        chords[rng.random((16, 4)) < 0.2] = 0
        assert find_key(chords) == _music21_key(chords)


def test_find_key_of_silence() -> None:
    with pytest.raises(ValueError, match="silence"):
        find_key(np.zeros((4, 4), dtype=int))


def test_find_key_bad_input() -> None:
    with pytest.raises(ValueError, match=r"shape \(steps, 4\)"):
        find_key([60, 64, 67])


def test_find_key_agrees_with_music21_on_jsb_test_pieces(jsb_dataset: Dataset) -> None:
    test = jsb_dataset.split("test")
    for chorale in [test[i] for i in (0, 11, 23, 42, 76)]:
        analysed = chorale.to_music21().analyze("key")
        assert find_key(chorale) == Key(analysed.tonic.pitchClass, analysed.mode), chorale.name


# ---------------------------------------------------------------------------------- shifts
def test_key_shift() -> None:
    assert key_shift(Key.parse("C"), Key.parse("G")) == -5
    assert key_shift(Key.parse("C"), Key.parse("F")) == 5
    assert key_shift(Key.parse("C"), Key.parse("F#")) == -6
    assert key_shift(Key.parse("d"), Key.parse("d")) == 0
    for a, b in itertools.product(range(12), repeat=2):
        shift = key_shift(Key(a), Key(b))
        assert -6 <= shift <= 5
        assert Key(a).transpose(shift) == Key(b)


def test_key_shift_needs_same_mode() -> None:
    with pytest.raises(ValueError, match=r"D major.*D minor"):
        key_shift(Key.parse("D"), Key.parse("d"))


@pytest.mark.parametrize("key", ALL_KEYS, ids=str)
@pytest.mark.parametrize("limit", [0, 2, 4, 7])
def test_nearest_plain_shift(key: Key, limit: int) -> None:
    shift = nearest_plain_shift(key, max_accidentals=limit)
    assert -6 <= shift <= 5
    assert abs(key.transpose(shift).accidentals) <= limit
    # no smaller shift would do
    assert all(
        abs(key.transpose(s).accidentals) > limit for s in range(-6, 6) if abs(s) < abs(shift)
    )
    if abs(key.accidentals) <= limit:
        assert shift == 0


def test_nearest_plain_shift_examples() -> None:
    assert nearest_plain_shift(Key.parse("B")) == 1  # C rather than Bb
    assert nearest_plain_shift(Key.parse("Db")) == -1  # C rather than D
    assert nearest_plain_shift(Key.parse("F#")) == -1  # F or G: downward wins the tie
    assert nearest_plain_shift(Key.parse("Bb minor")) == -1  # A minor
    with pytest.raises(ValueError, match="max_accidentals"):
        nearest_plain_shift(Key.parse("C"), max_accidentals=-1)


def test_transpose_into_keeps_ranges(jsb_dataset: Dataset) -> None:
    low = np.array([r[0] for r in RANGES])
    high = np.array([r[1] for r in RANGES])
    for chorale in jsb_dataset.split("test")[:20]:
        key = find_key(chorale)
        for target in range(12):
            shift = key_shift(key, Key(target, key.mode))
            moved = transpose_into(chorale, shift, RANGES)
            assert moved.dtype == np.int16
            assert np.array_equal(moved == 0, chorale.chords == 0)
            assert (moved - chorale.chords)[chorale.chords > 0].tolist()[0] % 12 == shift % 12
            assert find_key(moved) == Key(target, key.mode)
            sounding = moved > 0
            outside = sounding & ((moved < low) | (moved > high))
            # never worse than the plain shift
            plain = np.where(sounding, chorale.chords.astype(int) + shift, 0)
            plain_outside = sounding & ((plain < low) | (plain > high))
            assert outside.sum() <= plain_outside.sum()


def test_transpose_into_picks_the_octave() -> None:
    chords = [[79, 74, 71, 55], [0, 72, 67, 52]]
    assert transpose_into(chords, 4, RANGES).tolist() == [[71, 66, 63, 47], [0, 64, 59, 44]]
    assert transpose_into(chords, -8, RANGES).tolist() == [[71, 66, 63, 47], [0, 64, 59, 44]]
    assert transpose_into(chords, 0, RANGES).tolist() == [[67, 62, 59, 43], [0, 60, 55, 40]]
    inside = [[72, 67, 64, 48]]
    assert transpose_into(inside, 0, RANGES).tolist() == inside
    assert transpose_into(inside, 2, RANGES).tolist() == [[74, 69, 66, 50]]
    # a tie on notes outside goes to the smaller move
    assert transpose_into([[60, 60, 60, 60]], 6, ((0, 127),) * 4).tolist() == [[66] * 4]


# ---------------------------------------------------------------------------- voice ranges
def test_voice_ranges_value() -> None:
    assert VoiceRanges.of(RANGES) == JSB and VoiceRanges.of(JSB) is JSB
    assert list(JSB) == list(RANGES) and JSB[3] == JSB.bass == (36, 66) and len(JSB) == 4
    assert JSB.low.tolist() == [60, 52, 46, 36] and JSB.high.tolist() == [81, 74, 69, 66]
    assert VoiceRanges.of(np.array(RANGES)) == JSB  # numpy pairs, as JSON lists, are fine
    assert VoiceRanges.of([[60.0, 81.0], *RANGES[1:]]) == JSB
    assert JSB.contains([[81, 52, 0, 36]]) and not JSB.contains([[81, 52, 0, 35]])
    assert JSB.to_list() == [list(pair) for pair in RANGES]
    assert transpose_into([[79, 74, 71, 55]], 4, JSB).tolist() == [[71, 66, 63, 47]]
    cases = [
        (RANGES[:3], "ranges needs 4"),
        ([(60, 81, 90), *RANGES[1:]], "ranges needs 4"),
        (5, "ranges needs 4"),
        ([(60, 81.5), *RANGES[1:]], "whole MIDI pitches"),
        ([(60, 128), *RANGES[1:]], "0..127"),
        ([(True, 81), *RANGES[1:]], "whole MIDI pitches"),
        ([(81, 60), *RANGES[1:]], "low <= high"),
    ]
    for value, message in cases:
        with pytest.raises(InputError, match=message):
            VoiceRanges.of(value)  # type: ignore[arg-type]


def test_transpose_into_stays_in_midi() -> None:
    assert transpose_into([[120, 0, 0, 0]], 10, RANGES).tolist() == [[118, 0, 0, 0]]
    with pytest.raises(ValueError, match="ranges"):
        transpose_into([[60, 60, 60, 60]], 0, RANGES[:3])
    with pytest.raises(ValueError, match="low <= high"):
        transpose_into([[60, 60, 60, 60]], 0, ((70, 60),) * 4)


# ---------------------------------------------------------------------------------- cadences
def _allowed(mask_row: np.ndarray, vocab: Vocabulary) -> tuple[set[int], set[int]]:
    """(pitch classes, pitches) a mask row allows."""
    pitches = {int(p) for p in vocab.pitch_of(np.flatnonzero(mask_row))}
    return {p % 12 for p in pitches}, pitches


@pytest.mark.parametrize(
    ("key", "approach", "seventh", "upper", "bass"),
    [
        ("C", "dominant", True, {7, 11, 2, 5}, {7}),
        ("C", "dominant", False, {7, 11, 2}, {7}),
        ("C", "subdominant", True, {5, 9, 0}, {5}),
        ("C", "either", True, {7, 11, 2, 5, 9, 0}, {5, 7}),
        ("a", "dominant", True, {4, 8, 11, 2}, {4}),  # V has the raised leading tone G#
        ("a", "subdominant", False, {2, 5, 9}, {2}),  # iv is minor
        ("D", "either", False, {9, 1, 4, 7, 11, 2}, {7, 9}),
    ],
)
def test_cadence_mask_pitch_classes(
    key: str, approach: str, seventh: bool, upper: set[int], bass: set[int]
) -> None:
    vocab = Vocabulary()
    k = Key.parse(key)
    mask = cadence_mask(k, vocab, RANGES, approach=approach, seventh=seventh)  # type: ignore[arg-type]
    assert mask.shape == (20, vocab.size)
    assert mask.dtype == bool
    assert not mask[:, 0].any(), "silence is never allowed"
    final_upper = set(k.triad) | {(k.tonic + 4) % 12}
    for row in range(20):
        step, voice = divmod(row, 4)
        classes, pitches = _allowed(mask[row], vocab)
        low, high = RANGES[voice]
        assert pitches, f"row {row} allows nothing"
        assert all(low <= p <= high for p in pitches)
        # every pitch of the right classes inside the range is allowed
        assert pitches == {p for p in range(low, high + 1) if p % 12 in classes}
        if step < 4:
            assert classes == (bass if voice == 3 else upper), (step, voice)
        else:
            assert classes == ({k.tonic} if voice == 3 else final_upper), (step, voice)


def test_cadence_mask_minor_allows_both_thirds() -> None:
    mask = cadence_mask(Key.parse("a"), Vocabulary(), RANGES)
    for voice in range(3):
        classes, _ = _allowed(mask[16 + voice], Vocabulary())
        assert classes == {9, 0, 1, 4}  # A, C, C# (Picardy third), E
    major = cadence_mask(Key.parse("A"), Vocabulary(), RANGES)
    assert _allowed(major[16], Vocabulary())[0] == {9, 1, 4}


def test_cadence_mask_shape_follows_approach_steps() -> None:
    vocab = Vocabulary()
    assert cadence_mask(Key.parse("G"), vocab, RANGES, approach_steps=0).shape == (4, 47)
    mask = cadence_mask(Key.parse("G"), vocab, RANGES, approach_steps=8)
    assert mask.shape == (36, 47)
    assert (mask[:32].reshape(8, 4, 47) == mask[:4]).all()


def test_cadence_mask_other_vocabulary() -> None:
    vocab = Vocabulary(40, 76)
    mask = cadence_mask(Key.parse("E"), vocab, RANGES)
    assert mask.shape == (20, vocab.size)
    _, pitches = _allowed(mask[19], vocab)
    assert pitches == {40, 52, 64}  # E in the bass range 36..66, cut at the vocabulary's 40


def test_cadence_mask_errors() -> None:
    vocab = Vocabulary()
    narrow = ((60, 81), (52, 74), (46, 69), (37, 38))  # C#..D: no G or F for the bass
    with pytest.raises(ValueError, match="approach chord leaves the bass no pitch"):
        cadence_mask(Key.parse("C"), vocab, narrow)
    g_only = ((60, 81), (52, 74), (46, 69), (43, 44))  # G..Ab: a dominant but no tonic
    with pytest.raises(ValueError, match="final chord leaves the bass no pitch"):
        cadence_mask(Key.parse("C"), vocab, g_only, approach="dominant")
    assert cadence_mask(Key.parse("G"), vocab, g_only, approach_steps=0).shape == (4, 47)
    with pytest.raises(ValueError, match="final chord leaves the bass no pitch"):
        cadence_mask(Key.parse("C"), vocab, narrow, approach_steps=0)
    with pytest.raises(ValueError, match="approach_steps"):
        cadence_mask(Key.parse("C"), vocab, RANGES, approach_steps=-1)
    with pytest.raises(ValueError, match="approach must be"):
        cadence_mask(Key.parse("C"), vocab, RANGES, approach="deceptive")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ranges"):
        cadence_mask(Key.parse("C"), vocab, [(60, 81)])


def test_hold() -> None:
    chords = np.array([[71, 67, 62, 43], [72, 64, 55, 48]])
    held = hold(chords)
    assert held.shape == (2 + HOLD_STEPS, 4)
    assert held.dtype == np.int16
    assert (held[1:] == [72, 64, 55, 48]).all()
    assert hold(Chorale(chords), 0).tolist() == chords.tolist()
    with pytest.raises(ValueError, match="steps"):
        hold(chords, -1)


def test_ends_on_tonic() -> None:
    c, a = Key.parse("C"), Key.parse("a")
    assert ends_on_tonic([[71, 67, 62, 43], [72, 64, 55, 48]], c)
    assert ends_on_tonic([[72, 64, 55, 48], [0, 0, 0, 0], [0, 0, 0, 0]], c)  # trailing rests
    assert ends_on_tonic([[72, 0, 0, 36]], c)  # an incomplete triad counts
    assert not ends_on_tonic([[72, 67, 64, 52]], c)  # I6: the third in the bass
    assert not ends_on_tonic([[72, 67, 62, 48]], c)  # D is not in the tonic triad
    assert not ends_on_tonic([[72, 67, 64, 0]], c)  # no bass
    assert not ends_on_tonic([[0, 0, 0, 0]], c)
    assert ends_on_tonic([[73, 69, 64, 45]], a)  # Picardy third
    assert ends_on_tonic([[72, 69, 64, 45]], a)
    assert not ends_on_tonic([[73, 69, 64, 45]], Key.parse("a").transpose(1))
    assert not ends_on_tonic([[72, 64, 55, 48]], a)


def test_sampled_cadence_ends_on_tonic() -> None:
    """Any chord drawn from the final row of the mask ends on the tonic."""
    vocab = Vocabulary()
    rng = np.random.default_rng(0)
    for key in ALL_KEYS:
        mask = cadence_mask(key, vocab, RANGES, approach="dominant")
        drawn = [rng.choice(np.flatnonzero(row)) for row in mask]
        chords = vocab.pitch_of(np.array(drawn)).reshape(-1, 4)
        assert ends_on_tonic(chords, key), key
        assert all(p % 12 == key.dominant for p in chords[:-1, 3])


def test_jsb_test_pieces_mostly_end_on_tonic(jsb_dataset: Dataset) -> None:
    test = jsb_dataset.split("test")
    share = np.mean([ends_on_tonic(c, find_key(c)) for c in test])
    assert share > 0.8  # the issue measured 88 %
