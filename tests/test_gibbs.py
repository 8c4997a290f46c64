"""The filler (`bachnet.model.filler`) and ``method="gibbs"`` (`bachnet.generation.gibbs`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from bachnet import BachNet, Chorale, ModelConfig
from bachnet.errors import InputError, ModelFileError
from bachnet.generation import gibbs
from bachnet.generation.fill import fill
from bachnet.generation.gibbs import GibbsSchedule, gibbs_fill, steps_for
from bachnet.generation.harmonize import harmonize
from bachnet.model.filler import Filler, FillerConfig, bar_positions, pitches_to_ids
from bachnet.model.pretrained import get_preset

RANGES = ((60, 81), (52, 74), (46, 69), (36, 66))


@pytest.fixture(scope="module")
def filler_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keras.utils.set_random_seed(0)
    filler = Filler(FillerConfig(filters=8, blocks=2), metadata={"note": "tiny, untrained"})
    return filler.save(tmp_path_factory.mktemp("filler"))


@pytest.fixture(scope="module")
def net() -> BachNet:
    keras.utils.set_random_seed(0)
    return BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=32))


@pytest.fixture(scope="module")
def piece() -> Chorale:
    rng = np.random.default_rng(5)
    steps = 48
    voices = [np.repeat(rng.integers(lo + 2, hi - 4, size=steps // 4), 4) for lo, hi in RANGES]
    return Chorale(np.stack(voices, axis=1), name="given")


@pytest.mark.parametrize("trial", range(6))
def test_gibbs_keeps_every_given_note_and_writes_sounding_notes_in_range(
    net: BachNet, piece: Chorale, filler_folder: Path, trial: int
) -> None:
    rng = np.random.default_rng(trial)
    mask = rng.random((len(piece), 4)) < rng.uniform(0.05, 0.95)
    mask[rng.integers(len(piece)), rng.integers(4)] = True
    filled = fill(
        net, piece, mask, method="gibbs", filler=str(filler_folder), gibbs_steps=3, seed=trial
    )
    assert (filled.chords[~mask] == piece.chords[~mask]).all()
    assert (filled.chords[mask] > 0).all()
    for voice, (low, high) in enumerate(RANGES):
        written = filled.chords[mask[:, voice], voice]
        assert ((written >= low) & (written <= high)).all()
    assert filled.name == "given (filled)"


def test_gibbs_is_seeded_and_batches_its_versions(
    net: BachNet, piece: Chorale, filler_folder: Path
) -> None:
    mask = piece.mask(voices="AT")
    options = {"method": "gibbs", "filler": str(filler_folder), "gibbs_steps": 4}
    one = net.fill(piece, mask, seed=3, **options)
    again = net.fill(piece, mask, seed=3, **options)
    assert one == again
    versions = net.fill(piece, mask, seed=3, num_samples=3, **options)
    assert isinstance(versions, list) and len(versions) == 3
    assert len({v.chords.tobytes() for v in versions}) > 1  # an untrained filler: near uniform


def test_gibbs_steps_by_default_follow_what_is_written() -> None:
    write = np.zeros((200, 4), bool)
    assert steps_for(write) == gibbs.GAP_STEPS  # nothing written
    write[40:104, 0] = True  # the soprano over exactly four bars
    assert steps_for(write) == gibbs.GAP_STEPS
    write[104, 0] = True  # one step more
    assert steps_for(write) == gibbs.WHOLE_VOICE_STEPS
    scattered = np.random.default_rng(0).random((200, 4)) < 0.5  # F5: half of all notes
    assert steps_for(scattered) == gibbs.GAP_STEPS
    assert gibbs.GAP_STEPS < gibbs.WHOLE_VOICE_STEPS


def _spy_on_gibbs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record the keywords of every `gibbs_fill` call `fill` makes (and let it run), with
    `WHOLE_VOICE_BARS` at 2: the 48-step piece, three bars, is then whole voices."""
    calls: list[dict[str, Any]] = []
    real = gibbs.gibbs_fill

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(gibbs, "gibbs_fill", spy)
    monkeypatch.setattr(gibbs, "WHOLE_VOICE_BARS", 2)
    return calls


