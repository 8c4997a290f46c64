"""Melody harmonisation: a given soprano, the model's alto, tenor and bass.

`harmonize` forces the soprano tokens (every fourth token of the S,A,T,B stream) and lets the
model draw the other three voices, with the voice-leading rules of `bachnet.generation.rules`
applied to them (they see the soprano as a voice already drawn in its step). Where the melody
sounds, the lower voices sound too; where it rests, they may rest.

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

import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from bachnet.core.aliases import PathLike
from bachnet.errors import InputError, LimitError
from bachnet.formats import read_line, read_melody
from bachnet.generation.config import (
    DEFAULT_METHOD,
    HARMONIZE_SETTINGS,
    METHODS,
    GenerationConfig,
    Method,
)
from bachnet.generation.decoder import VOICES_PER_STEP, beam_step_for, decode
from bachnet.generation.gibbs import draw_gibbs
from bachnet.generation.masks import fill_mask, narrow, soprano_mask
from bachnet.generation.rules import Rule
from bachnet.generation.samplers import get as get_sampler
from bachnet.model.protocol import LanguageModel
from bachnet.model.scoring import nll_per_piece
from bachnet.music.cadence import APPROACH_STEPS, cadence_rows, tonic_mask
from bachnet.music.chorale import Chorale
from bachnet.music.grid import VOICES
from bachnet.music.grid import melody_pitches as _pitches
from bachnet.music.keys import Key
from bachnet.music.metrics import parallel_motion
from bachnet.music.phrases import fermata_steps, local_key, melody_cadences
from bachnet.music.ranges import VoiceRanges
from bachnet.music.table import Line
from bachnet.music.vocab import Vocabulary

__all__ = [
    "DEFAULT_METHOD",
    "MAX_LINE_STEPS",
    "METHODS",
    "FermataSpec",
    "GenerationConfig",
    "MelodySpec",
    "Method",
    "as_line",
    "as_melody",
    "cadence_classes",
    "cadences_at_fermatas",
    "check_line_length",
    "draw_constrained",
    "draw_harmonisation",
    "fit_range",
    "frame_classes",
    "frame_in_key",
    "harmonize",
    "harmony_classes",
    "melody_key",
    "read_melody",
    "score",
]

MelodySpec = npt.ArrayLike | Chorale | PathLike
"""A melody: MIDI pitches per 16th step (0 = rest), a `Chorale` (its soprano) or a file path."""
FermataSpec = str | Sequence[str | float | tuple[int, int]]
"""Fermatas by bar and beat: ``"2.3,4.3"``, ``[2.3, 4.3]`` or ``[(2, 3), (4, 3)]``."""


# ------------------------------------------------------------------------------- melodies
def as_line(soprano: MelodySpec, voice: int = 0) -> tuple[Line, str | None]:
    """`as_melody` as a `bachnet.music.table.Line`: with where the line's notes are struck
    (``None`` where nothing says: an array of pitches, a CSV file, a `Chorale` read without
    articulation), its metre and pickup (a file's or a `Chorale`'s; 4/4 from the bar line
    for an array), and its name.

    Examples:
        >>> piece = Chorale([[72, 67, 64, 48]] * 14, onsets=[[1, 1, 1, 1]] * 14, meter="3/4",
        ...                 pickup=2)
        >>> line, name = as_line(piece)
        >>> line.onsets[:2].tolist(), line.meter, line.pickup
        ([True, True], '3/4', 2)
    """
    if isinstance(soprano, Chorale):
        pitches, name = as_melody(soprano, voice)
        onsets = soprano.onsets[:, voice] if soprano.articulated else None
        return Line(pitches, onsets, soprano.meter, soprano.pickup, soprano.fermatas), name
    if isinstance(soprano, str | os.PathLike):
        return read_line(soprano), Path(soprano).stem
    pitches, name = as_melody(soprano, voice)
    return Line(pitches), name


def as_melody(soprano: MelodySpec, voice: int = 0) -> tuple[npt.NDArray[np.int16], str | None]:
    """The MIDI pitches (one per 16th step, 0 = rest) and name of any `MelodySpec` (of a
    `Chorale`: its ``voice``, 0 soprano .. 3 bass).

    Examples:
        >>> as_melody(Chorale([[72, 67, 64, 48], [74, 67, 62, 43]], name="x"))
        (array([72, 74], dtype=int16), 'x')
        >>> as_melody([])
        Traceback (most recent call last):
        ...
        bachnet.errors.InputError: melody: the melody is empty
    """
    if isinstance(soprano, Chorale):
        return _pitches(soprano.chords[:, voice], soprano.name or "melody"), soprano.name
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
    model: LanguageModel, chorales: Chorale | Iterable[Chorale], *, batch_size: int = 64
) -> npt.NDArray[np.float64]:
    """Mean negative log-likelihood (nats per token) of each whole piece under the model: the
    score ``"rerank"`` and ``"beam"`` choose by (`bachnet.model.scoring.nll_per_piece`).

    Examples:
        >>> import keras
        >>> from bachnet import BachNet, ModelConfig
        >>> keras.utils.set_random_seed(0)
        >>> net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4))
        >>> nll = score(net, [Chorale([[72, 67, 64, 48]] * 4), Chorale([[74, 67, 62, 43]])])
        >>> nll.shape, bool(abs(nll[0] - np.log(47)) < 0.1)  # an untrained model: ~log(47)
        ((2,), True)
    """
    return nll_per_piece(model, chorales, batch_size=batch_size)


# ---------------------------------------------------------------------------- harmonising
def _beam(
    model: LanguageModel,
    allowed: npt.NDArray[np.bool_],
    width: int,
    rules: Sequence[Rule],
    pickup: int = 0,
    meter: str = "4/4",
    plan: list[int] | None = None,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """Beam search over the tokens after the lead: ``(beams, tokens)`` ids, best first, and
    their total log-probabilities (``plan``: the fermatas' steps in the stream, for a model
    that hears phrases)."""
    from keras import ops

    advance = beam_step_for(model, rules)
    lead, vocab = model.network.lead_for(pickup, meter), model.vocab.size
    length = lead + len(allowed)
    tokens = np.zeros((width, length), dtype=np.int32)
    forced = allowed.sum(axis=-1) == 1  # known ahead, so the rules see a given lower voice
    tokens[:, lead:] = np.where(forced, allowed.argmax(axis=-1), 0)
    total = np.full(width, -np.inf)
    total[0] = 0.0  # identical beams at the start: keep one
    states = model.network.initial_state(width, meter, [plan] * width if plan else None)
    free = np.ones((width, vocab), dtype=bool)
    for position in range(1, length):
        here = position // VOICES_PER_STEP
        before = VOICES_PER_STEP * max(here - 1, 0)
        previous = tokens[:, before : before + VOICES_PER_STEP]
        current = tokens[:, VOICES_PER_STEP * here : VOICES_PER_STEP * (here + 1)]
        following = np.zeros_like(current)
        ahead = tokens[:, VOICES_PER_STEP * (here + 1) : VOICES_PER_STEP * (here + 2)]
        following[:, : ahead.shape[1]] = ahead
        mask = free if position < lead else np.broadcast_to(allowed[position - lead], free.shape)
        scores, states = advance(
            tokens[:, position - 1],
            np.int32(position - 1),
            states,
            previous,
            current,
            following,
            mask,
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


@overload
def harmonize(
    model: LanguageModel,
    soprano: MelodySpec | None = None,
    config: GenerationConfig | None = None,
    *,
    bass: MelodySpec | None = None,
    fermatas: FermataSpec | None = None,
    num_samples: Literal[1] = 1,
    seed: int | None = None,
    **settings: Any,
) -> Chorale: ...


@overload
def harmonize(
    model: LanguageModel,
    soprano: MelodySpec | None = None,
    config: GenerationConfig | None = None,
    *,
    bass: MelodySpec | None = None,
    fermatas: FermataSpec | None = None,
    num_samples: int,
    seed: int | None = None,
    **settings: Any,
) -> Chorale | list[Chorale]: ...


def harmonize(
    model: LanguageModel,
    soprano: MelodySpec | None = None,
    config: GenerationConfig | None = None,
    *,
    bass: MelodySpec | None = None,
    fermatas: FermataSpec | None = None,
    num_samples: int = 1,
    seed: int | None = None,
    **settings: Any,
) -> Chorale | list[Chorale]:
    """Write the other voices around a given soprano, a given bass, or both, note for note.

    With a soprano alone, alto, tenor and bass may rest where it rests; with a bass (the
    voices over it are written as `bachnet.generation.fill.fill` writes them) the written
    voices always sound.

    Args:
        model: the model.
        soprano: MIDI pitches per 16th step (0 = rest), a `Chorale` (its soprano is kept) or
            the path of a one-part ``.mid``/``.musicxml``/``.csv`` melody (`read_melody`).
            The first step is on a beat.
        bass: a bass line, the same kinds (a `Chorale`'s bass); as long as the soprano when
            both are given.
        fermatas: where the melody's phrases end, as bar.beat positions (``"2.3,4.3"`` or
            ``[2.3, 4.3]``; bar 1 the first full bar, `bachnet.music.phrases.fermata_steps`),
            instead of the line's own (a MusicXML file's or a `Chorale`'s; a MIDI file or an
            array has none). Each gets a cadence under it (`cadences_at_fermatas`) and a
            fermata in every voice of the result.
        config: the settings (`bachnet.generation.config.GenerationConfig`: ``sampler``,
            ``rules`` for the lower voices, ``voice_ranges``, ``method``, ``candidates``);
            default: its defaults. ``method="rerank"`` keeps the best-scored of
            ``candidates`` draws (see `score`), ``"sample"`` one draw, ``"beam"`` the
            ``num_samples`` best beams of a beam search of width ``candidates`` (at least
            ``num_samples``; ``sampler`` and ``seed`` play no part). With the voice ranges,
            a given line is moved by octaves into its voice's range if it lies outside (with
            a warning).
        num_samples: harmonisations to return.
        seed: the same seed gives the same harmonisations.
        **settings: fields of the config to change for this call, e.g. ``method="beam"``.

    Returns:
        A `Chorale`, or a list of ``num_samples`` of them when ``num_samples > 1``.

    Raises:
        InputError: no line given, a bad line (empty, chords, off the 16th grid, pitches the
            vocabulary lacks even after the octave shift), a soprano and a bass of different
            lengths, or a bad setting.
        LimitError: a line longer than `MAX_LINE_STEPS`.
        TypeError: an unknown setting.

    Examples:
        >>> net = BachNet.from_pretrained()  # doctest: +SKIP
        >>> harmonize(net, "melody.musicxml", seed=0).write("harmonised.musicxml")  # doctest: +SKIP
    """
    config = GenerationConfig.of(config, settings, HARMONIZE_SETTINGS, "harmonize")
    if num_samples < 1:
        raise InputError(f"num_samples must be >= 1, got {num_samples}")
    if soprano is None and bass is None:
        raise InputError("harmonize needs a line to keep: a soprano, a bass, or both")
    ranges = config.ranges_for(model)
    lines: dict[int, npt.NDArray[np.int16]] = {}
    struck: dict[int, npt.NDArray[np.bool_]] = {}  # the given lines' articulation
    names: list[str] = []
    bars: list[tuple[str, int]] = []  # each given line's metre and pickup
    marks: list[tuple[int, ...]] = []  # each given line's fermatas
    for voice, spec in ((0, soprano), (3, bass)):
        if spec is not None:
            given, name = as_line(spec, voice)
            lines[voice] = _placed(model, given.pitches, ranges[voice], voice, bass is None)
            if given.onsets is not None:
                struck[voice] = given.onsets
            names += [name] if name else []
            bars.append((given.meter, given.pickup))
            marks.append(given.fermatas)
    meter, pickup = bars[0]  # the soprano's, where there is one
    marked = marks[0] or marks[-1]  # the soprano's, else the bass's
    name = names[0] if names else None
    label = f"{name} (harmonised)" if name else "bachnet harmonisation"
    steps = {len(line) for line in lines.values()}
    if len(steps) > 1:
        raise InputError(
            f"the soprano has {len(lines[0])} steps and the bass {len(lines[3])}: give lines "
            "of one length"
        )
    length = steps.pop()
    check_line_length(length, "harmonize")
    if fermatas is not None:
        anchor = lines[0] if 0 in lines else lines[3]
        marked = fermata_steps(fermatas, melody=anchor, pickup=pickup, meter=meter)
    kept = [f for f in marked if f < length]
    chords = np.zeros((length, 4), dtype=np.int16)
    write = np.ones(chords.shape, dtype=bool)
    for voice, line in lines.items():
        chords[:, voice], write[:, voice] = line, False
    if config.method == "auto":  # see choose_method: a soprano alone -> rerank; a bass -> gibbs
        config = config.replace(method="rerank" if bass is None else "gibbs")
    if config.method == "gibbs":
        classes = None
        if bass is None:  # where the melody rests, all rest (as with the other methods)
            write &= (lines[0] > 0)[:, None]
            classes = harmony_classes(lines[0], kept, model.vocab, ranges, seed)
        pieces = draw_gibbs(
            model,
            chords,
            write,
            config,
            num_samples=num_samples,
            seed=seed,
            name=label,
            pitch_classes=classes,
        )
        barred = [piece.replace(meter=meter, pickup=pickup, fermatas=kept) for piece in pieces]
        return _articulated(barred if num_samples > 1 else barred[0], struck)
    if bass is None:
        drawn = draw_harmonisation(
            model,
            soprano_mask(model.vocab, lines[0]),
            lines[0],
            kept,
            config,
            num_samples=num_samples,
            seed=seed,
            name=label,
            pickup=pickup,
            meter=meter,
        )
    else:
        drawn = draw_constrained(
            model,
            fill_mask(model.vocab, chords, write),
            config,
            num_samples=num_samples,
            seed=seed,
            name=label,
            pickup=pickup,
            meter=meter,
            fermatas=kept,
        )
    return _articulated(drawn, struck)


@overload
def _articulated(drawn: Chorale, struck: dict[int, npt.NDArray[np.bool_]]) -> Chorale: ...
@overload
def _articulated(
    drawn: list[Chorale], struck: dict[int, npt.NDArray[np.bool_]]
) -> list[Chorale]: ...
def _articulated(
    drawn: Chorale | list[Chorale], struck: dict[int, npt.NDArray[np.bool_]]
) -> Chorale | list[Chorale]:
    """The harmonisations with the given lines struck where the user's file strikes them (a
    repeated note stays two notes in every file written); the written voices are struck
    where their pitch changes, as the model hears them."""
    if not struck:
        return drawn
    pieces = drawn if isinstance(drawn, list) else [drawn]
    marked = []
    for piece in pieces:
        onsets = piece.onsets.copy()
        for voice, column in struck.items():
            onsets[:, voice] = column
        marked.append(piece.replace(onsets=onsets))
    return marked if isinstance(drawn, list) else marked[0]


_VOICE_WORDS = ("soprano", "alto", "tenor", "bass")


def melody_key(melody: npt.ArrayLike) -> Key:
    """The key a melody is in, as a harmoniser hears it: its last note is the tonic (as in
    nearly every chorale tune), minor where the tune's notes sound minor on that tonic.

    Examples:
        >>> melody_key([64, 62, 60, 62, 64, 64, 64]), melody_key([69, 72, 71, 69, 68, 69])
        (Key(tonic=4, mode='minor'), Key(tonic=9, mode='minor'))
        >>> melody_key([60, 62, 64, 65, 67, 65, 64, 62, 60])
        Key(tonic=0, mode='major')
    """
    pitches = np.asarray(melody)
    sounding = pitches[pitches > 0]
    tonic = int(sounding[-1]) % 12
    major, minor = Key(tonic), Key(tonic, "minor")
    classes = np.bincount(sounding % 12, minlength=12)
    major_only = classes[(tonic + 4) % 12] + classes[(tonic + 9) % 12]  # the major third, sixth
    minor_only = classes[(tonic + 3) % 12] + classes[(tonic + 8) % 12]
    return minor if minor_only > major_only else major


def frame_in_key(
    allowed: npt.NDArray[np.bool_],
    melody: npt.NDArray[np.int16],
    vocab: Vocabulary,
    ranges: VoiceRanges,
) -> None:
    """Open and close a harmonised melody on its key's tonic chord, the tonic in the bass
    (`melody_key`), over its first and last notes where they belong to that chord: a tune
    not by Bach otherwise could open on any chord and end out of its key."""
    key = melody_key(melody)
    rows = tonic_mask(key, vocab, ranges)
    # a minor tune may end on a major chord, as 132 of Bach's 183 minor chorales do
    final = rows | tonic_mask(Key(key.tonic), vocab, ranges) if key.mode == "minor" else rows
    for (begin, end), chord in zip(_frame_spans(melody, key), (rows, final), strict=True):
        if begin < 0:
            continue
        for step in range(begin, end):
            block = allowed[VOICES_PER_STEP * step : VOICES_PER_STEP * (step + 1)]
            framed = block & chord
            if framed.any(axis=1).all():
                block[:] = framed


HOLD_MAX = 8
"""Steps a fermata chord under a held melody note is set for, at most (a half note)."""


def _cadence_chords(
    melody: npt.NDArray[np.int16],
    fermatas: Sequence[int],
    vocab: Vocabulary,
    ranges: VoiceRanges,
    seed: int | None,
) -> list[tuple[int, npt.NDArray[np.bool_]]]:
    """``(step, rows)`` for each step a cadence under the melody's fermatas sets: ``rows``
    ``(4, vocab.size)``, the tokens each voice may take there (`cadences_at_fermatas`)."""
    home = melody_key(melody)
    steps = len(melody)
    out: list[tuple[int, npt.NDArray[np.bool_]]] = []
    for fermata, cadence in zip(
        fermatas, melody_cadences(melody, fermatas, home, seed=seed), strict=True
    ):
        if cadence is None:
            continue
        kind, relation = cadence
        held = 1
        while (
            held < HOLD_MAX and fermata + held < steps and melody[fermata + held] == melody[fermata]
        ):
            held += 1
        rows = cadence_rows(kind, local_key(home, relation), vocab, ranges, held)
        for offset in range(APPROACH_STEPS + held):
            step = fermata - APPROACH_STEPS + offset
            if 0 <= step < steps:
                out.append((step, rows[VOICES_PER_STEP * offset : VOICES_PER_STEP * (offset + 1)]))
    return out


def draw_harmonisation(
    model: LanguageModel,
    allowed: npt.NDArray[np.bool_],
    melody: npt.NDArray[np.int16],
    fermatas: Sequence[int],
    config: GenerationConfig,
    *,
    num_samples: int = 1,
    seed: int | None = None,
    name: str | None = None,
    pickup: int = 0,
    meter: str = "4/4",
) -> Chorale | list[Chorale]:
    """`draw_constrained` for the voices under a kept melody, under the rules ``"default"``
    reads here as `bachnet.generation.rules.HARMONIZE_RULES`: framed in its key
    (`frame_in_key`), a cadence under each fermata (`cadences_at_fermatas`), and any
    harmonisation that moves into a cadence chord in parallel fifths or octaves drawn again
    with its own bass kept at the cadences (`_redraw_parallels`). ``allowed`` (the
    melody's tokens forced) is narrowed in place."""
    if isinstance(config.rules, str) and config.rules == "default":
        config = config.replace(rules="harmonize")  # `HARMONIZE_RULES`
    ranges = config.ranges_for(model)
    frame_in_key(allowed, melody, model.vocab, ranges)
    steps = cadences_at_fermatas(allowed, melody, fermatas, model.vocab, ranges, seed)
    options: dict[str, Any] = {"name": name, "pickup": pickup, "meter": meter}
    drawn = draw_constrained(
        model, allowed, config, num_samples=num_samples, seed=seed, fermatas=fermatas, **options
    )
    pieces = drawn if isinstance(drawn, list) else [drawn]
    settled = [
        _redraw_parallels(
            model, allowed, piece, steps, config, None if seed is None else seed + i, options
        )
        for i, piece in enumerate(pieces)
    ]
    return settled if isinstance(drawn, list) else settled[0]


def _redraw_parallels(
    model: LanguageModel,
    allowed: npt.NDArray[np.bool_],
    piece: Chorale,
    steps: Sequence[int],
    config: GenerationConfig,
    seed: int | None,
    options: dict[str, Any],
) -> Chorale:
    """``piece``, or where it moves into a cadence step in parallel fifths or octaves, a new
    draw with ``piece``'s bass kept at every cadence step. A cadence names the bass's pitch
    class, not its octave, and the rules see a voice below the one being drawn only once it
    is known: kept, the bass is known ahead, and the alto and tenor are steered away from
    parallels with it (JSB test sopranos, `jsb-keys`: 0.57-0.68 parallel fifths per 100
    chord changes without this, 0.31-0.46 with it; Bach 0.21)."""
    chords = np.asarray(piece.chords, dtype=np.int64)
    into = [step for step in steps if 0 < step < len(chords)]
    if not into:
        return piece
    before, after = chords[[s - 1 for s in into]], chords[into]
    moved = (before != after).any(axis=1)
    fifths, octaves = parallel_motion(before[moved], after[moved])
    if not (fifths.any() or octaves.any()):
        return piece
    again = allowed.copy()
    for step in into:
        pitch = int(chords[step, 3])
        if pitch > 0:
            row = again[VOICES_PER_STEP * step + VOICES_PER_STEP - 1]
            row[:] = False
            row[model.vocab.ids_of(np.array([pitch]))[0]] = True
    redrawn = draw_constrained(
        model, again, config, num_samples=1, seed=seed, fermatas=list(piece.fermatas), **options
    )
    assert isinstance(redrawn, Chorale)
    return redrawn


def cadences_at_fermatas(
    allowed: npt.NDArray[np.bool_],
    melody: npt.NDArray[np.int16],
    fermatas: Sequence[int],
    vocab: Vocabulary,
    ranges: VoiceRanges,
    seed: int | None = None,
) -> list[int]:
    """Set a cadence under each fermata of a harmonised melody, in place; the steps set.

    Each fermata gets a cadence drawn from Bach's mix of kinds and keys among those whose
    chord holds the melody's note there and whose key the bar before it keeps to
    (`bachnet.music.phrases.melody_cadences`; the last one authentic in the melody's key
    where its note allows). The voices below take the cadence's chord for as long as the
    melody holds its note (up to `HOLD_MAX` steps), its root in the bass, and the chord
    before it for the beat before (V or V7 over the dominant before an authentic cadence;
    `bachnet.music.cadence.cadence_rows`). A given note outside a chord is kept (a
    suspension or a passing note); so is any token these rows would leave nothing to draw."""
    steps = []
    for step, rows in _cadence_chords(melody, fermatas, vocab, ranges, seed):
        narrow(allowed, VOICES_PER_STEP * step, rows)
        steps.append(step)
    return sorted(set(steps))


def cadence_classes(
    classes: npt.NDArray[np.bool_],
    melody: npt.NDArray[np.int16],
    fermatas: Sequence[int],
    vocab: Vocabulary,
    ranges: VoiceRanges,
    seed: int | None = None,
) -> None:
    """`cadences_at_fermatas` for the whole-texture filler: ``classes`` ``(steps, 4, 12)``,
    the pitch classes each cell may take, narrowed in place for the written voices."""
    pitches = vocab.pitch_of(np.arange(1, vocab.size)) % 12
    for step, rows in _cadence_chords(melody, fermatas, vocab, ranges, seed):
        chords = np.array(
            [np.isin(np.arange(12), pitches[rows[voice, 1:]]) for voice in range(1, len(VOICES))]
        )
        narrow(classes[step], 1, chords)  # the alto, tenor and bass; a class left if none fits


def harmony_classes(
    melody: npt.NDArray[np.int16],
    fermatas: Sequence[int],
    vocab: Vocabulary,
    ranges: VoiceRanges,
    seed: int | None = None,
) -> npt.NDArray[np.bool_]:
    """What the whole-texture filler may write under a whole melody: `frame_classes` (the
    tonic chord under its first and last notes) narrowed by `cadence_classes` (a cadence
    under each fermata), ``(steps, 4, 12)``. The one place `harmonize` and
    `bachnet.generation.fill.fill` get them for ``method="gibbs"``."""
    classes = frame_classes(melody)
    cadence_classes(classes, melody, fermatas, vocab, ranges, seed)
    return classes


def frame_classes(melody: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
    """`frame_in_key` for the whole-texture filler: ``(steps, 4, 12)`` pitch classes each
    cell may take: the tonic triad in the upper voices and the tonic in the bass over the
    melody's first and last notes (where they belong to that chord; a minor tune may end on
    the major chord), any elsewhere.

    Examples:
        >>> classes = frame_classes(np.array([72, 74, 71, 72], dtype=np.int16))  # C major
        >>> np.flatnonzero(classes[0, 3]).tolist(), np.flatnonzero(classes[0, 1]).tolist()
        ([0], [0, 4, 7])
        >>> bool(classes[1].all())
        True
    """
    key = melody_key(melody)
    classes = np.ones((len(melody), len(VOICES), 12), dtype=bool)
    major = Key(key.tonic).triad
    for index, (begin, end) in enumerate(_frame_spans(melody, key)):
        if begin < 0:
            continue
        triad = set(key.triad) | (set(major) if index == 1 and key.mode == "minor" else set())
        upper = np.isin(np.arange(12), sorted(triad))
        classes[begin:end, 1:3] = upper
        classes[begin:end, 3] = np.arange(12) == key.tonic
    return classes


def _frame_spans(melody: npt.NDArray[np.int16], key: Key) -> list[tuple[int, int]]:
    """The steps of the melody's first and last notes, each ``(-1, -1)`` where the note is
    not in the key's tonic triad (it cannot sound over the tonic chord)."""
    sounding = np.flatnonzero(melody > 0)
    first, last = int(sounding[0]), int(sounding[-1])
    end = first
    while end < len(melody) and melody[end] == melody[first]:
        end += 1
    start = last
    while start > 0 and melody[start - 1] == melody[last]:
        start -= 1
    spans = []
    for begin, stop in ((first, end), (start, last + 1)):
        spans.append((begin, stop) if int(melody[begin]) % 12 in key.triad else (-1, -1))
    return spans


MAX_LINE_STEPS = 4096
"""The longest piece `harmonize` and `bachnet.generation.fill.fill` write around (256 bars of
4/4, six times Bach's longest chorale): each candidate is scored over the whole piece at
once, and a 20,000-step melody ran out of memory in TensorFlow after minutes."""


def check_line_length(steps: int, what: str) -> None:
    """Refuse a piece longer than `MAX_LINE_STEPS` before any work.

    Raises:
        LimitError: it is longer.
    """
    if steps > MAX_LINE_STEPS:
        raise LimitError(
            f"{what}: {steps:,} steps is more than the {MAX_LINE_STEPS:,} (256 bars of 4/4) "
            "bachnet writes around at once; give it in parts"
        )


def _placed(
    model: LanguageModel,
    line: npt.NDArray[np.int16],
    bounds: tuple[int, int],
    voice: int,
    alone: bool,
) -> npt.NDArray[np.int16]:
    """A given line moved by octaves into its voice's range (with a warning), checked against
    the vocabulary."""
    low, high = bounds
    what = "the melody" if alone and voice == 0 else f"the {_VOICE_WORDS[voice]} line"
    moved, shift = fit_range(line, low, high)
    if shift:
        direction = "up" if shift > 0 else "down"
        octaves = abs(shift) // 12
        notes = line[line > 0]
        warnings.warn(
            f"{what} (MIDI {notes.min()}..{notes.max()}) lies outside the {_VOICE_WORDS[voice]} "
            f"range {low}..{high}: moved {direction} {octaves} octave{'s' if octaves > 1 else ''}",
            stacklevel=3,
        )
    sounding = moved[moved > 0]
    if sounding.min() < model.vocab.low or sounding.max() > model.vocab.high:
        raise InputError(
            f"{what} spans MIDI {sounding.min()}..{sounding.max()}: the model knows only "
            f"{model.vocab.low}..{model.vocab.high}"
        )
    return moved


def draw_constrained(
    model: LanguageModel,
    allowed: npt.NDArray[np.bool_],
    config: GenerationConfig,
    *,
    num_samples: int = 1,
    seed: int | None = None,
    name: str | None = None,
    pickup: int = 0,
    meter: str = "4/4",
    fermatas: Sequence[int] = (),
) -> Chorale | list[Chorale]:
    """Draw whole pieces whose tokens stay inside ``allowed``, by ``config.method``: the common
    core of `harmonize` and `bachnet.generation.fill.fill`.

    Args:
        model: the model.
        allowed: ``(tokens, vocab)`` booleans, a multiple of 4 tokens (S,A,T,B per step);
            a row with one True is a forced token.
        config: ``sampler``, ``rules``, ``voice_ranges``, ``method``, ``candidates``.
        num_samples: pieces to return.
        seed: the same seed gives the same pieces.
        name: the pieces' name.
        pickup: the pieces' pickup (a model that knows the bar reads them from its bar line).
        meter: the pieces' metre (a model that knows metres reads their bars).
        fermatas: the pieces' fermatas (steps): their phrase plan, for a model that hears
            phrases; ``()``: none known. The pieces carry them.

    Returns:
        A `Chorale`, or a list of ``num_samples`` of them when ``num_samples > 1``.
    """
    ruleset = config.rules_for(model, meter)
    candidates = config.candidates
    lead = model.network.lead_for(pickup, meter)
    plan = [f + lead // VOICES_PER_STEP for f in fermatas] if fermatas else None

    def placed(piece: Chorale) -> Chorale:
        return piece.replace(pickup=pickup, meter=meter, fermatas=tuple(fermatas))

    if config.method == "beam":
        width = max(candidates, num_samples)
        ids, _ = _beam(model, allowed, width, ruleset, pickup, meter, plan)
        pieces = [
            placed(model.vocab.decode(row, strict=True, name=name)) for row in ids[:num_samples]
        ]
        return pieces if num_samples > 1 else pieces[0]
    smc = config.method == "smc"  # each sample drawn as `candidates` particles
    draws = num_samples * (candidates if config.method == "rerank" else 1)
    ids = decode(
        model,
        np.zeros((draws, lead), dtype=np.int32),
        len(allowed),
        get_sampler(config.sampler),
        ruleset,
        seed=seed,
        allowed=allowed[None],
        meter=meter,
        fermatas=[plan] * draws if plan is not None else None,
        particles=candidates if smc else 1,
    )
    pieces = [placed(model.vocab.decode(row[lead:], strict=True, name=name)) for row in ids]
    if config.method == "rerank":
        nll = nll_per_piece(model, pieces).reshape(num_samples, candidates)
        pieces = [pieces[row * candidates + int(best)] for row, best in enumerate(nll.argmin(1))]
    return pieces if num_samples > 1 else pieces[0]
