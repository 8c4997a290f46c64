"""Phrases and cadences: where a chorale breathes, and how each phrase ends.

A chorale is a chain of phrases, each ending on a fermata over a cadence. This module reads
them off a `Chorale`'s fermatas:

- `name_chord` names the chord of one step (root and quality, by template);
- `cadence_at` tells the cadence that ends on a step: its kind (`CADENCES`) and the key it
  cadences in, relative to the piece's key (`RELATIONS`);
- `phrases` splits a piece at its fermatas (`Phrase`: where it starts and ends, its length in
  quarters, its cadence);
- `repeated_opening` finds bar form's repeated first section (the Stollen of an AAB form);
- `phrase_figures` pools all of it over a collection (`PhraseFigures`), as `bachnet stats`
  and the docs show it against Bach's own.

How the cadence kinds are told apart (roots from `name_chord`; "before" is the chord sounding
just before the final chord's bass note starts, "final" the chord on the fermata step):

- **authentic**: final in root position after a dominant: a major triad or dominant
  seventh a fifth above it in root position (V-I), or a diminished triad or seventh chord
  on its leading note (vii°-I), in whatever key final is the tonic of;
- **deceptive**: before is a major or dominant-seventh chord in root position, its bass
  rising by step to a minor chord a tone above (V-vi) or a major chord a semitone above
  (V-VI in minor);
- **Phrygian**: the bass falls a semitone onto the root of a major final chord (iv6-V);
- **half**: a major triad on the piece's dominant that is none of the above (I-V, IV-V);
- **plagal**: before is a fourth above final, both in root position and of one mode (IV-I,
  iv-i);
- **half** also: any other major triad on the fermata (a V of another key);
- **other**: anything else (an inverted or incomplete final chord, a passing sonority).

The rules are tried in that order; the piece's key decides between I-V (half) and IV-I
(plagal) of the same two chords.

Examples:
    >>> import numpy as np
    >>> from bachnet.music.chorale import Chorale
    >>> rows = [[72, 67, 64, 48]] * 8 + [[71, 67, 62, 43]] * 4 + [[72, 64, 55, 48]] * 4
    >>> piece = Chorale(rows, fermatas=[12])
    >>> [(p.length, p.cadence.kind, p.cadence.relation) for p in phrases(piece)]
    [(5.0, 'authentic', 'tonic')]
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError
from bachnet.music.chorale import Chorale
from bachnet.music.grid import STEP_QUARTERS
from bachnet.music.keys import Key, find_key

__all__ = [
    "CADENCES",
    "RELATIONS",
    "Cadence",
    "Phrase",
    "PhraseFigures",
    "cadence_at",
    "name_chord",
    "phrase_dict",
    "phrase_figures",
    "phrase_table",
    "phrases",
    "repeated_opening",
]

CADENCES: tuple[str, ...] = ("authentic", "half", "plagal", "deceptive", "phrygian", "other")
"""The kinds of cadence `cadence_at` tells apart."""

RELATIONS: tuple[str, ...] = (
    "tonic",
    "dominant",
    "subdominant",
    "relative",
    "supertonic",
    "mediant",
    "submediant",
    "subtonic",
    "other",
)
"""The keys a phrase cadences in, relative to the piece's key (`cadence_at`)."""

_TEMPLATES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("major", (0, 4, 7)),
    ("minor", (0, 3, 7)),
    ("dominant7", (0, 4, 7, 10)),
    ("diminished", (0, 3, 6)),
    ("minor7", (0, 3, 7, 10)),
    ("half-diminished7", (0, 3, 6, 10)),
    ("diminished7", (0, 3, 6, 9)),
    ("major7", (0, 4, 7, 11)),
    ("augmented", (0, 4, 8)),
)


def name_chord(pitches: Iterable[int]) -> tuple[int, str] | None:
    """The root pitch class and quality of a chord (MIDI pitches, 0 = silent), by template.

    The template that holds every sounding pitch class wins, the fewest missing notes next,
    then a root in the bass, then a triad before a seventh chord. A bare fifth or octave
    without a third counts as major (Bach's open final chords). ``None`` for fewer than two
    pitch classes or a cluster no template holds.

    Examples:
        >>> name_chord([67, 62, 59, 43]), name_chord([69, 64, 60, 45]), name_chord([67, 65, 59, 43])
        ((7, 'major'), (9, 'minor'), (7, 'dominant7'))
    """
    sounding = [int(p) for p in pitches if int(p) > 0]
    classes = {p % 12 for p in sounding}
    if len(classes) < 2:
        return None
    bass = min(sounding) % 12
    best: tuple[tuple[int, int, int, int], int, str] | None = None
    for quality, template in _TEMPLATES:
        for root in range(12):
            tones = {(root + step) % 12 for step in template}
            if not classes <= tones:
                continue
            missing = len(tones - classes)
            if 3 in template or 4 in template:
                third = (root + (3 if 3 in template else 4)) % 12
                if third not in classes and quality != "major":
                    continue  # an open fifth is named major, not minor
            rank = (missing, root != bass, len(template), _TEMPLATES.index((quality, template)))
            if best is None or rank < best[0]:
                best = (rank, root, quality)
    return None if best is None else (best[1], best[2])


