"""Tests for bachnet.music.chorale: validation, CSV/MIDI/MusicXML round trips, atomic writes."""

from __future__ import annotations

import io
import re
from pathlib import Path

import music21
import numpy as np
import pytest
from music21 import converter
from music21 import tempo as m21tempo

from bachnet import Chorale, Dataset
from bachnet.errors import InputError
from bachnet.music.chorale import STEP_QUARTERS, VOICES

REAL_INDICES = (0, 57, 200)  # three JSB training chorales of different lengths and keys


def runs(voice: np.ndarray) -> list[tuple[float, float, int]]:
    """(offset, quarterLength, midi) of each note of a voice, computed here from scratch."""
    notes = []
    start = 0
    for step in range(1, len(voice) + 1):
        if step == len(voice) or voice[step] != voice[start]:
            if voice[start] != 0:
                notes.append(
                    (start * STEP_QUARTERS, (step - start) * STEP_QUARTERS, int(voice[start]))
                )
            start = step
    return notes


def part_notes(part: music21.stream.Part) -> list[tuple[float, float, int]]:
    """(offset, quarterLength, midi) of each note of a parsed part, ties merged."""
    return [
        (float(n.offset), float(n.quarterLength), int(n.pitch.midi))
        for n in part.stripTies().flatten().notes
    ]


def folder_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def real_chorales(jsb_dataset: Dataset) -> list[Chorale]:
    train = jsb_dataset.split("train")
    return [train[i] for i in REAL_INDICES]


# --------------------------------------------------------------------------- construction
def test_construct_basic() -> None:
    c = Chorale([[72, 67, 64, 48], [74, 67, 62, 43]], name="two")
    assert len(c) == 2
    assert c.chords.dtype == np.int16
    assert c.chords.shape == (2, 4)
    assert c.duration == 0.5
    assert c.pitch_range() == (43, 74)
    assert "two" in repr(c)
    assert [row.tolist() for row in c] == [[72, 67, 64, 48], [74, 67, 62, 43]]


def test_chords_are_read_only() -> None:
    c = Chorale([[72, 67, 64, 48]])
    with pytest.raises(ValueError):
        c.chords[0, 0] = 60


def test_equality_and_hash() -> None:
    a = Chorale([[72, 67, 64, 48]], name="a")
    b = Chorale(np.array([[72, 67, 64, 48]], dtype=np.int64), name="b")
    assert a == b
    assert hash(a) == hash(b)
    assert a != Chorale([[72, 67, 64, 47]])
    assert a != "not a chorale"


@pytest.mark.parametrize(
    "chords",
    [
        [[60, 60, 60]],  # 3 voices
        [60, 60, 60, 60],  # 1-D
        np.zeros((2, 4, 1), dtype=int),  # 3-D
        [[60, 60, 60, 60, 60]],  # 5 voices
    ],
)
def test_wrong_shape(chords: object) -> None:
    with pytest.raises(ValueError, match=r"expected shape \(steps, 4\)"):
        Chorale(chords)  # type: ignore[arg-type]


def test_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        Chorale(np.zeros((0, 4), dtype=int))


@pytest.mark.parametrize(
    ("value", "voice", "step"),
    [(128, 1, 2), (-1, 3, 0), (200, 0, 1), (-60, 2, 3)],
)
def test_value_outside_0_127_names_step_and_voice(value: int, voice: int, step: int) -> None:
    chords = np.full((4, 4), 60)
    chords[step, voice] = value
    with pytest.raises(ValueError, match=r"outside 0\.\.127") as info:
        Chorale(chords, name="bad")
    message = str(info.value)
    assert message.startswith("bad:")
    assert f"chords[{step}, {voice}] = {value}" in message
    assert VOICES[voice] in message
    assert f"step {step}" in message


def test_bounds_accepted() -> None:
    assert Chorale([[0, 127, 1, 0]]).chords.tolist() == [[0, 127, 1, 0]]


