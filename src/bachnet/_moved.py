"""Old module paths, from before the package had sub-packages, as deprecated aliases.

``import bachnet.samplers`` still works (with a `DeprecationWarning`) and gives the module
that now lives at ``bachnet.generation.samplers``; new code imports the new path.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

__all__ = ["MOVED", "install"]

MOVED: dict[str, str] = {
    "bachnet.aliases": "bachnet.core.aliases",
    "bachnet.files": "bachnet.core.files",
    "bachnet.plugins": "bachnet.core.plugins",
    "bachnet.chorale": "bachnet.music.chorale",
    "bachnet.vocab": "bachnet.music.vocab",
    "bachnet.keys": "bachnet.music.keys",
    "bachnet.endings": "bachnet.music.cadence",
    "bachnet.metrics": "bachnet.music.metrics",
    "bachnet.audio": "bachnet.formats.audio",
    "bachnet.score": "bachnet.formats.score",
    "bachnet.notebook": "bachnet.formats.notebook",
    "bachnet.config": "bachnet.model.config",
    "bachnet.networks": "bachnet.model.networks",
    "bachnet.pretrained": "bachnet.model.pretrained",
    "bachnet.samplers": "bachnet.generation.samplers",
    "bachnet.rules": "bachnet.generation.rules",
    "bachnet.generate": "bachnet.generation.compose",
    "bachnet.harmonize": "bachnet.generation.harmonize",
    "bachnet.pipeline": "bachnet.training.windows",
    "bachnet.train": "bachnet.training.fit",
    "bachnet.app": "bachnet.apps.web",
    "bachnet.cli": "bachnet.apps.cli",
}
"""Old dotted module path -> where it lives now."""


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.target}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module is the one at the new path."""


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Alias(MOVED[fullname]))


def install() -> None:
    """Answer imports of the old paths (once per process).

    Examples:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True):
        ...     import bachnet.chorale as old
        >>> import bachnet.music.chorale as new
        >>> old is new
        True
    """
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.append(_Finder())
