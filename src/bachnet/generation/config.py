"""`GenerationConfig`: how to compose or harmonise, as one frozen value.

The settings of generation live here, checked once when the config is made, instead of being
copied through every signature from the command line down to the compiled loop. What differs
from call to call stays an argument: the prompt or melody, ``num_samples`` (it decides whether
a call returns one `Chorale` or a list), the ``seed`` and a ``constraint`` (it is sized to the
piece).

`bachnet.generation.compose.generate` reads ``steps``, ``sampler``, ``rules``,
``voice_ranges``, ``key``, ``cadence`` and ``include_prompt``;
`bachnet.generation.harmonize.harmonize` reads ``sampler``, ``rules``, ``voice_ranges``,
``method`` and ``candidates``.

Examples:
    >>> config = GenerationConfig(steps=32, sampler={"name": "top_k", "k": 5}, key="d")
    >>> config.key, config.cadence
    (Key(tonic=2, mode='minor'), True)
    >>> config.replace(cadence=False).cadence
    False
    >>> GenerationConfig(steps=0)
    Traceback (most recent call last):
    ...
    bachnet.errors.InputError: steps must be >= 1, got 0
"""

from __future__ import annotations

import dataclasses
import itertools
import numbers
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError, InputTypeError, LimitError
from bachnet.generation.rules import Rule, RulesSpec, VoiceRange, get_rules, in_stream
from bachnet.generation.samplers import Sampler
from bachnet.generation.samplers import get as get_sampler
from bachnet.model.protocol import LanguageModel
from bachnet.music.chorale import MAX_STEPS
from bachnet.music.keys import Key
from bachnet.music.phrases import PLAN_METERS, parse_fermatas, plan_phrases
from bachnet.music.ranges import JSB, RangesSpec, VoiceRanges

__all__ = [
    "COMPOSE_SETTINGS",
    "DEFAULT_METHOD",
    "HARMONIZE_SETTINGS",
    "MAX_PARTICLES",
    "METHODS",
    "GenerationConfig",
    "Method",
    "SamplerSpec",
    "choose_method",
    "model_ranges",
]

SamplerSpec = str | dict[str, Any] | Sampler
"""Anything `bachnet.generation.samplers.get` accepts: a name, a config dict or a `Sampler`."""

Method = Literal["sample", "rerank", "beam", "smc", "gibbs", "auto"]
"""How a harmonisation or a fill is chosen: one draw, the best-scored of ``candidates`` draws,
a beam search of width ``candidates``, sequential Monte Carlo with ``candidates`` particles
(all four with the token model, left to right; ``"smc"``: the drafts that make the kept notes
likely carry on, `bachnet.generation.decoder.decode`'s ``particles``), annealed Gibbs sampling
with a filler that sees the whole piece (`bachnet.generation.gibbs`), or ``"auto"``: the one
measured best for the task (`choose_method`)."""

METHODS: tuple[str, ...] = ("sample", "rerank", "beam", "smc", "gibbs", "auto")
"""Every `Method`."""

MAX_PARTICLES = 64
"""The most particles a composition draws each piece with (`GenerationConfig.particles`)."""

DEFAULT_METHOD: Method = "rerank"
"""The method `harmonize` uses unless told otherwise (chosen by measurement, see the guide)."""

COMPOSE_SETTINGS = frozenset(
    {
        "steps",
        "sampler",
        "rules",
        "voice_ranges",
        "key",
        "cadence",
        "include_prompt",
        "phrases",
        "fermatas",
        "meter",
        "form",
        "particles",
    }
)
"""The fields `bachnet.generation.compose.generate` reads."""

HARMONIZE_SETTINGS = frozenset(
    {"sampler", "rules", "voice_ranges", "method", "candidates", "filler", "gibbs_steps"}
)
"""The fields `bachnet.generation.harmonize.harmonize` reads."""