def test_integral_floats_accepted() -> None:
    c = Chorale(np.array([[72.0, 67.0, 64.0, 48.0]]))
    assert c.chords.dtype == np.int16
    assert c.chords.tolist() == [[72, 67, 64, 48]]


@pytest.mark.parametrize("bad", [60.5, float("nan"), float("inf")])
def test_non_integer_floats(bad: float) -> None:
    chords = np.full((3, 4), 60.0)
    chords[2, 1] = bad
    with pytest.raises(ValueError, match=r"chords\[2, 1\] = .* is not an integer"):
        Chorale(chords)


def test_non_numeric_dtype() -> None:
    with pytest.raises(ValueError, match="integer MIDI pitches"):
        Chorale([["a", "b", "c", "d"]])


def test_pitch_range_of_silence() -> None:
    with pytest.raises(ValueError, match="silence"):
        Chorale([[0, 0, 0, 0]]).pitch_range()


def test_transpose_keeps_silence() -> None:
    c = Chorale([[60, 0, 55, 48], [61, 62, 0, 0]], name="t")
    up = c.transpose(3)
    assert up.chords.tolist() == [[63, 0, 58, 51], [64, 65, 0, 0]]
    assert up.name == "t"
    assert c.transpose(3).transpose(-3) == c


def test_unknown_suffix_on_write(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown file suffix '\.mp3'"):
        Chorale([[72, 67, 64, 48]]).write(tmp_path / "piece.mp3")
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix_on_read(tmp_path: Path) -> None:
    path = tmp_path / "piece.txt"
    path.write_text("note0,note1,note2,note3\n60,60,60,60\n")
    with pytest.raises(ValueError, match=r"unknown file suffix '\.txt'"):
        Chorale.read(path)


# --------------------------------------------------------------------------------- CSV
def test_csv_text() -> None:
    c = Chorale([[74, 70, 65, 58], [0, 70, 65, 58]])
    assert c.to_csv() == "note0,note1,note2,note3\n74,70,65,58\n0,70,65,58\n"
    assert Chorale.from_csv(io.StringIO(c.to_csv())) == c


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a,b,c,d\n60,60,60,60\n", "expected the header"),
        ("", "expected the header"),
        ("note0,note1,note2,note3\n", "no rows"),
        ("note0,note1,note2,note3\n60,60,60,60\n60,x,60,60\n", "line 3"),
        ("note0,note1,note2,note3\n60,60,60\n", "line 2: expected 4 values"),
    ],
)
def test_csv_errors(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Chorale.from_csv(io.StringIO(text), name="broken")


def test_csv_round_trip_real(real_chorales: list[Chorale], tmp_path: Path) -> None:
    for chorale in real_chorales:
        path = chorale.write(tmp_path / f"{chorale.name}.csv")
        back = Chorale.read(path)
        assert back == chorale
        assert back.name == chorale.name
        assert path.read_text() == chorale.to_csv()


# ---------------------------------------------------------------------- MIDI and MusicXML
@pytest.mark.parametrize("suffix", [".mid", ".musicxml"])
def test_music_round_trip_real(real_chorales: list[Chorale], tmp_path: Path, suffix: str) -> None:
    for chorale in real_chorales:
        path = chorale.write(tmp_path / f"{chorale.name}{suffix}")
        assert path.stat().st_size > 0
        score = converter.parse(str(path))
        parts = list(score.parts)
        assert [p.partName for p in parts] == list(VOICES)
        # MIDI has no pickup measure: rests fill the pickup's bar (a DAW counts from 0)
        rest = (chorale.bar_steps - chorale.pickup) % chorale.bar_steps if suffix == ".mid" else 0
        for voice, part in enumerate(parts):
            expected = [
                (start + rest * 0.25, length, pitch)
                for start, length, pitch in runs(chorale.chords[:, voice])
            ]
            assert expected, "a JSB voice always has notes"
            assert part_notes(part) == expected, f"{chorale.name} {VOICES[voice]} ({suffix})"
        back = Chorale.read(path)
        assert back == chorale
        assert (back.pickup, back.meter) == (chorale.pickup, chorale.meter)
        if suffix == ".musicxml":  # MIDI has no fermata
            assert back.fermatas == chorale.fermatas
    assert any(c.pickup for c in real_chorales), "the sample holds a piece with a pickup"


@pytest.mark.parametrize("suffix", [".mid", ".midi", ".musicxml", ".xml"])
def test_music_round_trip_tiny(tiny_chorales: list[Chorale], tmp_path: Path, suffix: str) -> None:
    for chorale in tiny_chorales:
        path = chorale.write(tmp_path / f"{chorale.name}{suffix}")
        assert Chorale.read(path) == chorale
        assert Chorale.read(path).name == chorale.name


def test_held_notes_are_merged(tmp_path: Path) -> None:
    chorale = Chorale(
        np.array([[60, 60, 60, 62], [55, 55, 55, 55], [52, 52, 0, 0], [48, 50, 50, 48]]).T
    )
    score = chorale.to_music21()
    soprano = [
        (float(n.offset), float(n.quarterLength), n.pitch.midi)
        for n in score.parts[0].flatten().notes
    ]
    assert soprano == [(0.0, 0.75, 60), (0.75, 0.25, 62)]
    alto = [
        (float(n.offset), float(n.quarterLength), n.pitch.midi)
        for n in score.parts[1].flatten().notes
    ]
    assert alto == [(0.0, 1.0, 55)]
    tenor = list(score.parts[2].flatten().notesAndRests)
    assert [(float(n.offset), float(n.quarterLength), n.isRest) for n in tenor] == [
        (0.0, 0.5, False),
        (0.5, 0.5, True),
    ]
    # and in a file read back with plain music21
    back = converter.parse(str(chorale.write(tmp_path / "held.musicxml")))
    assert part_notes(back.parts[0]) == [(0.0, 0.75, 60), (0.75, 0.25, 62)]
    assert part_notes(back.parts[3]) == [(0.0, 0.25, 48), (0.25, 0.5, 50), (0.75, 0.25, 48)]


def test_to_music21_parts_and_metadata() -> None:
    score = Chorale([[72, 67, 64, 48]] * 4, name="titled").to_music21(time_signature=None)
    assert [p.partName for p in score.parts] == list(VOICES)
    assert score.metadata.title == "titled"
    assert not list(score.recurse().getElementsByClass("TimeSignature"))
    with pytest.raises(ValueError, match="tempo"):
        Chorale([[72, 67, 64, 48]]).to_music21(tempo=0)


@pytest.mark.parametrize("suffix", [".musicxml", ".mid"])
def test_tempo_written(tmp_path: Path, suffix: str) -> None:
    path = Chorale([[72, 67, 64, 48]] * 8).write(tmp_path / f"fast{suffix}", tempo=96)
    marks = list(converter.parse(str(path)).recurse().getElementsByClass(m21tempo.MetronomeMark))
    assert marks
    assert {float(m.number) for m in marks} == {96.0}
    assert float(marks[0].referent.quarterLength) == 1.0


def test_from_music21_errors() -> None:
    from music21 import stream

    two_parts = stream.Score([stream.Part(), stream.Part()])
    with pytest.raises(ValueError, match="expected 4 parts, got 2"):
        Chorale.from_music21(two_parts, name="duo")
    silent = Chorale([[72, 67, 64, 48]]).to_music21()
    for part in silent.parts:
        for n in list(part.recurse().notes):
            n.activeSite.remove(n)
    with pytest.raises(ValueError, match="no"):
        Chorale.from_music21(silent, name="silent")


# ------------------------------------------------------------------------------ atomicity
@pytest.mark.parametrize("suffix", [".csv", ".mid", ".musicxml"])
def test_write_leaves_no_temp_files(tmp_path: Path, suffix: str) -> None:
    chorale = Chorale([[72, 67, 64, 48]] * 8)
    target = tmp_path / "out" / f"piece{suffix}"
    assert chorale.write(target) == target
    assert folder_names(target.parent) == [target.name]
    chorale.write(target)  # overwriting works the same way
    assert folder_names(target.parent) == [target.name]


@pytest.mark.parametrize("suffix", [".mid", ".musicxml"])
def test_failed_write_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    target = tmp_path / f"piece{suffix}"
    target.write_bytes(b"the old file")

    def broken_write(self: object, *args: object, **kwargs: object) -> None:
        fp = kwargs.get("fp")
        if fp is not None:  # a half-written file, as a crash would leave it
            Path(str(fp)).write_bytes(b"half")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(music21.stream.Score, "write", broken_write)
    with pytest.raises(RuntimeError, match="disk on fire"):
        Chorale([[72, 67, 64, 48]] * 8).write(target)
    assert target.read_bytes() == b"the old file"
    assert folder_names(tmp_path) == [target.name]


def test_failed_csv_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "piece.csv"
    target.write_text("old")

    def broken(self: Chorale) -> str:
        raise RuntimeError("no csv today")

    monkeypatch.setattr(Chorale, "to_csv", broken)
    with pytest.raises(RuntimeError, match="no csv today"):
        Chorale([[72, 67, 64, 48]]).write(target)
    assert target.read_text() == "old"
    assert folder_names(tmp_path) == [target.name]


# --------------------------------------------------------------------------------- fermatas
def fermata_offsets(part: music21.stream.Part) -> list[tuple[float, bool]]:
    """(offset, is a rest) of each element of a part that carries a fermata."""
    from music21 import expressions

    return [
        (float(n.offset), bool(n.isRest))
        for n in part.flatten().notesAndRests
        if any(isinstance(e, expressions.Fermata) for e in n.expressions)
    ]


def test_fermatas_default_sorted_and_unique() -> None:
    assert Chorale([[72, 67, 64, 48]]).fermatas == ()
    c = Chorale([[72, 67, 64, 48]] * 8, fermatas=np.array([7, 3, 7]))
    assert c.fermatas == (3, 7)
    assert all(type(step) is int for step in c.fermatas)


@pytest.mark.parametrize(
    ("fermatas", "match"),
    [
        ([8], r"step 8 is outside 0\.\.7"),
        ([-1], "outside"),
        ([2.0], "integer"),
        ([True], "integer"),
    ],
)
def test_fermatas_validated(fermatas: list[object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Chorale([[72, 67, 64, 48]] * 8, name="f", fermatas=fermatas)  # type: ignore[arg-type]


def test_fermatas_not_part_of_equality() -> None:
    plain = Chorale([[72, 67, 64, 48]] * 4)
    marked = Chorale([[72, 67, 64, 48]] * 4, fermatas=[3])
    assert plain == marked
    assert hash(plain) == hash(marked)


def test_transpose_keeps_fermatas() -> None:
    c = Chorale([[72, 67, 64, 48]] * 4, name="t", fermatas=[0, 3])
    assert c.transpose(2).fermatas == (0, 3)


def test_to_music21_fermata_on_the_element_holding_the_step() -> None:
    # soprano holds 72 over steps 4..7; the alto is silent there; tenor changes at step 6
    chords = [[74, 67, 64, 48]] * 4 + [[72, 0, 64, 48]] * 2 + [[72, 0, 62, 48]] * 2
    score = Chorale(chords, fermatas=[6]).to_music21()
    parts = list(score.parts)
    assert fermata_offsets(parts[0]) == [(1.0, False)]  # the note 72 starting at step 4
    assert fermata_offsets(parts[1]) == [(1.0, True)]  # the alto's rest
    assert fermata_offsets(parts[2]) == [(1.5, False)]  # the tenor's 62 from step 6
    assert fermata_offsets(parts[3]) == [(0.0, False)]  # the bass's 48, held from step 0
    assert all(fermata_offsets(p) == [] for p in Chorale(chords).to_music21().parts)


def test_fermata_written_to_musicxml_and_read_back(tmp_path: Path) -> None:
    chords = [[71, 67, 62, 43]] * 4 + [[72, 64, 55, 48]] * 8
    c = Chorale(chords, fermatas=[4])
    path = c.write(tmp_path / "cadence.musicxml")
    text = path.read_text(encoding="utf-8")
    assert "<fermata" in text
    assert text.count("<fermata") == 4  # one per part
    back = Chorale.read(path)
    assert back == c
    assert back.fermatas == (4,)
    assert "<fermata" not in Chorale(chords).write(tmp_path / "plain.musicxml").read_text()


def test_fermata_step_is_the_note_start_when_read_back() -> None:
    c = Chorale([[72, 67, 64, 48]] * 8, fermatas=[5])
    assert Chorale.from_music21(c.to_music21()).fermatas == (0,)


def test_fermatas_of_a_music21_corpus_chorale() -> None:
    from music21 import corpus

    c = Chorale.from_music21(corpus.parse("bach/bwv66.6"))
    assert c.fermatas, "Bach's phrase endings carry fermatas"
    assert c.fermatas[-1] < len(c)


# ------------------------------------------------------------------- bars: metre and pickup
def test_pickup_and_meter_are_notation() -> None:
    rows = [[72, 67, 64, 48]] * 20
    piece = Chorale(rows, "hymn", fermatas=[19], pickup=4)
    assert (piece.pickup, piece.meter, piece.bar_steps) == (4, "4/4", 16)
    assert piece.bar_positions()[:5].tolist() == [12, 13, 14, 15, 0]
    assert piece == Chorale(rows)  # equality looks at the notes
    waltz = Chorale([[72, 67, 64, 48]] * 24, meter="3/4", pickup=4)
    assert waltz.bar_steps == 12
    assert np.flatnonzero(waltz.mask(bars="1", voices="S")[:, 0]).tolist() == list(range(4, 16))
    assert np.flatnonzero(piece.mask(bars="0", voices="S")[:, 0]).tolist() == [0, 1, 2, 3]
    moved = piece.transpose(2).replace(piece.chords[:8] + 2)
    assert (moved.name, moved.pickup, moved.fermatas, len(moved)) == ("hymn", 4, (), 8)


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"pickup": 16}, "a pickup is 0..15 sixteenths in 4/4, got 16"),
        ({"pickup": -1}, "a pickup is 0..15"),
        ({"pickup": 12, "meter": "3/4"}, "a pickup is 0..11 sixteenths in 3/4"),
        ({"pickup": 1.5}, "a pickup"),
        ({"meter": "5/4"}, "unknown time signature '5/4'"),
    ],
)
def test_bad_bars_are_named(settings: dict[str, object], match: str) -> None:
    with pytest.raises(InputError, match=re.escape(match)):
        Chorale([[72, 67, 64, 48]] * 4, **settings)  # type: ignore[arg-type]


