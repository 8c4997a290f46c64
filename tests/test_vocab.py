"""Tests for bachnet.music.vocab: ids, the S,A,T,B token stream, decoding, transpositions."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bachnet import Chorale, Dataset, Vocabulary
from bachnet.music.chorale import VOICES

pitches = st.one_of(st.just(0), st.integers(36, 81))
chord_arrays = hnp.arrays(
    dtype=np.int16, shape=st.integers(1, 48).map(lambda steps: (steps, 4)), elements=pitches
)


def test_default_size() -> None:
    vocab = Vocabulary()
    assert (vocab.low, vocab.high) == (36, 81)
    assert vocab.size == len(vocab) == 47
    assert "47 ids" in repr(vocab)


def test_ids_and_pitches() -> None:
    vocab = Vocabulary()
    assert vocab.ids_of([0, 36, 37, 81]).tolist() == [0, 1, 2, 46]
    assert vocab.pitch_of([0, 1, 2, 46]).tolist() == [0, 36, 37, 81]
    all_ids = np.arange(vocab.size)
    assert vocab.ids_of(vocab.pitch_of(all_ids)).tolist() == all_ids.tolist()
    with pytest.raises(ValueError, match=r"token id 47 is outside 0\.\.46"):
        vocab.pitch_of([3, 47])
    with pytest.raises(ValueError, match="token id -1"):
        vocab.pitch_of([-1])
    with pytest.raises(ValueError, match="MIDI pitch 82 is outside the vocabulary"):
        vocab.ids_of([60, 82])


@settings(max_examples=60, deadline=None)
@given(chords=chord_arrays)
def test_encode_decode_round_trip(chords: np.ndarray) -> None:
    vocab = Vocabulary()
    chorale = Chorale(chords)
    ids = vocab.encode(chorale)
    assert ids.dtype == np.int32
    assert ids.shape == (4 * len(chorale),)
    assert ids.min() >= 0
    assert ids.max() < vocab.size
    assert ((ids == 0) == (chords.reshape(-1) == 0)).all()
    back = vocab.decode(ids, strict=True, name="back")
    assert back == chorale
    assert back.name == "back"


def test_encoding_order_is_satb_per_step() -> None:
    vocab = Vocabulary()
    chorale = Chorale([[81, 60, 0, 36], [40, 41, 42, 43]])
    assert vocab.encode(chorale).tolist() == [46, 25, 0, 1, 5, 6, 7, 8]
    # token 4*t + v is voice v (S, A, T, B) of step t
    ids = vocab.encode(chorale).reshape(-1, 4)
    for voice in range(4):
        assert vocab.pitch_of(ids[:, voice]).tolist() == chorale.chords[:, voice].tolist()


@pytest.mark.parametrize(("pitch", "voice", "step"), [(35, 3, 1), (82, 0, 2), (100, 2, 0)])
def test_out_of_vocabulary_note(pitch: int, voice: int, step: int) -> None:
    chords = np.full((3, 4), 60)
    chords[step, voice] = pitch
    with pytest.raises(ValueError, match="outside the vocabulary") as info:
        Vocabulary().encode(Chorale(chords, name="oov"))
    message = str(info.value)
    assert message.startswith("oov:")
    assert f"MIDI pitch {pitch}" in message
    assert VOICES[voice] in message
    assert f"step {step}" in message


def test_decode_partial_step_warns() -> None:
    vocab = Vocabulary()
    with pytest.warns(UserWarning, match="dropping the last 2"):
        chorale = vocab.decode([46, 25, 0, 1, 5, 6])
    assert chorale.chords.tolist() == [[81, 60, 0, 36]]


def test_decode_partial_step_strict_raises() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="not a whole number of 4-voice steps"):
            Vocabulary().decode([46, 25, 0, 1, 5], strict=True)


def test_decode_errors() -> None:
    vocab = Vocabulary()
    with pytest.raises(ValueError, match="fewer than 4 ids"):
        vocab.decode([])
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="fewer than 4 ids"):
        vocab.decode([1, 2, 3])
    with pytest.raises(ValueError, match=r"outside 0\.\.46"):
        vocab.decode([1, 2, 3, 47])


def test_decode_accepts_2d() -> None:
    vocab = Vocabulary()
    assert vocab.decode(np.array([[46, 25, 0, 1]])).chords.tolist() == [[81, 60, 0, 36]]


def test_from_chorales(tiny_chorales: list[Chorale]) -> None:
    vocab = Vocabulary.from_chorales(tiny_chorales)
    notes = np.concatenate([c.chords[c.chords > 0] for c in tiny_chorales])
    assert (vocab.low, vocab.high) == (int(notes.min()), int(notes.max()))
    for chorale in tiny_chorales:
        assert vocab.decode(vocab.encode(chorale)) == chorale
    single = Vocabulary.from_chorales([Chorale([[72, 67, 0, 48]]), Chorale([[0, 0, 0, 0]])])
    assert (single.low, single.high, single.size) == (48, 72, 26)


def test_from_chorales_without_notes() -> None:
    with pytest.raises(ValueError, match="no notes"):
        Vocabulary.from_chorales([Chorale([[0, 0, 0, 0]])])
    with pytest.raises(ValueError, match="no notes"):
        Vocabulary.from_chorales([])


def test_from_chorales_jsb_is_default(jsb_dataset: Dataset) -> None:
    assert Vocabulary.from_chorales(jsb_dataset) == Vocabulary()


def test_transpositions_stay_inside() -> None:
    vocab = Vocabulary()
    chorale = Chorale([[79, 60, 50, 40], [77, 62, 52, 41]])  # range 40..79
    shifts = vocab.transpositions(chorale)
    assert shifts == range(-4, 3)
    for shift in shifts:
        vocab.encode(chorale.transpose(shift))
    for outside in (shifts.start - 1, shifts.stop):
        with pytest.raises(ValueError, match="outside the vocabulary"):
            vocab.encode(chorale.transpose(outside))
    assert vocab.transpositions(chorale, limit=2) == range(-2, 3)
    assert vocab.transpositions(chorale, limit=0) == range(0, 1)
    middle = Chorale([[60, 59, 58, 57]])
    assert vocab.transpositions(middle) == range(-6, 7)


@settings(max_examples=40, deadline=None)
@given(chords=chord_arrays.filter(lambda a: bool(a.any())), limit=st.integers(0, 12))
def test_transpositions_property(chords: np.ndarray, limit: int) -> None:
    vocab = Vocabulary()
    chorale = Chorale(chords)
    shifts = vocab.transpositions(chorale, limit)
    assert 0 in shifts
    assert -limit <= shifts.start
    assert shifts.stop - 1 <= limit
    low, high = chorale.pitch_range()
    for shift in shifts:
        assert vocab.low <= low + shift
        assert high + shift <= vocab.high


def test_transpositions_of_silence() -> None:
    with pytest.raises(ValueError, match="silence"):
        Vocabulary().transpositions(Chorale([[0, 0, 0, 0]]))


def test_config_round_trip() -> None:
    vocab = Vocabulary(40, 70)
    config = vocab.get_config()
    assert config == {"low": 40, "high": 70}
    again = Vocabulary.from_config(json.loads(json.dumps(config)))
    assert again == vocab
    assert hash(again) == hash(vocab)
    assert again.size == 32
    assert Vocabulary.from_config(Vocabulary().get_config()) == Vocabulary()
    assert vocab != Vocabulary()
    assert vocab != (40, 70)


@pytest.mark.parametrize(("low", "high"), [(0, 81), (36, 128), (60, 59), (36.0, 81), ("36", 81)])
def test_bad_settings(low: object, high: object) -> None:
    with pytest.raises(ValueError, match="low"):
        Vocabulary(low, high)  # type: ignore[arg-type]
