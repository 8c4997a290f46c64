"""Melody harmonisation: a given soprano, the model's alto, tenor and bass.

`harmonize` forces the soprano tokens (every fourth token of the S,A,T,B stream) and lets the
model draw the other three voices, with the voice-leading rules of `bachnet.rules` applied to
them (they see the soprano as a voice already drawn in its step). Where the melody sounds, the
lower voices sound too; where it rests, they may rest.

The model reads left to right: when it chooses a chord it cannot see where the melody goes
next. Three methods, measured in the user guide ("Harmonisation"):

* ``"sample"``: one draw per harmonisation.
* ``"rerank"`` (default): ``candidates`` draws per harmonisation, in one batch, and keep the
  one the model scores highest (`score`: the lowest mean negative log-likelihood of the whole
  piece, soprano included). The whole piece is judged after the fact, so a chord that leads
  nowhere loses to one that fits what follows. With the same seed, the first candidate is the
  ``"sample"`` draw.
* ``"beam"``: a beam search of width ``candidates`` over the tokens, on the same score. The
  forced soprano tokens are scored too, so a harmony that makes the next melody note unlikely
  falls out of the beam as soon as that note comes. Deterministic: no sampler, no seed.

A melody is a 1-D sequence of MIDI pitches, one per 16th-note step (0 = rest), a `Chorale`
(its soprano), or a file (`read_melody`). A melody outside the soprano range is moved by whole
octaves into it (`fit_range`), with a warning.

Examples:
    >>> import keras
    >>> from bachnet import BachNet, ModelConfig
    >>> keras.utils.set_random_seed(0)
    >>> net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4))
    >>> melody = [72] * 4 + [74] * 4 + [76] * 8
    >>> piece = harmonize(net, melody, seed=0, candidates=2)
    >>> piece.chords[:, 0].tolist() == melody, piece.chords.shape
    (True, (16, 4))
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from .aliases import PathLike
from .chorale import STEP_QUARTERS, Chorale

if TYPE_CHECKING:
    from .generate import SamplerSpec
    from .model import BachNet
    from .rules import Rule, RulesSpec

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "MelodySpec",
    "Method",
    "as_melody",
    "fit_range",
    "harmonize",
    "read_melody",
    "score",
]

Method = Literal["sample", "rerank", "beam"]
"""How a harmonisation is chosen: one draw, the best-scored of ``candidates`` draws, or a beam
search of width ``candidates``."""

METHODS: tuple[str, ...] = ("sample", "rerank", "beam")
"""Every `Method`."""

DEFAULT_METHOD: Method = "rerank"
"""The method `harmonize` uses unless told otherwise (chosen by measurement, see the guide)."""

MelodySpec = npt.ArrayLike | Chorale | PathLike
"""A melody: MIDI pitches per 16th step (0 = rest), a `Chorale` (its soprano) or a file path."""

_MUSIC21_SUFFIXES = (".mid", ".midi", ".musicxml", ".xml", ".mxl")
_GRID = Fraction(STEP_QUARTERS)


# ------------------------------------------------------------------------------- melodies
def _pitches(values: npt.ArrayLike, where: str) -> npt.NDArray[np.int16]:
    """Validate a 1-D array of MIDI pitches (0 = rest) with at least one note."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{where}: a melody is one pitch per 16th step (1-D), got {array.shape}")
    if array.size == 0:
        raise ValueError(f"{where}: the melody is empty")
    if array.dtype.kind == "f" and (
        not np.all(np.isfinite(array)) or np.any(array != np.round(array))
    ):
        raise ValueError(f"{where}: MIDI pitches must be integers")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{where}: expected integer MIDI pitches, got dtype {array.dtype}")
    outside = (array < 0) | (array > 127)
    if outside.any():
        step = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"{where}: pitch {array[step]} at step {step} is outside 0..127 (0 = rest)"
        )
    if not array.any():
        raise ValueError(f"{where}: the melody has no notes (only rests)")
    return array.astype(np.int16)


