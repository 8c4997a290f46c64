"""Named, pluggable components: one registry kind for samplers and rules.

A `Registry` maps names to classes. Built-ins register with a decorator; third-party packages
add theirs through an entry-point group, loaded lazily once, the first time a name is missing
(fsspec style); built-ins win name clashes. Anything the registry resolves (`Registry.get`)
may be given as a name, a config dict with a ``"name"`` key (`get_config` output) or an
instance.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, ClassVar, Generic, TypeVar

from bachnet.errors import InputError, InputTypeError

__all__ = ["Configured", "Registry"]

T = TypeVar("T")
_C = TypeVar("_C", bound=type)
_Self = TypeVar("_Self", bound="Configured")


class Configured:
    """A component defined by its config: ``get_config`` gives its registered ``name`` and
    its ``__init__`` parameters, and equality, hashing, ``repr`` and `from_config` follow
    from it (the base of samplers and rules).

    Examples:
        >>> class Shift(Configured):
        ...     name = "shift"
        ...     def __init__(self, by: int = 1) -> None:
        ...         self.by = by
        ...     def get_config(self):
        ...         return {**super().get_config(), "by": self.by}
        >>> Shift(2), Shift(2) == Shift.from_config({"name": "shift", "by": 2})
        (Shift(by=2), True)
    """

    name: ClassVar[str] = ""

    def get_config(self) -> dict[str, Any]:
        """The registered ``name`` and the ``__init__`` parameters."""
        return {"name": self.name}

    @classmethod
    def from_config(cls: type[_Self], config: dict[str, Any]) -> _Self:
        """An instance from `get_config` output (the ``name`` key is ignored)."""
        return cls(**{key: value for key, value in config.items() if key != "name"})

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({params})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Configured):
            return NotImplemented
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__qualname__, repr(sorted(self.get_config().items()))))


class Registry(Generic[T]):
    """Classes by name, plus the plugins of one entry-point group.

    Args:
        base: the class every entry must subclass.
        kind: what the entries are, for messages (``"sampler"``, ``"rule"``).
        group: the entry-point group plugins register under.

    Examples:
        >>> class Shape:
        ...     name = ""
        ...     def __init__(self, size: int = 1) -> None:
        ...         self.size = size
        >>> shapes = Registry(Shape, "shape", "example.shapes")
        >>> @shapes.register("square")
        ... class Square(Shape):
        ...     pass
        >>> shapes.lookup("square").name, shapes.available()
        ('square', ['square'])
    """

    def __init__(self, base: type[T], kind: str, group: str) -> None:
        self.base, self.kind, self.group = base, kind, group
        self.builtins: dict[str, type[T]] = {}
        self.plugins: dict[str, type[T]] = {}
        self._loaded = False
        self._lock = threading.Lock()

    def register(self, name: str | None = None) -> Callable[[_C], _C]:
        """Class decorator: make a subclass known by ``name``.

        The first registration of a class that does not declare ``name`` itself sets it
        (default: the class name, lower-cased); registering it again adds an alias.

        Raises:
            TypeError: not a subclass of the registry's base.
            InputError: the name is taken by another class.
        """

        def decorator(cls: _C) -> _C:
            if not (isinstance(cls, type) and issubclass(cls, self.base)):
                raise InputTypeError(
                    f"register() expects a {self.base.__name__} subclass, got {cls!r}"
                )
            own_name = cls.__dict__.get("name") or None
            key = name or own_name or cls.__name__.lower()
            old = self.builtins.get(key)
            if old is not None and not _same_class(old, cls):
                raise InputError(f"{self.kind} name {key!r} is already registered to {old!r}")
            if own_name is None:
                cls.name = key  # type: ignore[attr-defined]
            self.builtins[key] = cls
            return cls  # type: ignore[return-value]

        return decorator

    def _load_plugins(self) -> None:
        """Load the entry points once; failures become warnings, never errors."""
        with self._lock:
            if self._loaded:
                return
            found: dict[str, type[T]] = {}
            for ep in entry_points(group=self.group):
                if ep.name in self.builtins:
                    warnings.warn(
                        f"ignoring {self.kind} plugin {ep.name!r} ({ep.value}): the name is "
                        f"taken by built-in {self.builtins[ep.name].__name__}",
                        stacklevel=4,
                    )
                    continue
                if ep.name in found:
                    continue  # the same distribution seen twice on sys.path, or a duplicate
                try:
                    obj = ep.load()
                except Exception as exc:  # any import-time failure of third-party code
                    warnings.warn(
                        f"failed to load {self.kind} plugin {ep.name!r} ({ep.value}): {exc!r}",
                        stacklevel=4,
                    )
                    continue
                if not (isinstance(obj, type) and issubclass(obj, self.base)):
                    warnings.warn(
                        f"ignoring {self.kind} plugin {ep.name!r} ({ep.value}): not a "
                        f"{self.base.__name__} subclass",
                        stacklevel=4,
                    )
                    continue
                if not obj.__dict__.get("name"):
                    obj.name = ep.name  # type: ignore[attr-defined]
                found[ep.name] = obj
            self.plugins.update(found)
            self._loaded = True

    def reset_plugins(self) -> None:
        """Forget loaded plugins, so the next lookup scans the entry points again (tests)."""
        with self._lock:
            self.plugins.clear()
            self._loaded = False

    def available(self) -> list[str]:
        """Every known name, built-in and plugin, sorted."""
        self._load_plugins()
        return sorted({*self.builtins, *self.plugins})

    def lookup(self, name: str) -> type[T]:
        """The class registered as ``name``.

        Raises:
            InputError: an unknown name; the message lists the known ones.
        """
        cls = self.builtins.get(name) or self.plugins.get(name)
        if cls is None:
            self._load_plugins()
            cls = self.plugins.get(name)
        if cls is None:
            raise InputError(
                f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(self.available())}"
            )
        return cls

    def get(self, spec: str | dict[str, Any] | T) -> T:
        """An instance from a name, a config dict (with ``"name"``) or an instance.

        Raises:
            InputError: an unknown name, a dict without ``"name"``, or bad parameters.
            TypeError: any other kind of ``spec``.
        """
        if isinstance(spec, self.base):
            return spec
        if isinstance(spec, str):
            return self.lookup(spec)()
        if isinstance(spec, dict):
            if "name" not in spec:
                raise InputError(f"{self.kind} config needs a 'name' key, got {spec!r}")
            cls = self.lookup(spec["name"])
            from_config = getattr(cls, "from_config", None)
            if from_config is not None:
                return from_config(spec)  # type: ignore[no-any-return]
            return cls(**{key: value for key, value in spec.items() if key != "name"})
        raise InputTypeError(
            f"expected a {self.kind} name, config dict or {self.base.__name__}, got {spec!r}"
        )


def _same_class(a: type, b: type) -> bool:
    # Tolerates re-definition of the same class, e.g. after importlib.reload.
    return a is b or (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)
