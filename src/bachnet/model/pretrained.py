"""Pretrained models: the preset registry, the bundled default, downloads by name or URL.

``presets/index.json`` (shipped in the package) names each preset with its files, their
sha256, its size, a description and its measured test-split figures. A *bundled* preset lives
inside the package (``presets/<name>/``) and loads offline; its files are hashed and checked
against the index on every load. Other presets are a ``.zip`` of a saved model fetched with
pooch (sha256-verified, cached under ``BACHNET_DATA_DIR``, from ``BACHNET_MIRROR`` if set).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bachnet.core.aliases import PathLike
from bachnet.core.files import sha256_of
from bachnet.data.download import cache_lock, data_dir, fetch, safe_extract
from bachnet.errors import InputError
from bachnet.model.saving import CONFIG_FILE, ModelFileError

__all__ = [
    "INDEX",
    "Preset",
    "bundled_root",
    "get_preset",
    "presets",
    "resolve",
]


INDEX = "index.json"


@dataclass(frozen=True)
class Preset:
    """One pretrained model in the registry.

    Attributes:
        name: what `BachNet.from_pretrained` takes.
        description: one line for ``bachnet models``.
        size: bytes on disk (bundled) or of the download.
        metrics: measured figures, e.g. ``{"test": {"loss": ..., "accuracy": ...}}``.
        bundled: shipped inside the package (works offline).
        files: bundled file name -> sha256.
        url: download URL of the ``.zip`` (remote presets).
        sha256: sha256 of the ``.zip`` (remote presets).
        default: the preset ``from_pretrained()`` loads with no argument.
        kind: ``"model"`` (a token model: `BachNet.from_pretrained`) or ``"filler"`` (a
            whole-texture filler: `bachnet.model.filler.Filler`, used by
            ``fill(method="gibbs")``).

    Examples:
        >>> preset = next(p for p in presets() if p.default)
        >>> preset.bundled, sorted(preset.files)
        (True, ['config.json', 'model.weights.h5'])
    """

    name: str
    description: str
    size: int
    metrics: Mapping[str, Any] = field(default_factory=dict)
    bundled: bool = False
    files: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    sha256: str = ""
    default: bool = False
    kind: str = "model"


def _index() -> dict[str, Any]:
    return dict(json.loads((bundled_root() / INDEX).read_text(encoding="utf-8")))


def presets() -> list[Preset]:
    """Every registered preset, the default first.

    Examples:
        >>> [p.name for p in presets()][:1]  # doctest: +SKIP
        ['jsb-small']
    """
    index = _index()
    found = [
        Preset(name=name, default=name == index.get("default"), **entry)
        for name, entry in index.get("presets", {}).items()
    ]
    return sorted(found, key=lambda p: not p.default)


def get_preset(name: str | None = None) -> Preset:
    """Look a preset up by name (``None``: the default).

    Raises:
        InputError: an unknown name; the message lists the known ones.
    """
    known = presets()
    for preset in known:
        if (name is None and preset.default) or preset.name == name:
            return preset
    names = ", ".join(p.name for p in known) or "none"
    if name is None:
        raise InputError(f"no default preset is registered (presets: {names})")
    raise InputError(f"no preset named {name!r}; known presets: {names}")


def bundled_root() -> Path:
    """The folder inside the installed package that holds the bundled presets."""
    return Path(str(resources.files("bachnet").joinpath("presets")))


def _bundled_folder(preset: Preset) -> Path:
    folder = bundled_root() / preset.name
    for file, expected in preset.files.items():
        path = folder / file
        if not path.is_file():
            raise ModelFileError(
                f"bundled preset {preset.name!r} is missing {file} (a broken install?)"
            )
        actual = sha256_of(path)
        if actual != expected:
            raise ModelFileError(
                f"bundled preset {preset.name!r}: {file} has sha256 {actual}, the registry says "
                f"{expected}; the file is truncated or was modified. Reinstall bachnet."
            )
    return folder


def _download(name: str, url: str, sha256: str) -> Path:
    # a model's archive has its own name in the cache: a model file called like a corpus
    # (jsb_chorales.tgz) must not replace the verified corpus
    archive = fetch(name, sha256=sha256, url=url, cache_name=f"model-{sha256[:12]}-{name}")
    target = data_dir() / "models" / f"{Path(name).stem}-{sha256[:12]}"
    try:
        with cache_lock(target):
            unpacked = safe_extract(archive, target)
    except ValueError:  # refused (unsafe or too big): do not keep it in the cache
        archive.unlink(missing_ok=True)
        raise
    configs = sorted(unpacked.rglob(CONFIG_FILE))
    if not configs:
        raise ModelFileError(f"{url}: the archive holds no {CONFIG_FILE}")
    return configs[0].parent


def resolve(name_or_path: PathLike | None = None) -> Path:
    """The local folder of a model, downloading it if needed.

    Args:
        name_or_path: ``None`` (the default preset), a preset name, a folder, or an
            ``https://.../model.zip#sha256=<hex>`` URL (the hash is required).

    Raises:
        InputError: an unknown name or a URL without a sha256.
        ModelFileError: a bundled file that fails its hash check.
        bachnet.DownloadError: a failed or mismatched download.
    """
    if name_or_path is not None and not str(name_or_path).strip():
        raise InputError("an empty model name: give a preset name, a folder or a URL")
    if name_or_path is not None and Path(name_or_path).is_dir():
        return Path(name_or_path)
    text = None if name_or_path is None else str(name_or_path)
    if text is not None and text.startswith(("http://", "https://")):
        url, _, fragment = text.partition("#")
        digest = fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else ""
        if len(digest) != 64:
            raise InputError(f"{url}: add the archive's hash to the URL as #sha256=<64 hex digits>")
        return _download(Path(urlparse(url).path).name or "model.zip", url, digest)
    try:
        preset = get_preset(text)
    except ValueError as error:
        raise InputError(
            f"{error} (and {text!r} is not a model folder)" if text else str(error)
        ) from None
    if preset.bundled:
        return _bundled_folder(preset)
    return _download(f"{preset.name}.zip", preset.url, preset.sha256)
