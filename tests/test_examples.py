"""The example scripts in ``examples/`` (and the docs' excerpt script) run end to end.

Each script runs as a subprocess of ``sys.executable`` with tiny settings. Nothing touches the
network: the data is a folder of a few short JSB chorales written from the shared archive,
``BACHNET_DATA_DIR`` is an empty temporary folder and ``BACHNET_MIRROR`` points at a closed
loopback port, so an accidental download fails at once. ``train_on_csv.py`` trains the tiny
model that the other scripts load.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bachnet import Chorale, Dataset

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXCERPT_SCRIPT = ROOT / "docs" / "scripts" / "excerpt.py"
TESTED = {"train_on_csv.py", "evaluate_model.py", "generate_with_samplers.py", "sampler_plugin.py"}
SPLITS = {"train": 6, "valid": 2, "test": 2}
STEPS = 8


class Script:
    """A script started in the background; `result` waits for it and checks its exit status."""

    def __init__(self, script: Path, *args: str | Path, cwd: Path) -> None:
        env = {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "CUDA_VISIBLE_DEVICES": "",
            "MPLBACKEND": "Agg",
            "BACHNET_DATA_DIR": str(cwd / "cache"),
            "BACHNET_MIRROR": "http://127.0.0.1:9",  # the discard port: nothing listens
        }
        self.name = script.name
        self.process = subprocess.Popen(
            [sys.executable, str(script), *map(str, args)],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self) -> str:
        """The script's stdout, once it has exited with status 0."""
        try:
            stdout, stderr = self.process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = self.process.communicate()
        assert self.process.returncode == 0, (
            f"{self.name} exited with {self.process.returncode}\n"
            f"--- stdout\n{stdout}\n--- stderr\n{stderr[-4000:]}"
        )
        return stdout


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("examples")


@pytest.fixture(scope="module")
def csv_folder(jsb_dataset: Dataset, workspace: Path) -> Path:
    """``train/``, ``valid/`` and ``test/`` folders holding the shortest JSB chorales."""
    folder = workspace / "csv"
    for split, count in SPLITS.items():
        (folder / split).mkdir(parents=True)
        for chorale in sorted(jsb_dataset.split(split), key=len)[:count]:
            (folder / split / f"{chorale.name}.csv").write_text(chorale.to_csv(), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def trained(csv_folder: Path, workspace: Path) -> tuple[Path, str]:
    """``train_on_csv.py --tiny``: the output folder and the script's stdout."""
    out = workspace / "trained"
    args = ("--data", csv_folder, "--out", out, "--tiny", "--epochs", "2", "--steps", STEPS)
    return out, Script(EXAMPLES / "train_on_csv.py", *args, cwd=workspace).result()


SCRIPT_TESTS = {
    "evaluate": "test_evaluate_model",
    "samplers": "test_generate_with_samplers",
    "plugin": "test_sampler_plugin",
    "excerpt": "test_docs_excerpt_script",
}
"""Which test reads each script's result: a script whose test is not selected (``-m 'not
slow'``) is not started."""


@pytest.fixture(scope="module")
def started(
    request: pytest.FixtureRequest, trained: tuple[Path, str], csv_folder: Path, workspace: Path
) -> Iterator[dict[str, Script]]:
    """The scripts that load the tiny model and whose tests run, started at once so that they
    run side by side."""
    selected = {item.name for item in request.session.items if item.path == Path(__file__)}
    model = trained[0] / "model"
    common = ("--model", model, "--steps", STEPS)
    starts = {
        "evaluate": lambda: Script(
            EXAMPLES / "evaluate_model.py",
            *("--model", model, "--data", csv_folder, "--split", "test", "--json"),
            cwd=workspace,
        ),
        "samplers": lambda: Script(
            EXAMPLES / "generate_with_samplers.py",
            *common,
            *("--out", workspace / "samplers", "--format", "csv"),
            cwd=workspace,
        ),
        "plugin": lambda: Script(
            EXAMPLES / "sampler_plugin.py",
            *common,
            *("--out", workspace / "plugin", "--p", "0.05"),
            cwd=workspace,
        ),
    }
    if importlib.util.find_spec("matplotlib") is not None:
        starts["excerpt"] = lambda: Script(
            EXCERPT_SCRIPT,
            *("--model", model, "--out", workspace / "excerpt", "--steps", "16", "--seed", "3"),
            cwd=workspace,
        )
    scripts = {name: start() for name, start in starts.items() if SCRIPT_TESTS[name] in selected}
    yield scripts
    for script in scripts.values():  # a failed test must not leave a process behind
        if script.process.poll() is None:
            script.process.kill()
            script.process.communicate()


def test_every_example_is_tested() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} == TESTED


