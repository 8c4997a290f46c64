"""`fill` (`bachnet.generation.fill`, `BachNet.fill`): keep what is given, rewrite the rest."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from bachnet import BachNet, Chorale, ModelConfig
from bachnet.errors import InputError, InputTypeError
from bachnet.generation.fill import check_mask, fill
from bachnet.generation.harmonize import harmonize


@pytest.fixture(scope="module")
def net() -> BachNet:
    keras.utils.set_random_seed(0)
    return BachNet(ModelConfig(lstm_units=(16,), embedding_dim=8, dense_units=8, window=32))


@pytest.fixture(scope="module")
def piece() -> Chorale:
    rng = np.random.default_rng(5)
    steps = 32
    soprano = np.repeat(rng.integers(67, 77, size=steps // 4), 4)
    alto = np.repeat(rng.integers(60, 67, size=steps // 4), 4)
    tenor = np.repeat(rng.integers(52, 60, size=steps // 4), 4)
    bass = np.repeat(rng.integers(40, 52, size=steps // 4), 4)
    return Chorale(np.stack([soprano, alto, tenor, bass], axis=1), name="given")


@pytest.mark.parametrize("method", ["sample", "rerank", "beam"])
@pytest.mark.parametrize("trial", range(4))
def test_kept_notes_never_change(net: BachNet, piece: Chorale, method: str, trial: int) -> None:
    rng = np.random.default_rng(trial)
    mask = rng.random((len(piece), 4)) < rng.uniform(0.1, 0.9)
    filled = fill(net, piece, mask, seed=trial, method=method, candidates=2)
    assert filled.chords.shape == piece.chords.shape
    assert (filled.chords[~mask] == piece.chords[~mask]).all()
    assert (filled.chords[mask] > 0).all()  # written notes sound
    assert filled.name == "given (filled)"


def test_an_empty_mask_returns_the_piece(net: BachNet, piece: Chorale) -> None:
    mask = np.zeros((len(piece), 4), bool)
    same = fill(net, piece, mask, seed=0)
    assert same == piece
    copies = fill(net, piece, mask, num_samples=3)
    assert isinstance(copies, list) and all(c == piece for c in copies)


def test_a_full_mask_writes_every_note_in_range(net: BachNet, piece: Chorale) -> None:
    mask = np.ones((len(piece), 4), bool)
    versions = net.fill(piece, mask, seed=1, num_samples=2, candidates=2)
    assert isinstance(versions, list) and len(versions) == 2
    for version in versions:
        chords = version.chords
        assert (chords > 0).all()
        for voice, (low, high) in enumerate(((60, 81), (52, 74), (46, 69), (36, 66))):
            assert low <= chords[:, voice].min() and chords[:, voice].max() <= high
    assert versions[0] != versions[1]
    again = net.fill(piece, mask, seed=1, num_samples=2, candidates=2)
    assert again == versions  # seeded


def test_keeping_the_soprano_is_harmonize(net: BachNet, piece: Chorale) -> None:
    """With a soprano that never rests, filling alto, tenor and bass is `harmonize` exactly."""
    mask = np.zeros((len(piece), 4), bool)
    mask[:, 1:] = True
    for method in ("sample", "rerank", "beam"):
        filled = fill(net, piece, mask, seed=4, method=method, candidates=3)
        harmonised = harmonize(net, piece.chords[:, 0], seed=4, method=method, candidates=3)
        assert (filled.chords == harmonised.chords).all(), method


def test_bad_masks_and_pieces_are_clear_errors(net: BachNet, piece: Chorale) -> None:
    with pytest.raises(InputError, match=r"shape \(32, 4\).*got \(32, 3\)"):
        fill(net, piece, np.ones((32, 3), bool))
    with pytest.raises(InputError, match=r"shape \(32, 4\).*got \(31, 4\)"):
        fill(net, piece, np.ones((31, 4), bool))
    with pytest.raises(InputError, match="True \\(write\\) or False"):
        fill(net, piece, np.full((32, 4), 2))
    with pytest.raises(InputTypeError, match="needs a Chorale"):
        fill(net, piece.chords, np.ones((32, 4), bool))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="num_samples"):
        fill(net, piece, np.ones((32, 4), bool), num_samples=0)
    high = Chorale(np.where(np.arange(4) == 0, 90, piece.chords), name="too high")
    mask = np.zeros((32, 4), bool)
    mask[:, 1] = True
    with pytest.raises(InputError, match="outside the vocabulary"):
        fill(net, high, mask)  # a kept note the model does not know
    assert check_mask(np.ones((2, 4), int), 2).dtype == bool


def test_the_fill_command(tmp_path, net: BachNet, piece: Chorale) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from bachnet.apps.cli import main

    model = net.save_pretrained(tmp_path / "model")
    source = piece.write(tmp_path / "given.csv")
    out = tmp_path / "new.csv"
    result = CliRunner().invoke(
        main,
        ["fill", str(source), "--bars", "2", "--voices", "at", "-m", str(model), "-o", str(out),
         "--seed", "3", "--candidates", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "rewriting 32 of 128 notes" in result.output
    new = Chorale.read(out)
    mask = piece.mask(bars="2", voices="AT")
    assert (new.chords[~mask] == piece.chords[~mask]).all()
    bad = CliRunner().invoke(main, ["fill", str(source), "--bars", "9", "-m", str(model)])
    assert bad.exit_code == 1 and "bar 9 is not in this piece: it has bars 1-2" in bad.output
    letters = CliRunner().invoke(main, ["fill", str(source), "--voices", "SQ", "-m", str(model)])
    assert letters.exit_code == 1 and "unknown voice letter(s) Q" in letters.output
    missing = CliRunner().invoke(main, ["fill", str(tmp_path / "nope.mid"), "-m", str(model)])
    assert missing.exit_code == 2 and "not SPLIT:INDEX" in missing.output


def test_rules_see_a_given_lower_voice(net: BachNet, piece: Chorale) -> None:
    """Alto and tenor written between a given soprano and bass: the strict rules see the bass
    (drawn after them in each step), so no written voice makes parallels or crosses with it."""
    from bachnet.music.metrics import PAIRS

    mask = piece.mask(voices="AT")
    for method in ("sample", "beam"):
        filled = fill(net, piece, mask, seed=2, method=method, candidates=2, rules="strict")
        chords = filled.chords.astype(int)
        a, b = chords[:-1], chords[1:]
        for i, j in PAIRS:
            if not (mask[0, i] or mask[0, j]):
                continue  # soprano-bass: both given
            first, second = np.abs(a[:, i] - a[:, j]) % 12, np.abs(b[:, i] - b[:, j]) % 12
            mi, mj = np.sign(b[:, i] - a[:, i]), np.sign(b[:, j] - a[:, j])
            same = (mi != 0) & (mi == mj) & (first == second) & ((first == 7) | (first == 0))
            assert not same.any(), (method, i, j)
        assert (chords[:, 2] >= chords[:, 3]).all(), method  # the tenor never under the bass


def test_rules_look_across_the_seam_into_kept_music() -> None:
    """The parallel rules see the next chord when a constraint fixes it (the first chord after
    a rewritten passage): a candidate that would move in parallel into it is flagged."""
    from bachnet.generation.rules import Context, ParallelFifths, ParallelOctaves

    pitches = np.array([0, 60, 62, 65], "int32")  # candidates for the tenor: C4, D4, F4
    context = Context(
        voice=np.int32(2), step=np.int32(3),
        previous=np.array([[72, 67, 64, 48]]), current=np.array([[72, 67, 0, 0]]),
        pitches=pitches, following=np.array([[74, 69, 67, 50]]),
    )  # fmt: skip
    # The next chord is fixed: D5 A4 G4 D3. A tenor C4 is a fifth under the alto's G4, but the
    # tenor's G4 next is no fifth from A4; D4 makes no fifth; F4 is a fifth under the soprano's
    # C5 and both rise to another fifth (G4 under D5): parallel fifths into the kept chord.
    fifths = keras.ops.convert_to_numpy(ParallelFifths().violations(context)).tolist()
    assert fifths == [[False, False, False, True]]
    blind = Context(
        voice=np.int32(2), step=np.int32(3),
        previous=np.array([[72, 67, 64, 48]]), current=np.array([[72, 67, 0, 0]]),
        pitches=pitches,
    )  # fmt: skip
    assert not keras.ops.convert_to_numpy(ParallelFifths().violations(blind)).any()
    octave = Context(
        voice=np.int32(3), step=np.int32(3),
        previous=np.array([[72, 67, 64, 48]]), current=np.array([[72, 67, 64, 0]]),
        pitches=np.array([0, 48, 60], "int32"), following=np.array([[74, 67, 65, 50]]),
    )  # fmt: skip
    # A bass C3 (held) is two octaves under the soprano's C5 and both rise to D: parallel
    # octaves into the kept chord; a bass C4 would fall to D3 while the soprano rises: contrary.
    assert keras.ops.convert_to_numpy(ParallelOctaves().violations(octave)).tolist() == [
        [False, True, False]
    ]


def test_harmonize_a_given_bass_or_soprano_and_bass(net: BachNet, piece: Chorale) -> None:
    bass = piece.chords[:, 3]
    over = net.harmonize(bass=bass, seed=0, candidates=2)
    assert (over.chords[:, 3] == bass).all() and (over.chords[:, :3] > 0).all()
    both = net.harmonize(
        piece.chords[:, 0], bass=piece, seed=0, candidates=2
    )  # a Chorale: its bass
    assert (both.chords[:, 0] == piece.chords[:, 0]).all()
    assert (both.chords[:, 3] == bass).all()
    mask = piece.mask(voices="AT")
    assert both == fill(net, piece, mask, seed=0, candidates=2, method="rerank")  # as fill
    with pytest.raises(InputError, match="a soprano, a bass, or both"):
        net.harmonize()
    with pytest.raises(InputError, match="the soprano has 32 steps and the bass 16"):
        net.harmonize(piece.chords[:, 0], bass=bass[:16])
    with pytest.warns(UserWarning, match="the bass line .* outside the bass range .* down 1 oct"):
        high = net.harmonize(bass=bass + 24, seed=0, candidates=2)  # MIDI 64-75
    assert (high.chords[:, 3] == bass + 12).all()  # down an octave: all inside 36..66


def test_the_harmonize_command_takes_a_bass(tmp_path, net: BachNet, piece: Chorale) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from bachnet.apps.cli import main

    model = net.save_pretrained(tmp_path / "model")
    line = Chorale(np.repeat(piece.chords[:, 3:], 4, axis=1)).write(tmp_path / "bass.csv")
    out = tmp_path / "satb.csv"
    result = CliRunner().invoke(
        main,
        ["harmonize", str(line), "--voice", "bass", "-m", str(model), "-o", str(out),
         "--seed", "1", "--candidates", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (Chorale.read(out).chords[:, 3] == piece.chords[:, 3]).all()
