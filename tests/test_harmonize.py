"""Tests for bachnet.generation.harmonize: melodies in, soprano kept, octave shift, errors,
rerank, beam, settings, CLI."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import shutil
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import keras
import music21
import numpy as np
import pytest
from click.testing import CliRunner, Result

from bachnet import BachNet, Chorale, Dataset, ModelConfig
from bachnet.apps.cli import main
from bachnet.data import JSB_ARCHIVE
from bachnet.generation.config import GenerationConfig
from bachnet.generation.decoder import BeamStep, beam_step_for
from bachnet.generation.harmonize import as_melody, fit_range, harmonize, read_melody, score
from bachnet.generation.rules import Context, Rule, VoiceRange
from bachnet.music.keys import Key
from bachnet.music.ranges import JSB

# A melody in quarter notes and eighths (MIDI pitch, quarter notes; None = rest).
TUNE: list[tuple[int | None, float]] = [(72, 1), (74, 0.5), (76, 0.5), (None, 1), (77, 2)]
TUNE_STEPS = [72] * 4 + [74] * 2 + [76] * 2 + [0] * 4 + [77] * 8


@pytest.fixture(scope="module")
def net() -> BachNet:
    """A tiny model with fixed random weights, shared so compiled loops are reused."""
    keras.utils.set_random_seed(0)
    return BachNet(ModelConfig(lstm_units=(16,), embedding_dim=8, dense_units=8, window=32))


@pytest.fixture(scope="module")
def saved(net: BachNet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return net.save_pretrained(tmp_path_factory.mktemp("tiny") / "model")


def write_part(path: Path, notes: list[tuple[int | list[int] | None, float | Fraction]]) -> Path:
    """A one-part melody file written by music21 (the suffix picks MIDI or MusicXML)."""
    part = music21.stream.Part()
    for pitch, length in notes:
        if pitch is None:
            part.append(music21.note.Rest(quarterLength=length))
        elif isinstance(pitch, list):
            part.append(music21.chord.Chord(pitch, quarterLength=length))
        else:
            part.append(music21.note.Note(pitch, quarterLength=length))
    fmt = "midi" if path.suffix == ".mid" else "musicxml"
    part.write(fmt, fp=str(path))
    return path


def soprano(piece: Chorale | list[Chorale]) -> list[int]:
    assert isinstance(piece, Chorale)
    return [int(p) for p in piece.chords[:, 0]]


# ------------------------------------------------------------------------------ the melody
@pytest.mark.parametrize("method", ["sample", "rerank"])
def test_soprano_is_kept_and_the_lower_voices_sing_with_it(net: BachNet, method: str) -> None:
    pieces = harmonize(net, TUNE_STEPS, seed=0, method=method, num_samples=2, candidates=2)  # type: ignore[arg-type]
    assert isinstance(pieces, list) and len(pieces) == 2
    for piece in pieces:
        assert soprano(piece) == TUNE_STEPS
        sounding = piece.chords[:, 0] > 0
        assert (piece.chords[sounding, 1:] > 0).all()
    again = harmonize(net, TUNE_STEPS, seed=0, method=method, num_samples=2, candidates=2)  # type: ignore[arg-type]
    assert pieces == again


def test_soprano_of_a_chorale_and_the_method_on_the_model(net: BachNet) -> None:
    given = Chorale([[72, 67, 64, 48]] * 8 + [[71, 62, 55, 43]] * 8, name="cadence")
    piece = net.harmonize(given, seed=1, candidates=2)
    assert isinstance(piece, Chorale)
    assert soprano(piece) == [72] * 8 + [71] * 8
    assert piece.name == "cadence (harmonised)"


@pytest.mark.parametrize("suffix", [".csv", ".jsb.csv", ".mid", ".musicxml"])
def test_melody_files(net: BachNet, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"tune{suffix}"
    if suffix == ".csv":
        path.write_text("\n".join(str(p) for p in TUNE_STEPS) + "\n", encoding="utf-8")
    elif suffix == ".jsb.csv":
        path.write_text(Chorale([[p, 60, 55, 48] for p in TUNE_STEPS]).to_csv(), encoding="utf-8")
    else:
        write_part(path, TUNE)  # type: ignore[arg-type]
    assert read_melody(path).tolist() == TUNE_STEPS
    assert soprano(harmonize(net, path, seed=0, method="sample")) == TUNE_STEPS
    assert soprano(harmonize(net, str(path), seed=0, method="sample")) == TUNE_STEPS


def test_octave_shift_warns_and_keeps_the_shape(net: BachNet) -> None:
    low = [48, 50, 52, 0, 53]
    moved = r"MIDI 48\.\.53\) .* soprano range 60\.\.81: moved up 1 octave$"
    with pytest.warns(UserWarning, match=moved):
        piece = harmonize(net, low, seed=0, method="sample")
    assert soprano(piece) == [60, 62, 64, 0, 65]
    # The shift that puts the most notes inside wins, the smallest of those.
    assert fit_range([58, 60, 62, 64], 60, 81)[1] == 12
    assert fit_range([60, 62, 64, 86], 60, 81)[1] == 0
    assert fit_range([84, 86, 88, 70], 60, 81)[0].tolist() == [72, 74, 76, 58]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        harmonize(net, [72, 74, 76, 77], seed=0, method="sample")


@pytest.mark.parametrize(
    ("notes", "fragment"),
    [
        ([(72, 1), (74, Fraction(1, 3)), (76, 1)], "measure 1, offset 1 quarters: a note of"),
        ([(72, 1), (None, 0.125), (74, 1)], "a rest of 0.125 quarters is not on the 16th-note"),
        ([(72, 4), (72, 1), ([64, 67], 1)], "measure 2, offset 5 quarters: a chord (E4 G4)"),
        ([(None, 4)], "the melody is empty (no notes)"),
    ],
)
def test_bad_melody_files(
    net: BachNet, tmp_path: Path, notes: list[tuple[int | None, float]], fragment: str
) -> None:
    path = write_part(tmp_path / "bad.musicxml", notes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"bad\.musicxml") as caught:
        harmonize(net, path, seed=0)
    assert fragment in str(caught.value)


def test_other_bad_melodies(net: BachNet, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("pitch\n", encoding="utf-8")
    cases = {
        "melody: the melody is empty": [],
        "the melody has no notes (only rests)": [0, 0],
        "pitch 130 at step 1 is outside 0..127": [60, 130],
        "a melody is one pitch per 16th step (1-D)": [[60, 62]],
        "empty.csv: the melody is empty": empty,
        "unknown melody file suffix '.txt'": tmp_path / "tune.txt",
        "the model knows only 36..81": [60, 60, 96],
    }
    for message, melody in cases.items():
        with pytest.raises(ValueError) as caught:
            harmonize(net, melody, seed=0)  # type: ignore[arg-type]
        assert message in str(caught.value)
    duet = music21.stream.Score([music21.stream.Part([music21.note.Note(72)]) for _ in "ab"])
    duet.write("musicxml", fp=str(tmp_path / "duet.musicxml"))
    with pytest.raises(ValueError, match="expected a one-part melody, got 2 parts"):
        read_melody(tmp_path / "duet.musicxml")
    with pytest.raises(ValueError, match="method must be one of sample, rerank, beam"):
        harmonize(net, [72], method="search")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="candidates must be >= 1"):
        harmonize(net, [72], candidates=0)


# ---------------------------------------------------------------------------- the scorer
def test_score_is_the_mean_nll_of_the_whole_piece(net: BachNet) -> None:
    pieces = [Chorale([[72, 67, 64, 48]] * 3), Chorale([[74, 67, 62, 43], [72, 0, 64, 48]])]
    ids = np.concatenate([np.zeros(net.network.lead, np.int32), net.vocab.encode(pieces[1])])
    logits = net.logits(ids[None, :-1])[0].astype(np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -log_probs[np.arange(len(ids) - 1), ids[1:]][net.network.lead - 1 :].mean()
    nll = score(net, pieces)
    assert nll.shape == (2,)
    assert nll[1] == pytest.approx(expected, rel=1e-5)
    assert score(net, pieces[1])[0] == pytest.approx(expected, rel=1e-5)


def test_rerank_keeps_the_best_scored_candidate(net: BachNet) -> None:
    melody = [72] * 4 + [71] * 4 + [69] * 4 + [67] * 4
    # The candidates are the same draws as a batch of samples with the same seed.
    drawn = harmonize(net, melody, seed=3, method="sample", num_samples=4)
    assert isinstance(drawn, list)
    scores = score(net, drawn)
    assert len(set(np.round(scores, 6))) > 1
    best = harmonize(net, melody, seed=3, method="rerank", candidates=4)
    assert best == drawn[int(scores.argmin())]
    assert score(net, best)[0] == pytest.approx(scores.min())
    assert isinstance(best, Chorale) and as_melody(best)[0].tolist() == melody


def test_beam_search(net: BachNet) -> None:
    """Beam search maximises the model's likelihood under hard rules (soft penalties would
    make it maximise another score than the one `score` reads)."""
    from bachnet.generation.rules import STRICT_RULES

    hard = [rule for rule in STRICT_RULES if rule["weight"] is None]
    melody = [72] * 4 + [71] * 4 + [69] * 4 + [67] * 4
    # Width 1 is greedy decoding under the same constraint and rules.
    greedy = harmonize(net, melody, method="sample", sampler="greedy", rules=hard)
    assert harmonize(net, melody, method="beam", candidates=1, rules=hard) == greedy
    beams = harmonize(net, melody, method="beam", candidates=4, num_samples=3, rules=hard)
    assert isinstance(beams, list) and len({piece.chords.tobytes() for piece in beams}) == 3
    assert all(soprano(piece) == melody for piece in beams)
    nll = score(net, beams)
    assert np.all(np.diff(nll) >= -1e-6)  # best first
    assert nll[0] <= score(net, greedy)[0] + 1e-6
    sampled = harmonize(net, melody, seed=3, candidates=4, rules=hard)
    assert nll[0] <= score(net, sampled).min() + 1e-6


class _OddAltoBefore(Rule):
    """Test rule: a soprano note after a step whose alto pitch is odd costs 10 nats."""

    name = "odd_alto_before"

    def violations(self, context: Context) -> Any:
        odd = (context.previous[:, 1] % 2 == 1) & (context.voice == 0)
        return keras.ops.logical_and(
            keras.ops.expand_dims(odd, 1), keras.ops.expand_dims(context.pitches >= 0, 0)
        )


def test_particles_carry_on_the_drafts_that_make_the_constraint_likely(net: BachNet) -> None:
    """With particles, each melody note's probability (less the rules' penalties there)
    weighs the draft that led to it: a rule that charges every melody note after an odd alto
    10 nats leaves odd altos (before a melody note) in about half the steps of plain draws
    and in a tenth as many of the particles' picks (an alto held through several melody
    notes can leave every particle odd); the melody is kept, the same seed draws the same
    pieces."""
    melody = [72] * 8 + [74] * 8 + [76] * 8 + [77] * 8 + [79] * 16
    rules = [_OddAltoBefore(weight=10.0)]

    def odd_share(pieces: Chorale | list[Chorale]) -> float:
        assert isinstance(pieces, list)
        altos = np.array([piece.chords[:-1, 1] for piece in pieces])
        return float((altos % 2 == 1).mean())

    plain = harmonize(net, melody, seed=0, method="sample", num_samples=8, rules=rules)
    smc = harmonize(net, melody, seed=0, method="smc", candidates=16, num_samples=8, rules=rules)
    assert odd_share(plain) > 0.4 and odd_share(smc) < 0.1  # 0.55 and 0.06 when written
    assert all(soprano(piece) == melody for piece in smc)  # type: ignore[union-attr]
    again = harmonize(net, melody, seed=0, method="smc", candidates=16, num_samples=8, rules=rules)
    assert again == smc


def test_a_harmonisation_reads_default_rules_as_the_harmonize_set(net: BachNet) -> None:
    """Under a kept soprano ``rules="default"`` means `HARMONIZE_RULES` (octaves cost 8.0);
    a composition keeps the default set, and rules given by name or spec are used as given."""
    from bachnet.generation.decoder import compiled_loops
    from bachnet.generation.rules import ParallelOctaves

    def octave_weights() -> set[float | None]:
        return {
            rule.weight
            for loop in compiled_loops(net).values()
            for rule in getattr(loop, "rules", ())
            if isinstance(rule, ParallelOctaves)
        }

    compiled_loops(net).clear()
    harmonize(net, [72] * 4 + [74] * 4 + [72] * 8, seed=0, candidates=2)
    assert octave_weights() == {8.0}
    compiled_loops(net).clear()
    harmonize(
        net, [72] * 16, seed=0, candidates=2, rules=[{"name": "parallel_octaves", "weight": 5.0}]
    )
    assert octave_weights() == {5.0}
    compiled_loops(net).clear()
    net.generate(steps=16, seed=0)
    assert octave_weights() == {6.0}


def test_the_beam_step_is_compiled_once_for_every_melody_length(net: BachNet) -> None:
    harmonize(net, [72] * 8, method="beam", candidates=2, rules=None)
    advance = beam_step_for(net, [VoiceRange(ranges=JSB)])
    assert isinstance(advance, BeamStep) and advance.traces >= 1
    traces = advance.traces
    harmonize(net, [72] * 4 + [74] * 12, method="beam", candidates=2, rules=None)
    assert beam_step_for(net, [VoiceRange(ranges=JSB)]) is advance
    assert advance.traces == traces


def test_settings_as_a_config(net: BachNet) -> None:
    config = GenerationConfig(method="sample", sampler="top_k", candidates=2)
    melody = [72] * 4 + [71] * 4
    piece = harmonize(net, melody, config, seed=2)
    assert piece == harmonize(net, melody, method="sample", sampler="top_k", seed=2)
    assert piece == net.harmonize(melody, config=config, seed=2)
    assert harmonize(net, melody, config, seed=2, method="rerank") == net.harmonize(
        melody, sampler="top_k", candidates=2, seed=2
    )
    with pytest.raises(TypeError, match="unexpected keyword argument 'steps'"):
        harmonize(net, melody, steps=8)
    with pytest.raises(ValueError, match="give method in config= or as keywords"):
        net.harmonize(melody, config=config, method="beam")


# -------------------------------------------------------------------------------- the CLI
def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error_line(result: Result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert "Traceback" not in result.output


def test_cli_writes_four_parts_with_the_melody_on_top(saved: Path, tmp_path: Path) -> None:
    melody = write_part(tmp_path / "tune.musicxml", [(72, 1), (74, 0.5), (76, 0.5), (77, 2)])
    outs = [tmp_path / "out.musicxml", tmp_path / "out.mid"]
    result = run("harmonize", melody, "-m", saved, "-o", outs[0], "-o", outs[1], "--seed", "1",
                 "--candidates", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.count("wrote ") == 2
    for out in outs:
        score_ = music21.converter.parse(str(out))
        assert len(score_.parts) == 4
        top = [n.pitch.midi for n in score_.parts[0].flatten().notes]
        assert top == [72, 74, 76, 77]
        assert Chorale.read(out).chords[:, 0].tolist() == read_melody(melody).tolist()


def test_cli_octave_note_and_soprano_of(
    saved: Path, tmp_path: Path, cache_dir: Path, jsb_archive: Path, jsb_dataset: Dataset
) -> None:
    low = tmp_path / "low.csv"
    low.write_text("48\n50\n52\n53\n", encoding="utf-8")
    result = run("harmonize", low, "-m", saved, "-o", tmp_path / "low.out.csv", "--seed", "0")
    assert result.exit_code == 0, result.output
    assert "note: the melody (MIDI 48..53)" in result.output
    assert Chorale.read(tmp_path / "low.out.csv").chords[:, 0].tolist() == [60, 62, 64, 65]
    cache_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(jsb_archive, cache_dir / JSB_ARCHIVE)
    out = tmp_path / "bach.csv"
    result = run("harmonize", "--soprano-of", "test:3", "-m", saved, "-o", out, "--seed", "0",
                 "--method", "sample", "--no-rules")  # fmt: skip
    assert result.exit_code == 0, result.output
    bach = jsb_dataset.split("test")[3].chords[:, 0]
    np.testing.assert_array_equal(Chorale.read(out).chords[:, 0], bach)
    one_error_line(run("harmonize", "--soprano-of", "test:999", "-m", saved), 2, "'test:999'")
    one_error_line(run("harmonize", "--soprano-of", "nope", "-m", saved), 2, "SPLIT:INDEX")


def test_cli_errors_are_one_line(saved: Path, tmp_path: Path) -> None:
    chords = write_part(tmp_path / "chords.musicxml", [(72, 1), ([60, 64], 1)])
    tune = write_part(tmp_path / "tune.musicxml", [(72, 1)])
    out: list[str | Path] = ["-o", tmp_path / "x.mid"]
    one_error_line(run("harmonize", chords, "-m", saved, *out), 1, "measure 1", "a chord")
    one_error_line(run("harmonize", "-m", saved, *out), 2, "either MELODY or --soprano-of")
    one_error_line(
        run("harmonize", tune, "--soprano-of", "test:1", *out), 2, "either MELODY or --soprano-of"
    )
    one_error_line(run("harmonize", tmp_path / "missing.mid", *out), 2, "does not exist")
    one_error_line(run("harmonize", tune, "-o", "x.mp3"), 2, "x.mp3: unknown suffix")
    one_error_line(run("harmonize", tune, "--candidates", "0", *out), 2, "'--candidates'")
    one_error_line(run("harmonize", tune, "--method", "search", *out), 2, "'--method'")


def test_a_tune_not_by_bach_opens_and_closes_on_its_tonic(net: BachNet) -> None:
    from bachnet.generation.harmonize import melody_key

    ode = [66, 66, 67, 69, 69, 67, 66, 64, 62, 62, 64, 66, 66, 66, 64, 64, 62, 62]  # in D
    tune = np.repeat(ode, 4)
    assert melody_key(tune) == Key(2)
    minor = np.repeat([69, 72, 71, 69, 68, 69], 4)  # A minor, ending on its tonic
    assert melody_key(minor) == Key(9, "minor")
    d_major = {2, 6, 9}
    for method, seed in (("rerank", 0), ("rerank", 1), ("beam", 0), ("sample", 1)):
        piece = harmonize(net, tune, seed=seed, method=method)  # an untrained model
        for chord in (piece.chords[:4], piece.chords[-8:]):  # the first and last notes
            assert {int(p) % 12 for p in chord.ravel()} <= d_major, (method, seed)
            assert set((chord[:, 3] % 12).tolist()) == {2}  # the tonic in the bass
        assert piece.chords[:, 0].tolist() == tune.tolist()
    last = harmonize(net, minor, seed=0).chords[-1]
    assert {int(p) % 12 for p in last} <= {9, 0, 1, 4} and last[3] % 12 == 9  # Picardy allowed
    # The whole-texture filler is framed the same way (its cells narrowed to the classes).
    piece = harmonize(net, tune, seed=0, method="gibbs")
    for chord in (piece.chords[:4], piece.chords[-8:]):
        assert {int(p) % 12 for p in chord.ravel()} <= d_major
        assert set((chord[:, 3] % 12).tolist()) == {2}
    last = harmonize(net, minor, seed=1, method="gibbs").chords[-1]
    assert {int(p) % 12 for p in last} <= {9, 0, 1, 4} and last[3] % 12 == 9


def pitch_classes(chord: tuple[int, str]) -> tuple[int, int, int]:
    root, quality = chord
    return root, (root + (4 if quality == "major" else 3)) % 12, (root + 7) % 12


def test_cadences_under_the_melody_fermatas(net: BachNet) -> None:
    from bachnet.generation.harmonize import melody_key
    from bachnet.music.phrases import cadence_at, melody_cadences, name_chord

    # C major: fermatas on E (step 8), on D (20) and on the last C (32)
    line = [67] * 4 + [65] * 4 + [64] * 8 + [65] * 4 + [62] * 8 + [71] * 4 + [72] * 8
    fermatas = (8, 20, 32)
    tune = Chorale([[p, 60, 55, 48] for p in line], fermatas=fermatas)
    key = melody_key(line)
    assert key == Key(0)
    checked = 0
    for seed in range(3):
        plan = melody_cadences(line, fermatas, key, seed=seed)
        for piece in (
            harmonize(net, tune, seed=seed, candidates=2),  # untrained: the masks do it all
            net.fill(tune, tune.mask(voices="ATB"), seed=seed, candidates=2),
            harmonize(net, tune, seed=seed, method="gibbs"),  # the filler: pitch classes
            net.fill(tune, tune.mask(voices="ATB"), seed=seed, method="gibbs"),
        ):
            assert piece.fermatas == fermatas
            assert piece.chords[:, 0].tolist() == line
            for fermata, cadence in zip(fermatas, plan, strict=True):
                assert cadence is not None
                final = name_chord(piece.chords[fermata])
                assert final is not None and final[1] in ("major", "minor")
                assert piece.chords[fermata, 3] % 12 == final[0]  # root position
                held = piece.chords[fermata : fermata + 4]  # the chord while the note holds
                assert {int(p) % 12 for p in held.ravel()} <= set(pitch_classes(final))
                assert (held[:, 3] % 12 == final[0]).all()
                if cadence[0] == "authentic":
                    found = cadence_at(piece.chords, fermata, key)
                    assert (found.kind, found.relation) == cadence
                    checked += 1
    assert checked >= 12  # the last cadence at least, every time


def test_fermatas_placed_by_bar_and_beat(net: BachNet, saved: Path, tmp_path: Path) -> None:
    from bachnet.errors import InputError

    # a MIDI tune has no fermatas; --fermatas places them
    notes = [(67, 1), (67, 1), (69, 1), (71, 2), (72, 1), (74, 1), (72, 1), (71, 2), (67, 2)]
    notes += [(69, 1), (71, 1), (72, 2), (71, 1), (69, 1), (67, 4)]
    pitches = [p for p, q in notes for _ in range(int(4 * q))]
    tune = write_part(tmp_path / "tune.mid", notes)
    assert read_melody(tune).tolist() == pitches
    piece = harmonize(net, pitches, fermatas="2.1, 3.3", seed=0, method="sample")
    assert piece.fermatas == (12, 40)  # B (steps 12-19, held over the bar line), G (40-47)
    assert net.harmonize(pitches, seed=0, method="sample").fermatas == ()
    with pytest.raises(InputError, match="ends before"):
        harmonize(net, pitches, fermatas="9.1")
    with pytest.raises(InputError, match=r"bar\.beat"):
        harmonize(net, pitches, fermatas="two")
    with pytest.raises(InputError, match="in order"):
        harmonize(net, pitches, fermatas="3.3,1.3")
    with pytest.raises(InputError, match="rests there"):
        harmonize(net, TUNE_STEPS, fermatas="1.3")
    out = tmp_path / "satb.musicxml"
    result = run("harmonize", tune, "--fermatas", "2.1,3.3", "-m", saved, "-o", out, "--seed", "0",
                 "--candidates", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert Chorale.read(out).fermatas == (12, 40)
    one_error_line(run("harmonize", tune, "--fermatas", "0.5", "-m", saved), 1, "fermata '0.5'")


def test_parallels_into_a_cadence_are_drawn_again_with_the_bass_known(
    net: BachNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bachnet.generation import harmonize as module
    from bachnet.music.metrics import parallel_motion

    # the chorale tune of the first test above, phrases ending on E, D and C (C major)
    line = [67] * 4 + [65] * 4 + [64] * 8 + [65] * 4 + [62] * 8 + [71] * 4 + [72] * 8
    tune = Chorale([[p, 60, 55, 48] for p in line], fermatas=(8, 20, 32))

    def with_the_bass(pieces: list[Chorale]) -> int:
        """Parallel fifths and octaves with the bass in the changes into cadence steps."""
        count = 0
        for piece in pieces:
            chords = piece.chords.astype(np.int64)
            steps = [s for f in piece.fermatas for s in range(f - 4, min(f + 4, len(chords)))]
            fifths, octaves = parallel_motion(chords[[s - 1 for s in steps]], chords[steps])
            count += int((fifths | octaves)[:, [4, 5]].sum())  # alto-bass, tenor-bass
        return count

    def draw() -> list[Chorale]:  # strict rules: parallels banned where the rules can see them
        return [harmonize(net, tune, seed=seed, rules="strict") for seed in range(12)]

    assert with_the_bass(draw()) == 0
    monkeypatch.setattr(module, "_redraw_parallels", lambda model, a, piece, *rest: piece)
    assert with_the_bass(draw()) > 0  # without the second draw the bass is not seen ahead
