"""Seeing a chorale: spelled MusicXML, the engraved score, the piano roll, the notebook view."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import music21
import numpy as np
import pytest

from bachnet import Chorale
from bachnet.formats.score import VOICE_COLOURS, ScoreUnavailableError, to_musicxml, write_score
from bachnet.music.keys import Key

verovio = pytest.importorskip("verovio", reason="needs bachnet[score]")

# F major: F-A-C, a B-flat passing note, E natural as leading note, an A# would be wrong.
F_MAJOR = Chorale(
    [[72, 69, 65, 53]] * 4
    + [[70, 67, 62, 55]] * 4
    + [[69, 65, 60, 53]] * 4
    + [[67, 64, 60, 48]] * 4
    + [[65, 60, 57, 41]] * 16,
    name="in F",
    fermatas=[31],
)


def pitch_names(score: music21.stream.Score) -> set[str]:
    return {p.name for p in score.recurse().stream().pitches}


def test_key_signature_and_spelling_in_musicxml(tmp_path: Path) -> None:
    path = F_MAJOR.write(tmp_path / "f.musicxml")
    score = music21.converter.parse(str(path))
    signatures = list(score.recurse().getElementsByClass("KeySignature"))
    assert signatures and all(k.sharps == -1 for k in signatures)
    assert "B-" in pitch_names(score) and "A#" not in pitch_names(score)
    assert Chorale.read(path) == F_MAJOR  # spelling changes no pitch


@pytest.mark.parametrize(
    ("key", "sharps", "wanted", "unwanted"),
    [("F", -1, "B-", "A#"), ("E", 4, "D#", "E-"), ("g", -2, "F#", "G-")],
)
def test_spelling_follows_the_key(key: str, sharps: int, wanted: str, unwanted: str) -> None:
    shift = Key.parse(key).tonic - 5  # F_MAJOR moved to the key's tonic
    piece = F_MAJOR.transpose(shift if shift <= 6 else shift - 12)
    score = piece.to_music21(key=key)
    assert score.recurse().getElementsByClass("KeySignature")[0].sharps == sharps
    chromatic = Chorale([[wanted_midi(wanted), 0, 0, 0]] * 4)
    names = pitch_names(chromatic.to_music21(key=key))
    assert names == {wanted} and unwanted not in names


def wanted_midi(name: str) -> int:
    return int(music21.pitch.Pitch(name + "4").midi)


def test_two_staves_keep_every_note_with_ties_and_clefs() -> None:
    piece = Chorale(
        [[72, 67, 64, 48]] * 12 + [[74, 67, 62, 43]] * 8 + [[72, 67, 64, 48]] * 12, name="tied"
    )
    score = piece.to_music21(staves=2)
    assert [p.partName for p in score.parts] == ["Soprano Alto", "Tenor Bass"]
    clefs = [type(p.recurse().getElementsByClass("Clef")[0]).__name__ for p in score.parts]
    assert clefs == ["TrebleClef", "BassClef"]
    # bar 1 holds 3 beats of C then the D chord crosses the barline: a tie
    soprano = [n for n in score.parts[0].recurse().notes if n.activeSite.id == "1"]
    assert [n.nameWithOctave for n in soprano] == ["C5", "D5", "D5", "C5"]
    assert soprano[1].tie is not None and soprano[1].tie.type == "start"
    # every voice lasts the whole piece
    for part in score.parts:
        for voice_id in ("1", "2"):
            total = sum(
                n.quarterLength for n in part.recurse().notesAndRests if n.activeSite.id == voice_id
            )
            assert total == piece.duration


def test_engraved_svg_has_title_key_time_and_bars(tmp_path: Path) -> None:
    svg = write_score(F_MAJOR, tmp_path / "f.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") or svg.startswith("<?xml")
    assert "in F" in svg  # the title
    assert 'class="keySig"' in svg and 'class="meterSig"' in svg
    assert svg.count('class="measure"') == 2  # 8 quarters of 4/4
    assert svg.count('class="staff"') == 4  # two staves per bar
    assert 'class="fermata"' in svg


def test_png_and_pdf_and_piano_roll(tmp_path: Path) -> None:
    pytest.importorskip("cairosvg")
    pytest.importorskip("matplotlib")
    png = F_MAJOR.write(tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = F_MAJOR.write(tmp_path / "f.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    roll = F_MAJOR.write(tmp_path / "f.roll.png")
    assert roll.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    image = imread(str(roll))
    pixels = image.reshape(-1, image.shape[-1])[:, :3]
    for colour in VOICE_COLOURS:  # every voice is drawn in its colour
        rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
        assert np.any(np.all(np.abs(pixels - rgb) < 0.02, axis=1)), colour


def test_musicxml_text_for_two_staves() -> None:
    xml = to_musicxml(F_MAJOR)
    assert xml.count("<part id=") == 2 and "<fifths>-1</fifths>" in xml


def test_two_staves_put_upper_fermatas_above_and_end_on_a_final_bar_line() -> None:
    import re

    piece = F_MAJOR.replace(fermatas=[len(F_MAJOR) - 1])
    xml = to_musicxml(piece)
    marks = re.findall(r'<fermata type="(\w+)"', xml)
    assert sorted(marks) == ["inverted", "inverted", "upright", "upright"]  # S, T up; A, B down
    assert xml.count("<bar-style>light-heavy</bar-style>") == 2  # one a staff


def test_unknown_score_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown score suffix"):
        write_score(F_MAJOR, tmp_path / "f.gif")


def test_missing_verovio_names_the_extra(without_module: Callable[[str, str], None]) -> None:
    without_module("verovio", "No module named 'verovio'")
    with pytest.raises(ScoreUnavailableError, match=r"bachnet\[score\]"):
        F_MAJOR.to_svg()
    html = F_MAJOR._repr_html_()  # the notebook view falls back to a line of text
    assert "bachnet[score]" in html and "<svg" not in html


def test_notebook_view_has_score_and_audio() -> None:
    html = F_MAJOR._repr_html_()
    assert html.startswith('<div class="bachnet-chorale">')
    assert "<svg" in html
    assert '<audio controls src="data:audio/wav;base64,' in html or "bachnet[audio]" in html


def test_engraves_in_a_thread_other_than_the_importing_one() -> None:
    """verovio's default resource path is per thread; a web server renders in workers."""
    import threading

    results: list[str | Exception] = []

    def engrave() -> None:
        try:
            results.append(F_MAJOR.to_svg())
        except Exception as error:  # reported below
            results.append(error)

    workers = [threading.Thread(target=engrave) for _ in range(2)]
    for worker in workers:
        worker.start()
        worker.join()
    assert all(isinstance(r, str) and "<svg" in r for r in results), results
