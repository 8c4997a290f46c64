"""Tests for the ``bachnet`` command line: help, generate (files, prompts, samplers), models."""

from __future__ import annotations

import json
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import shutil
import wave
from pathlib import Path

import keras
import music21
import numpy as np
import pytest
from click.testing import CliRunner, Result

from bachnet import BachNet, Chorale, Dataset, ModelConfig
from bachnet._version import __version__
from bachnet.apps.cli import main
from bachnet.data import JSB_ARCHIVE
from bachnet.generation.rules import DEFAULT_RULES


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny saved model that never writes silence (its logit bias for id 0 is -1000).

    Without rests a MIDI file keeps every step, so files read back step for step.
    """
    keras.utils.set_random_seed(0)
    net = BachNet(ModelConfig(lstm_units=(16, 12), embedding_dim=8, dense_units=8, window=32))
    layer = net.keras_model.get_layer("logits")
    kernel, bias = layer.get_weights()
    bias[0] = -1000.0
    layer.set_weights([kernel, bias])
    return net.save_pretrained(tmp_path_factory.mktemp("tiny") / "model")


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def generate(model: Path, *args: str | Path) -> Result:
    result = run("generate", "-m", model, *args)
    assert result.exit_code == 0, result.output
    return result


def csv_rows(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) - 1


def assert_usage_error(result: Result, *fragments: str) -> None:
    """Exit code 2, one ``Error:`` line naming the problem, no traceback."""
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0]
    assert "Traceback" not in result.output


def test_help_and_version() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("generate", "models", "train", "evaluate", "calibrate"):
        assert command in result.output
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"bachnet, version {__version__}"
    result = run("generate", "--help")
    assert result.exit_code == 0
    for option in ("--out", "--model", "--steps", "--sampler", "--top-k", "--top-p", "--prompt"):
        assert option in result.output


def test_generate_writes_midi_musicxml_and_csv(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "a"
    outputs = ["-o", out / "out.mid", "-o", out / "out.musicxml", "-o", out / "out.csv"]
    result = generate(tiny_model, *outputs, "--steps", "16", "--seed", "1")
    # 16 steps, then a beat on the dominant from step 20 (the final chord on beat 3 of bar 2,
    # a half note) or from step 28 (the final chord on beat 1 of bar 3, a whole note)
    lengths = re.findall(r"\((\d+) steps, (\d+) quarter notes\)", result.output)
    assert len(lengths) == 3 and len(set(lengths)) == 1
    steps = int(lengths[0][0])
    assert steps in (32, 48) and int(lengths[0][1]) == steps // 4
    assert csv_rows(out / "out.csv") == steps
    written = Chorale.read(out / "out.csv")
    for name in ("out.mid", "out.musicxml"):
        score = music21.converter.parse(str(out / name))
        assert [part.partName for part in score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
        last = max(n.offset + n.quarterLength for n in score.flatten().notes)
        assert float(last) == steps / 4  # whole bars: no rest fills the last one
        assert Chorale.read(out / name) == written
    assert (out / "out.musicxml").read_text(encoding="utf-8").count("<fermata") == 4
    plain = generate(tiny_model, "-o", out / "plain.csv", "--steps", "16", "--no-cadence")
    assert "(16 steps, 4 quarter notes)" in plain.output


def test_generate_with_phrases(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "phrased.musicxml"
    result = generate(tiny_model, "-o", out, "--phrases", "8,8,12,8", "--seed", "2")
    assert "(148 steps, 37 quarter notes)" in result.output, result.output
    piece = Chorale.read(out)
    assert (piece.pickup, piece.fermatas) == (4, (28, 60, 108, 140))
    # a fermata in each of the four parts at each of the four phrase ends
    assert out.read_text(encoding="utf-8").count("<fermata") == 16
    auto = generate(tiny_model, "-o", tmp_path / "auto.csv", "--phrases", "auto", "--steps", "64")
    assert auto.exit_code == 0, auto.output
    bad = run("generate", "-m", tiny_model, "-o", tmp_path / "bad.csv", "--phrases", "8,eight")
    assert bad.exit_code == 2 and "give phrase lengths in quarters" in bad.output


def test_generate_with_fermatas_placed_by_bar_and_beat(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "placed.musicxml"
    result = generate(tiny_model, "-o", out, "--fermatas", "2.3,4.3,7.1", "--seed", "2")
    assert "(116 steps, 29 quarter notes)" in result.output, result.output  # held to the bar line
    assert Chorale.read(out).fermatas == (28, 60, 100)
    for spec, says in (
        ("2.3,1.3", "give them in order"),
        ("2.3.1", "give bar.beat"),
        ("2.3,2.4", "its phrase would be 1 quarters long"),
    ):
        bad = run("generate", "-m", tiny_model, "-o", tmp_path / "b.csv", "--fermatas", spec)
        assert bad.exit_code != 0 and says in bad.output, bad.output
    both = run("generate", "-m", tiny_model, "-o", tmp_path / "b.csv", "--phrases", "8",
               "--fermatas", "2.3")  # fmt: skip
    assert both.exit_code == 2 and "not both" in both.output
    waltz = generate(tiny_model, "-o", tmp_path / "w.musicxml", "--meter", "3/4", "--steps", "48")
    assert waltz.exit_code == 0, waltz.output
    assert Chorale.read(tmp_path / "w.musicxml").meter == "3/4"
    bar = generate(tiny_model, "-o", tmp_path / "bar.csv", "--form", "AAB", "--phrases", "8,8,8")
    assert bar.exit_code == 0, bar.output
    rows = Chorale.read(tmp_path / "bar.csv").chords
    assert (rows[:64] == rows[64:128]).all()


def test_seed_makes_output_repeatable(tiny_model: Path, tmp_path: Path) -> None:
    for folder, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        out = tmp_path / folder
        generate(tiny_model, "-o", out / "x.mid", "-o", out / "x.musicxml", "-o", out / "x.csv",
                 "--steps", "16", "--seed", seed)  # fmt: skip
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert (a / "x.mid").read_bytes() == (b / "x.mid").read_bytes()
    assert (a / "x.csv").read_bytes() == (b / "x.csv").read_bytes()
    # music21 gives MusicXML parts random ids, so compare the music, not the bytes.
    assert Chorale.read(a / "x.musicxml") == Chorale.read(b / "x.musicxml")
    assert (a / "x.csv").read_bytes() != (c / "x.csv").read_bytes()


def test_num_samples_numbers_the_files(tiny_model: Path, tmp_path: Path) -> None:
    generate(tiny_model, "-n", "2", "-o", tmp_path / "out.mid", "-o", tmp_path / "out.csv",
             "--steps", "8", "--seed", "2", "--sampler", "top_k", "--top-k", "3",
             "--no-cadence")  # fmt: skip
    names = sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".mid", ".csv"))
    assert names == ["out-1.csv", "out-1.mid", "out-2.csv", "out-2.mid"]
    assert Chorale.read(tmp_path / "out-1.mid") == Chorale.read(tmp_path / "out-1.csv")
    one, two = (Chorale.read(tmp_path / f"out-{i}.csv") for i in (1, 2))
    assert len(one) == len(two) == 8
    assert one != two


def test_prompt_from_a_csv_file(tiny_model: Path, tmp_path: Path) -> None:
    prompt = Chorale([[72, 67, 64, 48]] * 4 + [[74, 67, 62, 43]] * 4 + [[72, 64, 55, 48]] * 4)
    prompt_file = prompt.write(tmp_path / "prompt.csv")
    common = ["--prompt", prompt_file, "--prompt-steps", "8", "--steps", "8", "--seed", "3"]
    common.append("--no-cadence")
    generate(tiny_model, "-o", tmp_path / "with.csv", *common)
    generate(tiny_model, "-o", tmp_path / "new.csv", *common, "--no-prompt-in-output")
    with_prompt = Chorale.read(tmp_path / "with.csv")
    new_only = Chorale.read(tmp_path / "new.csv")
    assert len(with_prompt) == 16 and len(new_only) == 8
    np.testing.assert_array_equal(with_prompt.chords[:8], prompt.chords[:8])
    np.testing.assert_array_equal(with_prompt.chords[8:], new_only.chords)


def test_prompt_from_the_jsb_test_split(
    tiny_model: Path, tmp_path: Path, cache_dir: Path, jsb_archive: Path, jsb_dataset: Dataset
) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(jsb_archive, cache_dir / JSB_ARCHIVE)
    out = tmp_path / "out.csv"
    generate(tiny_model, "-o", out, "--prompt", "test:0", "--prompt-steps", "8", "--steps", "8",
             "--no-cadence")  # fmt: skip
    piece = Chorale.read(out)
    assert len(piece) == 16
    np.testing.assert_array_equal(piece.chords[:8], jsb_dataset.split("test")[0].chords[:8])
    assert_usage_error(
        run("generate", "-m", tiny_model, "-o", out, "--prompt", "test:999"), "'test:999'"
    )
    assert_usage_error(
        run("generate", "-m", tiny_model, "-o", out, "--prompt", "nosuchsplit:0"), "nosuchsplit"
    )


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        (["--sampler", "greedy", "--top-k", "3"], ["sampler 'greedy' takes no --top-k"]),
        (["--sampler", "greedy", "--temperature", "2"], ["takes no --temperature"]),
        (["--top-p", "1.5"], ["'--top-p'", "1.5"]),
        (["--top-k", "0"], ["'--top-k'"]),
        (["--temperature", "0"], ["'--temperature'"]),
        (["--steps", "0"], ["'--steps'"]),
        (["-n", "0"], ["'-n'"]),
        (
            ["--sampler", "bogus"],
            ["unknown sampler 'bogus'", "greedy, nucleus, sampling, temperature, top_k, top_p"],
        ),
        (["-o", "x.mp3"], ["x.mp3: unknown suffix", ".mid, .midi, .musicxml, .xml, .csv, .wav"]),
    ],
)
def test_bad_options_fail_with_one_line(
    tiny_model: Path, tmp_path: Path, options: list[str], fragments: list[str]
) -> None:
    outputs = [] if "-o" in options else ["-o", str(tmp_path / "out.mid")]
    assert_usage_error(run("generate", "-m", tiny_model, *outputs, *options), *fragments)
    assert not list(tmp_path.iterdir())


def test_missing_prompt_file(tiny_model: Path, tmp_path: Path) -> None:
    result = run("generate", "-m", tiny_model, "-o", tmp_path / "out.mid", "--prompt", "nope.csv")
    assert_usage_error(result, "'--prompt'", "nope.csv")


def test_prompt_outside_the_vocabulary(tiny_model: Path, tmp_path: Path) -> None:
    prompt = Chorale([[90, 67, 64, 48]] * 4).write(tmp_path / "high.csv")
    result = run("generate", "-m", tiny_model, "-o", tmp_path / "out.mid", "--prompt", prompt)
    assert result.exit_code == 1, result.output
    assert "Error:" in result.output and "outside the vocabulary" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.mid").exists()


def test_missing_model_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    result = run("generate", "-m", missing, "-o", tmp_path / "out.mid", "--steps", "4")
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error:")
    assert str(missing) in result.output and "not a model folder" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.mid").exists()


def test_models_lists_presets() -> None:
    result = run("models")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


def test_generate_writes_audio_score_and_piano_roll(tiny_model: Path, tmp_path: Path) -> None:
    pytest.importorskip("verovio")
    pytest.importorskip("matplotlib")
    from bachnet.formats.audio import AudioUnavailableError, require

    try:
        require()
        audio = True
    except (AudioUnavailableError, FileNotFoundError):
        audio = False
    outputs = ["-o", tmp_path / "c.svg", "-o", tmp_path / "c.roll.png", "-o", tmp_path / "c.csv"]
    if audio:
        outputs += ["-o", tmp_path / "c.wav"]
    result = generate(tiny_model, *outputs, "--steps", "16", "-n", "2", "--seed", "1")
    for number in (1, 2):
        assert (tmp_path / f"c-{number}.svg").read_text(encoding="utf-8").count("<svg") >= 1
        assert (tmp_path / f"c-{number}.roll.png").read_bytes()[:4] == b"\x89PNG"
        if audio:
            with wave.open(str(tmp_path / f"c-{number}.wav")) as read:
                seconds = read.getnframes() / read.getframerate()
            quarters = Chorale.read(tmp_path / f"c-{number}.csv").duration
            assert seconds == pytest.approx(quarters * 60 / 72 + 1.0, abs=0.01)  # --tempo 72
    assert result.output.count("wrote ") == 2 * (len(outputs) // 2)


def test_missing_extra_is_named_before_any_work(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bachnet.formats import audio

    def missing(*args: object, **kwargs: object) -> None:
        raise audio.AudioUnavailableError("audio needs the audio extra (pip install ...)")

    monkeypatch.setattr(audio, "require", missing)
    result = run("generate", "-m", tiny_model, "-o", tmp_path / "c.wav", "--steps", "16")
    assert result.exit_code == 1 and "cannot write" in result.output
    assert "audio extra" in result.output and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


def test_calibrate_fits_on_valid_and_saves_a_model_that_scores_better(
    tiny_model: Path, tmp_path: Path, tiny_chorales: list[Chorale]
) -> None:
    data = tmp_path / "csv"
    for split, pieces in {
        "train": tiny_chorales[:1],
        "valid": tiny_chorales[1:],
        "test": tiny_chorales,
    }.items():
        (data / split).mkdir(parents=True)
        for number, piece in enumerate(pieces):
            (data / split / f"{number}.csv").write_text(piece.to_csv(), encoding="utf-8")
    out = tmp_path / "calibrated"
    result = run("calibrate", tiny_model, "-o", out, "--data", data)
    assert result.exit_code == 0, result.output
    found = re.search(r"valid: temperature ([0-9.]+); loss ([0-9.]+) -> ([0-9.]+)", result.output)
    assert found, result.output
    temperature, before, after = (float(value) for value in found.groups())
    assert temperature != 1.0 and after < before
    original, calibrated = BachNet.from_pretrained(tiny_model), BachNet.from_pretrained(out)
    valid = Dataset.from_folder(data).split("valid")
    assert calibrated.evaluate(valid)["loss"] == pytest.approx(after, abs=6e-5)
    assert original.evaluate(valid)["loss"] == pytest.approx(before, abs=6e-5)
    test = calibrated.evaluate(Dataset.from_folder(data).split("test"))
    assert calibrated.metadata["metrics"]["test"]["loss"] == round(test["loss"], 4)
    assert calibrated.metadata["calibration"]["command"].startswith("bachnet calibrate")
    assert_usage_error(
        run("calibrate", tiny_model, "-o", tmp_path / "x", "--split", "test"), "--split"
    )


def test_train_defaults_are_the_default_presets_recipe() -> None:
    """`bachnet train -o run` trains what the bundled default is, not the original BachNet."""
    from bachnet.model.pretrained import get_preset

    options = {p.name: p.default for p in main.commands["train"].params}
    config = BachNet.from_pretrained().config
    assert options["architecture"] == config.architecture == "meter_lstm"
    units = tuple(int(u) for u in str(options["lstm_units"]).split(","))
    assert units == config.lstm_units
    assert options["dropout"] == config.dropout
    assert options["embedding_dim"] == config.embedding_dim
    assert options["dense_units"] == config.dense_units
    assert options["window"] == config.window
    assert get_preset(None).name == "jsb-lean"
    assert config.shifts == () and options["shifts"] is None  # it reads each piece once


def test_strict_rules_on_the_command_line(tiny_model: Path, tmp_path: Path) -> None:
    """--strict bans what the default only penalises; --strict with --no-rules is an error."""
    from bachnet.music import metrics

    out = tmp_path / "strict.csv"
    generate(tiny_model, "-o", out, "--steps", "48", "--seed", "2", "--strict", "--no-cadence")
    piece = Chorale.read(out)
    assert metrics.parallel_fifths(piece) == metrics.parallel_octaves(piece) == 0.0
    assert metrics.voice_crossing(piece) == 0.0
    both = run("generate", "-m", tiny_model, "-o", tmp_path / "x.csv", "--strict", "--no-rules")
    assert both.exit_code == 2 and "--no-rules and --strict exclude each other" in both.output


def test_rules_on_the_command_line(tiny_model: Path, tmp_path: Path) -> None:
    """--rules takes names, JSON or a .json file and writes what the API writes with the same
    rules; a bad spec is a usage error that names the problem."""
    specs = [{"name": "voice_crossing"}, {"name": "parallel_fifths", "weight": 2.0}]
    net = BachNet.from_pretrained(tiny_model)
    expected = net.generate(steps=48, seed=3, rules=specs, cadence=False).chords
    loose = net.generate(steps=48, seed=3, rules=None, cadence=False).chords
    assert not np.array_equal(expected, loose)  # the rules change this piece
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps(specs), encoding="utf-8")
    for number, spec in enumerate([json.dumps(specs), str(rules_file)]):
        out = tmp_path / f"ruled{number}.csv"
        generate(tiny_model, "-o", out, "--steps", "48", "--seed", "3", "--no-cadence",
                 "--rules", spec)  # fmt: skip
        assert np.array_equal(Chorale.read(out).chords, expected)
    out = tmp_path / "named.csv"
    generate(tiny_model, "-o", out, "--steps", "48", "--seed", "3", "--no-cadence",
             "--rules", "voice_crossing, leap")  # fmt: skip
    named = net.generate(steps=48, seed=3, rules=["voice_crossing", "leap"], cadence=False)
    assert np.array_equal(Chorale.read(out).chords, named.chords)
    out = tmp_path / "more.csv"  # a set's name in a list stands for its rules
    generate(tiny_model, "-o", out, "--steps", "48", "--seed", "3", "--no-cadence",
             "--rules", "default,spacing", "--particles", "3")  # fmt: skip
    more = net.generate(
        steps=48, seed=3, rules=[*DEFAULT_RULES, "spacing"], cadence=False, particles=3
    )
    assert np.array_equal(Chorale.read(out).chords, more.chords)
    out = tmp_path / "particles.csv"  # the set for pieces drawn with particles, by name
    generate(tiny_model, "-o", out, "--steps", "48", "--seed", "3", "--no-cadence",
             "--rules", "particles", "--particles", "3")  # fmt: skip
    spelled = [
        *DEFAULT_RULES,
        {"name": "leap", "weight": 1.0, "voices": [3], "intervals": [5, 7]},
        {"name": "eighth_motion", "weight": 0.5},
    ]
    by_hand = net.generate(steps=48, seed=3, rules=spelled, cadence=False, particles=3)
    assert np.array_equal(Chorale.read(out).chords, by_hand.chords)
    out = tmp_path / "none.csv"
    generate(tiny_model, "-o", out, "--steps", "48", "--seed", "3", "--no-cadence",
             "--rules", "none")  # fmt: skip
    assert np.array_equal(Chorale.read(out).chords, loose)
    bad = tmp_path / "bad.csv"
    for spec, fragment in [
        ("voice_crosing", "unknown rule 'voice_crosing'"),
        ("particle", "rule sets: default, strict, harmonize, particles"),
        ("[{", "not valid JSON"),
        ("3", "unknown rule '3'"),
        ('[{"name": "leap", "weight": -1}]', "weight must be"),
        (str(tmp_path / "missing.json"), "no such JSON file"),
    ]:
        result = run("generate", "-m", tiny_model, "-o", bad, "--rules", spec)
        assert_usage_error(result, "--rules", fragment)
    result = run("fill", "test:0", "--bars", "2", "-o", bad, "--rules", "leap", "--no-rules")
    assert_usage_error(result, "--rules and --no-rules exclude each other")
    assert not bad.exists()


@pytest.mark.parametrize(("key", "sharps"), [("Eb", -3), ("A", 3)])
def test_generate_writes_the_score_in_the_key_asked_for(
    tiny_model: Path, tmp_path: Path, key: str, sharps: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--key sets the score's signature, whatever key analysis would find (here it is made
    to find C major, as it may for a piece that wanders)."""
    from bachnet.formats import music21 as writer
    from bachnet.music.keys import Key

    monkeypatch.setattr(writer, "find_key", lambda chords: Key.parse("C"))
    out = tmp_path / "piece.musicxml"
    generate(tiny_model, "-o", out, "--steps", "32", "--seed", "4", "--key", key)
    score = music21.converter.parse(str(out))
    assert {k.sharps for k in score.recurse().getElementsByClass("KeySignature")} == {sharps}
    generate(tiny_model, "-o", out, "--steps", "32", "--seed", "4")  # no --key: analysis's
    score = music21.converter.parse(str(out))
    assert {k.sharps for k in score.recurse().getElementsByClass("KeySignature")} == {0}
