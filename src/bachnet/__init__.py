"""bachnet: compose four-voice chorales in the style of J.S. Bach.

Example:
    >>> import bachnet
    >>> chorale = bachnet.BachNet.from_pretrained().generate(steps=64, seed=0)  # doctest: +SKIP
    >>> chorale.write("chorale.mid")  # doctest: +SKIP
"""

from __future__ import annotations

from ._version import __version__
from .chorale import Chorale
from .data import Dataset, DownloadError
from .pipeline import Windows
from .vocab import Vocabulary

__all__ = [
    "Chorale",
    "Dataset",
    "DownloadError",
    "Vocabulary",
    "Windows",
    "__version__",
]
