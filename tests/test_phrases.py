"""Phrases and cadences (`bachnet.music.phrases`) on textbook progressions and Bach's own."""

from __future__ import annotations

import numpy as np
import pytest

from bachnet import Chorale, Dataset
from bachnet.errors import InputError
from bachnet.music.keys import Key
from bachnet.music.phrases import (
    CADENCES,
    cadence_at,
    melody_cadences,
    name_chord,
    phrase_figures,
    phrases,
    repeated_opening,
)

C_MAJOR, A_MINOR = Key(0), Key(9, "minor")

# two chords, a beat each: (before, final) as S, A, T, B
TEXTBOOK = [
    ("authentic", C_MAJOR, [74, 67, 59, 43], [72, 64, 55, 48], "tonic"),  # V - I
    ("authentic", C_MAJOR, [71, 65, 62, 43], [72, 64, 55, 48], "tonic"),  # V7 - I
    ("authentic", C_MAJOR, [74, 65, 59, 50], [72, 64, 55, 48], "tonic"),  # vii°6 (bass D) - I
    ("authentic", C_MAJOR, [74, 66, 57, 50], [74, 67, 59, 43], "dominant"),  # V/V - V
    ("plagal", C_MAJOR, [72, 69, 65, 53], [72, 67, 64, 48], "tonic"),  # IV - I
    ("deceptive", C_MAJOR, [71, 67, 62, 43], [72, 64, 57, 45], "tonic"),  # V - vi
    ("deceptive", A_MINOR, [71, 68, 64, 52], [72, 69, 65, 53], "tonic"),  # V - VI in minor
    ("phrygian", A_MINOR, [74, 69, 65, 53], [76, 68, 64, 52], "tonic"),  # iv6 - V
    ("half", C_MAJOR, [72, 67, 64, 48], [71, 67, 62, 43], "tonic"),  # I - V
    ("half", C_MAJOR, [72, 69, 65, 53], [74, 67, 59, 55], "tonic"),  # IV - V
    ("other", C_MAJOR, [72, 67, 64, 48], [72, 64, 55, 52], "other"),  # I - I6 (inverted)
]


@pytest.mark.parametrize(("kind", "key", "before", "final", "relation"), TEXTBOOK)
def test_textbook_cadences(
    kind: str, key: Key, before: list[int], final: list[int], relation: str
) -> None:
    rows = [[72, 67, 64, 48]] * 8 + [before] * 4 + [final] * 8
    cadence = cadence_at(rows, 12, key)
    assert cadence.kind == kind
    assert cadence.relation == relation
    assert kind in CADENCES


def test_chord_names() -> None:
    assert name_chord([72, 64, 55, 48]) == (0, "major")
    assert name_chord([72, 63, 55, 48]) == (0, "minor")
    assert name_chord([71, 65, 62, 43]) == (7, "dominant7")
    assert name_chord([74, 65, 59, 50]) == (11, "diminished")
    assert name_chord([72, 67, 60, 48]) == (0, "major")  # an open fifth
    assert name_chord([72, 0, 0, 48]) is None  # one pitch class
    assert name_chord([60, 61, 62, 63]) is None  # a cluster


def test_a_cadence_outside_the_piece_is_an_error() -> None:
    with pytest.raises(InputError, match="outside the piece"):
        cadence_at([[72, 67, 64, 48]] * 4, 4, C_MAJOR)


# Bach's own phrases, checked by reading the notes (chords before -> on the fermata)
BACH = [
    ("chorale_306", 36, "authentic", "tonic"),  # A major: E7 (B G# D E) -> A
    ("chorale_306", 76, "authentic", "dominant"),  # B major (F# F# D# B) -> E
    ("chorale_307", 84, "half", "tonic"),  # A major: Dmaj7 -> E (IV - V)
    ("chorale_311", 220, "phrygian", "tonic"),  # B minor: E minor 6 (bass G) -> F#
    ("chorale_317", 188, "phrygian", "tonic"),  # A minor: D minor 6 (bass F) -> E
    ("chorale_326", 348, "deceptive", "tonic"),  # A minor: E7 -> F
    ("chorale_344", 136, "deceptive", "tonic"),  # F major: C7 -> D minor
]