@dataclass(frozen=True)
class Cadence:
    """The cadence that ends a phrase.

    Attributes:
        kind: one of `CADENCES`.
        relation: the key it cadences in, relative to the piece's key: one of `RELATIONS`
            (an authentic cadence on the dominant chord is a cadence in the dominant key; a
            half cadence is in the key whose dominant it ends on).
        final: the root pitch class and quality of the fermata chord (``None``: unnamed).
        before: the same for the chord before it.
    """

    kind: str
    relation: str
    final: tuple[int, str] | None
    before: tuple[int, str] | None


def _relation(interval: int, key: Key) -> str:
    names = {0: "tonic", 7: "dominant", 5: "subdominant"}
    if key.mode == "major":
        names |= {9: "relative", 2: "supertonic", 4: "mediant"}
    else:
        names |= {3: "relative", 8: "submediant", 10: "subtonic"}
    return names.get(interval % 12, "other")


def cadence_at(chords: npt.ArrayLike, step: int, key: Key) -> Cadence:
    """The cadence whose final chord sounds at ``step`` (a fermata), in a piece in ``key``.

    See the module's notes for how the kinds are told apart.

    Raises:
        InputError: ``step`` outside the piece.

    Examples:
        >>> rows = [[72, 65, 60, 53]] * 4 + [[72, 64, 55, 48]] * 4  # IV - I in C
        >>> cadence_at(rows, 4, Key(0)).kind
        'plagal'
    """
    rows = np.asarray(chords, dtype=np.int64).reshape(-1, 4)
    if not 0 <= step < len(rows):
        raise InputError(f"a cadence at step {step} is outside the piece (0..{len(rows) - 1})")
    final_row = rows[step]
    final = name_chord(final_row)
    bass = rows[:, 3]
    onset = step
    while onset > 0 and bass[onset - 1] == bass[step]:
        onset -= 1
    before_row = rows[onset - 1] if onset > 0 else final_row
    before = name_chord(before_row) if onset > 0 else None
    kind, tonic = _kind(final, before, int(final_row[3]), int(before_row[3]), key)
    relation = "other" if tonic is None else _relation(tonic - key.tonic, key)
    return Cadence(kind=kind, relation=relation, final=final, before=before)


def _kind(
    final: tuple[int, str] | None,
    before: tuple[int, str] | None,
    bass: int,
    bass_before: int,
    key: Key,
) -> tuple[str, int | None]:
    """The cadence kind and the local tonic's pitch class (None when unknown)."""
    if final is None or bass <= 0 or bass % 12 != final[0]:
        return "other", None
    root, quality = final
    triad = quality in ("major", "minor")
    root_before, kind_before = before if before is not None else (-1, "")
    in_root = before is not None and bass_before > 0 and bass_before % 12 == root_before
    dominant = kind_before in ("major", "dominant7") and in_root
    leading = kind_before in ("diminished", "diminished7", "half-diminished7")
    if triad and (
        (dominant and (root_before - root) % 12 == 7)
        or (leading and (root - root_before) % 12 == 1)
    ):
        return "authentic", root
    step = (root - root_before) % 12  # V-vi: a tone up to minor; V-VI: a semitone to major
    rising = bass - bass_before in (1, 2)
    if dominant and rising and (step, quality) in ((2, "minor"), (1, "major")):
        return "deceptive", (root_before + 5) % 12
    if quality == "major" and bass_before > 0 and bass_before - bass == 1:
        return "phrygian", (root + 5) % 12
    if quality == "major" and root == (key.tonic + 7) % 12:
        return "half", key.tonic
    same_mode = kind_before == quality  # IV-I or iv-i; iv-I is a iv-V of the key below
    if triad and in_root and same_mode and (root_before - root) % 12 == 5:
        return "plagal", root
    if quality == "major":
        return "half", (root + 5) % 12
    return "other", None


