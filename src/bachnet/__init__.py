"""bachnet: compose four-voice chorales in the style of J.S. Bach.

The data flow, one sub-package a stage: a corpus (`bachnet.data`, `Dataset`) of `Chorale`
pieces (`bachnet.music`) -> token ids (`Vocabulary`) -> training windows (`bachnet.training`) ->
the language model (`bachnet.model`) -> rules and samplers (`bachnet.generation`) -> a new
`Chorale` -> ``.mid`` / ``.musicxml`` / audio / a score (`bachnet.formats`). `BachNet`
(`bachnet.net`) is the face over them; `bachnet.apps` holds the command line and the web app.

Names that need Keras (`BachNet`, `Windows`, the presets, `samplers`, `rules`) load it on first
use, so ``import bachnet`` stays quick.

Examples:
    >>> import bachnet
    >>> net = bachnet.BachNet.from_pretrained()  # doctest: +SKIP
    >>> net.generate(steps=64, seed=0).write("chorale.mid")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from bachnet import _moved
from bachnet import formats as _formats  # fills the format table
from bachnet._version import __version__
from bachnet.data import Dataset, DownloadError
from bachnet.errors import BachNetError, InputError, LimitError, ModelFileError, RunFolderError
from bachnet.model.config import ModelConfig, TrainConfig
from bachnet.music.chorale import Chorale
from bachnet.music.vocab import Vocabulary

if _typing.TYPE_CHECKING:
    from bachnet.generation import rules, samplers
    from bachnet.model.pretrained import Preset, presets
    from bachnet.music import metrics
    from bachnet.net import BachNet
    from bachnet.training.windows import Windows

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

_LAZY = {
    "BachNet": ("bachnet.net", "BachNet"),
    "Windows": ("bachnet.training.windows", "Windows"),
    "Preset": ("bachnet.model.pretrained", "Preset"),
    "presets": ("bachnet.model.pretrained", "presets"),
    "samplers": ("bachnet.generation.samplers", None),
    "rules": ("bachnet.generation.rules", None),
    "metrics": ("bachnet.music.metrics", None),
}

_moved.install()
del _formats


def __getattr__(name: str) -> object:
    """Load the names that import Keras on first use (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'bachnet' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = _importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value
