"""Bars and voices to rewrite (`bachnet.music.regions`, `Chorale.mask`)."""

from __future__ import annotations

import numpy as np
import pytest

from bachnet import Chorale
from bachnet.errors import InputError
from bachnet.music.regions import parse_bars, parse_voices, region_mask


def test_bar_specs() -> None:
    assert parse_bars("5-6") == [5, 6]
    assert parse_bars(" 2 - 3 , 7,3") == [2, 3, 7]
    assert parse_bars(0) == [0]
    for bad in ("", "5-", "a", "5..6", "-1"):
        with pytest.raises(InputError, match="bars must look like"):
            parse_bars(bad)
    with pytest.raises(InputError, match="run backwards"):
        parse_bars("6-5")


def test_voice_specs() -> None:
    assert parse_voices("AT") == [1, 2]
    assert parse_voices("bs") == [0, 3]
    with pytest.raises(InputError, match=r"unknown voice letter\(s\) X"):
        parse_voices("SX")
    with pytest.raises(InputError, match="at least one voice"):
        parse_voices("")


def test_bars_without_a_pickup() -> None:
    mask = region_mask(70, bars="5")  # 4 full bars, then 6 sixteenths of bar 5
    assert mask[64:].all() and not mask[:64].any()
    assert region_mask(70).all()
    with pytest.raises(InputError, match=r"bar 6 is not in this piece: it has bars 1-5"):
        region_mask(70, bars="6")
    with pytest.raises(InputError, match="bar 0 is not in this piece"):
        region_mask(70, bars="0")


_PICKUP_XML = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1"><part-list><score-part id="P1"><part-name>S</part-name>
</score-part></part-list><part id="P1">
<measure number="0" implicit="yes"><attributes><divisions>1</divisions><time><beats>4</beats>
<beat-type>4</beat-type></time></attributes><note><pitch><step>C</step><octave>5</octave>
</pitch><duration>1</duration><type>quarter</type></note></measure>
<measure number="1"><note><pitch><step>D</step><octave>5</octave></pitch><duration>4</duration>
<type>whole</type></note></measure>
<measure number="2"><note><pitch><step>E</step><octave>5</octave></pitch><duration>4</duration>
<type>whole</type></note></measure></part></score-partwise>"""


def test_a_pickup_is_bar_zero_as_in_music21() -> None:
    """A 4/4 score opening with a one-beat pickup: music21 numbers the pickup measure 0 and
    bar 1 starts after it; `region_mask` counts the same bars."""
    import music21

    score = music21.converter.parse(_PICKUP_XML, format="musicxml")
    measures = list(score.recurse().getElementsByClass("Measure"))
    assert [m.number for m in measures] == [0, 1, 2]
    pickup = int(measures[0].duration.quarterLength * 4)  # sixteenths in the pickup
    steps = int(score.highestTime * 4)
    assert (pickup, steps) == (4, 36)
    for measure in measures:
        mask = region_mask(steps, bars=str(measure.number), voices="S", pickup=pickup)
        start = int(measure.offset * 4)
        end = start + int(measure.duration.quarterLength * 4)
        assert np.flatnonzero(mask[:, 0]).tolist() == list(range(start, end)), measure.number
    with pytest.raises(InputError, match=r"bar 3 is not in this piece: it has bars 0-2"):
        region_mask(steps, bars="3", pickup=pickup)
    with pytest.raises(InputError, match=r"a pickup is 0\.\.15"):
        region_mask(52, pickup=16)


def test_chorale_mask_matches_region_mask() -> None:
    piece = Chorale([[72, 67, 64, 48]] * 48)
    assert (piece.mask(bars="2", voices="AT") == region_mask(48, bars="2", voices="AT")).all()
    assert piece.mask().all()