@pytest.mark.parametrize(("name", "fermata", "kind", "relation"), BACH)
def test_bach_cadences(
    jsb_dataset: Dataset, name: str, fermata: int, kind: str, relation: str
) -> None:
    piece = next(p for p in jsb_dataset if p.name == name)
    assert fermata in piece.fermatas
    found = {p.fermata: p.cadence for p in phrases(piece)}
    assert (found[fermata].kind, found[fermata].relation) == (kind, relation)


def test_bach_phrase_figures(jsb_dataset: Dataset) -> None:
    figures = phrase_figures(jsb_dataset.split("test"))
    assert figures.phrased == 62  # the test pieces music21's edition holds
    assert figures.median_length == 8.0  # two bars of 4/4
    assert figures.per_piece == 6.0
    assert figures.cadences["authentic"] > 50 > figures.cadences["half"] > 10
    assert figures.meters == {"4/4": 70, "3/4": 7}


def test_phrase_lengths_count_from_the_pickup() -> None:
    rows = [[72, 67, 64, 48]] * 60 + [[71, 67, 62, 43]] * 4 + [[72, 64, 55, 48]] * 8
    with_pickup = phrases(Chorale(rows, fermatas=[28, 64], pickup=4))
    from_downbeat = phrases(Chorale(rows, fermatas=[24, 64]))
    assert [p.length for p in with_pickup] == [8.0, 9.0]
    assert [p.length for p in from_downbeat] == [8.0, 10.0]
    assert phrases(Chorale(rows)) == []


def test_bar_form() -> None:
    a = [[72, 67, 64, 48]] * 8 + [[74, 67, 62, 43]] * 8 + [[72, 64, 55, 48]] * 16
    b = [[76, 72, 67, 48]] * 8 + [[77, 72, 69, 53]] * 24
    assert repeated_opening(Chorale(a + a + b)) == 32
    assert repeated_opening(Chorale(a + b + a)) == 0
    figures = phrase_figures([Chorale(a + a + b), Chorale(np.array(a + b + a))])
    assert figures.bar_form == 50.0


def test_melody_cadences_fit_the_note_under_the_fermata() -> None:
    # C major: a fermata on E, on D (V: a half cadence), the last on C
    line = [67] * 4 + [65] * 4 + [64] * 8 + [65] * 4 + [62] * 8 + [71] * 4 + [72] * 8
    fermatas = [8, 20, 32]
    for seed in range(20):
        first, second, last = melody_cadences(line, fermatas, C_MAJOR, seed=seed)
        assert first is not None  # a chord with E: I, vi, or V of vi (E major)
        assert first not in {
            ("half", "tonic"),
            ("authentic", "dominant"),
            ("authentic", "subdominant"),
            ("authentic", "supertonic"),
        }
        assert second is not None and second[0] == "half"
        assert last == ("authentic", "tonic")
    # no cadence fits F# in C major, nor a rest
    odd = [67] * 4 + [66] * 4 + [0] * 4 + [72] * 4
    assert melody_cadences(odd, [4, 8], C_MAJOR, seed=0) == [None, None]
    assert melody_cadences(line, [], C_MAJOR) == []


def test_melody_cadences_hear_the_key_the_phrase_moves_to() -> None:
    # C major, a phrase that ends on G: with F# before it, mostly a cadence in the dominant
    # (D7 - G); with F, mostly a half cadence in C (on V)
    def drawn(fourth: int) -> list[tuple[str, str] | None]:
        line = [72] * 4 + [74] * 4 + [76] * 4 + [74] * 4 + [72] * 4 + [71] * 4 + [69] * 4
        line += [fourth] * 4 + [67] * 8 + [60] * 8
        return [melody_cadences(line, [32, 40], C_MAJOR, seed=s)[0] for s in range(100)]

    sharp, natural = drawn(66), drawn(65)
    assert sharp.count(("authentic", "dominant")) > 50 > natural.count(("authentic", "dominant"))
    assert natural.count(("half", "tonic")) > 50 > sharp.count(("half", "tonic"))