def test_train_on_csv(trained: tuple[Path, str]) -> None:
    out, stdout = trained
    assert "trained 2 epochs" in stdout
    assert (out / "run" / "state.json").is_file()  # the resumable run folder
    document = json.loads((out / "model" / "config.json").read_text(encoding="utf-8"))
    assert (out / "model" / document["weights"]["file"]).is_file()
    assert document["model"]["lstm_units"] == [32]
    assert set(document["metadata"]["metrics"]) == {"test"}
    assert (out / "sample.mid").stat().st_size > 0
    sample = Chorale.from_csv(out / "sample.csv")
    assert STEPS <= len(sample) <= STEPS + 35  # with its cadence, steps is a minimum
    assert len(sample) % 16 == 0  # the final chord fills its bar


@pytest.mark.slow  # a whole training run or process: CI's nox -s slow
def test_evaluate_model(
    started: dict[str, Script], trained: tuple[Path, str], csv_folder: Path
) -> None:
    out, _ = trained
    metrics = json.loads(started["evaluate"].result().strip().splitlines()[-1])
    test = Dataset.from_folder(csv_folder).split("test")
    assert metrics["split"] == "test"
    assert metrics["chorales"] == SPLITS["test"]
    assert metrics["tokens"] == sum(4 * len(c) - 1 for c in test)
    assert math.isclose(metrics["perplexity"], math.exp(metrics["loss"]), rel_tol=1e-9)
    assert 0.0 <= metrics["accuracy"] <= 1.0
    # The same figures as train_on_csv.py recorded in the model's metadata.
    document = json.loads((out / "model" / "config.json").read_text(encoding="utf-8"))
    assert document["metadata"]["metrics"]["test"]["loss"] == pytest.approx(
        metrics["loss"], abs=1e-4
    )


@pytest.mark.slow  # a whole training run or process: CI's nox -s slow
def test_generate_with_samplers(started: dict[str, Script], workspace: Path) -> None:
    stdout = started["samplers"].result()
    target = workspace / "samplers"
    names = ["greedy", "temperature", "top_k", "top_p", "sampling"]
    assert sorted(p.stem for p in target.glob("*.csv")) == sorted(names)
    for name in names:
        assert STEPS <= len(Chorale.from_csv(target / f"{name}.csv")) <= STEPS + 35
        assert any(line.startswith(name) for line in stdout.splitlines())
    assert "keeps  5 ids" in stdout  # top_k with k=5


def test_sampler_plugin(started: dict[str, Script], workspace: Path) -> None:
    stdout = started["plugin"].result()
    target = workspace / "plugin"
    assert "registered: MinP(p=0.05)" in stdout
    assert "keeps ids [0 1 2]" in stdout
    assert sorted(p.name for p in target.iterdir()) == ["min_p-0.05.mid", "min_p-default.mid"]


def test_docs_excerpt_script(started: dict[str, Script], workspace: Path) -> None:
    if "excerpt" not in started:
        pytest.skip("the excerpt script needs matplotlib")
    started["excerpt"].result()
    target = workspace / "excerpt"
    assert (target / "excerpt.png").read_bytes().startswith(b"\x89PNG")
    assert (target / "excerpt.mid").read_bytes().startswith(b"MThd")
    fragment = (target / "excerpt.md").read_text(encoding="utf-8")
    assert "](assets/excerpt.png)" in fragment
    assert fragment.count("\n| ") == 2 + 16  # header, alignment row, one row per step
