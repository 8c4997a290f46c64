"""Tests for `bachnet.music.metrics`: style figures on hand-made chorales with known counts."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from bachnet import Chorale, metrics
from bachnet.apps import cli
from bachnet.apps.cli import main
from bachnet.data import JSB_ARCHIVE
from bachnet.data.reference import compare, reference, reference_figures
from bachnet.music.phrases import phrase_figures

C_MAJOR = [72, 67, 64, 48]  # C5 G4 E4 C3: alto-bass a (compound) fifth, soprano-bass octaves
D_MINOR_FIFTHS = [71, 69, 65, 50]  # alto and bass both up a tone: parallel fifths, nothing else
TONIC, DOMINANT = [[72, 67, 64, 48]], [[71, 67, 62, 43]]


def piece(*chords: list[int], name: str | None = None) -> Chorale:
    return Chorale(list(chords), name=name)


# ------------------------------------------------------------------------------ parallels
def test_a_parallel_fifth_is_counted_per_chord_change() -> None:
    fifths = piece(C_MAJOR, D_MINOR_FIFTHS)
    assert metrics.chord_changes(fifths) == 1
    assert metrics.parallel_fifths(fifths) == 100.0
    assert metrics.parallel_octaves(fifths) == 0.0


@pytest.mark.parametrize(
    ("second", "motion"),
    [
        ([71, 67, 65, 36], "oblique: the alto stays while the bass drops an octave"),
        ([84, 79, 65, 36], "contrary: alto up an octave, bass down an octave"),
        ([71, 0, 65, 50], "the alto falls silent"),
    ],
)
def test_oblique_contrary_or_silent_fifths_are_not_counted(second: list[int], motion: str) -> None:
    pair = piece(C_MAJOR, second)
    assert metrics.parallel_fifths(pair) == 0.0, motion
    assert metrics.chord_changes(pair) == 1  # the change still counts in the denominator


def test_compound_fifths_count_and_each_voice_pair_counts_separately() -> None:
    twelfth = piece([79, 67, 64, 48], [81, 65, 62, 50])  # soprano-bass: 31 semitones, twice
    assert metrics.parallel_fifths(twelfth) == 100.0
    two_pairs = piece([67, 64, 60, 48], [69, 66, 62, 50])  # S-T and S-B fifths, T-B octave
    assert metrics.parallel_fifths(two_pairs) == 200.0
    assert metrics.parallel_octaves(two_pairs) == 100.0


def test_parallel_octaves_and_unisons() -> None:
    assert metrics.parallel_octaves(piece(C_MAJOR, [74, 67, 62, 50])) == 100.0  # S-B
    unison = piece([72, 64, 64, 48], [72, 65, 65, 48])  # alto and tenor together, up
    assert metrics.parallel_octaves(unison) == 100.0
    assert metrics.parallel_octaves(piece([72, 64, 64, 48], [72, 65, 63, 48])) == 0.0


def test_figures_pool_over_pieces_and_held_chords_are_not_changes() -> None:
    with_fifths = piece(C_MAJOR, C_MAJOR, D_MINOR_FIFTHS, D_MINOR_FIFTHS)
    plain = piece(*TONIC, *DOMINANT, *TONIC, *DOMINANT)
    assert metrics.chord_changes([with_fifths, plain]) == 4  # no change across pieces
    assert metrics.parallel_fifths([with_fifths, plain]) == 25.0
    assert metrics.parallel_fifths(iter([with_fifths, plain])) == 25.0  # any iterable
    assert metrics.parallel_fifths(piece(C_MAJOR, C_MAJOR)) == 0.0  # no change at all


# -------------------------------------------------------------------- crossing, spacing
def test_voice_crossing_counts_changes_with_any_adjacent_pair_crossed() -> None:
    crossed = piece(C_MAJOR, [72, 64, 67, 48], [71, 62, 67, 43], [71, 62, 60, 64], C_MAJOR)
    assert metrics.voice_crossing(crossed) == 75.0  # 3 of 4 changes end crossed
    # with the alto silent, the tenor above the soprano is still a crossing
    assert metrics.voice_crossing(piece(C_MAJOR, [72, 0, 64, 48], [72, 0, 76, 48])) == 50.0
    assert metrics.voice_crossing(piece(C_MAJOR, [72, 72, 64, 48])) == 0.0  # a unison


def test_spacing_is_soprano_alto_or_alto_tenor_beyond_an_octave() -> None:
    spaced = piece(C_MAJOR, [80, 67, 64, 48], [79, 67, 54, 48], [79, 67, 64, 30], [79, 67, 55, 30])
    assert metrics.spacing(spaced) == 50.0  # changes 1 and 2 are wide; tenor-bass never counts
    assert metrics.spacing(piece(C_MAJOR, [79, 67, 55, 48])) == 0.0  # exactly an octave


# ------------------------------------------------------------------ ranges, held, silence
def test_voice_ranges_and_silence() -> None:
    chorale = piece([72, 67, 0, 48], [74, 65, 0, 43], [76, 0, 0, 0])
    assert metrics.voice_ranges(chorale) == ((72, 76), (65, 67), (0, 0), (43, 48))
    assert metrics.silence(chorale) == pytest.approx(100 * 5 / 12)  # 5 of 12 voice-steps


def test_held_share_counts_sounding_steps_after_the_first() -> None:
    chorale = piece(*[C_MAJOR] * 4, *[[72, 65, 62, 0]] * 4)
    assert metrics.held_share(chorale, 0) == 100.0  # 7 of 7
    assert metrics.held_share(chorale, 1) == pytest.approx(600 / 7)  # a new note at step 4
    assert metrics.held_share(chorale, 3) == 100.0  # 3 sounding steps after the first, held
    assert metrics.held_share(chorale) == pytest.approx(100 * 22 / 24)
    with pytest.raises(ValueError, match="voice must be 0"):
        metrics.held_share(chorale, 4)


# ----------------------------------------------------------------------------- rhythm
def test_onsets_by_position_in_the_beat() -> None:
    a, b = [72, 67, 64, 48], [74, 65, 64, 48]
    # soprano and alto: new notes at steps 2 (eighth), 4 (beat), 7 (16th), 8 (beat)
    chorale = piece(a, a, b, b, a, a, a, b, a)
    assert metrics.onset_positions(chorale) == (50.0, 0.0, 25.0, 25.0)
    assert metrics.onset_positions(piece(a, a)) == (0.0, 0.0, 0.0, 0.0)  # no new note


def test_odd_lengths_are_odd_and_longer_than_a_sixteenth() -> None:
    a, b = [72, 67, 64, 48], [74, 67, 64, 48]
    chorale = piece(a, a, a, b, a, a, a, a, a)  # soprano 3 + 1 + 5, others 9 long
    assert metrics.odd_lengths(chorale) == pytest.approx(100 * 5 / 6)
    assert metrics.odd_lengths(piece(a, a, b, b)) == 0.0


# -------------------------------------------------------------------------- intervals
def test_interval_histogram_merges_repeats_skips_rests_and_clips_leaps() -> None:
    chorale = piece(
        [72, 67, 64, 48],
        [72, 67, 64, 48],  # held: no interval
        [74, 0, 64, 29],  # soprano +2; alto rests; bass -19 -> the -12 bin
        [72, 69, 64, 48],  # soprano -2; nothing across the alto's rest; bass +19 -> +12 bin
    )
    histogram = metrics.interval_histogram(chorale)
    assert histogram.shape == (4, len(metrics.INTERVALS)) == (4, 25)
    soprano = dict(zip(metrics.INTERVALS, histogram[0], strict=True))
    assert soprano[2] == soprano[-2] == 0.5
    assert histogram[1].sum() == histogram[2].sum() == 0.0  # no interval: all zeros
    assert histogram[3, 0] == histogram[3, 24] == 0.5
    assert histogram[:, 12].sum() == 0.0  # never a repeated note


def test_interval_distance_is_a_mean_l1_over_voices() -> None:
    first = metrics.interval_histogram(piece(C_MAJOR, [74, 69, 65, 50]))  # +2, +2, +1, +2
    second = metrics.interval_histogram(piece(C_MAJOR, [71, 65, 62, 47]))  # -1, -2, -2, -1
    assert metrics.interval_distance(first, first) == 0.0
    assert metrics.interval_distance(first, second) == 2.0
    half = first.copy()
    half[0] = 0.5 * first[0] + 0.5 * second[0]
    assert metrics.interval_distance(first, half) == pytest.approx(1.0 / 4)
    assert metrics.interval_distance(half, first) == metrics.interval_distance(first, half)
    with pytest.raises(ValueError, match=r"shape \(4, 25\)"):
        metrics.interval_distance(first, first[:3])


# ------------------------------------------------------------------------ keys, endings
def test_key_endings_with_music21() -> None:
    cadence = Chorale(TONIC * 4 + DOMINANT * 4 + TONIC * 8)  # C major, ends on the tonic
    half_close = Chorale(TONIC * 8 + DOMINANT * 4)  # ends on G: bass not the tonic
    f_sharp = cadence.transpose(6)  # F# major: six sharps
    assert metrics.key_endings([cadence]) == (100.0, 100.0, 0.0)
    bass, triad, remote = metrics.key_endings([cadence, half_close, f_sharp])
    assert (bass, triad, remote) == pytest.approx((200 / 3, 200 / 3, 100 / 3))
    assert metrics.key_endings([Chorale([[0, 0, 0, 0]] * 4), cadence]) == (50.0, 50.0, 0.0)


# --------------------------------------------------------------------- all the figures
def test_measure_agrees_with_the_single_figures(tiny_chorales: list[Chorale]) -> None:
    figures = metrics.measure(tiny_chorales, keys=False)
    assert figures.pieces == 3
    assert figures.steps == sum(len(c) for c in tiny_chorales)
    assert figures.chord_changes == metrics.chord_changes(tiny_chorales)
    assert figures.parallel_fifths == metrics.parallel_fifths(tiny_chorales)
    assert figures.parallel_octaves == metrics.parallel_octaves(tiny_chorales)
    assert figures.voice_crossing == metrics.voice_crossing(tiny_chorales)
    assert figures.spacing == metrics.spacing(tiny_chorales)
    assert figures.ranges == metrics.voice_ranges(tiny_chorales)
    assert figures.held == metrics.held_share(tiny_chorales)
    assert figures.voice_held == tuple(metrics.held_share(tiny_chorales, v) for v in range(4))
    assert figures.silence == metrics.silence(tiny_chorales)
    assert figures.onsets == metrics.onset_positions(tiny_chorales)
    assert figures.odd_lengths == metrics.odd_lengths(tiny_chorales)
    np.testing.assert_array_equal(figures.intervals, metrics.interval_histogram(tiny_chorales))
    assert figures.tonic_bass is figures.tonic_triad is figures.remote_keys is None
    assert json.loads(json.dumps(figures.to_dict())) == figures.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        figures.held = 0.0  # type: ignore[misc]


def test_bad_collections_are_refused() -> None:
    with pytest.raises(ValueError, match="no pieces"):
        metrics.measure([], keys=False)
    with pytest.raises(TypeError, match="expected Chorale"):
        metrics.measure([[C_MAJOR]], keys=False)  # type: ignore[list-item]


def test_table_and_compare() -> None:
    mine = metrics.measure(piece(C_MAJOR, D_MINOR_FIFTHS), keys=False)
    bach = metrics.measure(Chorale(TONIC * 4 + DOMINANT * 4 + TONIC * 8), keys=False)
    text = metrics.table({"mine": mine, "Bach": bach})
    lines = text.splitlines()
    assert lines[0] == "| figure | mine | Bach |"
    assert lines[1] == "| --- | ---: | ---: |"
    assert "| parallel fifths per 100 chord changes | 100.00 | 0.00 |" in lines
    l1 = metrics.interval_distance(mine.intervals, bach.intervals)
    assert f"| melodic intervals, L1 distance to Bach | {l1:.3f} | 0.000 |" in lines
    assert "tonic" not in text  # no key rows when keys were skipped
    assert all(line.count("|") == 4 for line in lines)

    data = json.loads(metrics.table({"mine": mine, "Bach": bach}, reference="mine", as_json=True))
    assert data["reference"] == "mine"
    assert data["columns"]["mine"]["interval_l1"] == 0.0
    assert data["columns"]["Bach"]["parallel_fifths"] == 0.0
    with pytest.raises(ValueError, match="not a column"):
        metrics.table({"mine": mine}, reference="Bach")

    same = compare({"mine": [piece(C_MAJOR, D_MINOR_FIFTHS)]}, {"Bach": bach}, keys=False)
    assert same == text
    unnamed = compare(mine, [Chorale(TONIC * 8)], keys=False)
    assert unnamed.splitlines()[0] == "| figure | pieces | reference |"
    with pytest.raises(ValueError, match="used twice"):
        compare({"Bach": mine}, {"Bach": bach}, keys=False)


# --------------------------------------------------------------------- Bach's chorales
@pytest.fixture
def jsb_in_cache(jsb_archive: Path, cache_dir: Path) -> Path:
    """The JSB archive placed in this test's cache folder, so `Dataset.jsb` reads it offline."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(jsb_archive, cache_dir / JSB_ARCHIVE)
    return cache_dir