def _read_csv(path: Path) -> npt.NDArray[np.int16]:
    rows = [row for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))) if row]
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"{path}: the melody is empty")
    first = [cell.strip() for cell in rows[0]]
    header = not all(cell.lstrip("-").isdigit() for cell in first)
    if len(first) == 1:
        column = 0
    elif header and "note0" in first:
        column = first.index("note0")
    else:
        raise ValueError(
            f"{path}: expected one column of MIDI pitches, or a 'note0' column (the soprano)"
        )
    values = []
    for line, row in enumerate(rows[1:] if header else rows, start=2 if header else 1):
        cell = row[column].strip() if column < len(row) else ""
        if not cell.lstrip("-").isdigit():
            raise ValueError(f"{path}, line {line}: {cell!r} is not a MIDI pitch")
        values.append(int(cell))
    return _pitches(np.array(values, dtype=np.int64), str(path))


def _read_music21(path: Path) -> npt.NDArray[np.int16]:
    from .chorale import parse_music_file

    score = parse_music_file(path)
    parts = list(getattr(score, "parts", [])) or [score]
    if len(parts) != 1:
        raise ValueError(f"{path}: expected a one-part melody, got {len(parts)} parts")
    part = parts[0]
    notes: list[tuple[int, int, int, str]] = []  # (first step, end step, pitch, where)
    flat = part.flatten()  # offsets from the start (a fresh parse's hierarchy can mislead)
    for element in flat.notesAndRests:
        length = Fraction(element.quarterLength)
        if length == 0:
            continue  # a grace note
        offset = Fraction(element.getOffsetBySite(flat))
        where = f"{path}: measure {element.measureNumber}, offset {float(offset):g} quarters"
        if (offset / _GRID).denominator != 1 or ((offset + length) / _GRID).denominator != 1:
            kind = "rest" if element.isRest else "note"
            raise ValueError(
                f"{where}: a {kind} of {float(length):g} quarters is not on the 16th-note grid"
            )
        if element.isRest:
            continue
        if len(element.pitches) != 1:
            names = " ".join(p.nameWithOctave for p in element.pitches)
            raise ValueError(f"{where}: a chord ({names}); a melody has one note at a time")
        start, stop = int(offset / _GRID), int((offset + length) / _GRID)
        notes.append((start, stop, int(element.pitches[0].midi), where))
    if not notes:
        raise ValueError(f"{path}: the melody is empty (no notes)")
    melody = np.zeros(max(note[1] for note in notes), dtype=np.int64)
    for start, stop, pitch, where in sorted(notes):
        if melody[start:stop].any():
            raise ValueError(f"{where}: two notes sound at once; a melody has one note at a time")
        melody[start:stop] = pitch
    return _pitches(melody, str(path))


def read_melody(path: PathLike) -> npt.NDArray[np.int16]:
    """Read a one-part melody onto the 16th-note grid: MIDI pitches per step, 0 = rest.

    ``.csv``: one column of MIDI pitches (a header line is optional), or the ``note0``
    column of a JSB-style file. ``.mid``/``.midi``/``.musicxml``/``.xml``/``.mxl``: parsed
    with music21; the file must hold one part, one note at a time, every note and rest starting
    and ending on a 16th. Rests after the last note are dropped (MIDI files pad the last bar).

    Raises:
        ValueError: an unknown suffix, a chord, an off-grid rhythm (the message names the
            measure and offset), no notes, or a pitch outside 0..127.
        OSError: the file cannot be read.

    Examples:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "tune.csv"
        >>> _ = path.write_text("pitch\\n72\\n72\\n0\\n74\\n")
        >>> read_melody(path).tolist()
        [72, 72, 0, 74]
    """
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix == ".csv":
        return _read_csv(source)
    if suffix in _MUSIC21_SUFFIXES:
        if not source.is_file():
            raise FileNotFoundError(f"{source}: no such file")
        melody = _read_music21(source)
        return melody[: int(np.flatnonzero(melody)[-1]) + 1]
    known = ", ".join((".csv", *_MUSIC21_SUFFIXES))
    raise ValueError(f"{source}: unknown melody file suffix {suffix!r}; use one of {known}")


