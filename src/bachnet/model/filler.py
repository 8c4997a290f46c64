"""A whole-texture filling network (Coconet): sees the past, the future and the other voices.

The token models of `bachnet.model.networks` read a chorale left to right, so when they fill a
gap they know the notes before it, not those after it or the voices below. A *filler*
(Huang et al. 2017, "Counterpoint by Convolution"; the Bach Doodle's Coconet) reads the whole
piece at once: a chorale is a piano roll ``(steps, pitch classes, voices)``, some of its
``(step, voice)`` cells are erased, and a residual 2-D convolutional network over
``(time, pitch)`` predicts every erased cell's note from everything left. Trained with
orderless masks (random subsets, spans of bars in all or some voices, whole voices), one
network fills any subset of cells; `bachnet.generation.gibbs` turns its per-cell predictions
into a joint draw by annealed blocked Gibbs sampling.

Conventions:

* pitch classes ``0`` (rest) and ``k = 1..46`` for MIDI ``35 + k`` (MIDI 36..81), as in
  bachnet's token vocabulary;
* input channels per (step, pitch): the four voices' one-hot notes with erased cells zeroed,
  the four voices' erased flags, and the step's 16th position in the 4/4 bar (16 one-hot
  channels; the bar is placed so that the piece ends on a bar line);
* output: logits ``(batch, steps, 4, 47)``.

A filler is saved like a `bachnet.BachNet` (``config.json`` with ``"kind": "filler"`` and a
sha256-checked ``model.weights.h5``; nothing is pickled) and ships as the ``jsb-coconet``
preset.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bachnet.core.aliases import PathLike
from bachnet.core.files import atomic_path, sha256_of, write_json
from bachnet.errors import InputError, ModelFileError
from bachnet.model.saving import check_sha256, load_weights

__all__ = [
    "BAR",
    "CLASSES",
    "DEFAULT_FILLER",
    "FILLER_KIND",
    "Filler",
    "FillerConfig",
    "bar_positions",
    "encode_inputs",
    "ids_to_pitches",
    "pitches_to_ids",
]

LOW_PITCH = 36
"""The lowest MIDI pitch a filler knows (class 1)."""

CLASSES = 47
"""Pitch classes: rest + MIDI 36..81."""

VOICES = 4
BAR = 16
"""16th-note steps per 4/4 bar."""

FILLER_KIND = "filler"
"""The ``kind`` of a filler's ``config.json``."""

CROPPED_KEPT = 8
"""How many row-cropped copies of the network (`Filler.logits` with ``rows``) a filler keeps."""

DEFAULT_FILLER = "jsb-coconet"
"""The preset `Filler.from_pretrained` loads with no name."""

WEIGHTS_FILE = "model.weights.h5"
CONFIG_FILE = "config.json"


def pitches_to_ids(pitches: npt.ArrayLike) -> npt.NDArray[np.int32]:
    """MIDI pitches (0 = rest) -> classes (0 = rest, ``k`` = MIDI ``35 + k``).

    Raises:
        InputError: a pitch outside MIDI 36..81.

    Examples:
        >>> pitches_to_ids([[0, 36, 60, 81]]).tolist()
        [[0, 1, 25, 46]]
    """
    array = np.asarray(pitches, dtype=np.int64)
    sounding = array > 0
    bad = sounding & ((array < LOW_PITCH) | (array > LOW_PITCH + CLASSES - 2))
    if bad.any():
        found = sorted({int(p) for p in array[bad]})
        raise InputError(f"notes outside the vocabulary of the filler (MIDI 36..81): {found}")
    return np.where(sounding, array - (LOW_PITCH - 1), 0).astype(np.int32)


def ids_to_pitches(ids: npt.ArrayLike) -> npt.NDArray[np.int32]:
    """Inverse of `pitches_to_ids`.

    Examples:
        >>> ids_to_pitches([[0, 1, 25, 46]]).tolist()
        [[0, 36, 60, 81]]
    """
    array = np.asarray(ids, dtype=np.int32)
    return np.where(array > 0, array + (LOW_PITCH - 1), 0).astype(np.int32)


