"""bachnet: compose four-voice chorales in the style of J.S. Bach.

The data flow: a corpus (`Dataset`) of `Chorale` pieces -> token ids (`Vocabulary`) ->
training windows (`Windows`) -> the LSTM language model (`BachNet`) -> a sampler
(`bachnet.samplers`) -> a new `Chorale` -> ``.mid`` / ``.musicxml``.

Examples:
    >>> import bachnet
    >>> net = bachnet.BachNet.from_pretrained()  # doctest: +SKIP
    >>> net.generate(steps=64, seed=0).write("chorale.mid")  # doctest: +SKIP
"""

from __future__ import annotations

from ._version import __version__
from .chorale import Chorale
from .config import ModelConfig, TrainConfig
from .data import Dataset, DownloadError
from .errors import BachNetError, InputError, LimitError, RunFolderError
from .model import BachNet, ModelFileError
from .pipeline import Windows
from .pretrained import Preset, presets
from .vocab import Vocabulary

__all__ = [
    "BachNet",
    "BachNetError",
    "Chorale",
    "Dataset",
    "DownloadError",
    "InputError",
    "LimitError",
    "ModelConfig",
    "ModelFileError",
    "Preset",
    "RunFolderError",
    "TrainConfig",
    "Vocabulary",
    "Windows",
    "__version__",
    "metrics",
    "presets",
    "rules",
    "samplers",
]


def __getattr__(name: str) -> object:
    # `bachnet.samplers` imports Keras (and so TensorFlow): load it on first use only.
    # `bachnet.metrics` (style figures) and `bachnet.rules` (voice leading) likewise.
    if name in ("samplers", "metrics", "rules"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'bachnet' has no attribute {name!r}")
