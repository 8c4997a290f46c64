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
from bachnet.music.grid import STEP_QUARTERS, bar_steps, check_pickup
from bachnet.music.keys import Key, find_key

__all__ = [
    "CADENCES",
    "MAX_PHRASE",
    "MIN_PHRASE",
    "PLAN_METERS",
    "PLAN_PICKUP",
    "RELATIONS",
    "Cadence",
    "Phrase",
    "PhraseFigures",
    "PhrasePlan",
    "cadence_at",
    "draw_lengths",
    "fermata_lengths",
    "fermata_steps",
    "local_key",
    "melody_cadences",
    "name_chord",
    "parse_fermatas",
    "parse_phrases",
    "phrase_dict",
    "phrase_figures",
    "phrase_table",
    "phrases",
    "plan_origin",
    "plan_phrases",
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
    without a third counts as major (Bach's open final chords), and with a minor seventh
    over it as a dominant seventh. ``None`` for fewer than two
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
                if third not in classes and quality not in ("major", "dominant7"):
                    continue  # an open fifth is major; a seventh over it, a dominant
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


# ---------------------------------------------------------------------------- planning
PLAN_PICKUP = 4
"""The pickup of a planned piece without a prompt: one beat, as in 192 of Bach's 290."""

MIN_PHRASE, MAX_PHRASE = 3, 32
"""Shortest and longest phrase a plan takes, in quarters."""

# Bach's phrase lengths (quarters between fermatas, JSB pieces in music21's edition), the
# commonest ones, as weights for a drawn plan
_BACH_LENGTHS = {8: 900, 10: 291, 6: 193, 12: 178, 9: 108, 7: 66}
# Bach's 3/4 phrases from fermata to fermata (the 33 JSB pieces in 3/4 that carry fermatas, 162
# phrases): 12 quarters 83 times, 9 19, 15 4, 6 3 (the lengths of whole bars; his 10s, 11s, 13s
# and 14s move the fermata off the downbeat, where 158 of his 195 3/4 fermatas stand)
_BACH_LENGTHS_3_4 = {12: 83, 9: 19, 15: 4, 6: 3}

PLAN_METERS: tuple[str, ...] = ("4/4", "3/4")
"""The metres a phrase plan is written in."""


def plan_origin(pickup: int, meter: str = "4/4") -> int:
    """Where a plan without a prompt counts its first phrase from: half a bar before bar 1 in
    4/4 (an 8-quarter phrase after a one-beat pickup ends on beat 3 of bar 2), a whole bar
    before in 3/4 (a 12-quarter phrase ends on the downbeat of bar 5).

    Raises:
        InputError: a metre not in `PLAN_METERS`.

    Examples:
        >>> plan_origin(4), plan_origin(4, "3/4")
        (-4, -8)
    """
    if meter not in PLAN_METERS:
        raise InputError(f"phrases are planned in {' or '.join(PLAN_METERS)}, not {meter!r}")
    return pickup - (8 if meter == "4/4" else bar_steps(meter))


# cadences of a phrase inside the piece (kind, relation) with Bach's weights in round figures
# (all 1,958 phrases: 63 % authentic, 25 % half, 4 % Phrygian, 1 % deceptive; keys: tonic
# 48 %, dominant 15 %, relative 11 %, subdominant 9 %)
_INNER_MAJOR = {
    ("authentic", "tonic"): 24,
    ("authentic", "dominant"): 16,
    ("authentic", "relative"): 10,
    ("authentic", "subdominant"): 6,
    ("authentic", "supertonic"): 4,
    ("half", "tonic"): 24,
    ("half", "relative"): 4,
    ("deceptive", "tonic"): 2,
}
_INNER_MINOR = {
    ("authentic", "tonic"): 22,
    ("authentic", "relative"): 20,
    ("authentic", "dominant"): 8,
    ("authentic", "subdominant"): 6,
    ("half", "tonic"): 18,
    ("phrygian", "tonic"): 8,
    ("half", "relative"): 4,
    ("deceptive", "tonic"): 2,
}

_LOCAL = {  # relation -> (semitones above the home tonic, local mode) for major, minor homes
    "major": {
        "tonic": (0, "major"),
        "dominant": (7, "major"),
        "subdominant": (5, "major"),
        "relative": (9, "minor"),
        "supertonic": (2, "minor"),
        "mediant": (4, "minor"),
    },
    "minor": {
        "tonic": (0, "minor"),
        "dominant": (7, "minor"),
        "subdominant": (5, "minor"),
        "relative": (3, "major"),
        "submediant": (8, "major"),
        "subtonic": (10, "major"),
    },
}


def local_key(home: Key, relation: str) -> Key:
    """The key a phrase cadences in, from the piece's key and a relation of `RELATIONS`.

    Raises:
        InputError: a relation this mode has no key for (``"other"``, a minor key's
            ``"supertonic"``...).

    Examples:
        >>> str(local_key(Key(0), "relative")), str(local_key(Key(9, "minor"), "relative"))
        ('A minor', 'C major')
    """
    found = _LOCAL[home.mode].get(relation)
    if found is None:
        raise InputError(f"a {home.mode} key has no {relation!r} key to cadence in")
    shift, mode = found
    return Key((home.tonic + shift) % 12, mode)  # type: ignore[arg-type]


_SCALE_STEPS = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 9, 10, 11)}