@dataclass(frozen=True)
class GenerationConfig:
    """The settings of a composition or harmonisation, checked when made.

    Attributes:
        steps: new 16th-note steps to compose (>= 1; with a cadence, a minimum).
        sampler: anything `bachnet.generation.samplers.get` accepts (default: nucleus,
            p = 0.98).
        rules: voice-leading rules: ``"default"`` (Bach's rates; for a harmonisation under a
            kept soprano `bachnet.generation.rules.HARMONIZE_RULES`), ``"strict"`` (textbook
            voice leading, `bachnet.generation.rules.STRICT_RULES`), ``"harmonize"``,
            ``"particles"`` (for phrased pieces drawn with ``particles``,
            `bachnet.generation.rules.PARTICLES_RULES`), ``None`` for none, or rule specs
            (names, config dicts, `bachnet.generation.rules.Rule` instances); a list is kept
            as a tuple.
        voice_ranges: ``True`` for the ranges the model was trained on (its metadata, else
            `bachnet.music.ranges.JSB`), a `bachnet.music.ranges.VoiceRanges` (four ``(low,
            high)`` pairs, soprano first, are made into one), or ``False`` for none.
        key: the key to compose in (``"D minor"``, ``"Bb"``, a `bachnet.music.keys.Key`; kept
            as a `Key`), or ``None``: one of at most four sharps or flats, or the prompt's.
        cadence: end a composition with a cadence in its key.
        include_prompt: start a composition with its prompt.
        method: how a harmonisation is chosen, see `Method`.
        candidates: draws per harmonisation for ``method="rerank"``, the beam width for
            ``"beam"``, the particles for ``"smc"``.
        filler: the filler ``method="gibbs"`` uses: a preset name or a folder (``None``: the
            bundled ``jsb-coconet``).
        gibbs_steps: annealed Gibbs steps for ``method="gibbs"`` (each one pass of the
            filler over the rows it needs), or ``None``: as many as the cells written need
            (`bachnet.generation.gibbs.steps_for`: 24 where a voice is written over more
            than four bars, else 8).
        phrases: a composition's phrase plan: ``None`` (one cadence, at the end), phrase
            lengths in whole quarters (``(8, 8, 12, 8)``; the piece is as long as they make
            it, ``steps`` aside), or ``"auto"`` (lengths drawn from Bach's until they cover
            ``steps``). Each phrase ends on a fermata over a cadence drawn from Bach's mix of
            kinds and keys, the last an authentic cadence in the home key, in one pass
            (`bachnet.music.phrases.plan_phrases`). Kept as a tuple of floats. Needs
            ``cadence``.
        fermatas: a composition's phrase plan given as where its fermatas fall instead:
            bar.beat positions in 4/4 (``"2.3, 4.3, 7.1"`` or ``(2.3, 4.3, 7.1)``; bar 1 is the
            first full bar, counted in the whole piece, a prompt included), kept as (bar, beat)
            pairs (`bachnet.music.phrases.parse_fermatas`). The piece ends at the last one;
            not with ``phrases``.
        meter: the time signature of a composition: ``"4/4"`` or ``"3/4"``
            (`bachnet.music.phrases.PLAN_METERS`). A 3/4 piece is composed in phrases
            (``phrases="auto"`` unless ``phrases`` or ``fermatas`` say otherwise), its
            fermatas on downbeats, as Bach's mostly are. A prompt's own metre wins over the
            default.
        form: ``None``, or ``"AAB"``: bar form, as in 28.6 % of Bach's chorales: the first two
            phrases (the Stollen) are written out twice, the rest (the Abgesang) follows; it
            needs a phrase plan of at least three phrases (``phrases="auto"`` when none is
            given) and no prompt.
        particles: a composition draws each piece as this many drafts at once and carries on
            those that make what is asked of it likely (a phrase plan's cadences and scales,
            the closing cadence, a constraint): sequential Monte Carlo,
            `bachnet.generation.decoder.decode`'s ``particles``; 1 (the default): one draft.
            At most `MAX_PARTICLES`.

    Raises:
        InputError: a setting out of range, an unknown sampler, rule, key or method.
        LimitError: more steps than `bachnet.music.chorale.MAX_STEPS`.
    """

    steps: int = 64
    sampler: SamplerSpec = "top_p"
    rules: RulesSpec = "default"
    voice_ranges: VoiceRanges | RangesSpec | bool = True
    key: Key | str | None = None
    cadence: bool = True
    include_prompt: bool = True
    method: Method = DEFAULT_METHOD
    candidates: int = 8
    filler: str | None = None
    gibbs_steps: int | None = None
    phrases: tuple[float, ...] | str | None = None
    fermatas: str | Sequence[str | float | tuple[int, int]] | None = None
    meter: str = "4/4"
    form: str | None = None
    particles: int = 1

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not _whole(self.steps) or self.steps < 1:
            raise InputError(f"steps must be >= 1, got {self.steps}")
        if self.steps > MAX_STEPS:
            raise LimitError(
                f"steps must be at most {MAX_STEPS:,} (4,096 bars), got {self.steps:,}"
            )
        get_sampler(self.sampler)  # an unknown name or a bad parameter fails here
        if not (self.rules is None or isinstance(self.rules, str | dict | Rule)):
            set_(self, "rules", tuple(self.rules))
        get_rules(self.rules)
        if isinstance(self.voice_ranges, bool | np.bool_):
            set_(self, "voice_ranges", bool(self.voice_ranges))
        else:
            set_(self, "voice_ranges", VoiceRanges.of(self.voice_ranges))
        if self.key is not None:
            set_(self, "key", Key.parse(self.key))
        set_(self, "cadence", bool(self.cadence))
        set_(self, "include_prompt", bool(self.include_prompt))
        if self.method not in METHODS:
            raise InputError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}")
        if not _whole(self.candidates) or self.candidates < 1:
            raise InputError(f"candidates must be >= 1, got {self.candidates}")
        if not _whole(self.particles) or not 1 <= self.particles <= MAX_PARTICLES:
            raise InputError(f"particles must be 1..{MAX_PARTICLES}, got {self.particles}")
        if self.gibbs_steps is not None and (
            not _whole(self.gibbs_steps) or not 1 <= self.gibbs_steps <= 1000
        ):
            raise InputError(f"gibbs_steps must be 1..1000 or None, got {self.gibbs_steps}")
        if self.filler is not None:
            set_(self, "filler", str(self.filler))
        if isinstance(self.phrases, str):
            if self.phrases != "auto":
                raise InputError(
                    f"phrases must be lengths in quarters or 'auto', got {self.phrases!r}"
                )
        elif self.phrases is not None:
            plan = plan_phrases(self.phrases)  # a bad length fails here
            set_(self, "phrases", plan.lengths)
        if self.form not in (None, "AAB"):
            raise InputError(f"form must be None or 'AAB', got {self.form!r}")
        if self.meter not in PLAN_METERS:
            raise InputError(
                f"meter: bachnet composes in {' or '.join(PLAN_METERS)}, not {self.meter!r}"
            )
        if self.fermatas is not None:
            if self.phrases is not None:
                raise InputError("give phrases or fermatas, not both")
            positions = parse_fermatas(self.fermatas)
            if any(a >= b for a, b in itertools.pairwise(positions)):
                raise InputError(f"fermatas must be in order, got {self.fermatas!r}")
            set_(self, "fermatas", positions)

    @property
    def fermata_positions(self) -> tuple[tuple[int, int], ...] | None:
        """``fermatas`` as (bar, beat) pairs (as `__post_init__` keeps them), or ``None``."""
        if self.fermatas is None:
            return None
        return parse_fermatas(self.fermatas)

    def replace(self, **settings: Any) -> GenerationConfig:
        """A copy with some settings changed (and checked again).

        Raises:
            TypeError: a name that is not a setting.
        """
        return self._with(settings, frozenset(_FIELDS), "GenerationConfig.replace")

    def _with(
        self, settings: dict[str, Any], known: Collection[str], caller: str
    ) -> GenerationConfig:
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise InputTypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
        return dataclasses.replace(self, **settings) if settings else self

    @classmethod
    def of(
        cls,
        config: GenerationConfig | None,
        settings: dict[str, Any],
        known: Collection[str],
        caller: str,
    ) -> GenerationConfig:
        """``config`` (or the defaults) with keyword ``settings`` laid over it.

        Raises:
            TypeError: a keyword that is not one of ``known`` (the settings ``caller`` reads).
        """
        return (config or cls())._with(settings, known, caller)

    @classmethod
    def either(cls, config: GenerationConfig | None, **keywords: Any) -> GenerationConfig:
        """``config``, or the config of the keyword settings: the two ways to call
        `bachnet.BachNet.generate` and `bachnet.BachNet.harmonize`.

        Raises:
            InputError: ``config`` and a keyword setting other than its default.

        Examples:
            >>> GenerationConfig.either(None, steps=16).steps
            16
            >>> GenerationConfig.either(GenerationConfig(steps=8), steps=64).steps  # a default
            8
            >>> GenerationConfig.either(GenerationConfig(steps=8), steps=16)
            Traceback (most recent call last):
            ...
            bachnet.errors.InputError: give steps in config= or as keywords, not both
        """
        given = cls(**keywords)
        if config is None:
            return given
        default = cls()
        changed = [name for name in _FIELDS if getattr(given, name) != getattr(default, name)]
        if changed:
            raise InputError(f"give {', '.join(changed)} in config= or as keywords, not both")
        return config

    def ranges_for(self, model: LanguageModel) -> VoiceRanges:
        """The voice ranges to keep: the ones given, else the model's (`model_ranges`).

        With ``voice_ranges=False`` they still place the opening, the cadence, a melody and
        the key; only the ``voice_range`` rule is left out (`rules_for`).
        """
        if isinstance(self.voice_ranges, VoiceRanges):
            return self.voice_ranges
        return model_ranges(model)

    def rules_for(self, model: LanguageModel, meter: str | None = None) -> list[Rule]:
        """The rules to apply, in order: the voice ranges first (unless ``voice_ranges`` is
        ``False``), then ``rules``, each for the model's stream of a piece in ``meter``
        (default: `meter`; `bachnet.generation.rules.in_stream`)."""
        meter = self.meter if meter is None else meter
        ruleset = in_stream(get_rules(self.rules), meter, model.network.bar_lines(meter))
        if self.voice_ranges is not False:
            ruleset = [VoiceRange(ranges=self.ranges_for(model)), *ruleset]
        return ruleset

    def wanted_key(self) -> Key | None:
        """``key`` as a `Key` (or ``None``)."""
        return None if self.key is None else Key.parse(self.key)


