"""Coconet-style whole-texture infilling model for four-voice chorales.

Coconet (Huang et al. 2017, "Counterpoint by Convolution") sees a chorale as a piano roll of
shape ``(time, voices, pitches)``. A random subset of the ``(voice, time)`` cells is erased and a
convolutional network over ``(time, pitch)`` predicts the erased notes from everything that is
left: the past, the future and the other voices. Trained with orderless masks it can fill any
subset of cells, and annealed blocked Gibbs sampling turns its per-cell marginals into a joint
sample.

Conventions (shared with bachnet's vocabulary):

* a piece is an integer array ``(steps, 4)`` of MIDI pitches on the 16th-note grid, voices in the
  order S, A, T, B, with ``0`` for a rest;
* a class id is ``0`` for a rest and ``k`` for MIDI pitch ``35 + k`` (``k = 1..46``, MIDI 36..81),
  so ``P = 47`` classes; the rest is row 0 of the pitch axis the network convolves over;
* a mask is a boolean array ``(steps, 4)``, ``True`` = this cell is to be written (erased),
  ``False`` = this cell is given and is kept exactly.

Only ``keras.ops`` and stock Keras layers are used, so the model runs on the TensorFlow and the JAX
backends alike.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

import keras
import numpy as np
from keras import ops

from bachnet.model import filler

VOICES = "SATB"
NUM_VOICES = 4
LOW_PITCH = 36
HIGH_PITCH = 81
NUM_CLASSES = HIGH_PITCH - LOW_PITCH + 2  # 47: rest + 46 pitches
BAR = 16  # 16th-note steps per 4/4 bar
NUM_POSITION_CHANNELS = BAR


# --------------------------------------------------------------------------------------------
# Representation
# --------------------------------------------------------------------------------------------


def pitches_to_ids(pitches: np.ndarray) -> np.ndarray:
    """MIDI pitches (0 = rest) -> class ids: the library's (`bachnet.model.filler`)."""
    return filler.pitches_to_ids(pitches)