def _cadence_chords(kind: str, key: Key) -> tuple[set[int], set[int] | None]:
    """The pitch classes of a cadence's fermata chord and of its approach (``None``: any)."""
    t = key.tonic
    third = 3 if key.mode == "minor" else 4
    dominant7 = {(t + 7) % 12, (t + 11) % 12, (t + 2) % 12, (t + 5) % 12}
    if kind == "authentic":
        return {t, (t + third) % 12, (t + 7) % 12}, dominant7
    if kind == "plagal":
        return {t, (t + third) % 12, (t + 7) % 12}, {(t + 5) % 12, (t + 5 + third) % 12, t}
    if kind == "half":
        return {(t + 7) % 12, (t + 11) % 12, (t + 2) % 12}, None
    if kind == "phrygian":
        return {(t + 7) % 12, (t + 11) % 12, (t + 2) % 12}, {(t + 5) % 12, (t + 8) % 12, t}
    six = (t + (8 if key.mode == "minor" else 9)) % 12  # deceptive: vi (in minor, VI)
    return {six, (six + 7 - third) % 12, (six + 7) % 12}, dominant7


def melody_cadences(
    melody: npt.ArrayLike,
    fermatas: Sequence[int],
    home: Key,
    seed: int | None = None,
) -> list[tuple[str, str] | None]:
    """A cadence for each fermata of a given melody, as Bach might have set it.

    Of Bach's mix of inner cadences (kinds and keys, as `plan_phrases` draws them) only those
    whose fermata chord holds the melody's note there are possible; each is weighted by
    Bach's share, by how well the bar before the fermata keeps to the cadence's key (the share
    of the melody's notes on its scale, to the fourth power: a raised fourth points to the
    dominant) and by how many of the approach beat's notes belong to the approach chord
    (V7 before an authentic cadence). The last fermata is an authentic cadence in the home
    key where its note allows. One is drawn per fermata (``seed`` makes it repeatable);
    ``None`` where no cadence fits (a rest, or a note outside every candidate chord).

    Examples:
        >>> from bachnet.music.keys import Key
        >>> line = [67] * 4 + [65] * 4 + [64] * 4 + [62] * 4 + [60] * 8
        >>> melody_cadences(line, [12, 16], Key(0), seed=0)
        [('half', 'tonic'), ('authentic', 'tonic')]
    """
    notes = np.asarray(melody, dtype=np.int64).reshape(-1)
    table = _INNER_MAJOR if home.mode == "major" else _INNER_MINOR
    rng = np.random.default_rng(seed)
    last = max(fermatas) if len(fermatas) else -1
    chosen: list[tuple[str, str] | None] = []
    for fermata in fermatas:
        if not 0 <= fermata < len(notes) or notes[fermata] <= 0:
            chosen.append(None)
            continue
        note = int(notes[fermata]) % 12
        window = notes[max(fermata - 16, 0) : fermata + 1]
        window = window[window > 0] % 12
        approach = notes[max(fermata - 4, 0) : fermata]
        approach = approach[approach > 0] % 12
        options = list(table) if fermata != last else [("authentic", "tonic")]
        weights = []
        for kind, relation in options:
            local = local_key(home, relation)
            final, before = _cadence_chords(kind, local)
            if note not in final:
                weights.append(0.0)
                continue
            scale = {(local.tonic + s) % 12 for s in _SCALE_STEPS[local.mode]}
            fit = float(np.isin(window, sorted(scale)).mean()) if window.size else 1.0
            leads = 1.0
            if before is not None and approach.size:
                leads = 0.25 + 0.75 * float(np.isin(approach, sorted(before)).mean())
            weight = 1.0 if fermata == last else float(table[(kind, relation)])
            weights.append(weight * fit**4 * leads)
        total = sum(weights)
        if total <= 0:
            chosen.append(None)
            continue
        pick = int(rng.choice(len(options), p=np.asarray(weights) / total))
        chosen.append(options[pick])
    return chosen


