"""bachnet's exceptions: one root, `BachNetError`, and a subclass per kind of trouble.

Every error bachnet raises on purpose is a `BachNetError`, so ``except bachnet.BachNetError``
catches them all. Each subclass also keeps the built-in base that code caught before the root
existed (`ValueError` for bad input, `OSError`-like `RuntimeError`s stay `RuntimeError`), so
existing ``except ValueError`` blocks go on working.

Examples:
    >>> issubclass(InputError, BachNetError), issubclass(InputError, ValueError)
    (True, True)
"""

from __future__ import annotations

__all__ = [
    "BachNetError",
    "InputError",
    "LimitError",
    "RunFolderError",
]


class BachNetError(Exception):
    """The root of every error bachnet raises on purpose."""


class InputError(BachNetError, ValueError):
    """A file, an option or a value that bachnet cannot use; the message names it."""


class LimitError(InputError):
    """A request bigger than a safety limit (model size, generation size, archive size)."""


class RunFolderError(BachNetError, ValueError):
    """A training run folder that cannot be used: not a run, another run, damaged, or busy."""
