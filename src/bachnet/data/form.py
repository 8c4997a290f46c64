"""The bars and fermatas of the JSB chorales, from music21's edition of the same pieces.

The JSB CSVs start on the first note and record neither the metre, the pickup nor the
fermatas. music21 bundles the same chorales as MusicXML with all three. `scripts/jsb_form.py`
matched each JSB piece to its music21 edition by its notes (all four voices, a transposition
allowed, a repeat written out in one edition and not the other followed) and stored, per
piece, the edition, its metre, the pickup in 16ths and the fermata steps in ``jsb_form.json``
beside this module: 290 of the 382 pieces match (256 in 4/4, 33 in 3/4, 1 in 3/2); the other
92 are not in music21's edition.

`with_form` puts a piece's form on it; for a piece without a match it keeps what the reader
found (4/4, the pickup that makes the piece end on a bar line: right for 284 of the 290
matched pieces). `Dataset.jsb` applies it to every piece.

A piece from elsewhere in 4/4 whose end says nothing of its bars (the JS Fake Chorales end
anywhere in the bar: read as ending on a bar line, only 52 % of their soprano half notes fall
on beats 1 or 3, against Bach's 82 %) can take `likely_pickup`: the pickup that puts the most
of its soprano's long notes on beats 1 and 3.

Examples:
    >>> form = jsb_form()["chorale_001"]
    >>> form.music21, form.meter, form.pickup, form.fermatas[:2]
    ('bwv385', '4/4', 4, (36, 84))
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

from bachnet.errors import InputError
from bachnet.music.chorale import Chorale

__all__ = ["FORM_FILE", "PieceForm", "jsb_form", "likely_pickup", "with_form"]

FORM_FILE = "jsb_form.json"
"""The table's file name in the ``bachnet.data`` package."""


@dataclass(frozen=True)
class PieceForm:
    """One JSB piece's notation, as music21's edition writes it.

    Attributes:
        music21: the edition's corpus name (``"bwv26.6"``).
        meter: its time signature.
        pickup: 16ths before the first bar line of the JSB piece.
        fermatas: the JSB piece's steps that carry a fermata (one per fermata chord).
        transposed: semitones between the editions (JSB = music21 + this).
    """

    music21: str
    meter: str
    pickup: int
    fermatas: tuple[int, ...]
    transposed: int


@functools.cache
def jsb_form() -> dict[str, PieceForm]:
    """The table, by JSB piece name (``"chorale_000"``), read once per process.

    Examples:
        >>> len(jsb_form())
        290
    """
    text = resources.files("bachnet.data").joinpath(FORM_FILE).read_text(encoding="utf-8")
    return {
        name: PieceForm(
            music21=str(entry["music21"]),
            meter=str(entry["meter"]),
            pickup=int(entry["pickup"]),
            fermatas=tuple(int(step) for step in entry["fermatas"]),
            transposed=int(entry["transposed"]),
        )
        for name, entry in json.loads(text)["pieces"].items()
    }


def with_form(piece: Chorale) -> Chorale:
    """The JSB piece with its metre, pickup and fermatas (unchanged when not in the table).

    Examples:
        >>> import numpy as np
        >>> piece = with_form(Chorale(np.full((40, 4), 60), name="chorale_001"))
        >>> piece.pickup, piece.fermatas
        (4, (36,))
    """
    form = jsb_form().get(piece.name or "")
    if form is None:
        return piece
    marks = [step for step in form.fermatas if step < len(piece)]
    return piece.replace(fermatas=marks, pickup=form.pickup, meter=form.meter)


def likely_pickup(piece: Chorale) -> int:
    """The pickup (0 or 4 16ths) of a 4/4 piece that puts the most soprano notes of a half
    note or longer on beats 1 and 3.

    Beats 1 and 3 cannot be told apart this way, so the answer is one of Bach's two common
    pickups (of JSB's 348 chorales in 4/4, 245 start a beat before the bar line and 89 on it);
    a tie keeps the piece's own pickup when it is 0 or 4, else takes 4. On the 256 JSB chorales
    in 4/4 that music21 edits, it finds the edition's strong beats for 250 (reading each piece
    as ending on a bar line finds them for 251).

    Raises:
        InputError: the piece is not in 4/4.

    Examples:
        >>> half, quarter = [[72, 67, 64, 48]] * 8, [[71, 67, 62, 43]] * 4
        >>> likely_pickup(Chorale(quarter + half + half))  # halves on beats 2 and 4...
        4
        >>> likely_pickup(Chorale(half + half + quarter))  # ...or on beats 1 and 3
        0
    """
    if piece.meter != "4/4":
        name = piece.name or "this piece"
        raise InputError(f"likely_pickup reads 4/4 pieces; {name} is in {piece.meter}")
    # imported here: the app's upload reader imports this module in a child process with a
    # 2 GiB address-space cap, and importing bachnet.music.metrics there tipped it over
    from bachnet.music.metrics import long_note_starts

    long = long_note_starts(piece)
    on_strong = {pickup: int(((long - pickup) % 8 == 0).sum()) for pickup in (0, 4)}
    if on_strong[0] != on_strong[4]:
        return max(on_strong, key=lambda pickup: on_strong[pickup])
    return piece.pickup if piece.pickup in on_strong else 4