def bar_positions(steps: int, end_on_barline: bool = True) -> npt.NDArray[np.int32]:
    """Each step's 16th position in its 4/4 bar, the piece taken to end on a bar line.

    The JSB pieces drop their pickup and start on the first note; most end on a bar line,
    so the last step is the bar's 16th.

    Examples:
        >>> bar_positions(20)[:6].tolist()  # a one-beat pickup
        [12, 13, 14, 15, 0, 1]
    """
    offset = steps % BAR if end_on_barline else 0
    return ((np.arange(steps) - offset) % BAR).astype(np.int32)


def encode_inputs(
    ids: npt.NDArray[np.int32], erased: npt.NDArray[np.bool_], positions: npt.NDArray[np.int32]
) -> npt.NDArray[np.float32]:
    """The network's input for a batch.

    Args:
        ids: ``(batch, steps, 4)`` classes (ignored where erased).
        erased: ``(batch, steps, 4)``, True = to be predicted.
        positions: ``(batch, steps)`` 16th positions in the bar.

    Returns:
        ``(batch, steps, 47, 24)`` float32: the one-hot roll with erased cells zeroed, the erased
        flags and the bar position, both broadcast over pitch.
    """
    batch, steps, voices = ids.shape
    roll = np.zeros((batch, steps, CLASSES, voices), np.float32)
    b, t, v = np.meshgrid(np.arange(batch), np.arange(steps), np.arange(voices), indexing="ij")
    roll[b, t, ids, v] = 1.0
    roll *= (~erased)[:, :, None, :]
    flags = np.broadcast_to(erased[:, :, None, :].astype(np.float32), roll.shape)
    place = np.eye(BAR, dtype=np.float32)[positions]
    place = np.broadcast_to(place[:, :, None, :], (batch, steps, CLASSES, BAR))
    return np.concatenate([roll, flags, place], axis=-1)


