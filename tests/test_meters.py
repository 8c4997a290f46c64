"""Tests for ``meter_lstm``: a model that knows the bar of each piece's own metre.

Backend-neutral: these tests also run with ``KERAS_BACKEND=jax`` (``nox -s tests_jax``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from bachnet import BachNet, Chorale, ModelConfig, TrainConfig, Vocabulary
from bachnet.apps.cli import main
from bachnet.errors import InputError
from bachnet.generation.config import GenerationConfig
from bachnet.generation.decoder import compiled, step_fn
from bachnet.model.scoring import nll_per_piece
from bachnet.music.grid import bar_steps
from bachnet.training.windows import Windows

TINY = dict(lstm_units=(16,), embedding_dim=8, dense_units=8, window=192, dropout=0.0)
CHORDS = [
    (72, 67, 64, 48),
    (74, 67, 62, 43),
    (72, 69, 65, 53),
    (71, 67, 62, 55),
    (69, 64, 60, 57),
    (76, 67, 60, 48),
]


def net_of(architecture: str, seed: int = 0) -> BachNet:
    keras.utils.set_random_seed(seed)
    return BachNet(ModelConfig(architecture=architecture, **TINY))  # type: ignore[arg-type]


def barred(meter: str, bars: int, seed: int, pickup: int = 0) -> Chorale:
    """A piece whose chord changes on every bar line of ``meter`` and only there."""
    rng = np.random.default_rng(seed)
    length = bar_steps(meter)
    chords = [CHORDS[int(rng.integers(len(CHORDS)))] for _ in range(bars + 1)]
    steps = [chords[0]] * pickup + [chord for chord in chords[1:] for _ in range(length)]
    return Chorale(steps, meter=meter, pickup=pickup)


# --------------------------------------------------------------------------- the network


def test_step_equals_the_full_model_in_every_metre() -> None:
    net = net_of("meter_lstm")
    step = compiled(step_fn(net))  # one program, the metre read from the state (eager: doctests)
    for meter in ("4/4", "3/4", "3/2"):
        piece = barred(meter, 1, seed=1, pickup=4)  # the lead, a pickup and a bar line
        lead = net.network.lead_for(piece.pickup, meter)
        ids = np.concatenate([np.zeros(lead, np.int32), net.vocab.encode(piece)])
        states = net.network.initial_state(1, meter)
        stepped = []
        for index, token in enumerate(ids):
            logits, states = step(np.array([token], "int32"), np.int32(index), states)
            stepped.append(np.asarray(logits)[0])
        full = net.logits(net.network.encode(ids[None], meter))[0]
        np.testing.assert_allclose(np.array(stepped), full, atol=1e-4)


def test_a_metre_reads_its_own_places_and_the_bar_lead_starts_on_its_bar_line() -> None:
    network = net_of("meter_lstm").network
    assert [network.bar_tokens(m) for m in ("4/4", "3/4", "3/2", "2/2", "6/8")] == [
        64,
        48,
        96,
        64,
        48,
    ]
    # a 3/4 piece with a one-beat pickup: two beats of silence put step 0 on a bar line
    assert network.lead_for(4, "3/4") == 32
    assert network.prefix_for(4, "3/4") == 32 and network.prefix_for(0, "3/4") == 0
    with pytest.raises(InputError, match="unknown time signature '5/4'"):
        network.lead_for(0, "5/4")
    # a model that does not know metres reads every piece as 4/4
    bar = net_of("bar_lstm").network
    assert bar.lead_for(4, "3/4") == 48 and bar.meter_code("3/4") == 0


def test_a_piece_scores_differently_in_another_metre() -> None:
    net = net_of("meter_lstm")
    piece = barred("3/4", 4, seed=2)
    as_three = nll_per_piece(net, piece)[0]
    as_four = nll_per_piece(net, piece.replace(meter="4/4"))[0]
    assert as_three != pytest.approx(as_four, abs=1e-6)
    # a bar_lstm does not read the metre
    bar = net_of("bar_lstm")
    assert nll_per_piece(bar, piece)[0] == pytest.approx(
        nll_per_piece(bar, piece.replace(meter="4/4"))[0], abs=1e-6
    )


# --------------------------------------------------------------------------- training


def test_windows_carry_each_pieces_metre_and_start_on_its_bar_lines() -> None:
    vocab = Vocabulary()
    three, four = barred("3/4", 12, seed=3), barred("4/4", 12, seed=4)
    windows = Windows(
        [three, four], vocab, length=100, transpose=0, align=[48, 64], lead=0, codes=[1, 0]
    )
    for epoch in range(5):
        for start, _, chorale, _ in windows.plan(epoch):
            offset = windows.offsets[chorale]
            assert (start - offset) % (48 if chorale == 0 else 64) == 0
    x, y = next(windows.batches(batch_size=64))
    rows = windows.plan(0)[:, 2]
    code = x // vocab.size
    assert (code[rows == 0] == 1).all() and (code[rows == 1] == 0).all()
    assert y.max() < vocab.size  # the targets stay plain ids
    assert ((x % vocab.size)[:, 1:] == y[:, :-1]).all()
    # a stride is rounded down to whole bars of each piece's metre
    strided = Windows([three, four], vocab, length=100, stride=100, align=[48, 64])
    assert strided.strides.tolist() == [96, 64]


def test_knowing_the_metre_predicts_its_bar_lines_better() -> None:
    """Pieces change chord on every bar line of their own metre, 3/4 and 4/4 mixed: after the
    same training, a meter_lstm scores held-out 3/4 pieces better than a bar_lstm, which
    places their bar lines as 4/4's."""
    train = [barred(m, 8, seed=i) for i in range(24) for m in ("3/4", "4/4")]
    test = [barred("3/4", 8, seed=100 + i) for i in range(6)]
    config = TrainConfig(epochs=10, batch_size=16, learning_rate=0.02, transpose=0, seed=0)
    losses = {}
    for architecture in ("bar_lstm", "meter_lstm"):
        net = net_of(architecture)
        net.fit(train, config=config, verbose=0)
        losses[architecture] = float(net.evaluate(test)["loss"])
    assert losses["meter_lstm"] < 0.85 * losses["bar_lstm"], losses