def as_melody(soprano: MelodySpec) -> tuple[npt.NDArray[np.int16], str | None]:
    """The MIDI pitches (one per 16th step, 0 = rest) and name of any `MelodySpec`.

    Examples:
        >>> as_melody(Chorale([[72, 67, 64, 48], [74, 67, 62, 43]], name="x"))
        (array([72, 74], dtype=int16), 'x')
        >>> as_melody([])
        Traceback (most recent call last):
        ...
        ValueError: melody: the melody is empty
    """
    if isinstance(soprano, Chorale):
        return _pitches(soprano.chords[:, 0], soprano.name or "soprano"), soprano.name
    if isinstance(soprano, str | os.PathLike):
        return read_melody(soprano), Path(soprano).stem
    return _pitches(soprano, "melody"), None


def fit_range(melody: npt.ArrayLike, low: int, high: int) -> tuple[npt.NDArray[np.int16], int]:
    """Move a melody by whole octaves so that most of its notes lie inside ``low..high``.

    Of the shifts that put the most notes inside, the smallest wins (no shift if it is one).

    Returns:
        The moved melody (rests stay 0) and the shift in semitones.

    Examples:
        >>> moved, shift = fit_range([48, 50, 0, 52], 60, 81)
        >>> moved.tolist(), shift
        ([60, 62, 0, 64], 12)
    """
    pitches = np.asarray(melody, dtype=np.int32)
    notes = pitches[pitches > 0]

    def inside(shift: int) -> int:
        return int(((notes + shift >= low) & (notes + shift <= high)).sum())

    shift = min(range(-120, 121, 12), key=lambda s: (-inside(s), abs(s), s))
    if notes.size and (notes.min() + shift < 1 or notes.max() + shift > 127):
        shift = 0
    moved = np.where(pitches > 0, pitches + shift, 0).astype(np.int16)
    return moved, shift


# -------------------------------------------------------------------------------- scoring
def score(
    net: BachNet, chorales: Chorale | Iterable[Chorale], *, batch_size: int = 64
) -> npt.NDArray[np.float64]:
    """Mean negative log-likelihood (nats per token) of each whole piece under the model.

    Each piece is read after the ``net.network.lead`` silence tokens that generation starts
    from, so every token is scored, the first included, given all of the piece before it (and
    the soprano's tokens too: this is the model's probability of the whole piece). Lower is
    more likely. Pieces of one length share a batch.

    Returns:
        A float64 array with one figure per piece.

    Raises:
        ValueError: no chorales, or a note outside the vocabulary.

    Examples:
        >>> import keras
        >>> from bachnet import BachNet, ModelConfig
        >>> keras.utils.set_random_seed(0)
        >>> net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4))
        >>> nll = score(net, [Chorale([[72, 67, 64, 48]] * 4), Chorale([[74, 67, 62, 43]])])
        >>> nll.shape, bool(abs(nll[0] - np.log(47)) < 0.1)  # an untrained model: ~log(47)
        ((2,), True)
    """
    pieces = [chorales] if isinstance(chorales, Chorale) else list(chorales)
    if not pieces:
        raise ValueError("score() needs at least one chorale")
    encoded = [net.vocab.encode(piece) for piece in pieces]
    lead = net.network.lead
    result = np.zeros(len(encoded), dtype=np.float64)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    for begin in range(0, len(order), batch_size):
        rows = order[begin : begin + batch_size]
        longest = max(len(encoded[i]) for i in rows)
        ids = np.zeros((len(rows), lead + longest), dtype=np.int32)
        mask = np.zeros((len(rows), longest), dtype=bool)
        for row, index in enumerate(rows):
            ids[row, lead : lead + len(encoded[index])] = encoded[index]
            mask[row, : len(encoded[index])] = True
        logits = net.logits(ids[:, :-1])[:, lead - 1 :].astype(np.float64)
        top = logits.max(axis=-1, keepdims=True)
        log_norm = top[..., 0] + np.log(np.exp(logits - top).sum(axis=-1))
        target = ids[:, lead:]
        picked = np.take_along_axis(logits, target[..., None], axis=-1)[..., 0] - log_norm
        result[rows] = -(picked * mask).sum(axis=1) / mask.sum(axis=1)
    return result