@dataclass(frozen=True)
class Phrase:
    """One phrase of a chorale.

    Attributes:
        start: its first step (the step after the previous fermata chord's end; 0 first).
        fermata: the step its fermata chord sounds at.
        length: quarters from the previous fermata to this one: 8 for a regular two-bar
            phrase of 4/4 (see `phrases` for the first one).
        cadence: how it ends (`cadence_at`).
    """

    start: int
    fermata: int
    length: float
    cadence: Cadence


def phrases(piece: Chorale, key: Key | None = None) -> list[Phrase]:
    """The phrases of a piece, one per fermata (none without fermatas).

    A phrase's length runs from the previous fermata's step to this one's. The first phrase
    has none before it: it is counted from where a fermata would have stood, half a bar (in
    4/4; a bar in 3/4) before the first bar line, so that a two-bar phrase after a one-beat
    pickup, or from a downbeat, is 8 quarters as the later ones are.

    Args:
        piece: a chorale with fermatas.
        key: the piece's key (default: found by `bachnet.music.keys.find_key`).

    Examples:
        >>> rows = [[72, 67, 64, 48]] * 60 + [[71, 67, 62, 43]] * 4 + [[72, 64, 55, 48]] * 4
        >>> piece = Chorale(rows, fermatas=[28, 64], pickup=4)
        >>> [p.length for p in phrases(piece)]
        [8.0, 9.0]
    """
    if not piece.fermatas:
        return []
    home = find_key(piece) if key is None else key
    found: list[Phrase] = []
    previous: int | None = None
    for fermata in piece.fermatas:
        if previous is None:
            span = piece.bar_steps // 2 if piece.bar_steps % 8 == 0 else piece.bar_steps
            start, length = 0, (fermata - (piece.pickup - span)) * STEP_QUARTERS
        else:
            start = previous + 1
            length = (fermata - previous) * STEP_QUARTERS
        found.append(Phrase(start, fermata, length, cadence_at(piece.chords, fermata, home)))
        previous = fermata
    return found