@dataclass(frozen=True)
class PhrasePlan:
    """Where a piece's phrases end, and how: what `bachnet.BachNet.generate` writes to.

    Attributes:
        pickup: 16ths before the first bar line (4/4).
        fermatas: the step of each phrase's fermata chord, in order.
        cadences: ``(kind, relation)`` for each fermata (see `CADENCES`, `RELATIONS`); the
            last one is an authentic cadence in the home key.
        lengths: each phrase's length in quarters (as `phrases` measures it).
    """

    pickup: int
    fermatas: tuple[int, ...]
    cadences: tuple[tuple[str, str], ...]
    lengths: tuple[float, ...]


def plan_phrases(
    lengths: Iterable[float],
    *,
    mode: str = "major",
    start: int | None = None,
    after: int = 0,
    pickup: int = PLAN_PICKUP,
    seed: int | None = None,
    meter: str = "4/4",
) -> PhrasePlan:
    """A plan of phrases of the given lengths in quarters, its cadences drawn from Bach's mix.

    The first fermata falls ``lengths[0]`` quarters after half a bar before the first bar
    line (so an 8-quarter phrase after a one-beat pickup ends on beat 3 of bar 2, as Bach's
    do; in 3/4 a whole bar before, `plan_origin`), or, after a prompt, ``lengths[0]``
    quarters after ``start``; each next one ``lengths[i]`` quarters after the one before.
    Each phrase ends with a cadence drawn from Bach's mix of kinds and keys for ``mode``
    (Phrygian cadences only in minor); the last is an authentic cadence in the home key.

    Args:
        lengths: phrase lengths in whole quarters, each 3..32.
        mode: the home key's mode, ``"major"`` or ``"minor"``.
        start: the step a fermata would have stood at before the first phrase (after a
            prompt: its last fermata, or its last beat); default: half a bar before the
            first bar line.
        after: the first step the plan may write (a prompt's length): the first cadence's
            approach beat may not start before it.
        pickup: the pickup (16ths) of a piece without a prompt.
        seed: makes the drawn cadences repeatable.
        meter: ``"4/4"`` or ``"3/4"`` (`PLAN_METERS`).

    Raises:
        InputError: no phrases, a length that is not a whole number of quarters in 3..32, a
            first phrase too short to leave a beat for its cadence, or a bad mode or pickup.

    Examples:
        >>> plan = plan_phrases([8, 8, 12], seed=0)
        >>> plan.fermatas, plan.cadences[-1]
        ((28, 60, 108), ('authentic', 'tonic'))
    """
    if isinstance(lengths, str | bytes) or not isinstance(lengths, Iterable):
        raise InputError(f"phrases must be a list of lengths in quarters, got {lengths!r}")
    lengths = list(lengths)
    if not lengths:
        raise InputError("phrases must name at least one phrase length")
    if mode not in ("major", "minor"):
        raise InputError(f"mode must be 'major' or 'minor', got {mode!r}")
    check_pickup(pickup, meter)
    origin = plan_origin(pickup, meter) if start is None else start
    quarters: list[int] = []
    for length in lengths:
        if isinstance(length, bool) or not isinstance(length, int | float | np.number):
            raise InputError(f"a phrase length is a number of quarters, got {length!r}")
        if length != int(length) or not MIN_PHRASE <= length <= MAX_PHRASE:
            raise InputError(
                f"a phrase is a whole number of quarters, {MIN_PHRASE}..{MAX_PHRASE}; "
                f"got {length!r}"
            )
        quarters.append(int(length))
    fermatas = tuple(int(origin + 4 * q) for q in np.cumsum(quarters))
    if fermatas[0] - 4 < after:
        raise InputError(
            f"the first phrase ({quarters[0]} quarters) leaves no beat for its cadence: its "
            f"fermata would fall at step {fermatas[0]}, and the music written so far ends at "
            f"step {after}"
        )
    rng = np.random.default_rng(seed)
    table = _INNER_MAJOR if mode == "major" else _INNER_MINOR
    choices = list(table)
    weights = np.array([table[c] for c in choices], dtype=float)
    drawn = [
        choices[int(i)]
        for i in rng.choice(len(choices), len(quarters) - 1, p=weights / weights.sum())
    ]
    cadences = (*drawn, ("authentic", "tonic"))
    return PhrasePlan(
        pickup if start is None else 0, fermatas, cadences, tuple(map(float, quarters))
    )


