"""Fill: keep the notes you like, let the model rewrite the rest.

`fill` takes a piece and a ``(steps, 4)`` boolean mask (True = write this note; soprano, alto,
tenor, bass) and draws new notes for the masked cells; every other cell is kept exactly. It is
the general case of `bachnet.generation.harmonize.harmonize` (which keeps the soprano and
writes the rest): bars 5-6 in every voice, alto and tenor between a given soprano and bass,
three voices over a given bass, the notes you erased.

The model reads left to right, so it sees the kept notes before a gap, not those after it;
the after-the-fact choice of ``method="rerank"`` (the default: the best-scored of
``candidates`` draws, the whole piece scored, kept notes included) and ``method="beam"`` are
what let the notes after a gap weigh in. ``method="gibbs"`` uses a second network instead, a
filler that sees the whole piece at once (`bachnet.model.filler`, the bundled
``jsb-coconet``), with annealed Gibbs sampling (`bachnet.generation.gibbs`); the
voice-leading rules play no part there. Written notes sound (a mask never writes a rest),
follow the rules and stay in their voices' ranges; kept notes win over both.

Examples:
    >>> import keras, numpy as np
    >>> from bachnet import BachNet, Chorale, ModelConfig
    >>> keras.utils.set_random_seed(0)
    >>> net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4))
    >>> piece = Chorale([[72, 67, 64, 48]] * 8 + [[71, 67, 62, 43]] * 8)
    >>> mask = np.zeros((16, 4), bool)
    >>> mask[4:12, 1:3] = True  # alto and tenor of the middle two beats
    >>> filled = fill(net, piece, mask, seed=0, candidates=2)
    >>> bool((filled.chords[~mask] == piece.chords[~mask]).all())
    True
"""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError, InputTypeError
from bachnet.generation.config import HARMONIZE_SETTINGS, GenerationConfig, choose_method
from bachnet.generation.gibbs import draw_gibbs
from bachnet.generation.harmonize import (
    check_line_length,
    draw_constrained,
    draw_harmonisation,
    harmony_classes,
)
from bachnet.generation.masks import fill_mask
from bachnet.model.protocol import LanguageModel
from bachnet.music.chorale import Chorale

__all__ = ["check_mask", "fill"]


def check_mask(mask: npt.ArrayLike, steps: int) -> npt.NDArray[np.bool_]:
    """``mask`` as a ``(steps, 4)`` boolean array, or a clear error.

    Raises:
        InputError: another shape, or values other than True/False (1/0).

    Examples:
        >>> check_mask([[1, 0, 0, 1]], 1).tolist()
        [[True, False, False, True]]
        >>> check_mask([[True, False]], 1)
        Traceback (most recent call last):
        ...
        bachnet.errors.InputError: a fill mask must have shape (1, 4) (steps x voices), got (1, 2)
    """
    array = np.asarray(mask)
    if array.shape != (steps, 4):
        raise InputError(
            f"a fill mask must have shape ({steps}, 4) (steps x voices), got {array.shape}"
        )
    if array.dtype != bool:
        if not np.isin(array, (0, 1)).all():
            raise InputError("a fill mask holds True (write) or False (keep), nothing else")
        array = array.astype(bool)
    return array


@overload
def fill(
    model: LanguageModel,
    piece: Chorale,
    mask: npt.ArrayLike,
    config: GenerationConfig | None = None,
    *,
    num_samples: Literal[1] = 1,
    seed: int | None = None,
    **settings: Any,
) -> Chorale: ...


@overload
def fill(
    model: LanguageModel,
    piece: Chorale,
    mask: npt.ArrayLike,
    config: GenerationConfig | None = None,
    *,
    num_samples: int,
    seed: int | None = None,
    **settings: Any,
) -> Chorale | list[Chorale]: ...


def fill(
    model: LanguageModel,
    piece: Chorale,
    mask: npt.ArrayLike,
    config: GenerationConfig | None = None,
    *,
    num_samples: int = 1,
    seed: int | None = None,
    **settings: Any,
) -> Chorale | list[Chorale]:
    """Rewrite the masked notes of ``piece``; keep every other note exactly.

    Args:
        model: the model.
        piece: the chorale (its first step on a beat).
        mask: ``(steps, 4)`` booleans, True = write this note (soprano, alto, tenor, bass).
        config: ``sampler``, ``rules``, ``voice_ranges``, ``method``, ``candidates``, as for
            `bachnet.generation.harmonize.harmonize`; default: its defaults.
        num_samples: versions to return.
        seed: the same seed gives the same versions.
        **settings: fields of the config to change for this call, e.g. ``method="beam"``.

    Returns:
        A `Chorale`, or a list of ``num_samples`` of them when ``num_samples > 1``. With
        nothing masked, copies of ``piece``.

    Raises:
        InputTypeError: ``piece`` is not a `Chorale`.
        InputError: a bad mask, a kept note outside the model's vocabulary, a bad setting.
        LimitError: a piece longer than
            `bachnet.generation.harmonize.MAX_LINE_STEPS` with something to write.
    """
    if not isinstance(piece, Chorale):
        raise InputTypeError(f"fill needs a Chorale, got {type(piece).__name__}")
    if config is None:
        settings.setdefault("method", "auto")
    config = GenerationConfig.of(config, settings, HARMONIZE_SETTINGS, "fill")
    if num_samples < 1:
        raise InputError(f"num_samples must be >= 1, got {num_samples}")
    write = check_mask(mask, len(piece))
    if write.any():
        check_line_length(len(piece), "fill")
    name = f"{piece.name} (filled)" if piece.name else "bachnet fill"
    if not write.any():
        copies = [piece.replace(name=name)] * num_samples
        return copies if num_samples > 1 else copies[0]
    method = choose_method(write) if config.method == "auto" else config.method
    melody = piece.chords[:, 0]
    # every voice under a kept soprano: a harmonisation, with its key and cadences
    harmonising = not write[:, 0].any() and write[:, 1:].all() and bool((melody > 0).all())
    if method == "gibbs":
        classes = None
        if harmonising:
            ranges = config.ranges_for(model)
            classes = harmony_classes(melody, piece.fermatas, model.vocab, ranges, seed)
        pieces = draw_gibbs(
            model,
            piece.chords,
            write,
            config,
            num_samples=num_samples,
            seed=seed,
            pitch_classes=classes,
        )
    else:
        allowed = fill_mask(model.vocab, piece.chords, write)
        options: dict[str, Any] = {
            "num_samples": num_samples,
            "seed": seed,
            "name": name,
            "pickup": piece.pickup,
            "meter": piece.meter,
        }
        chosen = config.replace(method=method)
        if harmonising:
            result = draw_harmonisation(model, allowed, melody, piece.fermatas, chosen, **options)
        else:
            result = draw_constrained(model, allowed, chosen, fermatas=piece.fermatas, **options)
        pieces = result if isinstance(result, list) else [result]
    kept = [piece.replace(p.chords, name=name) for p in pieces]
    return kept if num_samples > 1 else kept[0]