_FIELDS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(GenerationConfig))


def choose_method(write: npt.NDArray[np.bool_]) -> Method:
    """What ``method="auto"`` means for a fill mask ``(steps, 4)`` (True = write).

    Measured on the [fill] tasks (`benchmarks/fill.py`, docs: benchmarks): the left-to-right
    ``"rerank"`` when nothing is kept (a composition) or when only the soprano is (a
    harmonisation: the judge's AUC 0.857 against Gibbs' 0.937); ``"gibbs"`` whenever notes are
    kept after or below the ones written (bars in the middle, inner voices, voices over a
    bass, scattered notes: more of Bach's notes back, seams at Bach's rates).

    Examples:
        >>> import numpy as np
        >>> harmonise = np.ones((8, 4), bool); harmonise[:, 0] = False
        >>> choose_method(harmonise), choose_method(np.ones((8, 4), bool))
        ('rerank', 'rerank')
        >>> bars = np.zeros((8, 4), bool); bars[2:4] = True
        >>> choose_method(bars)
        'gibbs'
    """
    kept = ~np.asarray(write, dtype=bool)
    if not kept.any() or not kept[:, 1:].any():
        return "rerank"
    return "gibbs"


def model_ranges(model: LanguageModel) -> VoiceRanges:
    """The voice ranges a model was trained on (``metadata["voice_ranges"]``), else
    `bachnet.music.ranges.JSB`.

    Raises:
        InputError: the metadata's ranges are not four valid pairs.
    """
    return VoiceRanges.of(model.metadata.get("voice_ranges", JSB))


def _whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
