"""The JS Fake Chorales and their listeners' verdicts: the judge's calibration set.

The archive ``js_fakes.tgz`` (Peracha 2021, "JS Fake Chorales: a Synthetic Dataset of Polyphonic
Music with Human Annotation", CC BY 4.0) holds 500 chorales written by the KS_Chorus algorithm
as JSB-style CSV (``js_fakes/pieces/N.csv``) and, for each, how many listeners of an online
"human or AI?" test heard it and how many called it AI (``js_fakes/listening_test.json``).
bachnet ships none of it: give the path of your copy. The archive is read in memory; nothing
is unpacked or written.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bachnet.core.aliases import PathLike
from bachnet.errors import InputError
from bachnet.music.chorale import Chorale

__all__ = ["FakeChorales", "read_js_fakes"]

_PIECE = re.compile(r"^(?:\./)?js_fakes/pieces/(\d+)\.csv$")
_VERDICTS = re.compile(r"^(?:\./)?js_fakes/listening_test\.json$")
_MAX_MEMBER = 4 * 1024 * 1024


@dataclass(frozen=True)
class FakeChorales:
    """The annotated JS Fake Chorales.

    Attributes:
        pieces: the chorales, in the order of their numbers (named ``"0"`` .. ``"499"``).
        responses: how many listeners judged each piece.
        fooled: the share of those listeners who took it for Bach (did *not* call it AI).
    """

    pieces: tuple[Chorale, ...] = field(repr=False)
    responses: npt.NDArray[np.int64] = field(repr=False)
    fooled: npt.NDArray[np.float64] = field(repr=False)

    def __len__(self) -> int:
        return len(self.pieces)


def read_js_fakes(archive: PathLike) -> FakeChorales:
    """Read the annotated chorales and listener verdicts from ``js_fakes.tgz``.

    Raises:
        InputError: not a readable tar archive, or no annotated pieces in it.

    Examples:
        >>> fakes = read_js_fakes("../shared/data/js_fakes.tgz")  # doctest: +SKIP
        >>> len(fakes), round(float(fakes.fooled.mean()), 2)  # doctest: +SKIP
        (500, 0.43)
    """
    pieces: dict[int, Chorale] = {}
    verdicts: dict[str, dict[str, dict[str, float]]] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if not member.isfile() or member.size > _MAX_MEMBER:
                    continue
                piece = _PIECE.match(member.name)
                if piece is None and not _VERDICTS.match(member.name):
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                text = handle.read().decode("utf-8")
                if piece is not None:
                    number = int(piece.group(1))
                    pieces[number] = Chorale.from_csv(io.StringIO(text), name=str(number))
                else:
                    verdicts = json.loads(text)
    except (OSError, tarfile.TarError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{archive}: not a readable JS Fake Chorales archive ({error})") from error
    numbers = sorted(n for n in pieces if f"midi/{n}.mid" in verdicts)
    if not numbers:
        raise InputError(f"{archive}: no annotated pieces (js_fakes/pieces/N.csv with verdicts)")
    responses = np.array([verdicts[f"midi/{n}.mid"]["total"]["responses"] for n in numbers])
    called_ai = np.array([verdicts[f"midi/{n}.mid"]["total"]["correct"] for n in numbers])
    fooled = 1.0 - called_ai / np.maximum(responses, 1)
    return FakeChorales(
        pieces=tuple(pieces[n] for n in numbers),
        responses=responses.astype(np.int64),
        fooled=fooled.astype(np.float64),
    )