def test_a_csv_pickup_is_what_its_length_leaves_over_whole_bars(tmp_path: Path) -> None:
    piece = Chorale([[72, 67, 64, 48]] * 36)  # two bars and a beat: a one-beat pickup
    back = Chorale.read(piece.write(tmp_path / "p.csv"))
    assert back.pickup == 4


def test_a_pickup_round_trips_through_musicxml_and_midi(tmp_path: Path) -> None:
    rows = [[67, 62, 59, 43]] * 4 + [[72, 67, 64, 48]] * 16 + [[71, 67, 62, 43]] * 16
    piece = Chorale(rows, fermatas=[20], pickup=4)
    xml = piece.write(tmp_path / "p.musicxml")
    measures = converter.parse(str(xml)).parts[0].getElementsByClass("Measure")
    assert [m.number for m in measures][:2] == [0, 1]
    assert measures[0].duration.quarterLength == 1.0  # the pickup bar: one beat
    for path in (xml, piece.write(tmp_path / "p.mid")):
        back = Chorale.read(path)
        assert back == piece and back.pickup == 4
    assert Chorale.read(xml).fermatas == (20,)
    waltz = Chorale([[72, 67, 64, 48]] * 24, meter="3/4").write(tmp_path / "w.musicxml")
    assert Chorale.read(waltz).meter == "3/4"