def draw_lengths(quarters: float, seed: int | None = None, meter: str = "4/4") -> list[int]:
    """Phrase lengths drawn from Bach's commonest (8, 10, 6, 12, 9, 7 quarters, by how often
    he wrote them; in 3/4: 12, 9, 15, 6) until they add up to at least ``quarters``.

    Examples:
        >>> sum(draw_lengths(32, seed=1)) >= 32
        True
    """
    rng = np.random.default_rng(seed)
    table = _BACH_LENGTHS_3_4 if meter == "3/4" else _BACH_LENGTHS
    sizes = np.array(list(table))
    weights = np.array(list(table.values()), dtype=float)
    drawn: list[int] = []
    while sum(drawn) < quarters or not drawn:
        drawn.append(int(rng.choice(sizes, p=weights / weights.sum())))
    return drawn


def parse_phrases(text: str | None) -> tuple[float, ...] | str | None:
    """A phrase plan as typed: ``"8,8,12,8"`` (lengths in quarters), ``"auto"``, or empty.

    Raises:
        InputError: anything else.

    Examples:
        >>> parse_phrases("8, 8,12"), parse_phrases("Auto"), parse_phrases(" ")
        ((8.0, 8.0, 12.0), 'auto', None)
    """
    spec = (text or "").strip()
    if not spec:
        return None
    if spec.lower() == "auto":
        return "auto"
    try:
        return tuple(float(part) for part in spec.split(","))
    except ValueError:
        raise InputError(
            f"{spec!r}: give phrase lengths in quarters, e.g. 8,8,12,8, or 'auto'"
        ) from None