def test_fill_takes_its_gibbs_steps_from_the_mask_unless_given(
    net: BachNet, piece: Chorale, filler_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy_on_gibbs(monkeypatch)
    options: dict[str, Any] = {"method": "gibbs", "filler": str(filler_folder), "seed": 0}
    net.fill(piece, piece.mask(voices="AT"), **options)  # whole voices
    net.fill(piece, piece.mask(bars="2"), **options)  # one bar
    net.fill(piece, piece.mask(voices="AT"), gibbs_steps=3, **options)  # asked for
    assert [call["steps"] for call in calls] == [gibbs.WHOLE_VOICE_STEPS, gibbs.GAP_STEPS, 3]


def test_gibbs_without_ranges_draws_from_the_whole_compass(
    net: BachNet, piece: Chorale, filler_folder: Path
) -> None:
    mask = np.ones((len(piece), 4), bool)
    free = net.fill(
        piece, mask, method="gibbs", filler=str(filler_folder), voice_ranges=False, seed=0
    )
    low, high = RANGES[0]
    soprano = free.chords[:, 0]
    assert ((soprano < low) | (soprano > high)).any()  # an untrained filler strays


def test_harmonize_with_gibbs_keeps_the_melody_and_its_rests(
    net: BachNet, filler_folder: Path
) -> None:
    melody = [72] * 8 + [0] * 4 + [74] * 4 + [76] * 16
    out = harmonize(net, melody, method="gibbs", filler=str(filler_folder), seed=0)
    assert out.chords[:, 0].tolist() == melody
    assert (out.chords[8:12, 1:] == 0).all()  # the melody rests: so do the others
    assert (out.chords[melody_sounds(melody), 1:] > 0).all()
    bass = net.harmonize(bass=[48] * 16 + [43] * 16, method="gibbs", filler=str(filler_folder))
    assert bass.chords[:, 3].tolist() == [48] * 16 + [43] * 16
    assert (bass.chords > 0).all()


def melody_sounds(melody: list[int]) -> np.ndarray:
    return np.asarray(melody) > 0


def test_the_window_gives_the_whole_piece_result(filler_folder: Path) -> None:
    """Outside its receptive radius the network cannot see: a window gives the same draw."""
    filler = Filler.load(filler_folder)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 40, size=(1, 80, 4)).astype("int32")
    erased = np.zeros((1, 80, 4), bool)
    erased[0, 30:34] = True
    radius = filler.config.radius
    whole = filler.logits(ids, erased, bar_positions(80)[None])
    low, high = 30 - radius, 34 + radius
    part = filler.logits(ids[:, low:high], erased[:, low:high], bar_positions(80)[None, low:high])
    assert np.allclose(whole[0, 30:34], part[0, 30 - low : 34 - low], atol=1e-4)


def test_asking_for_some_rows_gives_those_rows_of_the_whole_network(filler_folder: Path) -> None:
    """The row-cropped network (``rows=``) equals the whole one on the rows asked for: in the
    middle, against either end of the input, and where cropping spares too little (then the
    whole network runs); bad rows are refused."""
    filler = Filler.load(filler_folder)
    rng = np.random.default_rng(1)
    radius = filler.config.radius
    steps = 12 * radius
    ids = rng.integers(0, 47, size=(2, steps, 4)).astype("int32")
    erased = rng.random((2, steps, 4)) < 0.3
    places = np.repeat(bar_positions(steps)[None], 2, axis=0)
    whole = filler.logits(ids, erased, places)
    middle = (5 * radius, 6 * radius)
    for first, stop in (middle, (0, 4), (steps - 5, steps), (3, steps - 3)):
        part = filler.logits(ids, erased, places, rows=(first, stop))
        assert np.allclose(part[:, first:stop], whole[:, first:stop], atol=1e-4), (first, stop)
        outside = np.ones(steps, bool)
        outside[first:stop] = False
        assert np.isnan(part[:, outside]).all() or (first, stop) == (3, steps - 3)
    assert len(filler._cropped) == 3  # the last one spared too little: the whole network ran
    for rows in ((5, 5), (-1, 4), (0, steps + 1)):
        with pytest.raises(InputError, match="rows"):
            filler.logits(ids, erased, places, rows=rows)