# ---------------------------------------------------------------------------- harmonising
def _constraint(net: BachNet, melody: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
    """``(4 * steps, vocab)`` allowed ids: the soprano forced, the others sound with it."""
    steps, vocab = len(melody), net.vocab.size
    allowed = np.ones((steps, 4, vocab), dtype=bool)
    allowed[:, 0] = False
    allowed[np.arange(steps), 0, net.vocab.ids_of(melody)] = True
    allowed[melody > 0, 1:, 0] = False  # id 0 is silence
    return allowed.reshape(4 * steps, vocab)


def _advance_fn(net: BachNet, rules: Sequence[Rule]) -> Callable[..., Any]:
    """One token through the model for every beam: ``(token (beams,), index, states,
    previous (beams, 4), current (beams, 4), allowed (beams, vocab)) -> (scores, states)``.

    ``scores`` are the next token's log-probabilities under the model, ``-inf`` where the
    constraint or a hard rule forbids it, less the penalty of soft rules.
    """
    from keras import ops

    from .generate import compiled
    from .rules import Context
    from .rules import apply as apply_rules

    step = net.network.step(net.keras_model)
    table = net.vocab.pitch_of(np.arange(net.vocab.size)).astype(np.int32)

    def advance(
        token: Any, index: Any, states: list[Any], previous: Any, current: Any, allowed: Any
    ) -> tuple[Any, list[Any]]:
        logits, states = step(token, index, states)
        logits = ops.cast(logits, "float32")
        norm = ops.logsumexp(logits, axis=-1, keepdims=True)
        masked = ops.where(allowed, logits, float("-inf"))
        if rules:
            position = index + 1
            context = Context(
                voice=position % 4,
                step=position // 4,
                previous=previous,
                current=current,
                pitches=ops.convert_to_tensor(table),
            )
            masked = apply_rules(rules, masked, context)
        return masked - norm, states

    return compiled(advance)


def _beam(
    net: BachNet, allowed: npt.NDArray[np.bool_], width: int, rules: Sequence[Rule]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """Beam search over the tokens after the lead: ``(beams, tokens)`` ids, best first, and
    their total log-probabilities."""
    from keras import ops

    key = ("harmonize.beam", tuple((type(rule), repr(rule.get_config())) for rule in rules))
    cache: dict[Any, Any] = net._generators
    if key not in cache:
        cache[key] = _advance_fn(net, rules)
    advance = cache[key]
    lead, vocab = net.network.lead, net.vocab.size
    length = lead + len(allowed)
    table = net.vocab.pitch_of(np.arange(vocab)).astype(np.int32)
    tokens = np.zeros((width, length), dtype=np.int32)
    total = np.full(width, -np.inf)
    total[0] = 0.0  # identical beams at the start: keep one
    states = net.network.initial_state(width)
    free = np.ones((width, vocab), dtype=bool)
    for position in range(1, length):
        here, voice = divmod(position, 4)
        chord = table[tokens[:, 4 * here : 4 * here + 4]]
        current = np.where(np.arange(4) < voice, chord, 0).astype(np.int32)
        if here > 0:
            previous = table[tokens[:, 4 * here - 4 : 4 * here]]
        else:
            previous = np.zeros((width, 4), np.int32)
        mask = free if position < lead else np.broadcast_to(allowed[position - lead], free.shape)
        scores, states = advance(
            tokens[:, position - 1], np.int32(position - 1), states, previous, current, mask
        )
        if position < lead:
            continue
        scores = np.asarray(scores, dtype=np.float64)
        options = np.flatnonzero(allowed[position - lead])
        if options.size == 1:  # a forced (soprano) token: every beam takes it
            tokens[:, position] = options[0]
            total = total + scores[:, options[0]]
            continue
        extended = (total[:, None] + scores).reshape(-1)
        best = np.argsort(-extended, kind="stable")[:width]
        parents, chosen = np.divmod(best, vocab)
        tokens = tokens[parents]
        tokens[:, position] = chosen
        total = extended[best]
        states = [ops.take(state, ops.convert_to_tensor(parents), axis=0) for state in states]
    order = np.argsort(-total, kind="stable")
    return tokens[order, lead:], total[order]


def harmonize(
    net: BachNet,
    soprano: MelodySpec,
    *,
    sampler: SamplerSpec = "top_p",
    rules: RulesSpec = "default",
    seed: int | None = None,
    num_samples: int = 1,
    candidates: int = 8,
    method: Method = DEFAULT_METHOD,
    voice_ranges: Sequence[tuple[int, int]] | bool = True,
) -> Chorale | list[Chorale]:
    """Write alto, tenor and bass under a melody; the soprano is the melody, note for note.

    Args:
        net: the model.
        soprano: MIDI pitches per 16th step (0 = rest), a `Chorale` (its soprano is kept) or
            the path of a one-part ``.mid``/``.musicxml``/``.csv`` melody (`read_melody`).
            The first step is on a beat.
        sampler: anything `bachnet.samplers.get` accepts.
        rules: voice-leading rules for the lower voices (`bachnet.rules.get_rules`;
            ``None`` for the raw model).
        seed: the same seed gives the same harmonisations.
        num_samples: harmonisations to return.
        candidates: draws per harmonisation for ``method="rerank"``; the beam width for
            ``"beam"`` (at least ``num_samples``).
        method: ``"rerank"`` (keep the best-scored of ``candidates`` draws, see `score`),
            ``"sample"`` (one draw) or ``"beam"`` (a beam search on the same score; the
            ``num_samples`` best beams; ``sampler`` and ``seed`` play no part).
        voice_ranges: ``True`` for the model's voice ranges (its metadata, else the JSB
            ones), four ``(low, high)`` pairs, or ``False`` for none. The melody is moved by
            octaves into the soprano's range if it lies outside (with a warning).

    Returns:
        A `Chorale`, or a list of ``num_samples`` of them when ``num_samples > 1``.

    Raises:
        ValueError: a bad melody (empty, chords, off the 16th grid, pitches the vocabulary
            lacks even after the octave shift) or a bad argument.

    Examples:
        >>> net = BachNet.from_pretrained()  # doctest: +SKIP
        >>> net.harmonize("melody.musicxml", seed=0).write("harmonised.musicxml")  # doctest: +SKIP
    """
    from .generate import JSB_VOICE_RANGES, generate_tokens
    from .rules import VoiceRange, get_rules

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    if candidates < 1:
        raise ValueError(f"candidates must be >= 1, got {candidates}")
    melody, name = as_melody(soprano)
    ranges = net.metadata.get("voice_ranges", JSB_VOICE_RANGES)
    if voice_ranges is not True and voice_ranges is not False:
        ranges = voice_ranges
    low, high = (int(v) for v in ranges[0])
    moved, shift = fit_range(melody, low, high)
    if shift:
        direction = "up" if shift > 0 else "down"
        octaves = abs(shift) // 12
        notes = melody[melody > 0]
        warnings.warn(
            f"the melody (MIDI {notes.min()}..{notes.max()}) lies outside the soprano range "
            f"{low}..{high}: moved {direction} {octaves} octave{'s' if octaves > 1 else ''}",
            stacklevel=2,
        )
    sounding = moved[moved > 0]
    if sounding.min() < net.vocab.low or sounding.max() > net.vocab.high:
        raise ValueError(
            f"the melody spans MIDI {sounding.min()}..{sounding.max()}: the model knows only "
            f"{net.vocab.low}..{net.vocab.high}"
        )
    ruleset = get_rules(rules)
    if voice_ranges is not False:
        ruleset = [VoiceRange(ranges=ranges), *ruleset]
    label = f"{name} (harmonised)" if name else "bachnet harmonisation"
    allowed = _constraint(net, moved)
    if method == "beam":
        ids, _ = _beam(net, allowed, max(candidates, num_samples), ruleset)
        pieces = [net.vocab.decode(row, strict=True, name=label) for row in ids[:num_samples]]
        return pieces if num_samples > 1 else pieces[0]
    draws = num_samples * (candidates if method == "rerank" else 1)
    lead = net.network.lead
    ids = generate_tokens(
        net,
        np.zeros((draws, lead), dtype=np.int32),
        4 * len(moved),
        sampler=sampler,
        seed=seed,
        constraint=allowed,
        rules=ruleset,
    )
    pieces = [net.vocab.decode(row[lead:], strict=True, name=label) for row in ids]
    if method == "rerank":
        nll = score(net, pieces).reshape(num_samples, candidates)
        pieces = [pieces[row * candidates + int(best)] for row, best in enumerate(nll.argmin(1))]
    return pieces if num_samples > 1 else pieces[0]