def test_with_meters_keeps_the_weights_and_refuses_other_models() -> None:
    bar = net_of("bar_lstm")
    meter = bar.with_meters()
    assert meter.config.architecture == "meter_lstm"
    piece = barred("4/4", 3, seed=5, pickup=4)
    assert nll_per_piece(meter, piece)[0] == pytest.approx(nll_per_piece(bar, piece)[0], abs=1e-5)
    with pytest.raises(InputError, match="only a bar_lstm model becomes a meter_lstm"):
        net_of("voice_lstm").with_meters()


def test_train_init_turns_a_bar_model_into_a_meter_model(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for split, count in (("train", 6), ("valid", 2), ("test", 2)):
        for i in range(count):
            piece = barred("3/4" if i % 2 else "4/4", 6, seed=i)
            piece.write(data / f"{split}_{i}.musicxml")
    saved = net_of("bar_lstm").save_pretrained(tmp_path / "bar")
    args = ["train", "--init", str(saved), "--data", str(data), "--epochs", "1"]
    runner = CliRunner()
    result = runner.invoke(
        main, [*args, "-o", str(tmp_path / "run"), "--architecture", "meter_lstm"]
    )
    assert result.exit_code == 0, result.output
    assert "as a meter_lstm" in result.output
    assert BachNet.load(tmp_path / "run" / "model").config.architecture == "meter_lstm"
    refused = runner.invoke(main, [*args, "-o", str(tmp_path / "no"), "--architecture", "lstm"])
    assert refused.exit_code != 0
    assert "can become a meter_lstm (from a bar_lstm) or a phrase_lstm" in refused.output
    assert "but not a lstm" in refused.output
    saved = net_of("voice_lstm").save_pretrained(tmp_path / "voice")
    args = ["train", "--init", str(saved), "--data", str(data), "--epochs", "1"]
    meter = ["--architecture", "meter_lstm"]
    refused = runner.invoke(main, [*args, "-o", str(tmp_path / "no2"), *meter])
    assert refused.exit_code != 0
    assert "a voice_lstm model: only a bar_lstm can become a meter_lstm" in refused.output


# --------------------------------------------------------------------------- generation


def test_generation_and_harmonisation_keep_the_metre(tmp_path: Path) -> None:
    net = net_of("meter_lstm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        piece = net.generate(steps=48, meter="3/4", seed=0)
        with_warnings = [str(w.message) for w in caught if "4/4 bar" in str(w.message)]
    assert piece.meter == "3/4" and not with_warnings
    tune = barred("3/4", 6, seed=6, pickup=4)
    for method in ("rerank", "beam"):
        done = net.harmonize(tune, seed=0, method=method, candidates=2)
        assert (done.meter, done.pickup) == ("3/4", 4), method
    filled = net.fill(tune, tune.mask(bars=2), seed=0, method="rerank", candidates=2)
    assert (filled.meter, filled.pickup) == ("3/4", 4)


def test_a_melody_files_metre_and_pickup_reach_the_harmonisation(tmp_path: Path) -> None:
    import music21

    from bachnet.formats import read_line

    part = music21.stream.Part()
    part.append(music21.meter.TimeSignature("3/4"))
    pickup = music21.stream.Measure(number=0)
    pickup.append(music21.note.Note(67, quarterLength=1))
    part.append(pickup)
    for number, pitches in enumerate(([72, 71, 69], [67, 69, 71], [72]), start=1):
        bar = music21.stream.Measure(number=number)
        for pitch in pitches:
            bar.append(music21.note.Note(pitch, quarterLength=3 / len(pitches)))
        part.append(bar)
    path = tmp_path / "tune.musicxml"
    part.write("musicxml", fp=str(path))
    line = read_line(path)
    assert (line.meter, line.pickup, len(line.pitches)) == ("3/4", 4, 40)
    done = net_of("meter_lstm").harmonize(path, seed=0, method="rerank", candidates=2)
    assert (done.meter, done.pickup) == ("3/4", 4)
    written = done.write(tmp_path / "done.musicxml")
    score = music21.converter.parse(str(written))
    signature = next(iter(score.recurse().getElementsByClass("TimeSignature")))
    assert signature.ratioString == "3/4"
    first = score.parts[0].getElementsByClass("Measure")[0]
    assert first.duration.quarterLength == 1  # the pickup bar stays a pickup


def test_the_tie_rule_watches_the_strong_beats_of_each_pieces_own_bar() -> None:
    """``tie``, hard, on an alto narrowed to two pitches: never held onto a strong beat of the
    piece's bar (4/4 and 3/4, with a pickup; the last bar, whose chord `harmonize` holds, left
    out), held there without it; a model that knows only the beat leaves the rule out."""
    net = net_of("meter_lstm")
    narrow = [(55, 81), (64, 65), (43, 72), (36, 64)]
    tie = [{"name": "tie", "weight": None, "voices": [1]}]
    for meter, strong in (("4/4", (0, 8)), ("3/4", (0,))):
        tune = barred(meter, 6, seed=3, pickup=4)
        bar = bar_steps(meter)
        places = [s for s in range(1, len(tune) - bar) if (s - 4) % bar in strong]
        held = {}
        for rules in (tie, None):
            done = net.harmonize(tune, seed=0, method="sample", rules=rules, voice_ranges=narrow)
            alto = done.chords[:, 1]
            held[rules is None] = sum(alto[s] == alto[s - 1] for s in places)
        assert held[False] == 0 and held[True] > 0, (meter, held)
    config = GenerationConfig(rules=tie)
    assert [r.name for r in config.rules_for(net, "3/4")][-1] == "tie"
    assert config.rules_for(net, "3/4")[-1].get_config()["meter"] == "3/4"
    assert "tie" not in [r.name for r in config.rules_for(net_of("beat_lstm"))]