def test_reference_is_bach_and_looks_like_bach(jsb_in_cache: Path) -> None:
    test = reference("test")
    assert len(test) == 77
    assert reference("test") is not test  # a fresh split of the cached corpus
    figures = reference_figures("test", keys=False)
    assert reference_figures("test", keys=False) is figures  # cached
    assert figures.pieces == 77
    assert figures.parallel_fifths < 0.5 and figures.parallel_octaves < 0.2
    assert 70 < figures.onsets[0] < 80 and figures.onsets[1] < 1
    assert 75 < figures.held < 80
    with pytest.raises(KeyError, match="no split 'nope'"):
        reference("nope")


# ---------------------------------------------------------------------------- the CLI
def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["stats", *(str(a) for a in args)])


def assert_one_error(result: Result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0]
    assert "Traceback" not in result.output


@pytest.fixture
def two_files(tmp_path: Path) -> list[Path]:
    first = Chorale(TONIC * 4 + DOMINANT * 4 + TONIC * 8).write(tmp_path / "a.csv")
    second = Chorale([C_MAJOR] * 4 + [D_MINOR_FIFTHS] * 4).write(tmp_path / "b.csv")
    return [first, second]


def test_cli_stats_json_against_a_split(two_files: list[Path], jsb_in_cache: Path) -> None:
    result = run(*two_files, "--split", "test", "--split", "valid", "--no-keys", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data["columns"]) == ["2 files", "Bach, JSB test", "Bach, JSB valid"]
    assert data["reference"] == "Bach, JSB test"
    files = data["columns"]["2 files"]
    assert files["pieces"] == 2 and files["chord_changes"] == 3
    assert files["parallel_fifths"] == pytest.approx(100 / 3)
    assert files["tonic_bass"] is None
    assert data["columns"]["Bach, JSB valid"]["pieces"] == 76