def parse_fermatas(
    spec: str | Iterable[str | float | tuple[int, int]],
) -> tuple[tuple[int, int], ...]:
    """Fermata positions as a musician writes them: ``"2.3, 4.3, 7.3"`` (bar.beat).

    Bar 1 is the first full bar (a pickup is bar 0), beats are 1..4 (`fermata_lengths` checks
    them against the metre); a bare bar number is its first beat. Items may be strings,
    numbers (``2.3``) or (bar, beat) pairs.

    Raises:
        InputError: not bar.beat, a bar before 1 or a beat outside 1..4.

    Examples:
        >>> parse_fermatas("2.3, 4.3,7"), parse_fermatas([2.3, "4.1"])
        (((2, 3), (4, 3), (7, 1)), ((2, 3), (4, 1)))
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    positions = []
    for item in items:
        text = ".".join(map(str, item)) if isinstance(item, tuple) else str(item).strip()
        bar, _, beat = text.partition(".")
        if not (bar.isdigit() and (beat.isdigit() or not beat)):
            raise InputError(f"fermata {text!r}: give bar.beat, e.g. 2.3 (bar 2, beat 3)")
        position = (int(bar), int(beat or 1))
        if position[0] < 1 or not 1 <= position[1] <= 4:
            raise InputError(
                f"fermata {text!r}: bars count from 1 (the first full bar) and beats from 1 to 4"
            )
        positions.append(position)
    if not positions:
        raise InputError("fermatas: name at least one position, e.g. 2.3,4.3")
    return tuple(positions)


def fermata_steps(
    spec: str | Iterable[str | float | tuple[int, int]],
    *,
    melody: npt.ArrayLike,
    pickup: int = 0,
    meter: str = "4/4",
) -> tuple[int, ...]:
    """The steps of a melody's notes that fermatas placed at bar.beat positions mark.

    A position (`parse_fermatas`: bar 1 the first full bar, a pickup bar 0) names the note
    sounding on that beat; its fermata stands where that note starts (a held note's first
    step, as in Bach's chorales).

    Raises:
        InputError: a bad position (`parse_fermatas`), a beat the bar does not have, a
            position after the melody's end or on a rest, or positions out of order.

    Examples:
        >>> line = [67] * 8 + [69] * 4 + [71] * 8 + [72] * 12
        >>> fermata_steps("1.3, 2.2", melody=line, pickup=4)
        (12, 20)
    """
    notes = np.asarray(melody).reshape(-1)
    bar_length = bar_steps(meter)
    steps: list[int] = []
    for bar, beat in parse_fermatas(spec):
        where = f"fermata {bar}.{beat}"
        if beat > bar_length // 4:
            raise InputError(f"{where}: a {meter} bar has {bar_length // 4} beats")
        step = pickup + bar_length * (bar - 1) + 4 * (beat - 1)
        if step >= len(notes):
            raise InputError(f"{where}: the melody ends before it ({len(notes)} steps)")
        if notes[step] <= 0:
            raise InputError(f"{where}: the melody rests there; put a fermata on a note")
        while step > 0 and notes[step - 1] == notes[step]:
            step -= 1
        if steps and step <= steps[-1]:
            raise InputError(f"{where}: give fermatas in order, one a note")
        steps.append(step)
    return tuple(steps)


def fermata_lengths(
    positions: Iterable[tuple[int, int]],
    *,
    pickup: int,
    origin: int | None = None,
    meter: str = "4/4",
) -> list[int]:
    """The phrase lengths (quarters) that put fermatas at bar.beat ``positions``.

    `plan_phrases` with these lengths and ``start=origin`` places its fermatas there.

    Args:
        positions: (bar, beat) pairs, as `parse_fermatas` gives them, in order.
        pickup: sixteenths before bar 1.
        origin: where the plan counts from (`plan_phrases`'s ``start``); default
            `plan_origin`, as `plan_phrases` counts without one.
        meter: ``"4/4"`` or ``"3/4"``.

    Raises:
        InputError: positions out of order, a beat the bar does not have, or a phrase
            shorter or longer than Bach's (`MIN_PHRASE`..`MAX_PHRASE` quarters).

    Examples:
        >>> fermata_lengths([(2, 3), (4, 3), (7, 1)], pickup=4)
        [8, 8, 10]
    """
    before = plan_origin(pickup, meter) if origin is None else origin
    bar_length = bar_steps(meter)
    lengths = []
    for bar, beat in positions:
        if beat > bar_length // 4:
            raise InputError(f"fermata {bar}.{beat}: a {meter} bar has {bar_length // 4} beats")
        step = pickup + bar_length * (bar - 1) + 4 * (beat - 1)
        quarters = (step - before) // 4
        if not MIN_PHRASE <= quarters <= MAX_PHRASE or (step - before) % 4:
            where = f"{bar}.{beat}"
            raise InputError(
                f"fermata {where}: its phrase would be {(step - before) / 4:g} quarters long; "
                f"a phrase is {MIN_PHRASE}..{MAX_PHRASE} quarters (fermatas in order, at least "
                f"{MIN_PHRASE} beats apart)"
            )
        lengths.append(quarters)
        before = step
    return lengths
