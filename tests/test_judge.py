"""The judge (`bachnet.judge`): features, the classifier two-sample test, the grader, the CLI.

Bach's chorales come from ``../shared/data/jsb_chorales.tgz`` and the JS Fake Chorales from
``../shared/data/js_fakes.tgz`` (no network).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bachnet import Chorale, Dataset
from bachnet.apps.cli import main
from bachnet.data import JSB_ARCHIVE
from bachnet.errors import InputError, InputTypeError
from bachnet.judge import (
    FEATURES,
    GRADER_FEATURES,
    Grader,
    auc,
    classifier_test,
    excerpt_features,
    excerpts,
    feature_matrix,
    judge,
    read_js_fakes,
)

pytest.importorskip("sklearn")

FAKES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "js_fakes.tgz"


@pytest.fixture
def bach_cache(cache_dir: Path, jsb_archive: Path) -> Path:
    """The JSB archive in this test's cache, so that `bachnet.data.reference` reads it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(jsb_archive, cache_dir / JSB_ARCHIVE)
    return cache_dir


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny untrained saved model: its pieces are noise a judge tells from Bach at once."""
    import keras

    from bachnet import BachNet, ModelConfig

    keras.utils.set_random_seed(0)
    net = BachNet(ModelConfig(lstm_units=(16, 12), embedding_dim=8, dense_units=8, window=32))
    return net.save_pretrained(tmp_path_factory.mktemp("tiny") / "model")


def _shifted(pieces: list[Chorale], semitones: int) -> list[Chorale]:
    return [Chorale(np.where(p.chords > 0, p.chords + semitones, 0), name=p.name) for p in pieces]


def _swapped(pieces: list[Chorale]) -> list[Chorale]:
    return [Chorale(p.chords[:, [0, 2, 1, 3]], name=p.name) for p in pieces]


# ------------------------------------------------------------------------------- features
def test_excerpts_are_cut_back_from_the_end() -> None:
    chords = np.arange(150 * 4).reshape(150, 4) % 80 + 1
    windows = excerpts(chords, bars=4)
    assert [len(w) for w in windows] == [64, 64]
    assert (windows[-1] == chords[-64:]).all()
    assert (windows[0] == chords[150 - 128 : 150 - 64]).all()
    assert excerpts(chords[:63], bars=4) == []
    with pytest.raises(InputError, match="at least 1 bar"):
        excerpts(chords, bars=0)


def test_features_measure_what_they_name() -> None:
    tonic, dominant = [72, 67, 64, 48], [71, 67, 62, 43]
    row = excerpt_features([tonic] * 8 + [dominant] * 8)
    value = dict(zip(FEATURES, row, strict=True))
    assert value["bass mean pitch"] == pytest.approx((48 * 8 + 43 * 8) / 16)
    assert value["chord 0-4-7 over the bass"] == pytest.approx(1.0)  # both root-position major
    assert value["chords outside Bach's 24 commonest"] == 0.0
    assert value["chord changes per beat"] == pytest.approx(1 / 4)
    assert value["alto-tenor crossed"] == 0.0
    fifths = excerpt_features([[72, 67, 64, 48]] * 4 + [[71, 69, 65, 50]] * 4)
    assert dict(zip(FEATURES, fifths, strict=True))["parallel fifths per chord change"] == 1.0
    crossed = excerpt_features([[72, 60, 64, 48]] * 4)
    assert dict(zip(FEATURES, crossed, strict=True))["alto-tenor crossed"] == 1.0
    assert np.isfinite(excerpt_features(np.zeros((16, 4), int))).all()  # silence: all zeros


def test_feature_matrix_keeps_owners_and_skips_short_pieces(
    tiny_chorales: list[Chorale],
) -> None:
    long = Chorale(np.tile(tiny_chorales[1].chords, (5, 1)), name="long")
    x, owner, pieces = feature_matrix([tiny_chorales[0], long], bars=2)
    assert pieces == 2
    assert set(owner.tolist()) == {1}
    assert x.shape == (len(owner), len(FEATURES))


def test_auc_counts_ties_half_and_takes_weights() -> None:
    assert auc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0
    assert auc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.5
    assert auc([1, 2, 3], [1, 0, 0]) == 0.0
    assert auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], [1, 0, 1, 1]) == 1.0  # 0.4 weighs nothing
    with pytest.raises(InputError, match="both sides"):
        auc([1, 2], [1, 1])


# ---------------------------------------------------------------------- the two-sample test
def test_two_samples_of_bach_are_not_told_apart(jsb_dataset: Dataset) -> None:
    """Bach's train split in two random halves (by piece): the interval covers 0.5."""
    train = list(jsb_dataset.split("train"))
    order = np.random.default_rng(7).permutation(len(train))
    first = [train[i] for i in order[: len(train) // 2]]
    second = [train[i] for i in order[len(train) // 2 :]]
    result = classifier_test(feature_matrix(first), feature_matrix(second), seed=0, rounds=300)
    low, high = result.interval
    assert low < 0.5 < high, result
    assert 0.35 < result.auc < 0.65


@pytest.mark.parametrize("plant", ["octave up", "alto and tenor swapped"])
def test_a_planted_difference_is_found(jsb_dataset: Dataset, plant: str) -> None:
    bach = list(jsb_dataset.split("test"))
    other = list(jsb_dataset.split("valid"))
    planted = _shifted(other, 12) if plant == "octave up" else _swapped(other)
    result = classifier_test(feature_matrix(bach), feature_matrix(planted), seed=0, rounds=200)
    assert result.auc > 0.97
    assert result.interval[0] > 0.9
    top = result.giveaways[0]
    if plant == "octave up":
        assert "pitch" in top.feature or "distance" in top.feature
        assert top.candidate > top.bach
    else:
        assert "alto" in top.feature or "tenor" in top.feature


def test_the_judge_is_deterministic_and_scores_every_piece(jsb_dataset: Dataset) -> None:
    bach = list(jsb_dataset.split("test"))[:40]
    candidate = _shifted(list(jsb_dataset.split("valid"))[:30], 1)  # a semitone up: subtle
    features = feature_matrix(bach), feature_matrix(candidate)
    runs = [classifier_test(*features, seed=3, rounds=100) for _ in range(2)]
    assert runs[0].auc == runs[1].auc
    assert runs[0].interval == runs[1].interval
    assert (runs[0].scores == runs[1].scores).all()
    assert runs[0].piece_scores.shape == (30,)
    assert runs[0].bach_piece_scores.shape == (40,)
    other = classifier_test(*features, seed=4, rounds=100)
    assert other.auc != runs[0].auc


def test_too_few_pieces_is_a_clear_error(jsb_dataset: Dataset) -> None:
    bach = list(jsb_dataset.split("test"))[:10]
    with pytest.raises(InputError, match="at least 2 pieces"):
        classifier_test(feature_matrix(bach), feature_matrix(bach[:1]))


# ------------------------------------------------------------------------------ the grader
def test_grader_puts_bach_closer_than_a_planted_fault(jsb_dataset: Dataset) -> None:
    grader = Grader(list(jsb_dataset.split("train")))
    bach = list(jsb_dataset.split("test"))[:30]
    own = grader.grade(bach)
    assert own.distances.shape == (30, len(GRADER_FEATURES))
    # every voice an octave apart from its neighbour: crossings and spacing faults everywhere
    spread = [
        Chorale(np.where(p.chords > 0, p.chords + np.array([24, 12, 0, -12]), 0)) for p in bach
    ]
    assert grader.grade(spread).by_feature()["errors"] > 3 * own.by_feature()["errors"]
    # a soprano that only ever leaps a fifth
    leaping = [p.chords.copy() for p in bach]
    for chords in leaping:
        chords[:, 0] = 72 + 7 * ((np.arange(len(chords)) // 4) % 2)
    assert (
        grader.grade([Chorale(c) for c in leaping]).by_feature()["soprano intervals"]
        > 2 * own.by_feature()["soprano intervals"]
    )
    with pytest.raises(InputError, match="empty"):
        grader.grade([])


# ----------------------------------------------------------------------- judge and the CLI
def test_judge_reads_a_folder_and_reports(
    bach_cache: Path, jsb_dataset: Dataset, tmp_path: Path
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    for index, piece in enumerate(_swapped(list(jsb_dataset.split("valid"))[:24])):
        piece.write(folder / f"{index}.csv")
    (folder / "notes.txt").write_text("not music, passed over")
    before = sorted(p.name for p in folder.iterdir())
    verdict = judge(folder, against="test", name="swapped")
    assert sorted(p.name for p in folder.iterdir()) == before  # the user's folder is read only
    assert verdict.pieces == (24, 24)
    assert verdict.bach_pieces[0] == 77
    assert verdict.auc > 0.9
    report = verdict.report()
    assert "swapped against Bach (test)" in report and "AUC" in report and "grade" in report
    data = verdict.to_dict()
    assert data["classifier_test"]["auc"] == round(verdict.auc, 4)
    assert len(data["grade"]["by_feature"]) == len(GRADER_FEATURES)
    png = verdict.plot(tmp_path / "verdict.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_judge_rejects_non_chorales(bach_cache: Path, tmp_path: Path) -> None:
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "broken.mid").write_bytes(b"MThd this is not a midi file")
    with pytest.raises(InputError, match=r"broken\.mid"):
        judge(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no music here")
    with pytest.raises(InputError, match="no music files"):
        judge(empty)
    with pytest.raises(InputTypeError):
        judge([1, 2, 3])  # type: ignore[list-item]
    short = tmp_path / "short"
    short.mkdir()
    for k in range(3):
        Chorale([[72, 67, 64, 48]] * 16).write(short / f"{k}.csv")
    with pytest.raises(InputError, match="at least 2 pieces of 4 bars"):
        judge(short)
    with pytest.raises(InputError, match="against"):
        judge(short, against="everything")


def test_cli_judges_files_with_json_and_png(
    bach_cache: Path, jsb_dataset: Dataset, tmp_path: Path
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    for index, piece in enumerate(_shifted(list(jsb_dataset.split("valid"))[:20], 12)):
        piece.write(folder / f"{index}.csv")
    runner = CliRunner()
    result = runner.invoke(main, ["judge", str(folder), "--json", "-o", str(tmp_path / "v.png")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["classifier_test"]["auc"] > 0.9
    assert (tmp_path / "v.png").stat().st_size > 10_000
    text = runner.invoke(main, ["judge", str(folder), "--bars", "2", "--against", "valid+test"])
    assert text.exit_code == 0, text.output
    assert "2-bar excerpts" in text.output and "valid+test" in text.output
    both = runner.invoke(main, ["judge", str(folder), "--model", "x"])
    assert both.exit_code == 2 and "either PATHS" in both.output
    wrong = runner.invoke(main, ["judge", str(folder), "-o", str(tmp_path / "v.txt")])
    assert wrong.exit_code == 2 and ".png" in wrong.output
    for extra in (["--phrases", "auto"], ["--no-rules"], ["--top-p", "0.9"]):
        misused = runner.invoke(main, ["judge", str(folder), *extra])
        assert misused.exit_code == 2 and "only with --model" in misused.output, extra


def test_cli_generates_then_judges(bach_cache: Path, tiny_model: Path, tmp_path: Path) -> None:
    keep = tmp_path / "kept"
    result = CliRunner().invoke(
        main,
        ["judge", "--model", str(tiny_model), "-n", "6", "--steps", "64", "--keep", str(keep)],
    )
    assert result.exit_code == 0, result.output
    assert "against Bach (test)" in result.output
    assert len(list(keep.glob("*.csv"))) == 6
    # an untrained model's noise is told from Bach at once
    auc_line = next(line for line in result.output.splitlines() if "AUC" in line)
    assert float(auc_line.split("AUC ")[1].split()[0]) > 0.8
    kept = tmp_path / "phrased"  # a pickup beat, two phrases of 8 quarters, the last bar: 68
    phrased = CliRunner().invoke(
        main,
        ["judge", "--model", str(tiny_model), "-n", "4", "--phrases", "8,8", "--json",
         "--keep", str(kept)],
    )  # fmt: skip
    assert phrased.exit_code == 0, phrased.output
    assert json.loads(phrased.stdout)["pieces"]["judged"] == 4
    assert [len(Chorale.read(path)) for path in sorted(kept.glob("*.csv"))] == [68] * 4
    bad = CliRunner().invoke(main, ["judge", "--model", str(tiny_model), "--phrases", "eight"])
    assert bad.exit_code == 2 and "'--phrases'" in bad.output


# ---------------------------------------------------------------------- the calibration set
@pytest.mark.skipif(not FAKES.is_file(), reason="needs ../shared/data/js_fakes.tgz")
def test_js_fakes_load_with_their_listeners() -> None:
    fakes = read_js_fakes(FAKES)
    assert len(fakes) == 500
    assert fakes.responses.min() >= 1
    assert 0.3 < fakes.fooled.mean() < 0.6  # listeners were right 57 % of the time overall
    assert all(len(p) >= 64 for p in fakes.pieces)


def test_js_fakes_reader_rejects_other_files(tmp_path: Path) -> None:
    bogus = tmp_path / "fakes.tgz"
    bogus.write_bytes(b"not a tar")
    with pytest.raises(InputError, match="not a readable"):
        read_js_fakes(bogus)
