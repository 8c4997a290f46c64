"""Every error bachnet raises on purpose is a `BachNetError`: real errors, raised by each module."""

from __future__ import annotations

import ast
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import bachnet
from bachnet import BachNetError, Chorale, ModelConfig, TrainConfig, Vocabulary
from bachnet.data import Dataset, fetch, safe_extract
from bachnet.data.reference import compare
from bachnet.errors import InputError, InputTypeError, NotFoundError
from bachnet.formats import lookup
from bachnet.generation import rules, samplers
from bachnet.generation.config import GenerationConfig
from bachnet.model.pretrained import get_preset
from bachnet.music import metrics
from bachnet.music.keys import Key, find_key
from bachnet.music.ranges import VoiceRanges
from bachnet.training.run_folder import run_settings
from bachnet.training.windows import Windows

SRC = Path(bachnet.__file__).parent


def _archive_with_escape(tmp_path: Path) -> Path:
    payload = tmp_path / "x.txt"
    payload.write_text("x")
    archive = tmp_path / "bad.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(payload, arcname="../escape.txt")
    return archive


CASES: dict[str, Callable[[Path], object]] = {
    "music.keys": lambda _: Key.parse("H major"),
    "music.keys (silence)": lambda _: find_key(Chorale([[0, 0, 0, 0]])),
    "music.chorale": lambda _: Chorale([[72, 67, 64]]),
    "music.vocab": lambda _: Vocabulary().encode(Chorale([[120, 67, 64, 48]])),
    "music.ranges": lambda _: VoiceRanges(((60, 50), (52, 74), (46, 69), (36, 66))),
    "music.metrics": lambda _: metrics.measure([]),
    "formats": lambda tmp: lookup(tmp / "piece.docx", "write"),
    "formats (read)": lambda tmp: Chorale.read(tmp / "missing.mid"),
    "data.download": lambda _: fetch("not-in-the-registry.tgz"),
    "data.download (unsafe archive)": lambda tmp: safe_extract(
        _archive_with_escape(tmp), tmp / "out"
    ),
    "data.corpus": lambda tmp: Dataset.from_folder(tmp / "nowhere"),
    "data.corpus (split)": lambda _: Dataset([Chorale([[72, 67, 64, 48]])]).split("valid"),
    "data.reference": lambda _: compare({"a": [Chorale([[72, 67, 64, 48]] * 4)]}, {"a": []}),
    "model.config": lambda _: ModelConfig(lstm_units=()),
    "model.config (train)": lambda _: TrainConfig(epochs=0),
    "model.pretrained": lambda _: get_preset("no-such-preset"),
    "model.saving": lambda tmp: bachnet.BachNet.load(tmp),
    "training.windows": lambda _: Windows(
        [Chorale([[72, 67, 64, 48]] * 8)], Vocabulary(), length=0
    ),
    "training.run_folder": lambda tmp: run_settings(tmp),
    "generation.samplers": lambda _: samplers.get("no-such-sampler"),
    "generation.samplers (option)": lambda _: samplers.get({"name": "top_k", "k": 0}),
    "generation.rules": lambda _: rules.get_rules(["no-such-rule"]),
    "generation.config": lambda _: GenerationConfig(steps=0),
    "net": lambda _: bachnet.BachNet(ModelConfig(vocab_size=10)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_module_raises_a_bachnet_error(case: str, tmp_path: Path) -> None:
    with pytest.raises(BachNetError) as caught:
        CASES[case](tmp_path)
    assert str(caught.value), "the message names the problem"


def test_the_old_built_in_bases_still_catch() -> None:
    with pytest.raises(ValueError):
        Key.parse("H major")
    with pytest.raises(KeyError):
        Dataset([Chorale([[72, 67, 64, 48]])]).split("valid")
    with pytest.raises(TypeError):
        metrics.measure([np.zeros((4, 4))])  # type: ignore[list-item]
    assert issubclass(NotFoundError, InputError) and issubclass(InputTypeError, InputError)
    assert str(NotFoundError("no split 'x'")) == "no split 'x'"  # no KeyError quotes


def test_no_bare_built_in_raises_in_the_library() -> None:
    """A user-facing `raise ValueError/TypeError/KeyError` has a `BachNetError` subclass."""
    bare = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = ast.unparse(node.exc.func)
                if name in {"ValueError", "TypeError", "KeyError"}:
                    bare.append(f"{path.relative_to(SRC)}:{node.lineno} {name}")
    assert not bare, bare