def test_a_filler_round_trips_and_refuses_tampering(filler_folder: Path, tmp_path: Path) -> None:
    loaded = Filler.load(filler_folder)
    assert loaded.config == FillerConfig(filters=8, blocks=2)
    assert loaded.metadata == {"note": "tiny, untrained"}
    copy = tmp_path / "copy"
    copy.mkdir()
    for file in filler_folder.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    weights = copy / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256"):
        Filler.load(copy)
    with pytest.raises(ModelFileError, match="holds a filler"):
        BachNet.load(filler_folder)
    config = json.loads((filler_folder / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "kind": "model"}))
    with pytest.raises(ModelFileError, match="not a filler"):
        Filler.load(copy)


def test_bad_gibbs_input_gets_clear_errors(filler_folder: Path) -> None:
    filler = Filler.load(filler_folder)
    with pytest.raises(InputError, match="same shape"):
        gibbs_fill(filler, np.zeros((8, 4)), np.zeros((8, 3), bool))
    with pytest.raises(InputError, match=r"MIDI 36\.\.81"):
        gibbs_fill(filler, np.full((8, 4), 90), np.eye(8, 4, dtype=bool))
    with pytest.raises(InputError, match="Gibbs steps"):
        GibbsSchedule(steps=0)
    with pytest.raises(InputError, match=r"key_bias must have shape \(2, 12\)"):
        gibbs_fill(filler, np.full((8, 4), 60), np.eye(8, 4, dtype=bool), key_bias=np.zeros(12))
    with pytest.raises(InputError, match=r"harmony_bias must have shape \(2, 12, 12\)"):
        gibbs_fill(filler, np.full((8, 4), 60), np.eye(8, 4, dtype=bool), harmony_bias=np.eye(12))
    with pytest.raises(InputError, match="kernel must be odd"):
        FillerConfig(kernel=2)
    with pytest.raises(InputError, match="gibbs_steps"):
        from bachnet.generation.config import GenerationConfig

        GenerationConfig(method="gibbs", gibbs_steps=0)
    assert pitches_to_ids([[0, 81]]).tolist() == [[0, 46]]


def test_the_bundled_filler_is_registered_as_a_filler() -> None:
    preset = get_preset("jsb-coconet")
    assert preset.kind == "filler" and preset.bundled
    with pytest.raises(ModelFileError, match="holds a filler"):
        BachNet.from_pretrained("jsb-coconet")


def test_the_costs_cut_parallels_and_offbeat_flicker(filler_folder: Path, piece: Chorale) -> None:
    """An untrained filler draws near at random: the parallel bans and the off-beat cost
    (with their cells redrawn) must show in what it writes."""
    from bachnet.music.metrics import parallel_motion

    filler = Filler.load(filler_folder)
    given = np.tile(piece.chords, (4, 1))  # 192 steps
    write = np.ones(given.shape, bool)
    narrow = ((60, 67), (55, 62), (48, 55), (41, 48))  # fewer pitches: parallels come easily

    def counts(**costs: object) -> tuple[int, int]:
        drawn = gibbs_fill(filler, given, write, steps=12, seed=0, ranges=narrow, **costs)
        chords = drawn[0]
        fifths, octaves = parallel_motion(chords[:-1], chords[1:])
        starts = np.zeros(chords.shape, bool)
        starts[1:] = chords[1:] != chords[:-1]
        offbeat = starts[np.arange(len(chords)) % 2 == 1].sum()
        return int(fifths.sum() + octaves.sum()), int(offbeat)

    free_parallels, free_offbeat = counts()
    banned, _ = counts(parallels=(np.inf, np.inf))
    _, steady = counts(offbeat=3.0)
    assert free_parallels > 0 and banned < free_parallels / 2
    assert free_offbeat > 0 and steady < free_offbeat / 2