@dataclass(frozen=True)
class FillerConfig:
    """A filler network's size.

    Attributes:
        filters: channels of every convolution.
        blocks: residual blocks (two 3 x 3 convolutions each).
        kernel: convolution size over (time, pitch).

    Examples:
        >>> FillerConfig(filters=80, blocks=20).radius  # steps either side a cell can see
        41
    """

    filters: int = 80
    blocks: int = 20
    kernel: int = 3

    def __post_init__(self) -> None:
        for name in ("filters", "blocks", "kernel"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"a filler's {name} must be a whole number >= 1, got {value!r}")
        if self.kernel % 2 == 0:
            raise InputError(f"a filler's kernel must be odd, got {self.kernel}")

    @property
    def radius(self) -> int:
        """How many steps either side of a cell can change its prediction."""
        return (self.kernel // 2) * (1 + 2 * self.blocks)

    def to_dict(self) -> dict[str, int]:
        """The JSON form."""
        return asdict(self)


def _cropped_network(model: Any, config: FillerConfig, steps: int, first: int, stop: int) -> Any:
    """``model``'s layers (shared weights) rebuilt to compute rows ``first..stop`` of a
    ``steps``-row input only: after each convolution it keeps only the rows the wanted ones
    can still see (a row next to a cut saw zeros where its neighbour was, and the next cut
    drops it), so the wanted rows' logits are the whole network's, at a fraction of the cost.
    Input ``(batch, steps, 47, 24)``, output ``(batch, stop - first, 4, 47)``."""
    import keras
    from keras import layers

    half, convs = config.kernel // 2, 1 + 2 * config.blocks

    def span(done: int) -> tuple[int, int]:  # the rows still needed after ``done`` convolutions
        reach = half * (convs - done)
        return max(0, first - reach), min(steps, stop + reach)

    def cut(x: Any, held: tuple[int, int], kept: tuple[int, int]) -> Any:
        top, bottom = kept[0] - held[0], held[1] - kept[1]
        return layers.Cropping2D(((top, bottom), (0, 0)))(x) if top or bottom else x

    inputs = keras.Input((steps, CLASSES, 2 * VOICES + BAR))
    held = (0, steps)
    x = layers.Activation("relu")(model.get_layer("stem_bn")(model.get_layer("stem")(inputs)))
    x, held, done = cut(x, held, span(1)), span(1), 1
    for i in range(config.blocks):
        y = model.get_layer(f"b{i}_bn1")(model.get_layer(f"b{i}_c1")(x))
        y = cut(layers.Activation("relu")(y), held, span(done + 1))
        y = model.get_layer(f"b{i}_bn2")(model.get_layer(f"b{i}_c2")(y))
        kept = span(done + 2)
        y = cut(y, span(done + 1), kept)
        x = layers.Activation("relu")(layers.Add()([cut(x, held, kept), y]))
        held, done = kept, done + 2
    logits = layers.Permute((1, 3, 2))(model.get_layer("head")(x))
    return keras.Model(inputs, logits, name="coconet_rows")


def build_network(config: FillerConfig) -> Any:
    """The Keras network: input ``(batch, steps, 47, 24)`` -> logits ``(batch, steps, 4, 47)``.

    Stock layers only (it runs on the TensorFlow and JAX backends and loads without code).
    """
    import keras
    from keras import layers

    channels = 2 * VOICES + BAR
    inputs = keras.Input((None, CLASSES, channels), name="roll")
    k = config.kernel
    x = layers.Conv2D(config.filters, k, padding="same", use_bias=False, name="stem")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("relu")(x)
    for i in range(config.blocks):
        y = layers.Conv2D(config.filters, k, padding="same", use_bias=False, name=f"b{i}_c1")(x)
        y = layers.BatchNormalization(name=f"b{i}_bn1")(y)
        y = layers.Activation("relu")(y)
        y = layers.Conv2D(config.filters, k, padding="same", use_bias=False, name=f"b{i}_c2")(y)
        y = layers.BatchNormalization(name=f"b{i}_bn2")(y)
        x = layers.Add()([x, y])
        x = layers.Activation("relu")(x)
    x = layers.Conv2D(VOICES, 1, padding="same", name="head")(x)
    logits = layers.Permute((1, 3, 2), name="logits")(x)
    return keras.Model(inputs, logits, name="coconet")


class Filler:
    """A trained filling network, its size and metadata.

    Examples:
        >>> import keras, numpy as np
        >>> keras.utils.set_random_seed(0)
        >>> filler = Filler(FillerConfig(filters=4, blocks=1))
        >>> ids = np.ones((1, 8, 4), "int32"); erased = np.zeros((1, 8, 4), bool)
        >>> filler.logits(ids, erased, bar_positions(8)[None]).shape
        (1, 8, 4, 47)
    """

    def __init__(self, config: FillerConfig, metadata: dict[str, Any] | None = None) -> None:
        self.config = config
        self.metadata = dict(metadata or {})
        self.keras_model = build_network(config)
        self._cropped: dict[tuple[int, int, int], Any] = {}

    def __repr__(self) -> str:
        c = self.config
        return f"<Filler {c.filters} x {c.blocks} blocks: {self.count_params():,} parameters>"

    def count_params(self) -> int:
        """Parameters of the network."""
        return int(self.keras_model.count_params())

    def logits(
        self,
        ids: npt.NDArray[np.int32],
        erased: npt.NDArray[np.bool_],
        positions: npt.NDArray[np.int32],
        rows: tuple[int, int] | None = None,
    ) -> npt.NDArray[np.float32]:
        """Logits ``(batch, steps, 4, 47)`` for ``(batch, steps, 4)`` classes and erased flags.

        The network runs as Keras' compiled prediction step (a graph on TensorFlow, jitted on
        JAX), not op by op: a Gibbs pass over a two-bar gap costs 0.09 s instead of 0.21 on
        this project's 2-core CPU. A new input shape compiles once more.

        Args:
            ids: ``(batch, steps, 4)`` pitch classes (`pitches_to_ids`).
            erased: ``(batch, steps, 4)`` booleans, True = the cell is to be predicted.
            positions: ``(batch, steps)`` 16th positions in the bar (`bar_positions`).
            rows: ``(first, stop)``: only these rows' logits are wanted. Where that spares
                a third of the work or more (a gap in a long piece), each layer computes only
                the rows they can see, through a copy of the network kept per shape; the
                wanted rows' logits are the whole network's (to rounding) and the other rows
                are NaN.

        Examples:
            >>> import keras, numpy as np
            >>> keras.utils.set_random_seed(0)
            >>> filler = Filler(FillerConfig(filters=4, blocks=2))
            >>> ids = np.ones((1, 40, 4), "int32"); erased = np.zeros((1, 40, 4), bool)
            >>> whole = filler.logits(ids, erased, bar_positions(40)[None])
            >>> part = filler.logits(ids, erased, bar_positions(40)[None], rows=(18, 22))
            >>> bool(np.allclose(part[:, 18:22], whole[:, 18:22], atol=1e-5))
            True
            >>> bool(np.isnan(part[:, :18]).all())
            True
        """
        inputs = encode_inputs(ids, erased, positions)
        steps = inputs.shape[1]
        if rows is not None:
            first, stop = int(rows[0]), int(rows[1])
            if not 0 <= first < stop <= steps:
                raise InputError(f"rows must be 0 <= first < stop <= {steps}, got {rows!r}")
            reach = self.config.radius
            computed = (stop - first) + (min(steps, stop + reach) - max(0, first - reach))
            if 3 * computed <= 4 * steps:  # the layers average computed / 2 rows: <= 2/3 of all
                key = (steps, first, stop)
                if key not in self._cropped:
                    if len(self._cropped) >= CROPPED_KEPT:
                        self._cropped.pop(next(iter(self._cropped)))
                    self._cropped[key] = _cropped_network(
                        self.keras_model, self.config, steps, first, stop
                    )
                part = self._cropped[key].predict_on_batch(inputs)
                out = np.full((len(inputs), steps, VOICES, CLASSES), np.nan, dtype=np.float32)
                out[:, first:stop] = np.asarray(part, dtype=np.float32)
                return out
        return np.asarray(self.keras_model.predict_on_batch(inputs), dtype=np.float32)

    # ------------------------------------------------------------------------- save and load
    def save(self, directory: PathLike) -> Path:
        """Write ``config.json`` and ``model.weights.h5`` into ``directory``, atomically."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / WEIGHTS_FILE, suffix=".weights.h5") as tmp:
            self.keras_model.save_weights(str(tmp), overwrite=True)
            digest = sha256_of(tmp)
        write_json(
            folder / CONFIG_FILE,
            {
                "kind": FILLER_KIND,
                "filler": self.config.to_dict(),
                "weights": {
                    "file": WEIGHTS_FILE,
                    "sha256": digest,
                    "parameters": self.count_params(),
                },
                "metadata": self.metadata,
            },
        )
        return folder

    @classmethod
    def load(cls, directory: PathLike) -> Filler:
        """Load a folder written by `save`, checking the weights' sha256 first.

        Raises:
            ModelFileError: not a filler, or a missing, truncated or tampered file.
        """
        folder = Path(directory)
        path = folder / CONFIG_FILE
        if not path.is_file():
            raise ModelFileError(f"{folder}: no {CONFIG_FILE} (not a saved bachnet filler)")
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(document, dict) or document.get("kind") != FILLER_KIND:
                raise InputError(
                    f'not a filler (its "kind" is {document.get("kind")!r}, expected '
                    f'"{FILLER_KIND}"); token models load with BachNet.from_pretrained'
                    if isinstance(document, dict)
                    else "not a JSON object"
                )
            sizes = document["filler"]
            config = FillerConfig(**{k: sizes[k] for k in ("filters", "blocks", "kernel")})
            expected = str(document["weights"]["sha256"])
            parameters = int(document["weights"]["parameters"])
            metadata = document.get("metadata", {})
        except (ValueError, KeyError, TypeError) as error:
            raise ModelFileError(f"{path}: unreadable filler config ({error})") from None
        weights = folder / WEIGHTS_FILE
        if not weights.is_file():
            raise ModelFileError(f"{folder}: no {WEIGHTS_FILE}")
        check_sha256(weights, expected)
        filler = cls(config, metadata if isinstance(metadata, dict) else {})
        if filler.count_params() != parameters:
            raise ModelFileError(
                f"{path}: the weights hold {parameters:,} parameters, a {config.filters} x "
                f"{config.blocks} filler has {filler.count_params():,}"
            )
        load_weights(filler.keras_model, weights, "the filler")
        return filler

    @classmethod
    def from_pretrained(cls, name_or_path: PathLike | None = None) -> Filler:
        """The bundled ``jsb-coconet`` filler (no argument), another preset, or a folder."""
        from bachnet.model.pretrained import resolve

        return cls.load(resolve(DEFAULT_FILLER if name_or_path is None else name_or_path))
