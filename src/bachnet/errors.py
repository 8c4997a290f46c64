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
    "InputTypeError",
    "LimitError",
    "ModelFileError",
    "NotFoundError",
    "RunFolderError",
]


class BachNetError(Exception):
    """The root of every error bachnet raises on purpose."""


class InputError(BachNetError, ValueError):
    """A file, an option or a value that bachnet cannot use; the message names it."""


class InputTypeError(InputError, TypeError):
    """A value of the wrong type (a number where a `Chorale` belongs, a list where a name does).

    It is also a `TypeError`, as Python's own wrong-type errors are.
    """


class NotFoundError(InputError, KeyError):
    """A name that is not there: a split, a preset, a sampler, a rule.

    It is also a `KeyError`, as a lookup that fails in Python is; its message reads plainly.

    Examples:
        >>> str(NotFoundError("no split 'x'"))
        "no split 'x'"
    """

    __str__ = Exception.__str__


class LimitError(InputError):
    """A request bigger than a safety limit (model size, generation size, archive size)."""


class RunFolderError(BachNetError, ValueError):
    """A training run folder that cannot be used: not a run, another run, damaged, or busy."""


class ModelFileError(BachNetError, ValueError):
    """A saved model folder is missing a file, is truncated, or does not match its config.

    Examples:
        >>> import tempfile, bachnet
        >>> bachnet.BachNet.load(tempfile.mkdtemp())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        bachnet.errors.ModelFileError: ...: no config.json (not a saved bachnet model)
    """