def test_spread_keeps_redrawn_cells_apart() -> None:
    from bachnet.generation.gibbs import _spread

    hot = np.ones((2, 10, 4), bool)
    for n in range(2):
        picked = _spread(hot, n, np.random.default_rng(n))
        assert (picked.sum(axis=2) <= 1).all()  # one voice per row
        rows = np.flatnonzero(picked[0].any(axis=1))
        assert (np.diff(rows) >= 2).all() and (rows % 2 == n % 2).all()


def test_auto_takes_gibbs_where_notes_are_kept_after_or_below(
    net: BachNet, piece: Chorale, filler_folder: Path
) -> None:
    options = {"filler": str(filler_folder), "gibbs_steps": 3, "seed": 0, "candidates": 2}
    inner = piece.mask(voices="AT")
    assert net.fill(piece, inner, **options) == net.fill(piece, inner, method="gibbs", **options)
    melody = piece.mask(voices="ATB")  # a harmonisation: left to right, reranked
    assert net.fill(piece, melody, **options) == net.fill(piece, melody, method="rerank", **options)
    over_bass = harmonize(net, bass=piece, method="auto", filler=str(filler_folder), seed=0)
    same = harmonize(net, bass=piece, method="gibbs", filler=str(filler_folder), seed=0)
    assert over_bass == same


def test_notes_are_numbered_run_by_run_voice_by_voice() -> None:
    from bachnet.generation.gibbs import _note_runs

    window = np.array([[[5, 9, 1, 1], [5, 9, 1, 1], [6, 9, 1, 1], [6, 8, 1, 1]]], "int32")
    mask = np.ones((4, 4), bool)
    mask[1, 1] = False  # a kept cell splits the alto's held 9 into two notes
    runs = _note_runs(window, mask)
    assert runs[0, :, 0].tolist() == [0, 0, 1, 1]
    assert runs[0, :, 1].tolist() == [2, -1, 3, 4]
    assert runs[0, :, 2].tolist() == [5, 5, 5, 5]


class _TwoBeats:
    """A stand-in filler that wants class 10 in rows 0-3 and class 12 in rows 4-7."""

    def logits(
        self, window: np.ndarray, erased: np.ndarray, positions: np.ndarray, rows: object = None
    ) -> np.ndarray:
        out = np.zeros((*window.shape, 47))
        out[:, :4, :, 10] = out[:, 4:, :, 12] = 20.0
        return out


@pytest.mark.parametrize("note_beats", [False, True])
def test_whole_notes_are_redrawn_beat_by_beat(note_beats: bool) -> None:
    """A held alto over two beats: redrawn whole, it keeps one pitch (the filler wants two);
    redrawn beat by beat, each beat takes its own."""
    from bachnet.generation.gibbs import _note_starts, _redraw_notes

    window = np.full((1, 8, 4), 5, np.int32)
    window[0, :, 1] = 11  # the alto holds one note over both beats
    mask = np.zeros((8, 4), bool)
    mask[:, 1] = True
    allowed = np.ones((4, 47), bool)
    allowed[:, 0] = False
    positions = np.arange(8)[None] % 16
    beats = _note_starts(positions[0], beats=note_beats, eighths=False)
    rng = np.random.default_rng(0)
    for n in range(12):
        filler: Any = _TwoBeats()
        _redraw_notes(filler, window, mask, positions, allowed, rng, 1.0, n, np.zeros(4), None,
                      beats=beats)  # fmt: skip
    alto = window[0, :, 1].tolist()
    if note_beats:
        assert alto == [10] * 4 + [12] * 4
    else:
        assert len(set(alto)) == 1 and alto[0] in (10, 12)


