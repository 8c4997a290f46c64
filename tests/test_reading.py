"""A musician's files read for training: kern, two staves, off-grid notes, and their notes."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import music21
import numpy as np
import pytest
from music21 import chord, layout, meter, note, stream

from bachnet import Chorale, InputError, LimitError
from bachnet.formats.music21 import MAX_OFF_GRID, Reading, read_reading
from bachnet.music.grid import runs
from bachnet.music.table import lookup, read_melody, suffixes

S = [72] * 4 + [74] * 4 + [76] * 8 + [74] * 4 + [72] * 12
A = [67] * 6 + [69] * 2 + [72] * 8 + [71] * 4 + [72] * 12  # a unison with S in bar 2
T = [64] * 4 + [65] * 4 + [67] * 8 + [67] * 4 + [64] * 12
B = [48] * 4 + [53] * 4 + [48] * 8 + [43] * 4 + [48] * 12
PIECE = Chorale(np.array([S, A, T, B]).T, name="piece")

KERN = """!!!OTL: piece
**kern\t**kern\t**kern\t**kern
*clefF4\t*clefGv2\t*clefG2\t*clefG2
*M4/4\t*M4/4\t*M4/4\t*M4/4
=1\t=1\t=1\t=1
4C\t4e\t4.g\t4cc
4F\t4f\t.\t4dd
.\t.\t8a\t.
2C\t2g\t2cc\t2ee
=2\t=2\t=2\t=2
4GG\t4g\t4b\t4dd
2.C;\t2.e;\t2.cc;\t2.cc;
==\t==\t==\t==
*-\t*-\t*-\t*-
"""
"""PIECE by hand in Humdrum: spines from the bass (left) up to the soprano (right)."""


def _csv_twin(tmp_path: Path) -> Chorale:
    return Chorale.from_csv(PIECE.write(tmp_path / "twin.csv"))


def _line(pitches: list[int], into: stream.Stream, offset: float = 0.0) -> None:
    for pitch, start, steps in runs(np.array(pitches)):
        into.insert(offset + start / 4, note.Note(pitch, quarterLength=steps / 4))


def _two_staves(*, voices: bool) -> stream.Score:
    """PIECE on two staves, S+A above and T+B below: as two music21 voices in every measure,
    or (``voices=False``) as chords, one note where the two voices sing the same pitch."""
    score = stream.Score()
    for upper, lower in ((S, A), (T, B)):
        part = stream.Part()
        for bar in range(len(upper) // 16):
            measure = stream.Measure(number=bar + 1)
            if bar == 0:
                measure.insert(0, meter.TimeSignature("4/4"))
            top, bottom = upper[bar * 16 : bar * 16 + 16], lower[bar * 16 : bar * 16 + 16]
            if voices:
                for number, pitches in (("1", top), ("2", bottom)):
                    voice = stream.Voice(id=number)
                    _line(pitches, voice)
                    measure.insert(0, voice)
            else:
                codes = np.array(top) * 1000 + np.array(bottom)
                for code, start, steps in runs(codes):
                    high, low = divmod(int(code), 1000)
                    length = steps / 4
                    element = (
                        note.Note(high, quarterLength=length)
                        if high == low
                        else chord.Chord([low, high], quarterLength=length)
                    )
                    measure.insert(start / 4, element)
            part.append(measure)
        score.insert(0, part)
    return score


def _piano(score: stream.Score) -> stream.Score:
    """The two staves as one part of two staves (a piano or choir reduction's layout)."""
    piano = stream.Score()
    staves = []
    for part in score.parts:
        staff = stream.PartStaff()
        for measure in part.getElementsByClass(stream.Measure):
            staff.append(measure)
        staves.append(staff)
        piano.insert(0, staff)
    piano.insert(0, layout.StaffGroup(staves, symbol="brace"))
    return piano


def _parts(
    lines: list[list[int]], edit: Callable[[int, stream.Part], None] | None = None
) -> stream.Score:
    """One part per line of 16th-step pitches, in 4/4, ``edit(voice, part)`` before measuring."""
    score = stream.Score()
    for voice, pitches in enumerate(lines):
        part = stream.Part()
        part.insert(0, meter.TimeSignature("4/4"))
        _line(pitches, part)
        if edit is not None:
            edit(voice, part)
        score.insert(0, part.makeNotation())  # bars, notes across them tied
    return score


# ------------------------------------------------------------------------- same chorale
@pytest.mark.parametrize(
    "make",
    [
        "musicxml",
        "mxl",
        "mid",
        "krn",
        "voices.musicxml",
        "chords.musicxml",
        "chords.mid",
        "voices.mid",
        "voices.krn",
        "piano.musicxml",
    ],
)
def test_every_way_of_writing_the_piece_reads_as_its_csv_twin(tmp_path: Path, make: str) -> None:
    path = tmp_path / f"piece.{make}"
    if make == "krn":
        path.write_text(KERN, encoding="utf-8")
    elif make == "voices.krn":
        path.write_text(_split_spines_kern(), encoding="utf-8")
    elif make in ("musicxml", "mxl", "mid"):
        _parts([S, A, T, B]).write({"mid": "midi"}.get(make, make), fp=str(path))
    elif make == "piano.musicxml":
        _piano(_two_staves(voices=True)).write("musicxml", fp=str(path))
    else:
        kind, fmt = make.split(".")
        _two_staves(voices=kind == "voices").write({"mid": "midi"}.get(fmt, fmt), fp=str(path))
    reading = read_reading(path)
    assert isinstance(reading, Reading)
    assert reading.chorale == _csv_twin(tmp_path)
    assert reading.chorale.name == path.stem
    assert Chorale.read(path) == reading.chorale
    pitch_order = make.startswith("chords") or (make.endswith(".mid") and "." in make)
    assert reading.notes == (
        (
            "two staves split into S, A, T, B by pitch order (crossings cannot be seen; "
            "a note alone on a staff is sung by both of its voices)",
        )
        if pitch_order
        else ()
    )


def _split_spines_kern() -> str:
    """PIECE in kern on two staves: each a spine split (``*^``) into two voices."""
    return """**kern\t**kern
*clefF4\t*clefG2
*M4/4\t*M4/4
*^\t*^
=1\t=1\t=1\t=1
4e\t4C\t4cc\t4.g
4f\t4F\t4dd\t.
.\t.\t.\t8a
2g\t2C\t2ee\t2cc
=2\t=2\t=2\t=2
4g\t4GG\t4dd\t4b
2.e\t2.C\t2.cc\t2.cc
*v\t*v\t*v\t*v
*-\t*-
"""


def test_kern_is_a_read_only_format_and_its_parts_come_out_top_down(tmp_path: Path) -> None:
    assert ".krn" in suffixes("read")
    assert ".krn" not in suffixes("write")
    assert lookup("x.KRN", "read").name == "kern"
    tune = tmp_path / "tune.krn"
    tune.write_text("**kern\n*M4/4\n=1\n4c\n8d\n8e\n2f\n==\n*-\n", encoding="utf-8")
    assert read_melody(tune).tolist() == [60] * 4 + [62] * 2 + [64] * 2 + [65] * 8
    path = tmp_path / "bach.krn"
    shutil.copy(Path(music21.__file__).parent / "corpus" / "bach" / "bwv281.krn", path)
    reading = read_reading(path)
    chords = reading.chorale.chords
    means = [chords[:, v][chords[:, v] > 0].mean() for v in range(4)]
    assert means == sorted(means, reverse=True), "soprano on top, bass at the bottom"
    assert reading.chorale.fermatas
    assert reading.chorale.chords[0].tolist() == [65, 60, 57, 41]  # "4FF 4A 4c 4f", bass first
    assert reading.chorale.pickup == 4


def test_parts_listed_from_the_bass_up_are_turned_over(tmp_path: Path) -> None:
    path = tmp_path / "upside.musicxml"
    _parts([B, T, A, S]).write("musicxml", fp=str(path))
    reading = read_reading(path)
    assert reading.chorale == PIECE
    assert reading.notes == ("parts listed from the bass up: read top down as S, A, T, B",)


# ---------------------------------------------------------------------------- two staves
def test_a_voice_with_neither_a_note_nor_a_visible_rest_sings_its_staff_mates_note(
    tmp_path: Path,
) -> None:
    """Bar 2's alto unison written once, in the soprano's voice: a hidden rest below it (or
    nothing at all) is the unison; a visible rest is a rest."""
    for hidden, alto in ((True, A), (False, A[:20] + [0] * 12)):
        score = _two_staves(voices=True)
        alto_voice = score.parts[0].getElementsByClass("Measure")[1].voices[1]
        for element in list(alto_voice.notesAndRests):
            alto_voice.remove(element)
        alto_voice.insert(0, note.Note(71, quarterLength=1))
        rest = note.Rest(quarterLength=3)
        rest.style.hideObjectOnPrint = hidden
        alto_voice.insert(1, rest)
        path = tmp_path / f"unison{hidden}.musicxml"
        score.write("musicxml", fp=str(path))
        reading = read_reading(path)
        expected = PIECE.chords.copy()
        expected[:, 1] = alto
        assert reading.chorale.chords.tolist() == expected.tolist()
        shared = (
            "1 note of one voice also sung by the other voice of its staff, which had "
            "neither a note nor a visible rest there",
        )
        assert reading.notes == (shared if hidden else ())


def test_not_four_voices_is_refused_with_the_reason(tmp_path: Path) -> None:
    three = tmp_path / "trio.musicxml"
    _parts([S, A, B]).write("musicxml", fp=str(three))
    with pytest.raises(
        InputError, match=r"trio\.musicxml: expected 4 parts, got 3 parts; four voices are"
    ):
        read_reading(three)
    with pytest.raises(InputError, match="2 staves of two voices each"):
        Chorale.read(three)
    duet = tmp_path / "duet.musicxml"
    _parts([S, B]).write("musicxml", fp=str(duet))
    with pytest.raises(
        InputError, match=r"got 2 parts, and the upper staff \(S, A\) does not hold"
    ):
        read_reading(duet)
    crowded = _two_staves(voices=False)
    bar = crowded.parts[1].getElementsByClass("Measure")[1]
    bar.notes.first().add(60)  # a third note in the first chord of bar 2
    path = tmp_path / "crowded.musicxml"
    crowded.write("musicxml", fp=str(path))
    with pytest.raises(InputError, match=r"the lower staff \(T, B\), measure 2: 3 notes at once"):
        read_reading(path)


# ------------------------------------------------------------------ off the 16th-note grid
def test_a_piece_in_triplets_is_refused(tmp_path: Path) -> None:
    def triplets(voice: int, part: stream.Part) -> None:
        for element in list(part.notes):
            if element.offset < 4:
                part.remove(element)
        for n in range(12):
            part.insert(
                Fraction(n, 3), note.Note(60 + 5 * (3 - voice), quarterLength=Fraction(1, 3))
            )

    path = tmp_path / "triplets.musicxml"
    _parts([S, A, T, B], triplets).write("musicxml", fp=str(path))
    message = (
        r"triplets\.musicxml: 48 of 55 notes \(87 %\) are off the 16th-note grid "
        r"\(triplets or shorter notes\); at most 5 % may be moved to the nearest 16th$"
    )
    with pytest.raises(InputError, match=message):
        read_reading(path)
    with pytest.raises(InputError, match="off the 16th-note grid"):
        Chorale.read(path)


def test_one_triplet_among_many_notes_is_moved_to_the_grid_and_noted(tmp_path: Path) -> None:
    pairs = ((72, 74), (67, 69), (64, 65), (48, 43))
    lines = [[pair[n // 4 % 2] for n in range(160)] for pair in pairs]  # 40 quarters a voice

    def triplet(voice: int, part: stream.Part) -> None:
        if voice == 0:
            part.remove(part.getElementsByOffset(8).notes.first())
            for n, pitch in enumerate((79, 77, 76)):
                part.insert(8 + Fraction(n, 3), note.Note(pitch, quarterLength=Fraction(1, 3)))

    path = tmp_path / "triplet.musicxml"
    _parts(lines, triplet).write("musicxml", fp=str(path))
    reading = read_reading(path)
    assert reading.notes == ("3 notes off the 16th grid moved to the nearest 16th",)
    assert reading.chorale.chords[32:36, 0].tolist() == [79, 77, 77, 76]
    assert reading.chorale.chords[36:40, 0].tolist() == [74] * 4
    assert MAX_OFF_GRID > 3 / 162  # 3 of 162 notes off the grid


def test_a_grace_note_is_dropped_and_noted(tmp_path: Path) -> None:
    def grace(voice: int, part: stream.Part) -> None:
        if voice == 0:
            part.insert(4, note.Note(76, quarterLength=0.5).getGrace())

    path = tmp_path / "grace.musicxml"
    _parts([S, A, T, B], grace).write("musicxml", fp=str(path))
    reading = read_reading(path)
    assert reading.notes == ("1 grace note dropped",)
    assert reading.chorale == PIECE


# -------------------------------------------------------------------------------- length
def test_a_kern_file_of_endless_notes_is_refused_before_music21_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("music21 was asked to parse a file longer than the cap")

    monkeypatch.setattr(music21.converter, "parse", never)
    path = tmp_path / "endless.krn"
    path.write_text("**kern\n*M4/4\n" + "1%999999999c\n" * 1000 + "*-\n", encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(LimitError, match=r"endless\.krn: the music lasts [\d,]+ sixteenths, more "):
        read_reading(path)
    with pytest.raises(LimitError, match="more than the 65,536"):
        Chorale.read(path)
    assert time.perf_counter() - start < 2
    hidden = tmp_path / "hidden.krn"  # a long note in a spine split off later, after a join
    hidden.write_text(
        "**kern\t**kern\n4c\t4d\n*^\t*\n1%99999c\t4c\t4d\n*v\t*v\t*\n*-\t*-\n", encoding="utf-8"
    )
    with pytest.raises(LimitError, match="lasts 1,599,988 sixteenths"):
        Chorale.read(hidden)
