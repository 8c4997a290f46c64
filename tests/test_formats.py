"""The format table: one registry by suffix, filled by bachnet.formats, used by every reader."""

from __future__ import annotations

import os
from pathlib import Path

import music21
import numpy as np
import pytest

import bachnet
from bachnet import Chorale, InputError, LimitError
from bachnet.formats import FORMATS, read_melody
from bachnet.music import table
from bachnet.music.table import Format, WriteOptions, lookup, register, registered, suffixes

PIECE = Chorale(
    [[72, 67, 64, 48]] * 4 + [[74, 67, 62, 43]] * 4 + [[76, 67, 60, 48]] * 8,
    name="piece",
    fermatas=[15],
)
ROUND_TRIP = [s for f in registered() if f.can("read") and f.can("write") for s in f.suffixes]


@pytest.fixture
def private_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of the table that a test may change."""
    monkeypatch.setattr(table, "_BY_SUFFIX", dict(table._BY_SUFFIX))


# ------------------------------------------------------------------------------- the table
def test_every_suffix_is_listed_once_and_every_format_registered() -> None:
    listed = [suffix for fmt in registered() for suffix in fmt.suffixes]
    assert len(listed) == len(set(listed))
    assert tuple(listed) == suffixes()
    assert registered() == FORMATS
    assert all(s == s.lower() and s.startswith(".") for s in listed)


def test_suffix_lists_come_from_the_table() -> None:
    from bachnet.music.chorale import SUFFIXES

    assert suffixes("write") == SUFFIXES
    assert suffixes("write") == (
        ".mid",
        ".midi",
        ".musicxml",
        ".xml",
        ".csv",
        ".wav",
        ".flac",
        ".ogg",
        ".svg",
        ".png",
        ".pdf",
    )
    assert suffixes("read") == (".mid", ".midi", ".musicxml", ".xml", ".mxl", ".krn", ".csv")
    assert suffixes("melody") == suffixes("read")
    assert {lookup(f"x{s}", "write").extra for s in (".wav", ".svg", ".csv")} == {
        "audio",
        "score",
        None,
    }


def test_lookup_ignores_case_and_takes_the_last_suffix() -> None:
    assert lookup("Piece.MID", "read").name == "midi"
    assert lookup("roll.roll.png", "write").name == "score"
    assert lookup("tune.jsb.csv", "melody").name == "csv"


@pytest.mark.parametrize(
    ("call", "suffix"),
    [
        (lambda p: PIECE.write(p / "x.mp3"), ".mp3"),
        (lambda p: PIECE.write(p / "x.mxl"), ".mxl"),  # read only
        (lambda p: PIECE.write(p / "noext"), ""),
        (lambda p: Chorale.read(p / "x.txt"), ".txt"),
        (lambda p: Chorale.read(p / "x.wav"), ".wav"),  # write only
        (lambda p: read_melody(p / "x.pdf"), ".pdf"),
        (lambda p: bachnet.formats.read_chorale(p / "x.abc"), ".abc"),
    ],
)
def test_an_unknown_suffix_is_named(tmp_path: Path, call: object, suffix: str) -> None:
    with pytest.raises(InputError, match=f"unknown (melody )?file suffix '{suffix}'") as caught:
        call(tmp_path)  # type: ignore[operator]
    assert "use one of .mid, .midi" in str(caught.value)
    assert not list(tmp_path.iterdir())


def test_register_refuses_a_taken_suffix_and_replaces_by_name(private_table: None) -> None:
    with pytest.raises(ValueError, match=r"'\.csv' already belongs to the format 'csv'"):
        register(Format("other", (".csv",), "another CSV"))
    before = suffixes()
    register(Format("csv", (".csv", ".tsv"), "CSV again", read=table._BY_SUFFIX[".csv"].read))
    at = before.index(".csv") + 1
    assert suffixes() == (*before[:at], ".tsv", *before[at:])  # in the place of the old one
    assert lookup("x.tsv", "read").description == "CSV again"
    assert not lookup("x.csv", "read").can("write")


@pytest.mark.parametrize("bad", [(), ("mid",), (".MID",), (".",)])
def test_a_format_needs_lower_case_suffixes_with_a_dot(bad: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="format 'bad'"):
        Format("bad", bad, "bad suffixes")


def test_a_registered_format_is_what_chorale_write_and_read_use(
    tmp_path: Path, private_table: None
) -> None:
    written: list[WriteOptions] = []

    def write(chorale: Chorale, path: Path, options: WriteOptions) -> Path:
        written.append(options)
        path.write_text(" ".join(str(p) for p in chorale.chords[:, 0]), encoding="utf-8")
        return path

    def read(path: Path) -> Chorale:
        soprano = [int(p) for p in path.read_text(encoding="utf-8").split()]
        return Chorale([[p, 0, 0, 0] for p in soprano], name=path.stem)

    register(Format("soprano", (".sop",), "the soprano as text", read=read, write=write))
    out = PIECE.write(tmp_path / "s.sop", tempo=90)
    assert written == [WriteOptions(tempo=90)]
    assert Chorale.read(out).chords[:, 0].tolist() == PIECE.chords[:, 0].tolist()
    assert ".sop" in bachnet.music.chorale.SUFFIXES


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("suffix", [".csv", ".mid", ".midi", ".musicxml", ".xml", ".CSV"])
def test_each_readable_and_writable_format_round_trips(tmp_path: Path, suffix: str) -> None:
    assert suffix.lower() in ROUND_TRIP
    out = PIECE.write(tmp_path / f"piece{suffix}")
    back = Chorale.read(out)
    assert back == PIECE and back.name == "piece"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    if suffix in (".musicxml", ".xml"):
        # the notes that hold step 15 start at 0 and 8: one fermata, where the last arrives
        assert back.fermatas == (8,)


def test_round_trips_cover_every_format_that_reads_and_writes() -> None:
    both = {f.name for f in registered() if f.can("read") and f.can("write")}
    assert both == {"midi", "musicxml", "csv"}
    assert set(ROUND_TRIP) == {s for f in registered() if f.name in both for s in f.suffixes}


def test_csv_text_is_unchanged(tmp_path: Path) -> None:
    out = PIECE.write(tmp_path / "piece.csv")
    assert out.read_text(encoding="utf-8") == PIECE.to_csv()
    assert PIECE.to_csv().splitlines()[:2] == ["note0,note1,note2,note3", "72,67,64,48"]


def test_compressed_musicxml_is_read(tmp_path: Path) -> None:
    path = tmp_path / "piece.mxl"
    PIECE.to_music21().write("mxl", fp=str(path))
    assert Chorale.read(path) == PIECE
    tune = music21.stream.Score([music21.stream.Part([music21.note.Note(72, quarterLength=2)])])
    tune.write("mxl", fp=str(tmp_path / "tune.mxl"))
    assert read_melody(tmp_path / "tune.mxl").tolist() == [72] * 8


# ---------------------------------------------------------------- the melody reader's checks
@pytest.mark.parametrize("suffix", [".csv", ".mid", ".musicxml"])
def test_melody_files_pass_the_checks_chorale_read_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    path = tmp_path / f"tune{suffix}"
    if suffix == ".csv":
        path.write_text("72\n72\n74\n", encoding="utf-8")
        expected = [72, 72, 74]
    else:
        part = music21.stream.Part([music21.note.Note(72, quarterLength=1)])
        fmt = {".mid": "midi", ".musicxml": "musicxml"}[suffix]
        music21.stream.Score([part]).write(fmt, fp=str(path))
        expected = [72] * 4
    assert read_melody(path).tolist() == expected
    with pytest.raises(InputError, match="no such file"):
        read_melody(tmp_path / f"missing{suffix}")
    (tmp_path / f"folder{suffix}").mkdir()
    with pytest.raises(InputError, match="not a regular file"):
        read_melody(tmp_path / f"folder{suffix}")
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_melody(fifo)
    monkeypatch.setattr(table, "MAX_FILE_BYTES", 2)
    with pytest.raises(LimitError, match="more than the 2 allowed"):
        read_melody(path)
    with pytest.raises(LimitError, match="more than the 2 allowed"):
        Chorale.read(PIECE.write(tmp_path / f"piece{suffix}"))


def test_csv_melodies_read_as_before(tmp_path: Path) -> None:
    one_column = tmp_path / "one.csv"
    one_column.write_text("pitch\n72\n\n72\n0\n74\n", encoding="utf-8")
    assert read_melody(one_column).tolist() == [72, 72, 0, 74]
    no_header = tmp_path / "bare.csv"
    no_header.write_bytes(b"\xef\xbb\xbf72\n74\n")  # a byte order mark is not a header
    assert read_melody(no_header).tolist() == [72, 74]
    jsb = tmp_path / "jsb.csv"
    jsb.write_text(PIECE.to_csv(), encoding="utf-8")
    assert read_melody(jsb).tolist() == PIECE.chords[:, 0].tolist()
    trailing_rest = tmp_path / "rest.csv"
    trailing_rest.write_text("72\n0\n", encoding="utf-8")
    assert read_melody(trailing_rest).tolist() == [72, 0]  # CSV keeps its rests
    wide = tmp_path / "wide.csv"
    wide.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="one column of MIDI pitches, or a 'note0' column"):
        read_melody(wide)
    bad = tmp_path / "bad.csv"
    bad.write_text("pitch\n72\nC4\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.csv, line 3: 'C4' is not a MIDI pitch"):
        read_melody(bad)


# ------------------------------------------------------------------------------ converters
def test_chorale_delegates_to_the_registered_converters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table.converters, "to_csv", lambda chorale: f"{len(chorale)} steps")
    assert PIECE.to_csv() == "16 steps"
    monkeypatch.setattr(table.converters, "to_svg", None)
    with pytest.raises(RuntimeError, match=r"Chorale\.to_svg is registered by bachnet\.formats"):
        PIECE.to_svg()


def test_key_analysis_happens_in_the_music21_writer() -> None:
    in_f = Chorale([[70, 65, 62, 46]] * 16)
    signature = in_f.to_music21().recurse().getElementsByClass("KeySignature")[0]
    assert signature.sharps == -2
    assert not in_f.to_music21(key=None).recurse().getElementsByClass("KeySignature")


def test_a_score_is_written_in_the_key_asked_for(tmp_path: Path) -> None:
    """``write(key=...)``: the signature and spelling of the key the piece is in, not the
    one analysis finds; ``None`` writes none; a bad key writes nothing."""
    in_f = Chorale([[70, 65, 62, 46]] * 16)  # analysis: B flat major

    def signatures(path: Path) -> list[int]:
        score = music21.converter.parse(str(path))
        return [k.sharps for k in score.recurse().getElementsByClass("KeySignature")]

    assert set(signatures(in_f.write(tmp_path / "auto.musicxml"))) == {-2}
    assert set(signatures(in_f.write(tmp_path / "f.musicxml", key="F"))) == {-1}
    assert set(signatures(in_f.write(tmp_path / "g.musicxml", key="g"))) == {-2}
    assert signatures(in_f.write(tmp_path / "none.musicxml", key=None)) == []
    with pytest.raises(InputError, match="key"):
        in_f.write(tmp_path / "bad.musicxml", key="H major")
    assert not (tmp_path / "bad.musicxml").exists()


def test_a_score_shows_only_the_accidentals_its_key_does_not_give(tmp_path: Path) -> None:
    """In B flat major no part marks its B flats and E flats (left to music21's writer, the
    soprano of this excerpt of a generated piece marked three of them); an A flat is marked."""
    runs = [  # (pitch, sixteenths) per voice, soprano first
        [
            (70, 4),
            (72, 4),
            (74, 4),
            (72, 2),
            (70, 2),
            (69, 4),
            (67, 12),
            (69, 2),
            (70, 10),
            (68, 4),
        ],
        [(65, 12), (67, 6), (65, 10), (67, 8), (62, 2), (67, 6), (65, 4)],
        [(62, 4), (60, 4), (58, 8), (60, 12), (62, 6), (60, 2), (62, 12)],
        [(58, 4), (57, 4), (58, 2), (57, 2), (55, 4), (53, 4), (48, 8), (43, 4), (55, 12), (50, 4)],
    ]
    voices = [[pitch for pitch, length in line for _ in range(length)] for line in runs]
    piece = Chorale(np.array(voices).T)
    score = music21.converter.parse(str(piece.write(tmp_path / "b_flat.musicxml", key="Bb")))
    shown = {
        str(part.partName): [
            note.pitch.name
            for note in part.recurse().notes
            if note.pitch.accidental is not None and note.pitch.accidental.displayStatus
        ]
        for part in score.parts
    }
    assert shown == {"Soprano": ["A-"], "Alto": [], "Tenor": [], "Bass": []}


def test_a_subclass_reads_as_itself(tmp_path: Path) -> None:
    class Piece(Chorale):
        __slots__ = ()

    out = PIECE.write(tmp_path / "p.csv")
    assert type(Piece.read(out)) is Piece
    assert type(Piece.from_csv(out)) is Piece
    assert type(Piece.from_music21(PIECE.to_music21())) is Piece
    assert np.array_equal(Piece.read(out).chords, PIECE.chords)


def test_chromatic_notes_are_spelled_the_way_they_move() -> None:
    # In C major: a D#/Eb rising to E is a D#, falling to D an Eb; G#/Ab rising to A a G#,
    # falling to G an Ab (a leading note up, a lowered degree down).
    alto = [63, 64, 63, 62, 68, 69, 68, 67]
    chords = [[72, a, 55, 48] for a in alto for _ in range(4)]
    score = Chorale(chords).to_music21(key="C major")
    names = [n.pitch.name for n in score.parts[1].flatten().notes]
    assert names == ["D#", "E", "E-", "D", "G#", "A", "A-", "G"]