def test_cli_stats_table_with_keys(two_files: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    bach = metrics.measure(Chorale(TONIC * 4 + DOMINANT * 4 + TONIC * 8))
    monkeypatch.setattr(cli, "reference_figures", lambda split, keys: bach)  # no corpus
    phrased = phrase_figures(Chorale(TONIC * 4 + DOMINANT * 4 + TONIC * 8, fermatas=[8]))
    monkeypatch.setattr(cli, "reference_phrases", lambda split: phrased)
    result = run(two_files[0])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "| figure | a.csv | Bach, JSB test |"
    assert "| last chord: tonic triad, tonic in the bass, % | 100.0 | 100.0 |" in lines
    # then the phrases: the file has no fermata, Bach's stand-in one authentic cadence
    assert "| phrases | a.csv | Bach, JSB test |" in lines
    assert "| pieces with fermatas / pieces | 0 / 1 | 1 / 1 |" in lines
    assert any(line.startswith("| cadences authentic") and "100.0" in line for line in lines)


def test_cli_stats_errors_are_one_line(tmp_path: Path, two_files: list[Path]) -> None:
    assert_one_error(run(tmp_path / "missing.csv"), 2, "missing.csv", "does not exist")
    broken = tmp_path / "broken.csv"
    broken.write_text("soprano,alto\n60,52\n", encoding="utf-8")
    assert_one_error(run(broken, "--no-keys"), 1, "broken.csv", "header")
    garbage = tmp_path / "garbage.mid"
    garbage.write_bytes(b"not a midi file")
    assert_one_error(run(garbage, "--no-keys"), 1, "garbage.mid")


def test_cli_stats_unknown_split(two_files: list[Path], jsb_in_cache: Path) -> None:
    assert_one_error(run(two_files[0], "--split", "nope", "--no-keys"), 2, "no split 'nope'")
