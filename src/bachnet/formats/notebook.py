"""Jupyter's view of a `Chorale`: the engraved score and an audio player in one HTML block.

`chorale_html` is the converter behind `Chorale._repr_html_`.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from bachnet.formats.audio import AudioUnavailableError, wav_bytes
from bachnet.formats.score import ScoreUnavailableError

if TYPE_CHECKING:
    from bachnet.music.chorale import Chorale

__all__ = ["NOTEBOOK_SAMPLE_RATE", "chorale_html"]

NOTEBOOK_SAMPLE_RATE = 22050
"""Sample rate of the embedded audio (mono), which keeps a minute of music near 2.6 MB."""


def chorale_html(chorale: Chorale, *, tempo: float = 60.0) -> str:
    """HTML showing ``chorale``: a title line, its score (SVG) and an ``<audio>`` player.

    A part whose extra is missing (``bachnet[score]``, ``bachnet[audio]``) is replaced by a
    line naming what to install, so the view never fails.

    Examples:
        >>> from bachnet import Chorale
        >>> page = chorale_html(Chorale([[72, 67, 64, 48]] * 16, name="test"))
        >>> page.startswith('<div class="bachnet-chorale">'), "test" in page
        (True, True)
    """
    parts = [f"<p><b>{html.escape(repr(chorale))}</b></p>"]
    try:
        parts.append(f'<div style="background:white">{chorale.to_svg()}</div>')
    except ScoreUnavailableError as error:
        parts.append(f"<p><i>{html.escape(str(error))}</i></p>")
    try:
        samples = chorale.to_audio(tempo=tempo, sample_rate=NOTEBOOK_SAMPLE_RATE)
    except AudioUnavailableError as error:
        parts.append(f"<p><i>{html.escape(str(error))}</i></p>")
    else:
        data = base64.b64encode(wav_bytes(samples.mean(axis=1), NOTEBOOK_SAMPLE_RATE)).decode()
        parts.append(f'<audio controls src="data:audio/wav;base64,{data}"></audio>')
    return '<div class="bachnet-chorale">' + "".join(parts) + "</div>"