class _PassingEighth:
    """A stand-in filler that wants a passing note: class 10 in rows 0-1, 11 in 2-3, 12 after."""

    def logits(
        self, window: np.ndarray, erased: np.ndarray, positions: np.ndarray, rows: object = None
    ) -> np.ndarray:
        out = np.zeros((*window.shape, 47))
        out[:, :2, :, 10] = out[:, 2:4, :, 11] = out[:, 4:, :, 12] = 20.0
        return out


@pytest.mark.parametrize("eighths", [False, True])
def test_held_notes_are_redrawn_eighth_by_eighth_when_asked(eighths: bool) -> None:
    """An alto held over a beat: redrawn beat by beat it keeps one pitch; eighth by eighth it
    takes the passing note the filler wants on the beat's second eighth."""
    from bachnet.generation.gibbs import _note_starts, _redraw_notes

    window = np.full((1, 8, 4), 5, np.int32)
    window[0, :, 1] = 10
    window[0, 4:, 1] = 12
    mask = np.zeros((8, 4), bool)
    mask[:4, 1] = True  # the alto's first beat
    allowed = np.ones((4, 47), bool)
    allowed[:, 0] = False
    positions = np.arange(8)[None] % 16
    starts = _note_starts(positions[0], beats=True, eighths=eighths)
    rng = np.random.default_rng(0)
    for n in range(12):
        filler: Any = _PassingEighth()
        _redraw_notes(filler, window, mask, positions, allowed, rng, 1.0, n, np.zeros(4), None,
                      beats=starts)  # fmt: skip
    alto = window[0, :4, 1].tolist()
    if eighths:
        assert alto == [10, 10, 11, 11]
    else:
        assert len(set(alto)) == 1


