"""Seeing a chorale: an engraved choir score (SVG, PNG, PDF) and a piano roll (PNG).

The score goes music21 -> MusicXML -> verovio: two staves (soprano and alto on a treble staff,
tenor and bass on a bass staff), the key signature found by key analysis with every pitch
spelled in that key, the time signature, bars, ties across barlines, fermatas and the title.
SVG needs ``verovio``; PNG and PDF also ``cairosvg`` (and the Cairo library); the piano roll
needs ``matplotlib``. ``pip install 'bachnet[score]'`` installs all three.

The `SCORE` format of the table (`bachnet.music.table`: ``.svg``, ``.png``, ``.pdf``, written
only; a name ending in ``.roll.png`` is a piano roll) and `to_svg`, the converter behind
`Chorale.to_svg`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bachnet.core.aliases import PathLike
from bachnet.core.files import atomic_path
from bachnet.errors import BachNetError, InputError
from bachnet.music.grid import VOICES, runs
from bachnet.music.table import Format, WriteOptions

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bachnet.music.chorale import Chorale
    from bachnet.music.keys import Key

__all__ = [
    "ROLL_SUFFIX",
    "SCORE",
    "SCORE_SUFFIXES",
    "ScoreUnavailableError",
    "piano_roll",
    "require",
    "to_musicxml",
    "to_svg",
    "write_score",
]

SCORE_SUFFIXES: tuple[str, ...] = (".svg", ".png", ".pdf")
"""File suffixes of an engraved score."""

ROLL_SUFFIX = ".roll.png"
"""A file name ending in this writes a piano roll instead of the score."""

VOICE_COLOURS: tuple[str, ...] = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd")
"""Piano-roll colours of soprano, alto, tenor and bass."""

_PAGE_WIDTH = 2100  # verovio units (tenths of a staff space at scale 100)


class ScoreUnavailableError(BachNetError, RuntimeError):
    """The score extra (verovio, cairosvg, matplotlib) is missing."""


def require(name: str) -> None:
    """Check, before any work, that the score or piano roll file ``name`` can be written.

    Raises:
        ScoreUnavailableError: verovio, cairosvg (PNG, PDF) or matplotlib (piano roll) is
            missing; the message says what to install.
    """
    if name.lower().endswith(ROLL_SUFFIX):
        try:
            import matplotlib  # noqa: F401
        except ImportError as error:
            raise ScoreUnavailableError(
                f"a piano roll needs matplotlib: pip install 'bachnet[score]' ({error})"
            ) from error
        return
    _verovio()
    if not name.lower().endswith(".svg"):
        _cairosvg()


def to_musicxml(
    chorale: Chorale, *, tempo: float = 60.0, key: Key | str | None = "auto", staves: int = 2
) -> str:
    """The chorale as MusicXML text (a choir score of two staves by default).

    Examples:
        >>> from bachnet import Chorale
        >>> xml = to_musicxml(Chorale([[70, 65, 62, 46]] * 16))
        >>> "<fifths>-2</fifths>" in xml, xml.count("<part id=")
        (True, 2)
    """
    return _export(chorale.to_music21(tempo=tempo, key=key, staves=staves))


def to_svg(
    chorale: Chorale,
    *,
    key: Key | str | None = "auto",
    width: int = _PAGE_WIDTH,
    scale: int = 45,
) -> str:
    """Engrave the chorale with verovio: one SVG page holding every system.

    Args:
        chorale: the piece.
        key: as in `Chorale.to_music21` (``"auto"``: found by key analysis).
        width: page width in verovio units (systems break to fit it).
        scale: verovio's zoom in percent.

    Raises:
        ScoreUnavailableError: verovio is not installed, or it cannot read the score.

    Examples:
        >>> from bachnet import Chorale
        >>> to_svg(Chorale([[72, 67, 64, 48]] * 16)).startswith("<svg")  # doctest: +SKIP
        True
    """
    try:
        import verovio
    except ImportError as error:
        raise ScoreUnavailableError(
            f"an engraved score needs verovio: pip install 'bachnet[score]' ({error})"
        ) from error
    # The tempo is left out: verovio writes its note glyph in a music font that SVG viewers
    # without that font draw as a box. MIDI, MusicXML and audio keep it.
    score = chorale.to_music21(key=key, staves=2)
    for mark in list(score.recurse().getElementsByClass("MetronomeMark")):
        mark.activeSite.remove(mark)
    xml = _export(score)
    # verovio keeps its default resource path per thread (set where it was imported): name it,
    # so a web server's worker threads engrave too.
    toolkit = verovio.toolkit(False)
    toolkit.setResourcePath(str(Path(verovio.__file__).parent / "data"))
    toolkit.setOptions(
        {
            "pageWidth": width,
            "pageHeight": 60000,
            "adjustPageHeight": True,
            "scale": scale,
            "footer": "none",
            "breaks": "auto",
            "pageMarginTop": 50,
            "pageMarginBottom": 50,
            "pageMarginLeft": 50,
            "pageMarginRight": 50,
            "svgViewBox": True,  # scales to its container (a notebook cell, a web page)
        }
    )
    if not toolkit.loadData(xml):
        log = " ".join(toolkit.getLog().split())[:300]
        raise ScoreUnavailableError(f"verovio could not read the chorale's MusicXML: {log}")
    svg: str = toolkit.renderToSVG(1)
    return svg


def write_score(chorale: Chorale, path: PathLike, *, key: Key | str | None = "auto") -> Path:
    """Write the engraved score (``.svg``, ``.png`` or ``.pdf``) or, for a name ending in
    ``.roll.png``, the piano roll; atomically.

    Raises:
        InputError: an unknown suffix.
        ScoreUnavailableError: a missing extra.

    Examples:
        >>> import tempfile, pathlib
        >>> from bachnet import Chorale
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "c.svg"
        >>> write_score(Chorale([[72, 67, 64, 48]] * 16), out).exists()  # doctest: +SKIP
        True
    """
    target = Path(path)
    if target.name.lower().endswith(ROLL_SUFFIX):
        figure = piano_roll(chorale)
        with atomic_path(target, suffix=".png") as tmp:
            figure.savefig(str(tmp), format="png")
        return target
    suffix = target.suffix.lower()
    if suffix not in SCORE_SUFFIXES:
        raise InputError(
            f"{target}: unknown score suffix {suffix!r}; use one of "
            f"{', '.join(SCORE_SUFFIXES)} or {ROLL_SUFFIX}"
        )
    svg = to_svg(chorale, key=key)
    with atomic_path(target, suffix=suffix) as tmp:
        if suffix == ".svg":
            tmp.write_text(svg, encoding="utf-8")
        else:
            cairosvg = _cairosvg()
            convert = cairosvg.svg2png if suffix == ".png" else cairosvg.svg2pdf
            convert(
                bytestring=svg.encode("utf-8"),
                write_to=str(tmp),
                background_color="white",
                scale=2.0 if suffix == ".png" else 1.0,  # a sharp PNG: 1890 px wide
            )
    return target


def piano_roll(chorale: Chorale, *, title: str | None = None, width: float = 10.0) -> Figure:
    """A piano roll of the chorale: one coloured bar per note, bars and beats, fermatas.

    Consecutive equal pitches of a voice make one bar. x counts the piece's bars, after its
    pickup (a grey line per beat, a darker one per bar); y is pitch, labelled at each C and G;
    a dashed line marks each step that carries a fermata.

    Args:
        chorale: the piece.
        title: the title (default: the chorale's name).
        width: figure width in inches.

    Raises:
        ScoreUnavailableError: matplotlib is missing.

    Examples:
        >>> from bachnet import Chorale
        >>> figure = piano_roll(Chorale([[72, 67, 64, 48]] * 16))  # doctest: +SKIP
        >>> [t.get_text() for t in figure.axes[0].get_legend().get_texts()]  # doctest: +SKIP
        ['Soprano', 'Alto', 'Tenor', 'Bass']
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ScoreUnavailableError(
            f"a piano roll needs matplotlib: pip install 'bachnet[score]' ({error})"
        ) from error
    chords = chorale.chords
    steps = len(chords)
    figure = Figure(figsize=(width, 4.0), dpi=150, layout="constrained")
    axes = figure.add_subplot()
    for voice, (name, colour) in enumerate(zip(VOICES, VOICE_COLOURS, strict=True)):
        for pitch, start, length in runs(chords[:, voice], chorale.onsets[:, voice]):
            if pitch:
                axes.broken_barh([(start, length)], (pitch - 0.4, 0.8), color=colour)
        axes.plot([], [], color=colour, linewidth=6, label=name)
    bar, pickup = chorale.bar_steps, chorale.pickup  # bar lines at pickup + k bars
    for step in range(pickup % 4, steps + 1, 4):  # beats (quarter notes), then the bars
        line = (step - pickup) % bar == 0
        axes.axvline(step, color="0.5" if line else "0.88", linewidth=0.8, zorder=0)
    for i, step in enumerate(chorale.fermatas):
        axes.axvline(
            step,
            color="0.2",
            linestyle="--",
            linewidth=0.9,
            label="fermata" if i == 0 else None,
        )
    sounding = chords[chords > 0]
    low, high = (int(sounding.min()), int(sounding.max())) if sounding.size else (48, 72)
    ticks = [m for m in range(low - 2, high + 3) if m % 12 in (0, 7)]  # C and G
    axes.set_yticks(ticks, [_note_name(m) for m in ticks])
    axes.set_ylim(low - 2, high + 2)
    axes.set_xlim(0, steps)
    lines = list(range(pickup, steps + 1, bar))
    axes.set_xticks(lines, [str(number + 1) for number in range(len(lines))])
    axes.set_xlabel(f"bar ({chorale.meter}, sixteenth-note grid)")
    # above the legend, at the left: the web app's image buttons cover the top right corner
    axes.set_title(
        title if title is not None else chorale.name or "", fontsize=9, loc="left", pad=18
    )
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=5, fontsize=8, frameon=False)
    return figure


