"""Presets: the bundled default (hash-checked, offline), remote presets through pooch."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from bachnet import BachNet, DownloadError, ModelConfig, ModelFileError, presets
from bachnet.core.files import sha256_of

preset_module = __import__("bachnet.model.pretrained", fromlist=["resolve"])

TINY = ModelConfig(lstm_units=(16,), embedding_dim=8, dense_units=8, window=32)


def _tiny_zip(tmp_path: Path) -> tuple[Path, str, BachNet]:
    keras.utils.set_random_seed(3)
    net = BachNet(TINY)
    folder = net.save_pretrained(tmp_path / "tiny-model")
    archive = tmp_path / "served" / "tiny-remote.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in folder.iterdir():
            zipped.write(file, f"tiny-model/{file.name}")
    return archive, sha256_of(archive), net


def _register_remote(monkeypatch: pytest.MonkeyPatch, url: str, sha256: str, size: int = 1) -> None:
    """Make the registry hold one remote preset, ``tiny-remote``, and nothing else."""
    entry = {"description": "test", "size": size, "url": url, "sha256": sha256}
    index = {"default": None, "presets": {"tiny-remote": entry}}
    monkeypatch.setattr(preset_module, "_index", lambda: index)


# --------------------------------------------------------------------------- the default
def test_default_preset_is_registered_and_bundled() -> None:
    default = [p for p in presets() if p.default]
    assert len(default) == 1 and default[0].bundled
    preset = default[0]
    assert set(preset.files) == {"config.json", "model.weights.h5"}
    assert preset.size <= 25_000_000
    assert preset.metrics["test"]["loss"] > 0
    folder = preset_module.bundled_root() / preset.name
    for file, digest in preset.files.items():
        assert sha256_of(folder / file) == digest


def test_default_preset_loads_offline_and_checks_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    real = preset_module.sha256_of
    monkeypatch.setattr(
        preset_module, "sha256_of", lambda p: checked.append(Path(p).name) or real(p)
    )
    monkeypatch.setenv("BACHNET_MIRROR", "http://127.0.0.1:9")  # nothing may be fetched
    net = BachNet.from_pretrained()
    assert "model.weights.h5" in checked and "config.json" in checked
    assert net.count_params() > 0


@pytest.fixture
def bundled_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled presets folder that a test may damage."""
    copy = tmp_path / "presets"
    shutil.copytree(preset_module.bundled_root(), copy)
    monkeypatch.setattr(preset_module, "bundled_root", lambda: copy)
    return copy / next(p.name for p in presets() if p.default)


def test_tampered_bundled_weights_are_refused(bundled_copy: Path) -> None:
    weights = bundled_copy / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(
        ModelFileError, match=r"model\.weights\.h5 has sha256 .* truncated or was modified"
    ):
        BachNet.from_pretrained()


def test_truncated_bundled_weights_are_refused(bundled_copy: Path) -> None:
    weights = bundled_copy / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match="truncated"):
        BachNet.from_pretrained()


def test_missing_bundled_file_is_refused(bundled_copy: Path) -> None:
    (bundled_copy / "config.json").unlink()
    with pytest.raises(ModelFileError, match=r"missing config\.json"):
        BachNet.from_pretrained()


def test_default_preset_composes_a_sane_chorale() -> None:
    """A smoke test, not a quality benchmark: ranges, no all-silence, soprano above bass."""
    from bachnet.generation.config import GenerationConfig

    net = BachNet.from_pretrained()
    # the ranges the model was trained on (JSB and the fakes: wider than JSB's train split)
    ranges = GenerationConfig().ranges_for(net)
    low = [ranges[voice][0] for voice in range(4)]
    high = [ranges[voice][1] for voice in range(4)]
    pieces = net.generate(steps=128, num_samples=4, seed=7)
    assert isinstance(pieces, list)
    for piece in pieces:
        chords = piece.chords
        assert 128 <= len(piece) <= 128 + 35  # a cadence may add up to 35 steps
        assert (chords > 0).mean() > 0.5, "mostly silence"
        for voice in range(4):
            notes = chords[:, voice][chords[:, voice] > 0]
            assert notes.size > 0, f"voice {voice} never sings"
            assert low[voice] <= notes.min() and notes.max() <= high[voice], (
                f"voice {voice} out of its range"
            )
        both = (chords[:, 0] > 0) & (chords[:, 3] > 0)
        assert (chords[both, 0] > chords[both, 3]).mean() > 0.95


# ------------------------------------------------------------------------------- remote
def test_remote_preset_downloads_through_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback_server, cache_dir: Path
) -> None:
    archive, digest, net = _tiny_zip(tmp_path)
    base = loopback_server(archive.parent)
    _register_remote(monkeypatch, f"{base}/tiny-remote.zip", digest, size=archive.stat().st_size)
    loaded = BachNet.from_pretrained("tiny-remote")
    ids = np.arange(12, dtype=np.int32).reshape(1, 12)
    np.testing.assert_array_equal(loaded.logits(ids), net.logits(ids))
    # kept under a model's own name: a model file cannot replace a corpus of the same name
    assert (cache_dir / f"model-{digest[:12]}-tiny-remote.zip").is_file()


def test_remote_preset_honours_the_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback_server
) -> None:
    archive, digest, _ = _tiny_zip(tmp_path)
    base = loopback_server(archive.parent)
    _register_remote(monkeypatch, "http://127.0.0.1:9/nowhere.zip", digest)
    monkeypatch.setenv("BACHNET_MIRROR", base)
    assert BachNet.from_pretrained("tiny-remote").count_params() > 0


def test_tampered_remote_preset_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback_server, cache_dir: Path
) -> None:
    archive, _, _ = _tiny_zip(tmp_path)
    base = loopback_server(archive.parent)
    _register_remote(monkeypatch, f"{base}/tiny-remote.zip", "0" * 64)
    with pytest.raises(DownloadError, match="sha256"):
        BachNet.from_pretrained("tiny-remote")
    assert not list(cache_dir.glob("*tiny-remote.zip"))


def test_model_url_needs_and_checks_a_hash(tmp_path: Path, loopback_server) -> None:
    archive, digest, _ = _tiny_zip(tmp_path)
    base = loopback_server(archive.parent)
    with pytest.raises(ValueError, match="#sha256="):
        BachNet.from_pretrained(f"{base}/tiny-remote.zip")
    assert BachNet.from_pretrained(f"{base}/tiny-remote.zip#sha256={digest}").count_params() > 0


def test_unknown_preset_lists_the_known_ones() -> None:
    names = [p.name for p in presets()]
    with pytest.raises(ValueError, match=r"no preset named 'nope'") as info:
        BachNet.from_pretrained("nope")
    assert all(name in str(info.value) for name in names)


def test_registry_metrics_match_the_bundled_config() -> None:
    """The figures `bachnet models` shows are the ones saved with the model."""
    for preset in presets():
        if preset.bundled:
            config = json.loads(
                (preset_module.bundled_root() / preset.name / "config.json").read_text()
            )
            split = "test" if preset.kind == "model" else "valid"  # a filler: masked CE
            assert config["metadata"]["metrics"][split] == preset.metrics[split]