def repeated_opening(piece: Chorale, *, least: int = 16, agree: float = 0.9) -> int:
    """The length in steps of a repeated first section (bar form: A A B), 0 when none.

    The longest ``k`` of at least ``least`` steps and at most half the piece for which the
    rows ``k..2k`` repeat rows ``0..k`` (``agree`` of them equal: a repeat may change its
    last chord).

    Examples:
        >>> a = [[72, 67, 64, 48]] * 8 + [[74, 67, 62, 43]] * 8 + [[72, 64, 55, 48]] * 16
        >>> b = [[76, 72, 67, 48]] * 32
        >>> repeated_opening(Chorale(a + a + b))
        32
    """
    rows = piece.chords
    for k in range(len(rows) // 2, least - 1, -1):
        if np.mean(np.all(rows[:k] == rows[k : 2 * k], axis=1)) >= agree:
            return k
    return 0


@dataclass(frozen=True)
class PhraseFigures:
    """Phrase and bar-form figures of a collection, as `phrase_figures` computes them.

    Attributes:
        pieces: pieces measured.
        phrased: pieces with at least one fermata (the others have no phrases to show).
        phrases: phrases counted.
        per_piece: median phrases per phrased piece.
        lengths: phrase length in quarters -> count.
        median_length: the median phrase length in quarters (0 without phrases).
        cadences: % of phrases ending in each kind of `CADENCES`.
        relations: % of phrases cadencing in each key of `RELATIONS`.
        last_authentic_tonic: % of phrased pieces whose last phrase ends on an authentic
            cadence in the home key.
        bar_form: % of pieces with a repeated opening section (`repeated_opening`).
        meters: time signature -> pieces.
    """

    pieces: int
    phrased: int
    phrases: int
    per_piece: float
    lengths: dict[float, int]
    median_length: float
    cadences: dict[str, float]
    relations: dict[str, float]
    last_authentic_tonic: float
    bar_form: float
    meters: dict[str, int]


def phrase_figures(pieces: Chorale | Sequence[Chorale] | Iterable[Chorale]) -> PhraseFigures:
    """Phrase lengths, cadences, their keys, bar form and metres of a collection.

    Raises:
        InputError: no pieces.

    Examples:
        >>> rows = [[72, 67, 64, 48]] * 8 + [[71, 67, 62, 43]] * 4 + [[72, 64, 55, 48]] * 4
        >>> figures = phrase_figures(Chorale(rows, fermatas=[12]))
        >>> figures.phrases, figures.cadences["authentic"], figures.last_authentic_tonic
        (1, 100.0, 100.0)
    """
    chorales = [pieces] if isinstance(pieces, Chorale) else list(pieces)
    if not chorales:
        raise InputError("no pieces to measure: give a Chorale or a non-empty collection")
    lengths: collections.Counter[float] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    relations: collections.Counter[str] = collections.Counter()
    counts: list[int] = []
    last_tonic = 0
    for piece in chorales:
        found = phrases(piece)
        if not found:
            continue
        counts.append(len(found))
        for phrase in found:
            lengths[phrase.length] += 1
            kinds[phrase.cadence.kind] += 1
            relations[phrase.cadence.relation] += 1
        end = found[-1].cadence
        last_tonic += end.kind == "authentic" and end.relation == "tonic"
    total = sum(kinds.values())
    spread = sorted(lengths.elements())
    return PhraseFigures(
        pieces=len(chorales),
        phrased=len(counts),
        phrases=total,
        per_piece=float(np.median(counts)) if counts else 0.0,
        lengths=dict(sorted(lengths.items())),
        median_length=float(np.median(spread)) if spread else 0.0,
        cadences={k: 100.0 * kinds[k] / total if total else 0.0 for k in CADENCES},
        relations={r: 100.0 * relations[r] / total if total else 0.0 for r in RELATIONS},
        last_authentic_tonic=100.0 * last_tonic / len(counts) if counts else 0.0,
        bar_form=100.0 * sum(repeated_opening(p) > 0 for p in chorales) / len(chorales),
        meters=dict(collections.Counter(p.meter for p in chorales).most_common()),
    )


_LENGTHS = (8.0, 12.0, 10.0, 9.0, 6.0)
_KEYS = ("tonic", "dominant", "subdominant", "relative")


def _phrase_rows(f: PhraseFigures) -> list[tuple[str, str]]:
    share = {k: 100.0 * f.lengths.get(k, 0) / f.phrases if f.phrases else 0.0 for k in _LENGTHS}
    rest = 100.0 - sum(share.values()) if f.phrases else 0.0
    other_keys = 100.0 - sum(f.relations[k] for k in _KEYS) if f.phrases else 0.0
    return [
        ("pieces with fermatas / pieces", f"{f.phrased} / {f.pieces}"),
        ("phrases (median per piece)", f"{f.phrases:,} ({f.per_piece:g})"),
        ("phrase length, median quarters", f"{f.median_length:g}"),
        (
            "phrase lengths 8 / 12 / 10 / 9 / 6 / other quarters, %",
            " / ".join(f"{v:.1f}" for v in [*share.values(), rest]),
        ),
        (
            "cadences " + " / ".join(CADENCES) + ", %",
            " / ".join(f"{f.cadences[k]:.1f}" for k in CADENCES),
        ),
        (
            "cadence keys " + " / ".join(_KEYS) + " / other, %",
            " / ".join(f"{v:.1f}" for v in [*(f.relations[k] for k in _KEYS), other_keys]),
        ),
        ("last phrase: authentic cadence in the home key, %", f"{f.last_authentic_tonic:.1f}"),
        ("bar form (a repeated opening section), % of pieces", f"{f.bar_form:.1f}"),
        ("metres", ", ".join(f"{m} {n}" for m, n in f.meters.items())),
    ]


def phrase_table(columns: Mapping[str, PhraseFigures]) -> str:
    """Several collections' phrase figures side by side, as a Markdown table.

    Raises:
        InputError: no columns.

    Examples:
        >>> rows = [[72, 67, 64, 48]] * 8 + [[71, 67, 62, 43]] * 4 + [[72, 64, 55, 48]] * 4
        >>> figures = phrase_figures(Chorale(rows, fermatas=[12]))
        >>> print(phrase_table({"mine": figures}).splitlines()[4])
        | phrase length, median quarters | 5 |
    """
    if not columns:
        raise InputError("nothing to show: give at least one column of phrase figures")
    shown = {name: _phrase_rows(f) for name, f in columns.items()}
    labels = [label for label, _ in next(iter(shown.values()))]
    rows = [["phrases", *columns], ["---"] + ["---:"] * len(columns)]
    for i, label in enumerate(labels):
        rows.append([label, *(cells[i][1] for cells in shown.values())])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def phrase_dict(figures: PhraseFigures) -> dict[str, object]:
    """The figures as plain JSON-ready values (phrase lengths keyed by their text).

    Examples:
        >>> import json
        >>> figures = phrase_figures(Chorale([[72, 67, 64, 48]] * 8, fermatas=[7]))
        >>> json.loads(json.dumps(phrase_dict(figures)))["lengths"]
        {'3.75': 1}
    """
    plain = dataclasses.asdict(figures)
    plain["lengths"] = {f"{k:g}": v for k, v in figures.lengths.items()}
    return plain