def test_late_note_passes_follow_the_last_steps_at_their_temperature(
    filler_folder: Path, piece: Chorale, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Note-level passes follow steps 1..note_steps and the last late_note_steps, the late
    ones at late_temperature."""
    calls: list[tuple[int, float]] = []
    real = gibbs._redraw_notes

    def spy(*args: Any, **kwargs: Any) -> None:
        calls.append((args[7], args[6]))  # n, temperature
        real(*args, **kwargs)

    monkeypatch.setattr(gibbs, "_redraw_notes", spy)
    filler = Filler.load(filler_folder)
    write = np.zeros((len(piece), 4), bool)
    write[:, 1:3] = True
    options: dict[str, Any] = {"seed": 0, "steps": 10, "note_steps": 2}
    gibbs_fill(filler, piece.chords, write, **options)
    assert [n for n, _ in calls] == [1, 2]
    calls.clear()
    out = gibbs_fill(
        filler, piece.chords, write, late_note_steps=3, late_temperature=0.9, **options
    )
    assert [n for n, _ in calls] == [1, 2, 7, 8, 9]
    assert [t for n, t in calls if n >= 7] == [0.9] * 3
    assert [t for n, t in calls if n < 7] == [GibbsSchedule(10).at(n)[1] for n in (1, 2)]
    assert (out[0][~write] == piece.chords[~write]).all()


def test_fill_makes_late_note_passes_only_over_whole_voices(
    net: BachNet, piece: Chorale, filler_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy_on_gibbs(monkeypatch)
    options: dict[str, Any] = {"method": "gibbs", "filler": str(filler_folder), "seed": 0}
    net.fill(piece, piece.mask(voices="AT"), gibbs_steps=6, **options)  # whole voices
    net.fill(piece, piece.mask(bars="2"), **options)  # one bar
    assert [call["late_note_steps"] for call in calls] == [gibbs.LATE_NOTE_STEPS, 0]
    assert all(call["offbeat_fourth"] == gibbs.OFFBEAT_FOURTH < call["offbeat"] for call in calls)
    assert gibbs.LATE_NOTE_STEPS > 0


def test_notes_on_the_fourth_16th_can_cost_less_and_stay() -> None:
    """With ``fourth`` a note starting on a beat's fourth 16th is charged its own cost, and
    only notes on the second 16th are marked for a redraw."""
    from bachnet.generation.gibbs import _offbeat_penalty, _offbeat_starts

    places = np.arange(8) % 4
    line = np.array([60, 60, 60, 62, 62, 64, 64, 64])  # notes on 16th 4 (row 3), 2 (row 5)
    pitches = np.stack([line, line - 5, line - 12, line - 24], axis=1)[None].astype(np.int32)
    both = _offbeat_starts(pitches, places)[0, :, 0]
    second_only = _offbeat_starts(pitches, places, fourth=False)[0, :, 0]
    assert np.flatnonzero(both).tolist() == [2, 3, 4, 5]
    assert np.flatnonzero(second_only).tolist() == [4, 5]
    cell = np.array([[0, 3, 0]])  # the soprano's 16th 4
    penalty = _offbeat_penalty(pitches, cell, places, second=3.0, fourth=0.5)[0]
    assert penalty[pitches_to_ids(60)] == 0.0  # held on: no new note there
    assert penalty[pitches_to_ids(62)] == 0.5  # a note on the fourth 16th
    cell = np.array([[0, 5, 0]])  # the soprano's 16th 2
    penalty = _offbeat_penalty(pitches, cell, places, second=3.0, fourth=0.5)[0]
    assert penalty[pitches_to_ids(62)] == 0.0 and penalty[pitches_to_ids(64)] == 3.0


class _EitherEighth:
    """A stand-in filler: class 10 in rows 0-1; 10 or 11 alike in rows 2-3; 12 after."""

    def logits(
        self, window: np.ndarray, erased: np.ndarray, positions: np.ndarray, rows: object = None
    ) -> np.ndarray:
        out = np.zeros((*window.shape, 47))
        out[:, :2, :, 10] = out[:, 2:4, :, 10] = out[:, 2:4, :, 11] = out[:, 4:, :, 12] = 20.0
        return out


def test_the_passing_cost_pays_an_eighth_for_moving_on() -> None:
    """Where the filler holds 10 or passes to 11 on a beat's second eighth alike, the
    ``passing`` pay makes the alto move there."""
    from bachnet.generation.gibbs import _note_starts, _redraw_notes

    def alto(passing: float, seed: int) -> list[int]:
        window = np.full((1, 8, 4), 5, np.int32)
        window[0, :, 1] = 10
        window[0, 4:, 1] = 12
        mask = np.zeros((8, 4), bool)
        mask[:4, 1] = True
        allowed = np.ones((4, 47), bool)
        allowed[:, 0] = False
        positions = np.arange(8)[None] % 16
        starts = _note_starts(positions[0], beats=True, eighths=True)
        rng = np.random.default_rng(seed)
        for n in range(12):
            filler: Any = _EitherEighth()
            _redraw_notes(filler, window, mask, positions, allowed, rng, 1.0, n, np.zeros(4),
                          None, beats=starts, passing=passing)  # fmt: skip
        return [int(x) for x in window[0, :4, 1]]

    assert all(alto(30.0, seed) == [10, 10, 11, 11] for seed in range(8))
    assert {tuple(alto(0.0, seed)) for seed in range(8)} == {(10, 10, 10, 10), (10, 10, 11, 11)}


class _Alike:
    """A stand-in filler: the given classes alike everywhere (radius 4)."""

    config = FillerConfig(filters=4, blocks=1)

    def __init__(self, classes: list[int]) -> None:
        self.classes = classes

    def logits(
        self, window: np.ndarray, erased: np.ndarray, positions: np.ndarray, rows: object = None
    ) -> np.ndarray:
        out = np.zeros((*window.shape, 47))
        out[..., self.classes] = 20.0
        return out


def _alike(*pitches: int) -> Any:
    """`_Alike` over these MIDI pitches."""
    return _Alike(pitches_to_ids(np.array(pitches)).tolist())


def test_the_unison_pay_draws_a_note_to_its_neighbour() -> None:
    """Where the filler takes 10 or 11 alike for the alto and the tenor holds 11, the
    ``unison`` pay makes the alto join it; without it, the alto takes either."""
    from bachnet.generation.gibbs import _redraw_notes

    def alto(unison: float, seed: int) -> int:
        window = np.full((1, 4, 4), 5, np.int32)
        window[0, :, 1], window[0, :, 2] = 10, 11
        mask = np.zeros((4, 4), bool)
        mask[:, 1] = True
        allowed = np.ones((4, 47), bool)
        allowed[:, 0] = False
        positions = np.arange(4)[None] % 16
        rng = np.random.default_rng(seed)
        for n in range(24):  # a note is redrawn in about one pass of four
            filler: Any = _Alike([10, 11])  # classes 10 or 11
            _redraw_notes(filler, window, mask, positions, allowed, rng, 1.0, n, np.zeros(4),
                          None, unison=unison)  # fmt: skip
        assert len(set(window[0, :, 1].tolist())) == 1  # one note, redrawn whole
        return int(window[0, 0, 1])

    assert {alto(30.0, seed) for seed in range(8)} == {11}
    assert {alto(0.0, seed) for seed in range(8)} == {10, 11}


def test_the_key_bias_weighs_notes_by_their_place_in_the_key() -> None:
    """In a C major cadence, a soprano beat the filler writes as E flat or E alike: a bias
    against a major key's minor third leaves only E (the first step, which finds no key yet,
    aside); without it, both come."""
    cadence = np.array([[76, 67, 60, 48]] * 8 + [[74, 67, 59, 43]] * 8 + [[72, 64, 55, 48]] * 8)
    write = np.zeros(cadence.shape, bool)
    write[4:8, 0] = True
    filler = _alike(75, 76)  # E flat 5 or E 5
    against = np.zeros((2, 12))
    against[0, 3] = -30.0

    def soprano(bias: np.ndarray | None, seed: int) -> set[int]:
        drawn = gibbs_fill(filler, cadence, write, steps=8, seed=seed, key_bias=bias)
        return {int(x) for x in drawn[0, 4:8, 0]}

    assert all(soprano(against, seed) == {76} for seed in range(6))
    assert set().union(*(soprano(None, seed) for seed in range(6))) == {75, 76}


def test_the_harmony_bias_weighs_notes_by_their_interval_above_the_bass() -> None:
    """In a C major cadence, a soprano beat over the dominant's G that the filler writes as
    E flat or E alike: a bias against a major sixth over a major key's fifth degree leaves
    only E flat (the first step, which finds no key yet, aside); a bias over another degree
    changes nothing, and without one both come."""
    cadence = np.array([[76, 67, 60, 48]] * 8 + [[74, 67, 59, 43]] * 8 + [[72, 64, 55, 48]] * 8)
    write = np.zeros(cadence.shape, bool)
    write[8:12, 0] = True  # over the G
    filler = _alike(75, 76)  # E flat 5 or E 5

    def soprano(bias: np.ndarray | None, seed: int) -> set[int]:
        drawn = gibbs_fill(filler, cadence, write, steps=8, seed=seed, harmony_bias=bias)
        return {int(x) for x in drawn[0, 8:12, 0]}

    over_the_fifth = np.zeros((2, 12, 12))
    over_the_fifth[0, 7, 9] = -30.0  # E over G in major: a sixth
    elsewhere = np.zeros((2, 12, 12))
    elsewhere[0, 0, 4] = -30.0  # E over C
    assert all(soprano(over_the_fifth, seed) == {75} for seed in range(6))
    assert set().union(*(soprano(elsewhere, seed) for seed in range(6))) == {75, 76}
    assert set().union(*(soprano(None, seed) for seed in range(6))) == {75, 76}


def test_fill_weighs_the_key_only_where_it_writes_the_soprano_over_whole_voices(
    net: BachNet, piece: Chorale, filler_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy_on_gibbs(monkeypatch)
    options: dict[str, Any] = {"method": "gibbs", "filler": str(filler_folder), "seed": 0}
    net.fill(piece, piece.mask(voices="SAT"), gibbs_steps=3, **options)  # over the bass
    net.fill(piece, piece.mask(voices="AT"), gibbs_steps=3, **options)  # the soprano given
    net.fill(piece, piece.mask(bars="2"), gibbs_steps=3, **options)  # one bar
    assert [call["key_bias"] for call in calls] == [gibbs.KEY_BIAS, None, None]
    assert [call["harmony_bias"] for call in calls] == [gibbs.HARMONY_BIAS, None, None]
    assert np.asarray(gibbs.KEY_BIAS).shape == (2, 12)


@pytest.mark.parametrize("bass", [43, 48])
def test_the_suspension_pay_holds_a_note_into_the_beat_against_the_chord(bass: int) -> None:
    """The soprano's C held from beat 1, B on beat 2's second eighth: where the filler takes C
    or B alike for beat 2's first eighth, the ``suspension`` pay holds the C into the beat
    over a G in the bass (a fourth: a suspension), not over a C (no dissonance)."""
    from bachnet.generation.gibbs import _note_starts, _redraw_notes

    def soprano(suspension: float, seed: int) -> tuple[int, ...]:
        window = np.zeros((1, 8, 4), np.int32)
        window[0, :, 0] = pitches_to_ids(np.array([72, 72, 72, 72, 0, 0, 71, 71]))
        window[0, :, 1:] = pitches_to_ids(np.array([67, 64, bass]))
        window[0, 4:6, 0] = pitches_to_ids(np.array([71]))
        mask = np.zeros((8, 4), bool)
        mask[4:6, 0] = True
        allowed = np.ones((4, 47), bool)
        allowed[:, 0] = False
        positions = np.arange(8)[None] % 16
        starts = _note_starts(positions[0], beats=True, eighths=True)
        rng = np.random.default_rng(seed)
        for n in range(24):  # the note is redrawn in about one pass of four
            filler = _alike(71, 72)  # B 4 or C 5
            _redraw_notes(filler, window, mask, positions, allowed, rng, 1.0, n, np.zeros(4),
                          None, beats=starts, suspension=suspension)  # fmt: skip
        return tuple(window[0, 4:6, 0].tolist())

    c, b = (int(x) for x in pitches_to_ids(np.array([72, 71])))
    paid = {soprano(30.0, seed) for seed in range(8)}
    assert paid == ({(c, c)} if bass == 43 else {(c, c), (b, b)})
    assert {soprano(0.0, seed) for seed in range(8)} == {(c, c), (b, b)}


def test_a_draft_is_polished_not_rewritten(filler_folder: Path, piece: Chorale) -> None:
    """With ``draft``, a step redraws the schedule's fraction of the written cells and the
    others keep the draft's pitches; without it, every written cell is drawn afresh."""
    filler = gibbs.load_filler(str(filler_folder))
    write = np.zeros((len(piece), 4), bool)
    write[:, 1:3] = True
    schedule = GibbsSchedule(steps=1, p_max=0.1, p_min=0.1)
    redrawn = round(0.1 * write.sum())
    for seed in range(3):
        polished, fresh = (
            gibbs_fill(filler, piece.chords, write, schedule=schedule, seed=seed, draft=draft)[0]
            for draft in (True, False)
        )
        assert (polished[~write] == piece.chords[~write]).all()
        assert (fresh[~write] == piece.chords[~write]).all()
        assert (polished[write] != piece.chords[write]).sum() <= redrawn
        assert (fresh[write] != piece.chords[write]).sum() > redrawn