def _note_name(midi: int) -> str:
    """``60 -> "C4"``, ``70 -> "Bb4"``."""
    names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    return f"{names[midi % 12]}{midi // 12 - 1}"


def _export(score: Any) -> str:
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    data: bytes = GeneralObjectExporter(score).parse()
    return data.decode("utf-8")


def _verovio() -> Any:
    try:
        import verovio
    except ImportError as error:
        raise ScoreUnavailableError(
            f"an engraved score needs verovio: pip install 'bachnet[score]' ({error})"
        ) from error
    return verovio


def _cairosvg() -> Any:
    try:
        import cairosvg
    except (ImportError, OSError) as error:  # OSError: the Cairo library itself is missing
        raise ScoreUnavailableError(
            "PNG and PDF scores need cairosvg and the Cairo library: pip install "
            f"'bachnet[score]' (Debian/Ubuntu: apt install libcairo2) ({error})"
        ) from error
    return cairosvg


def _write(chorale: Chorale, path: Path, options: WriteOptions) -> Path:
    return write_score(chorale, path, key=options.key)


def _require(path: Path) -> None:
    require(path.name)


SCORE = Format(
    "score",
    SCORE_SUFFIXES,
    f"the engraved two-staff score; a name ending in {ROLL_SUFFIX} is a piano roll",
    write=_write,
    extra="score",
    require=_require,
)
"""``.svg``/``.png``/``.pdf``: written only (extra ``bachnet[score]``)."""
