"""Repeated notes: where a note is struck is kept from the files read and the melodies given,
through transposition and harmonisation, into every file written (#26, item 2)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import music21
import numpy as np
import pytest

from bachnet import BachNet, Chorale, ModelConfig
from bachnet.errors import InputError
from bachnet.formats import read_line
from bachnet.music.grid import runs

# "Ode to Joy", its first phrase: 15 notes, four of them repeated (E E, G G, C C, E E).
ODE = [(64, 4), (64, 4), (65, 4), (67, 4), (67, 4), (65, 4), (64, 4), (62, 4)]
ODE += [(60, 4), (60, 4), (62, 4), (64, 4), (64, 6), (62, 2), (62, 8)]


def tune_file(path: Path, notes: list[tuple[int, int]] = ODE) -> Path:
    """A one-part MusicXML melody of ``(MIDI pitch, sixteenths)`` notes, an octave up."""
    stream = music21.stream.Stream()
    for pitch, steps in notes:
        stream.append(music21.note.Note(pitch + 12, quarterLength=steps / 4))
    stream.write("musicxml", fp=str(path))
    return path


def soprano_notes(path: Path) -> list[int]:
    """The soprano's notes (MIDI pitches, one per note head struck) as music21 reads a file."""
    part = music21.converter.parse(str(path)).parts[0]
    return [int(n.pitch.midi) for n in part.flatten().notes if not n.tie or n.tie.type == "start"]


def test_onsets_default_follow_pitch_changes_and_are_validated() -> None:
    chords = [[72, 67, 64, 48]] * 3 + [[0, 67, 62, 48]]
    plain = Chorale(chords)
    assert not plain.articulated
    expected = [[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]]
    assert plain.onsets.astype(int).tolist() == expected
    struck = Chorale(chords, onsets=[[0, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]])
    # A change of pitch is always struck; silence never is.
    assert struck.onsets[:, 0].tolist() == [True, True, True, False]
    assert struck.onsets[:, 2].tolist() == [True, False, False, True]
    assert struck == plain and hash(struck) == hash(plain)  # notation, not music
    with pytest.raises(InputError, match=r"onsets must have the chords' shape \(4, 4\)"):
        Chorale(chords, onsets=[[True] * 4])


def test_runs_split_repeated_notes_and_edits_keep_articulation() -> None:
    voice = np.array([60, 60, 60, 60, 62])
    assert list(runs(voice)) == [(60, 0, 4), (62, 4, 1)]
    assert list(runs(voice, np.array([1, 0, 1, 0, 1], bool))) == [
        (60, 0, 2),
        (60, 2, 2),
        (62, 4, 1),
    ]
    onsets = np.zeros((4, 4), bool)
    onsets[:, 0] = True
    piece = Chorale([[72, 67, 64, 48]] * 4, onsets=onsets)
    assert piece.transpose(2).onsets[:, 0].all()
    assert piece.replace(piece.chords[:2]).onsets[:, 0].tolist() == [True, True]
    changed = piece.chords.copy()
    changed[2:, 1] = 69  # the alto rewritten: the soprano keeps its four strikes
    edited = piece.replace(changed)
    assert edited.onsets[:, 0].all() and edited.onsets[:, 1].tolist() == [1, 0, 1, 0]


@pytest.mark.parametrize("suffix", [".mid", ".musicxml"])
def test_files_keep_repeated_notes_apart(tmp_path: Path, suffix: str) -> None:
    onsets = np.zeros((16, 4), bool)
    onsets[::4, 0] = True  # four soprano quarter notes of one pitch; the others held
    piece = Chorale([[72, 67, 64, 48]] * 16, onsets=onsets, pickup=4)
    path = piece.write(tmp_path / f"repeated{suffix}")
    assert len(soprano_notes(path)) == 4
    back = Chorale.read(path)
    assert back == piece and back.articulated
    assert np.array_equal(back.onsets, piece.onsets)
    # Without articulation the same notes are one held note, as before.
    assert len(soprano_notes(Chorale(piece.chords).write(tmp_path / f"held{suffix}"))) == 1


def test_a_melody_file_says_where_its_notes_are_struck(tmp_path: Path) -> None:
    line = read_line(tune_file(tmp_path / "ode.musicxml"))
    assert line.onsets is not None
    assert int(line.onsets.sum()) == len(ODE)
    assert len(list(runs(line.pitches))) < len(ODE)  # the pitches alone merge them


@pytest.mark.parametrize("method", ["rerank", "beam", "gibbs"])
def test_a_harmonised_tune_keeps_its_repeated_notes(tmp_path: Path, method: str) -> None:
    keras.utils.set_random_seed(0)
    net = BachNet(ModelConfig(lstm_units=(16,), embedding_dim=8, dense_units=8))
    tune = tune_file(tmp_path / "ode.musicxml")
    result = net.harmonize(tune, seed=0, method=method)  # gibbs: the bundled filler
    assert result.articulated
    assert int(result.onsets[:, 0].sum()) == len(ODE)
    for suffix in (".musicxml", ".mid"):
        written = result.write(tmp_path / f"out{suffix}")
        assert soprano_notes(written) == [pitch + 12 for pitch, _ in ODE]