def ids_to_pitches(ids: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pitches_to_ids`."""
    return filler.ids_to_pitches(ids)


def bar_positions(steps: int, offset: int = 0) -> np.ndarray:
    """Position in the bar (0..15) of each step, step ``offset`` being a downbeat."""
    return (np.arange(steps) - offset) % BAR


def default_offset(steps: int) -> int:
    """Guess the downbeat phase of a CSV piece: assume it ends on a barline.

    The CSV files carry no bar lines; 4/4 chorales with a one-beat pickup and a complete final
    bar have ``steps % 16 == 4`` and their first downbeat at step 4.
    """
    return steps % BAR


def encode_inputs(ids: np.ndarray, mask: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The network input for a batch: the library's (`bachnet.model.filler.encode_inputs`)."""
    return filler.encode_inputs(ids, mask, positions)


def encode_targets(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One-hot targets ``(B, T, 4, P)`` zeroed outside the mask (the loss reads the mask back)."""
    onehot = np.eye(NUM_CLASSES, dtype=np.float32)[ids]
    return onehot * mask[..., None].astype(np.float32)


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoconetConfig:
    """Hyper-parameters of the network."""

    filters: int = 64
    blocks: int = 8
    kernel: int = 3

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def build_model(config: CoconetConfig = CoconetConfig()) -> keras.Model:
    """The network: the library's (`bachnet.model.filler.build_network`), same layer names, so
    the weights this folder trained load into `bachnet.model.filler.Filler`."""
    return filler.build_network(filler.FillerConfig(config.filters, config.blocks, config.kernel))


def receptive_radius(config: CoconetConfig) -> int:
    """How many steps either side of a cell can influence its output."""
    return (config.kernel // 2) * (1 + 2 * config.blocks)


@keras.saving.register_keras_serializable(package="bachnet_fill")
def masked_cross_entropy(y_true, logits):
    """Coconet loss: cross-entropy summed over the erased cells / number of erased cells.

    ``y_true`` is the one-hot target zeroed outside the mask (see :func:`encode_targets`), so the
    mask is ``sum(y_true, -1)``. The mean is taken per example, then over the batch.
    """
    logp = ops.log_softmax(logits, axis=-1)
    ce = -ops.sum(y_true * logp, axis=(1, 2, 3))
    count = ops.sum(y_true, axis=(1, 2, 3))
    return ops.mean(ce / ops.maximum(count, 1.0))


# --------------------------------------------------------------------------------------------
# Masks
# --------------------------------------------------------------------------------------------


def random_subset_mask(rng: np.random.Generator, steps: int, fraction: float | None = None) -> np.ndarray:
    """Coconet's orderless mask: a uniformly random subset of ``ceil(f * cells)`` cells, f ~ U(0,1]."""
    f = 1.0 - rng.random() if fraction is None else fraction
    cells = steps * NUM_VOICES
    k = max(1, int(math.ceil(f * cells)))
    flat = np.zeros(cells, bool)
    flat[rng.choice(cells, k, replace=False)] = True
    return flat.reshape(steps, NUM_VOICES)


def span_mask(rng: np.random.Generator, steps: int, voices: np.ndarray | None = None) -> np.ndarray:
    """A contiguous span of 1-4 bars (capped at ``steps``) in the given voices (default all)."""
    length = min(steps, BAR * int(rng.integers(1, 5)))
    start = int(rng.integers(0, steps - length + 1))
    mask = np.zeros((steps, NUM_VOICES), bool)
    vs = np.ones(NUM_VOICES, bool) if voices is None else voices
    mask[start : start + length, vs] = True
    return mask


def voice_subset(rng: np.random.Generator) -> np.ndarray:
    """A non-empty subset of S, A, T, B, uniformly among the 15."""
    code = int(rng.integers(1, 2**NUM_VOICES))
    return np.array([(code >> v) & 1 for v in range(NUM_VOICES)], bool)


def training_mask(rng: np.random.Generator, steps: int) -> np.ndarray:
    """Mixture of masks: orderless random subset (50%), span in all voices (15%),
    whole voices (15%), span in some voices possibly plus a sprinkle of random cells (20%)."""
    u = rng.random()
    if u < 0.5:
        return random_subset_mask(rng, steps)
    if u < 0.65:
        return span_mask(rng, steps)
    if u < 0.8:
        return np.broadcast_to(voice_subset(rng), (steps, NUM_VOICES)).copy()
    mask = span_mask(rng, steps, voice_subset(rng))
    if rng.random() < 0.5:
        mask |= random_subset_mask(rng, steps, 0.5 * (1.0 - rng.random()))
    return mask


# --------------------------------------------------------------------------------------------
# Inference
# --------------------------------------------------------------------------------------------


def _softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / max(temperature, 1e-6)
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def _window(mask: np.ndarray, radius: int) -> tuple[int, int]:
    """The smallest step range holding every erased cell plus ``radius`` of context each side."""
    rows = np.flatnonzero(mask.any(1))
    return max(0, int(rows[0]) - radius), min(mask.shape[0], int(rows[-1]) + radius + 1)


def predict_logits(model: keras.Model, ids: np.ndarray, mask: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """One forward pass for one piece: ``(T, 4)`` ids and mask -> ``(T, 4, P)`` logits."""
    x = encode_inputs(ids[None], mask[None], positions[None])
    return np.asarray(model(x, training=False))[0]


def masked_nll(model: keras.Model, pitches: np.ndarray, mask: np.ndarray, offset: int | None = None) -> tuple[float, int]:
    """Sum of -log p(true note) over the erased cells in one pass (all erased at once), and count."""
    ids = pitches_to_ids(pitches)
    steps = ids.shape[0]
    positions = bar_positions(steps, default_offset(steps) if offset is None else offset)
    logits = predict_logits(model, ids, mask, positions)
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    picked = np.take_along_axis(logp, ids[..., None], -1)[..., 0]
    return float(-picked[mask].sum()), int(mask.sum())


@dataclass(frozen=True)
class GibbsSchedule:
    """Coconet's annealed blocked Gibbs schedule.

    At step ``n`` of ``steps`` a fraction ``p_n = max(p_min, p_max - (p_max - p_min) n / (eta N))``
    of the erased cells is erased again and redrawn together; the temperature anneals linearly
    from ``t_max`` to ``t_min`` over the same span.
    """

    steps: int = 32
    p_max: float = 1.0
    p_min: float = 0.05
    eta: float = 0.75
    t_max: float = 1.0
    t_min: float = 0.5

    def at(self, n: int) -> tuple[float, float]:
        """(fraction, temperature) at step ``n``."""
        frac = min(1.0, n / max(1.0, self.eta * self.steps))
        return (
            max(self.p_min, self.p_max - (self.p_max - self.p_min) * frac),
            self.t_max - (self.t_max - self.t_min) * frac,
        )


def gibbs_fill(
    model: keras.Model,
    pitches: np.ndarray,
    mask: np.ndarray,
    *,
    schedule: GibbsSchedule = GibbsSchedule(),
    seed: int | None = None,
    offset: int | None = None,
    radius: int | None = None,
) -> np.ndarray:
    """Fill the erased cells of a piece by annealed blocked Gibbs sampling.

    Args:
        model: a trained Coconet model.
        pitches: ``(T, 4)`` MIDI pitches, 0 = rest; values under the mask are ignored.
        mask: ``(T, 4)`` bool, True = write this cell; everything else is kept exactly.
        schedule: the annealing schedule.
        seed: random seed.
        offset: step of a downbeat (default: :func:`default_offset`).
        radius: steps of context either side of the erased region fed to the network; ``None``
            = the model's receptive field would be ideal but is not known here, so the whole piece.

    Returns:
        ``(T, 4)`` MIDI pitches equal to ``pitches`` outside the mask.
    """
    pitches = np.asarray(pitches)
    mask = np.asarray(mask, bool)
    if pitches.ndim != 2 or pitches.shape[1] != NUM_VOICES:
        raise ValueError(f"pitches must have shape (steps, 4), got {pitches.shape}")
    if mask.shape != pitches.shape:
        raise ValueError(f"mask shape {mask.shape} does not match the piece's {pitches.shape}")
    if not mask.any():
        return pitches.copy()
    rng = np.random.default_rng(seed)
    steps = pitches.shape[0]
    ids = pitches_to_ids(np.where(mask, 0, pitches))
    positions = bar_positions(steps, default_offset(steps) if offset is None else offset)
    lo, hi = (0, steps) if radius is None else _window(mask, radius)
    wids, wmask, wpos = ids[lo:hi].copy(), mask[lo:hi], positions[lo:hi]
    cells = np.argwhere(wmask)
    erased = wmask.copy()  # first step: every user cell is blank
    for n in range(schedule.steps):
        frac, temp = schedule.at(n)
        if n > 0:
            k = max(1, int(round(frac * len(cells))))
            pick = cells[rng.choice(len(cells), k, replace=False)]
            erased = np.zeros_like(wmask)
            erased[pick[:, 0], pick[:, 1]] = True
        logits = predict_logits(model, wids, erased, wpos)
        probs = _softmax(logits[erased], temp)  # (k, P)
        u = rng.random((probs.shape[0], 1))
        draws = (probs.cumsum(-1) < u).sum(-1).clip(0, NUM_CLASSES - 1)
        wids[erased] = draws
    out = ids.copy()
    out[lo:hi] = wids
    filled = ids_to_pitches(out)
    return np.where(mask, filled, pitches).astype(pitches.dtype)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def load_csv(path: str) -> np.ndarray:
    """Read one chorale CSV (header note0..note3) as an int ``(steps, 4)`` array."""
    return np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int32).reshape(-1, NUM_VOICES)


def load_pieces(paths: Iterable[str]) -> list[np.ndarray]:
    """Read many chorale CSVs."""
    return [load_csv(p) for p in paths]


def transpositions(piece: np.ndarray, low: int = -6, high: int = 5) -> list[int]:
    """Semitone shifts in ``low..high`` that keep every sounding note inside MIDI 36..81."""
    sounding = piece[piece > 0]
    if sounding.size == 0:
        return [0]
    lo, hi = int(sounding.min()), int(sounding.max())
    return [s for s in range(low, high + 1) if lo + s >= LOW_PITCH and hi + s <= HIGH_PITCH]


def random_crop(rng: np.random.Generator, piece: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """A random crop (padded with rests if the piece is short), transposed at random.

    Returns the crop's MIDI pitches ``(length, 4)`` and its bar positions ``(length,)``.
    """
    steps = piece.shape[0]
    positions = bar_positions(steps, default_offset(steps))
    if steps < length:
        pad = length - steps
        piece = np.concatenate([piece, np.zeros((pad, NUM_VOICES), piece.dtype)])
        positions = np.concatenate([positions, (positions[-1] + 1 + np.arange(pad)) % BAR])
        steps = length
    start = int(rng.integers(0, steps - length + 1))
    crop = piece[start : start + length]
    shift = int(rng.choice(transpositions(crop)))
    crop = np.where(crop > 0, crop + shift, 0)
    return crop, positions[start : start + length]


def tile_crops(piece: np.ndarray, length: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Non-overlapping crops covering a piece (the last one aligned to its end), untransposed."""
    steps = piece.shape[0]
    positions = bar_positions(steps, default_offset(steps))
    if steps <= length:
        pad = length - steps
        padded = np.concatenate([piece, np.zeros((pad, NUM_VOICES), piece.dtype)])
        return [(padded, np.concatenate([positions, (positions[-1] + 1 + np.arange(pad)) % BAR]))]
    starts = list(range(0, steps - length + 1, length))
    if starts[-1] + length < steps:
        starts.append(steps - length)
    return [(piece[s : s + length], positions[s : s + length]) for s in starts]


def make_batch(
    rng: np.random.Generator,
    crops: Sequence[tuple[np.ndarray, np.ndarray]],
    mask_fn: Callable[[np.random.Generator, int], np.ndarray] = training_mask,
) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs and masked targets for a list of (pitches, positions) crops."""
    ids = np.stack([pitches_to_ids(c) for c, _ in crops])
    pos = np.stack([p for _, p in crops])
    mask = np.stack([mask_fn(rng, c.shape[0]) for c, _ in crops])
    return encode_inputs(ids, mask, pos), encode_targets(ids, mask)


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    """Run ``fn`` and return its result and wall seconds."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0
