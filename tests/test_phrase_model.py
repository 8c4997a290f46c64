"""Tests for ``phrase_lstm``: a model that hears how far ahead the next fermata stands.

Backend-neutral: these tests also run with ``KERAS_BACKEND=jax`` (``nox -s tests_jax``).
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from bachnet import BachNet, Chorale, ModelConfig, TrainConfig, Vocabulary
from bachnet.apps.cli import main
from bachnet.errors import InputError
from bachnet.generation import compose
from bachnet.generation.decoder import compiled, step_fn
from bachnet.model.networks import PHRASE_ROWS, fermata_marks, phrase_places
from bachnet.model.scoring import nll_per_piece
from bachnet.training.fit import plan_codes
from bachnet.training.windows import Windows

TINY = dict(lstm_units=(16,), embedding_dim=8, dense_units=8, window=128, dropout=0.0)
CYCLE = [(72, 67, 64, 48), (74, 67, 62, 43), (72, 69, 65, 53), (71, 67, 62, 55)]
CADENCE = (76, 67, 60, 48)


def net_of(architecture: str, seed: int = 0, **options: object) -> BachNet:
    keras.utils.set_random_seed(seed)
    return BachNet(ModelConfig(architecture=architecture, **{**TINY, **options}))  # type: ignore[arg-type]


def phrased(beats: int, seed: int) -> Chorale:
    """Chords that cycle beat by beat, except on the beats of fermatas placed at random (3 to
    7 beats apart), which hold `CADENCE`: only a model that hears the plan knows when."""
    rng = np.random.default_rng(seed)
    marks, at = [], int(rng.integers(3, 8))
    while at < beats:
        marks.append(at)
        at += int(rng.integers(3, 8))
    chords = [CADENCE if beat in marks else CYCLE[beat % 4] for beat in range(beats)]
    steps = [chord for chord in chords for _ in range(4)]
    return Chorale(steps, fermatas=[4 * beat for beat in marks])


# --------------------------------------------------------------------------- the network


def test_the_plan_rows_count_steps_to_the_next_fermata() -> None:
    assert phrase_places(7, [2, 5]).tolist() == [3, 2, 1, 3, 2, 1, PHRASE_ROWS - 1]
    assert phrase_places(3, None).tolist() == [0, 0, 0]  # no plan known
    assert phrase_places(3, []).tolist() == [PHRASE_ROWS - 1] * 3  # a plan: no fermata near
    assert phrase_places(100, [99])[0] == PHRASE_ROWS - 1  # 99 steps ahead: beyond hearing
    marks = fermata_marks(3, [[30, 10], None, []])
    assert marks[0, :3].tolist() == [10, 30, -1] and (marks[1] == -1).all()
    assert marks[2, 0] > 1e6  # a plan without fermatas is not "no plan"
    with pytest.raises(InputError, match="2 phrase plans for 3 streams"):
        fermata_marks(3, [[1], [2]])
    with pytest.raises(InputError, match="a fermata's step must be >= 0"):
        fermata_marks(1, [[-4]])
    with pytest.raises(InputError, match="a phrase plan of 129 fermatas"):
        fermata_marks(1, [list(range(0, 4 * 129, 4))])


@pytest.mark.parametrize("shifts", [(), (-1, 0, 1)])
def test_the_step_hears_the_plan_as_the_full_model_does(shifts: tuple[int, ...]) -> None:
    net = net_of("phrase_lstm", shifts=shifts)
    piece = phrased(10, seed=1)
    lead = net.network.lead_for(piece.pickup, piece.meter)
    ids = np.concatenate([np.zeros(lead, np.int32), net.vocab.encode(piece)])
    plan = [f + lead // 4 for f in piece.fermatas]
    step = compiled(step_fn(net))  # one program for every token (eager steps: test_generate)
    outputs = {}
    for name, fermatas in (("planned", [plan]), ("unplanned", None)):
        states = net.network.initial_state(1, "4/4", fermatas)
        stepped = []
        for index, token in enumerate(ids):
            logits, states = step(np.array([token], "int32"), np.int32(index), states)
            stepped.append(np.asarray(logits)[0])
        full = net.logits(net.network.encode(ids[None], "4/4", plan if fermatas else None))[0]
        np.testing.assert_allclose(np.array(stepped), full, atol=1e-4)
        outputs[name] = full
    assert not np.allclose(outputs["planned"], outputs["unplanned"], atol=1e-4)


def test_scores_read_a_pieces_fermatas_as_its_plan() -> None:
    piece = phrased(12, seed=2)
    phrase = net_of("phrase_lstm")
    with_plan, without = nll_per_piece(phrase, [piece, piece.replace(fermatas=())])
    assert with_plan != pytest.approx(without, abs=1e-6)
    meter = net_of("meter_lstm")  # a model that does not hear phrases: the same either way
    with_plan, without = nll_per_piece(meter, [piece, piece.replace(fermatas=())])
    assert with_plan == pytest.approx(without, abs=1e-6)


def test_with_phrases_keeps_the_predictions_and_refuses_other_models() -> None:
    meter = net_of("meter_lstm")
    phrase = meter.with_phrases()
    assert phrase.config.architecture == "phrase_lstm"
    assert phrase.count_params() == phrase.config.parameters
    piece = phrased(12, seed=3)
    assert nll_per_piece(phrase, piece)[0] == pytest.approx(
        nll_per_piece(meter, piece)[0], abs=1e-5
    )
    with pytest.raises(InputError, match="only a meter_lstm model becomes a phrase_lstm"):
        net_of("bar_lstm").with_phrases()


# --------------------------------------------------------------------------- training


def test_windows_carry_the_plan_and_drop_it_by_chance() -> None:
    vocab = Vocabulary()
    piece = phrased(40, seed=4)
    marks = [plan_codes(piece, 0)]
    planned = Windows([piece], vocab, length=64, transpose=0, marks=marks)
    x, y = next(planned.batches(batch_size=64))
    rows = x // (vocab.size * 8)  # the phrase row of each input token
    assert (rows > 0).all() and y.max() < vocab.size
    assert ((x % vocab.size)[:, 1:] == y[:, :-1]).all()
    starts = planned.plan(0)[:, 0]
    for window, start in zip(rows, starts, strict=True):
        expected = phrase_places(len(piece), piece.fermatas)
        assert window.tolist() == np.repeat(expected, 4)[start : start + 64].tolist()
    never = Windows([piece] * 8, vocab, length=64, transpose=0, marks=marks * 8, unplanned=1.0)
    assert (next(never.batches(batch_size=64))[0] < vocab.size).all()
    half = Windows([piece] * 40, vocab, length=64, transpose=0, marks=marks * 40, unplanned=0.5)
    read = (next(half.batches(batch_size=1000))[0] >= vocab.size).all(axis=1)
    assert 0.25 < read.mean() < 0.75
    if keras.backend.backend() == "tensorflow":  # the in-graph pipeline cuts the same windows
        x_tf, y_tf = next(iter(half.tf_dataset(batch_size=1000)))
        x_np, y_np = next(half.batches(batch_size=1000))
        assert (x_tf.numpy() == x_np).all() and (y_tf.numpy() == y_np).all()
    # without marks the plan draws what it always drew
    plain = Windows([piece] * 3, vocab, length=64, seed=2)
    marked = Windows([piece] * 3, vocab, length=64, seed=2, marks=marks * 3, unplanned=0.3)
    assert (plain.plan(1)[:, :3] == marked.plan(1)[:, :3]).all()
    with pytest.raises(InputError, match="give one code >= 0 per token"):
        Windows([piece], vocab, length=64, marks=[marks[0][:-4]])
    with pytest.raises(InputError, match="unplanned must be a chance"):
        Windows([piece], vocab, length=64, marks=marks, unplanned=1.5)


def test_hearing_the_plan_predicts_the_cadences() -> None:
    """Cadence chords stand where fermatas were placed at random: after the same training a
    phrase_lstm scores held-out pieces, read with their fermatas, better than a meter_lstm,
    and better than itself without them."""
    train = [phrased(40, seed=i) for i in range(32)]
    test = [phrased(40, seed=100 + i) for i in range(6)]
    config = TrainConfig(epochs=8, batch_size=16, learning_rate=0.02, transpose=0, seed=0)
    losses = {}
    for architecture in ("meter_lstm", "phrase_lstm"):
        net = net_of(architecture)
        net.fit(train, config=config, verbose=0)
        losses[architecture] = float(net.evaluate(test)["loss"])
        if architecture == "phrase_lstm":
            unplanned = [piece.replace(fermatas=()) for piece in test]
            losses["phrase_lstm, no plan"] = float(net.evaluate(unplanned)["loss"])
    assert losses["phrase_lstm"] < 0.7 * losses["meter_lstm"], losses
    assert losses["phrase_lstm"] < 0.7 * losses["phrase_lstm, no plan"], losses


def test_train_init_turns_a_meter_model_into_a_phrase_model(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for split, count in (("train", 6), ("valid", 2), ("test", 2)):
        for i in range(count):
            phrased(24, seed=i).write(data / f"{split}_{i}.musicxml")
    saved = net_of("meter_lstm").save_pretrained(tmp_path / "meter")
    args = ["train", "--init", str(saved), "--data", str(data), "--epochs", "1"]
    runner = CliRunner()
    result = runner.invoke(
        main, [*args, "-o", str(tmp_path / "run"), "--architecture", "phrase_lstm"]
    )
    assert result.exit_code == 0, result.output
    assert "as a phrase_lstm" in result.output
    loaded = BachNet.load(tmp_path / "run" / "model")
    assert loaded.config.architecture == "phrase_lstm"
    saved = net_of("bar_lstm").save_pretrained(tmp_path / "bar")
    args = ["train", "--init", str(saved), "--data", str(data), "--epochs", "1"]
    refused = runner.invoke(
        main, [*args, "-o", str(tmp_path / "no"), "--architecture", "phrase_lstm"]
    )
    assert refused.exit_code != 0
    assert "a bar_lstm model: only a meter_lstm can become a phrase_lstm" in refused.output


# --------------------------------------------------------------------------- generation


def test_a_phrase_plan_reaches_the_model_at_its_fermatas(monkeypatch: pytest.MonkeyPatch) -> None:
    net = net_of("phrase_lstm")
    seen = []
    decode = compose.decode

    def spy(model, ids, new_tokens, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((ids.shape[1], kwargs["fermatas"]))
        return decode(model, ids, new_tokens, *args, **kwargs)

    monkeypatch.setattr(compose, "decode", spy)
    pieces = net.generate(phrases=[8, 12], num_samples=2, seed=3)
    first, plans = seen[-1]
    offset = first // 4  # the silence before the piece, in steps
    for piece, plan in zip(pieces, plans, strict=True):
        # the fermatas the piece carries, its last chord's included, in the stream's steps
        assert [f - offset for f in plan] == list(piece.fermatas)


def test_harmonisation_and_fill_keep_the_given_fermatas(tmp_path: Path) -> None:
    import music21

    net = net_of("phrase_lstm")
    tune = phrased(16, seed=5)
    for method in ("rerank", "beam", "gibbs"):
        done = net.harmonize(tune, seed=0, method=method, candidates=2)
        assert done.fermatas == tune.fermatas, method
    filled = net.fill(tune, tune.mask(bars="2"), seed=0, candidates=2)
    assert filled.fermatas == tune.fermatas
    # a melody file's fermatas are read with it
    part = music21.stream.Part()
    for index, pitch in enumerate([72, 74, 76, 74, 72, 71, 72, 72]):
        note = music21.note.Note(pitch, quarterLength=1.0)
        if index in (3, 7):
            note.expressions.append(music21.expressions.Fermata())
        part.append(note)
    path = tmp_path / "tune.musicxml"
    part.write("musicxml", fp=str(path))
    assert net.harmonize(path, seed=0, candidates=2).fermatas == (12, 28)


def test_plans_of_any_size_share_one_loop() -> None:
    """A model that averages transpositions keeps its states' widths: a piece with many
    fermatas after one with few reuses the compiled loop (it once failed to retrace)."""
    net = net_of("phrase_lstm", shifts=(-1, 0, 1))
    few = phrased(16, seed=6)
    many = Chorale(np.repeat(few.chords, 5, axis=0), fermatas=range(4, 320, 12))
    assert len(many.fermatas) > 16
    for tune in (few, many, few.replace(fermatas=())):
        done = net.harmonize(tune, seed=0, candidates=2)
        assert done.fermatas == tune.fermatas
