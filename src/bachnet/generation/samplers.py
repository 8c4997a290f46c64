"""Decoding strategies that turn next-token logits into token ids.

A `Sampler` works in two steps, in the spirit of the logits processors of HF
transformers: `Sampler.filter` masks unwanted ids of a ``(batch, vocab)`` float32
logits tensor with ``-inf`` (it never reorders the vocabulary and always keeps at least one
id of each row that has a finite logit), then `Sampler.draw` picks one id per row.

All math uses ``keras.ops`` with static shapes and no Python branching on tensor values, so
samplers run eagerly, under ``tf.function(jit_compile=True)`` and under ``jax.jit``. Keras 3
does not accept tensor seeds inside compiled loops, so the draw takes explicit uniform noise
of the logits' shape and uses the Gumbel-max trick: ``argmax(logits - log(-log(noise)))`` is
an exact draw from ``softmax(logits)`` in which ``-inf`` entries can never win.

Built-in samplers are found by name through a small registry (``"greedy"``, ``"temperature"``,
``"top_k"``, ``"top_p"`` / ``"nucleus"``, ``"typical"``, ``"sampling"``); third-party packages
add theirs through the ``bachnet.generation.samplers`` entry-point group, loaded lazily the
first time a name is missing from the registry.

Examples:
    >>> import numpy as np
    >>> sampler = get({"name": "sampling", "temperature": 0.9, "top_k": 3})
    >>> sampler(np.zeros((2, 8), "float32"), seed=0).shape  # one int32 id per row
    TensorShape([2])
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import keras
from keras import ops

from bachnet.core.aliases import Tensor
from bachnet.core.plugins import Configured, Registry
from bachnet.errors import InputError

__all__ = [
    "Greedy",
    "Sampler",
    "Sampling",
    "Temperature",
    "TopK",
    "TopP",
    "Typical",
    "available",
    "from_options",
    "get",
    "register",
]

"""A backend tensor (or array-like accepted by ``keras.ops``)."""

ENTRY_POINT_GROUP = "bachnet.generation.samplers"

_NEG_INF = float("-inf")
# Noise is clipped into [_NOISE_LOW, _NOISE_HIGH] so that both logs stay finite in float32;
# 1 - 2**-24 is the largest float32 below 1.
_NOISE_LOW = 1e-20
_NOISE_HIGH = 1.0 - 2.0**-24

_S = TypeVar("_S", bound="type[Sampler]")


# --------------------------------------------------------------------------- validation


def _check_temperature(value: Any) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or float(value) <= 0:
        raise InputError(f"temperature must be a finite number > 0, got {value!r}")
    return float(value)


def _check_top_k(value: Any) -> int:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or int(value) < 1:
        raise InputError(f"top_k must be an integer >= 1, got {value!r}")
    return int(value)


def _check_top_p(value: Any) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not 0.0 < float(value) <= 1.0:  # also rejects NaN
        raise InputError(f"top_p must be a number in (0, 1], got {value!r}")
    return float(value)


# ------------------------------------------------------------------------------ kernels


def _as_logits(logits: Tensor) -> Tensor:
    return ops.cast(logits, "float32")


def _temperature(logits: Tensor, temperature: float) -> Tensor:
    logits = _as_logits(logits)
    return logits if temperature == 1.0 else logits / temperature


def _top_k(logits: Tensor, k: int) -> Tensor:
    logits = _as_logits(logits)
    vocab = logits.shape[-1]
    if vocab is not None and k >= vocab:
        return logits
    kth = ops.top_k(logits, k=k, sorted=True)[0][..., k - 1 : k]
    return ops.where(logits >= kth, logits, _NEG_INF)


def _top_p(logits: Tensor, p: float) -> Tensor:
    logits = _as_logits(logits)
    if p >= 1.0 or logits.shape[-1] == 1:
        return logits
    sorted_logits = -ops.sort(-logits, axis=-1)  # descending; -inf goes last
    sorted_probs = ops.softmax(sorted_logits, axis=-1)
    cumulative = ops.cumsum(sorted_probs, axis=-1)
    # Probability mass strictly before each position: a shifted cumsum, so it is monotone
    # even under rounding and the kept ids always form a prefix of the sorted row.
    before = ops.concatenate([ops.zeros_like(cumulative[..., :1]), cumulative[..., :-1]], -1)
    count = ops.sum(ops.cast(before < p, "int32"), axis=-1, keepdims=True)  # >= 1
    threshold = ops.take_along_axis(sorted_logits, count - 1, axis=-1)
    return ops.where(logits >= threshold, logits, _NEG_INF)


def _typical(logits: Tensor, mass: float) -> Tensor:
    logits = _as_logits(logits)
    if mass >= 1.0 or logits.shape[-1] == 1:
        return logits
    finite = logits > _NEG_INF
    log_probs = ops.log_softmax(logits, axis=-1)
    probs = ops.where(finite, ops.exp(log_probs), 0.0)
    entropy = -ops.sum(ops.where(finite, probs * log_probs, 0.0), axis=-1, keepdims=True)
    deviation = ops.where(finite, ops.abs(-log_probs - entropy), float("inf"))
    order = ops.argsort(deviation, axis=-1)  # most typical first; masked ids last
    sorted_probs = ops.take_along_axis(probs, order, axis=-1)
    sorted_deviation = ops.take_along_axis(deviation, order, axis=-1)
    cumulative = ops.cumsum(sorted_probs, axis=-1)
    before = ops.concatenate([ops.zeros_like(cumulative[..., :1]), cumulative[..., :-1]], -1)
    count = ops.sum(ops.cast(before < mass, "int32"), axis=-1, keepdims=True)  # >= 1
    threshold = ops.take_along_axis(sorted_deviation, count - 1, axis=-1)
    return ops.where(finite & (deviation <= threshold), logits, _NEG_INF)


def _gumbel_argmax(logits: Tensor, noise: Tensor) -> Tensor:
    noise = ops.clip(ops.cast(noise, "float32"), _NOISE_LOW, _NOISE_HIGH)
    gumbel = -ops.log(-ops.log(noise))
    return ops.cast(ops.argmax(_as_logits(logits) + gumbel, axis=-1), "int32")


# ------------------------------------------------------------------------------ samplers


class Sampler(Configured):
    """Base class: an identity filter followed by an exact Gumbel-max categorical draw.

    Subclasses override `filter` (and rarely `draw`), take their parameters as
    ``__init__`` keyword arguments, return them from `get_config`, and are made known
    by name with `register`. Two samplers are equal when their configs are.

    Examples:
        >>> import numpy as np
        >>> Sampler()(np.log([[0.1, 0.9]]).astype("float32"), noise=[[0.5, 0.5]]).numpy()
        array([1], dtype=int32)
    """

    name: ClassVar[str] = "sampler"

    def filter(self, logits: Tensor) -> Tensor:
        """Masks ids that must not be drawn with ``-inf``; the default keeps every id.

        Args:
            logits: ``(batch, vocab)`` logits; every row needs at least one finite entry.

        Returns:
            Float32 logits of the same shape, in the same vocabulary order.

        Examples:
            >>> Sampler().filter([[1.0, 2.0]]).numpy()  # unchanged
            array([[1., 2.]], dtype=float32)
        """
        return _as_logits(logits)

    def draw(self, logits: Tensor, noise: Tensor) -> Tensor:
        """Draws one id per row from ``softmax(logits)`` by Gumbel-max with given noise.

        ``draw`` does not filter; `__call__` filters first.

        Args:
            logits: ``(batch, vocab)`` logits, already filtered.
            noise: Uniform noise in (0, 1) of the same shape; clipped away from 0 and 1.

        Returns:
            int32 ids of shape ``(batch,)``.

        Examples:
            >>> Sampler().draw([[0.0, 0.0]], noise=[[0.9, 0.1]]).numpy()
            array([0], dtype=int32)
        """
        return _gumbel_argmax(logits, noise)

    def __call__(
        self,
        logits: Tensor,
        seed: int | keras.random.SeedGenerator | None = None,
        noise: Tensor | None = None,
    ) -> Tensor:
        """Filters ``logits`` and draws one id per row.

        Args:
            logits: ``(batch, vocab)`` logits.
            seed: Seed for ``keras.random.uniform`` when ``noise`` is not given. Inside
                compiled loops pass ``noise`` instead (or a ``keras.random.SeedGenerator``).
            noise: Uniform noise in (0, 1) with the shape of ``logits``; wins over ``seed``.

        Returns:
            int32 ids of shape ``(batch,)``.

        Examples:
            >>> int(TopK(2)([[3.0, 2.0, 1.0]], seed=7)[0]) in (0, 1)
            True
        """
        filtered = self.filter(logits)
        if noise is None:
            noise = keras.random.uniform(ops.shape(filtered), seed=seed)
        return self.draw(filtered, noise)

    def get_config(self) -> dict[str, Any]:
        """Returns the registered ``name`` and the ``__init__`` parameters.

        Examples:
            >>> TopK(5).get_config()
            {'name': 'top_k', 'k': 5}
            >>> TopK.from_config({"name": "top_k", "k": 5})  # `from_config` is its inverse
            TopK(k=5)
        """
        return super().get_config()


_SAMPLERS: Registry[Sampler] = Registry(Sampler, "sampler", ENTRY_POINT_GROUP)


def register(name: str | None = None) -> Callable[[_S], _S]:
    """Class decorator that makes a `Sampler` subclass available to `get`.

    The first registration of a class that does not declare ``name`` itself sets it to
    ``name`` (default: the class name, lower-cased). Registering it again under another
    name adds an alias.

    Args:
        name: Registry key; defaults to the class's own ``name`` or lower-cased class name.

    Raises:
        InputError: If ``name`` is already taken by a different class.

    Examples:
        >>> @register("my_greedy")
        ... class MyGreedy(Greedy):
        ...     pass
    """
    return _SAMPLERS.register(name)


@register()
class Greedy(Sampler):
    """Always picks the id with the largest logit (first one on ties); ignores noise.

    Examples:
        >>> Greedy()([[0.1, 2.0, 0.3]]).numpy()
        array([1], dtype=int32)
    """

    name: ClassVar[str] = "greedy"

    def draw(self, logits: Tensor, noise: Tensor) -> Tensor:
        """Returns ``argmax(logits)`` as int32 ids; ``noise`` is unused.

        Examples:
            >>> Greedy().draw([[0.0, 1.0]], noise=None).numpy()
            array([1], dtype=int32)
        """
        del noise
        return ops.cast(ops.argmax(_as_logits(logits), axis=-1), "int32")


@register()
class Temperature(Sampler):
    """Divides the logits by ``temperature`` before drawing (< 1 sharper, > 1 flatter).

    Args:
        temperature: A finite number > 0.

    Examples:
        >>> Temperature(0.5).filter([[1.0, 2.0]]).numpy()
        array([[2., 4.]], dtype=float32)
    """

    name: ClassVar[str] = "temperature"

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = _check_temperature(temperature)

    def filter(self, logits: Tensor) -> Tensor:
        """Returns ``logits / temperature`` as float32 (nothing is masked).

        Examples:
            >>> Temperature(2.0).filter([[1.0, 4.0]]).numpy()
            array([[0.5, 2. ]], dtype=float32)
        """
        return _temperature(logits, self.temperature)

    def get_config(self) -> dict[str, Any]:
        """Returns ``{"name": "temperature", "temperature": ...}``.

        Examples:
            >>> Temperature(0.5).get_config()
            {'name': 'temperature', 'temperature': 0.5}
        """
        return {**super().get_config(), "temperature": self.temperature}


@register()
class TopK(Sampler):
    """Keeps the ``k`` largest logits of each row and masks the others with ``-inf``.

    Every id whose logit equals the k-th largest value is kept, so ties may keep a few more
    than ``k`` ids. A ``k`` at least the vocabulary size keeps every id.

    Args:
        k: An integer >= 1 (default 10, used when `get` is given only the name).

    Examples:
        >>> TopK(2).filter([[1.0, 3.0, 2.0]]).numpy()
        array([[-inf,   3.,   2.]], dtype=float32)
    """

    name: ClassVar[str] = "top_k"

    def __init__(self, k: int = 10) -> None:
        self.k = _check_top_k(k)

    def filter(self, logits: Tensor) -> Tensor:
        """Masks every logit below the ``k``-th largest of its row with ``-inf``.

        Examples:
            >>> TopK(1).filter([[1.0, 3.0, 2.0]]).numpy()
            array([[-inf,   3., -inf]], dtype=float32)
        """
        return _top_k(logits, self.k)

    def get_config(self) -> dict[str, Any]:
        """Returns ``{"name": "top_k", "k": ...}``.

        Examples:
            >>> TopK(3).get_config()
            {'name': 'top_k', 'k': 3}
        """
        return {**super().get_config(), "k": self.k}


@register("nucleus")
@register()
class TopP(Sampler):
    """Nucleus filter: keeps the smallest set of most probable ids whose mass reaches ``p``.

    Ids are taken in order of decreasing probability until their total probability reaches
    ``p``; the id that crosses ``p`` is kept, so the top-1 id always survives. The result is
    applied as a threshold on the logits (no reordering): every id whose logit equals the
    smallest kept logit is kept too, so ties may keep a few more ids. The mass is summed in
    float32, so a cumulative sum within ~1e-6 of ``p`` may round either way. ``p == 1`` keeps
    every id. Registered as ``"top_p"`` and ``"nucleus"``.

    Args:
        p: A number in (0, 1] (default 0.98, used when `get` is given only the name).

    Examples:
        >>> TopP(0.5).filter([[0.0, 1.1, 0.0]]).numpy()  # probs ~ [.2, .6, .2]: keeps id 1
        array([[-inf,  1.1, -inf]], dtype=float32)
    """

    name: ClassVar[str] = "top_p"

    def __init__(self, p: float = 0.98) -> None:
        self.p = _check_top_p(p)

    def filter(self, logits: Tensor) -> Tensor:
        """Masks the ids outside the nucleus of probability mass ``p`` with ``-inf``.

        Examples:
            >>> TopP(0.9).filter([[0.0, 1.1, 0.0]]).numpy()  # needs all three ids
            array([[0. , 1.1, 0. ]], dtype=float32)
        """
        return _top_p(logits, self.p)

    def get_config(self) -> dict[str, Any]:
        """Returns ``{"name": "top_p", "p": ...}``.

        Examples:
            >>> TopP(0.8).get_config()
            {'name': 'top_p', 'p': 0.8}
        """
        return {**super().get_config(), "p": self.p}


@register()
class Typical(Sampler):
    """Locally typical sampling (Meister, Pimentel, Wiher and Cotterell, "Locally Typical
    Sampling", TACL 2023): keeps the ids whose surprisal ``-log p`` is nearest the row's
    entropy, nearest first, until their probability mass reaches ``mass``.

    Unlike top-p it may drop the *most* likely id when the row is spread out: it trims the
    over-predictable (for a chorale: holding the note once more) as well as the far tail (a
    chord Bach would not write). ``mass == 1`` keeps every id.

    Args:
        mass: A number in (0, 1] (default 0.9).

    Examples:
        >>> import numpy as np
        >>> logits = np.log([[0.5, 0.2, 0.2, 0.1]]).astype("float32")  # entropy 1.22 nats
        >>> Typical(0.35).filter(logits).numpy().round(2)  # -log p: 0.69, 1.61, 1.61, 2.30
        array([[ -inf, -1.61, -1.61,  -inf]], dtype=float32)
    """

    name: ClassVar[str] = "typical"

    def __init__(self, mass: float = 0.9) -> None:
        self.mass = _check_top_p(mass)

    def filter(self, logits: Tensor) -> Tensor:
        """Masks the ids outside the typical set of probability ``mass`` with ``-inf``."""
        return _typical(logits, self.mass)

    def get_config(self) -> dict[str, Any]:
        """Returns ``{"name": "typical", "mass": ...}``.

        Examples:
            >>> Typical(0.8).get_config()
            {'name': 'typical', 'mass': 0.8}
        """
        return {**super().get_config(), "mass": self.mass}


@register()
class Sampling(Sampler):
    """Composite sampler: temperature -> top-k -> top-p -> Gumbel-max draw, in that order.

    Top-p therefore sees the tempered probabilities (top-k does not depend on temperature).
    Unset filters (``top_k=None``, ``top_p=None``, ``temperature=1.0``) are skipped.

    Args:
        temperature: A finite number > 0.
        top_k: An integer >= 1, or ``None`` to skip.
        top_p: A number in (0, 1], or ``None`` to skip.

    Examples:
        >>> Sampling(temperature=0.8, top_k=20, top_p=0.95)([[1.0, 2.0, 3.0]], seed=1).shape
        TensorShape([1])
    """

    name: ClassVar[str] = "sampling"

    def __init__(
        self, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
    ) -> None:
        self.temperature = _check_temperature(temperature)
        self.top_k = None if top_k is None else _check_top_k(top_k)
        self.top_p = None if top_p is None else _check_top_p(top_p)

    def filter(self, logits: Tensor) -> Tensor:
        """Applies temperature, then top-k, then top-p (each only when set).

        Examples:
            >>> Sampling(temperature=0.5, top_k=1).filter([[1.0, 2.0]]).numpy()
            array([[-inf,   4.]], dtype=float32)
        """
        logits = _temperature(logits, self.temperature)
        if self.top_k is not None:
            logits = _top_k(logits, self.top_k)
        if self.top_p is not None:
            logits = _top_p(logits, self.top_p)
        return logits

    def get_config(self) -> dict[str, Any]:
        """Returns the name, ``temperature``, ``top_k`` and ``top_p`` (``None`` when unset).

        Examples:
            >>> Sampling(top_k=3).get_config()
            {'name': 'sampling', 'temperature': 1.0, 'top_k': 3, 'top_p': None}
        """
        return {
            **super().get_config(),
            "temperature": self.temperature,
            "top_k": self.top_k,
            "top_p": self.top_p,
        }


# ------------------------------------------------------------------------- lookup/plugins


def _reset_plugins() -> None:
    """Forgets loaded plugins so the next lookup scans entry points again (for tests)."""
    _SAMPLERS.reset_plugins()


def available() -> list[str]:
    """Lists every known sampler name, built-in and plugin, sorted.

    Examples:
        >>> "top_k" in available()
        True
    """
    return _SAMPLERS.available()


def get(spec: str | dict[str, Any] | Sampler) -> Sampler:
    """Resolves a sampler from a name, a config dict or an instance.

    Args:
        spec: A registered name (built-in parameters take their defaults), a config dict
            with a ``"name"`` key as returned by `Sampler.get_config`, or a
            `Sampler`, returned as is.

    Returns:
        A `Sampler` instance.

    Raises:
        InputError: For an unknown name (the message lists the known ones), a dict without
            ``"name"``, or invalid parameters.
        TypeError: For any other kind of ``spec``.

    Examples:
        >>> get({"name": "top_k", "k": 5})
        TopK(k=5)
        >>> get("nucleus")
        TopP(p=0.98)
    """
    return _SAMPLERS.get(spec)


def from_options(
    name: str,
    *,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
) -> Sampler:
    """The sampler a command line or a form asks for: a name and optional filter settings.

    A filter's own name with at most its own setting gives the registered sampler
    (``"top_k"`` -> `TopK` with its default ``k``; ``"top_k"`` and ``top_k=5`` -> ``TopK(5)``).
    Other settings added to a filter compose a `Sampling` with the named filter at its
    default. ``"sampling"`` takes any settings; ``"greedy"`` and plugins take none.

    Args:
        name: a registered sampler name (see `available`).
        temperature: a temperature to apply (``None``: not given).
        top_k: a top-k cut (``None``: not given).
        top_p: a nucleus cut (``None``: not given).

    Raises:
        InputError: an unknown name, settings for a sampler that takes none, bad values.

    Examples:
        >>> from_options("top_k"), from_options("nucleus", top_p=0.9)
        (TopK(k=10), TopP(p=0.9))
        >>> from_options("top_k", temperature=0.8)
        Sampling(temperature=0.8, top_k=10, top_p=None)
        >>> from_options("greedy", top_k=3)
        Traceback (most recent call last):
        ...
        bachnet.errors.InputError: sampler 'greedy' takes no --top-k
    """
    given = [
        key
        for key, value in (("temperature", temperature), ("top_k", top_k), ("top_p", top_p))
        if value is not None
    ]
    own = {"temperature": "temperature", "top_k": "top_k", "top_p": "top_p", "nucleus": "top_p"}
    if name in own and set(given) <= {own[name]}:  # the registered filter alone
        if own[name] == "temperature":
            return Temperature() if temperature is None else Temperature(temperature)
        if own[name] == "top_k":
            return TopK() if top_k is None else TopK(top_k)
        return TopP() if top_p is None else TopP(top_p)
    if name in own or name == "sampling":  # the named filter at its default, plus the others
        setting = own.get(name)
        if temperature is None and setting == "temperature":
            temperature = Temperature().temperature
        if top_k is None and setting == "top_k":
            top_k = TopK().k
        if top_p is None and setting == "top_p":
            top_p = TopP().p
        return Sampling(1.0 if temperature is None else temperature, top_k, top_p)
    if given:
        options = ", ".join("--" + key.replace("_", "-") for key in given)
        raise InputError(f"sampler {name!r} takes no {options}")
    return get(name)
