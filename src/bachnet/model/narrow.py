"""Narrowing a trained network: fewer LSTM units, the weights of the units that matter kept.

A step of a 2 x 384 LSTM at batch 1 is a handful of matrix-vector products whose matrices
(384 x 1536 floats, 2.4 MB each) no longer fit the CPU's cache; at 360 units (2.1 MB) they
do, and the step costs a fifth less (docs/benchmarks.md, (n)). `narrowed_weights` keeps the
``units`` units of each layer that send most on (the spread of each unit's output over real
music times the size of its outgoing weights, recurrent and forward) and folds the mean of
what the dropped units sent into the biases they fed, so the narrowed network starts close
to the wide one; a short fine-tune (``bachnet train --init MODEL --lstm-units ...``) does
the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError
from bachnet.model import scoring
from bachnet.model.protocol import LanguageModel
from bachnet.music.chorale import Chorale

__all__ = ["narrowed_weights"]


def narrowed_weights(
    model: LanguageModel, units: Sequence[int], chorales: Iterable[Chorale]
) -> dict[str, npt.NDArray[np.float32]]:
    """The weights of ``model`` narrowed to ``units`` LSTM units per layer, by weight path
    (``lstm_1/lstm_cell/kernel``, ...), for a network of the same config but ``units``.

    Args:
        model: a trained model of the LSTM family (``lstm``, ``beat_lstm`` ... ``phrase_lstm``)
            that reads each piece once (no ``shifts``).
        units: the new size of each LSTM layer, bottom first; each at most the present one.
        chorales: music to measure what each unit sends on (e.g. the training split).

    Raises:
        InputError: a model of another kind or with shifts, ``units`` of the wrong length or
            larger than the present layers, or no chorales.

    Examples:
        >>> import keras
        >>> from bachnet import BachNet, ModelConfig
        >>> keras.utils.set_random_seed(0)
        >>> net = BachNet(ModelConfig(lstm_units=(8, 6), embedding_dim=4, dense_units=4))
        >>> piece = Chorale([[72, 67, 64, 48], [74, 67, 62, 43]] * 4)
        >>> weights = narrowed_weights(net, (5, 6), [piece])
        >>> weights["lstm_1/lstm_cell/kernel"].shape, weights["lstm_2/lstm_cell/kernel"].shape
        ((4, 20), (5, 24))
    """
    import keras

    wide = tuple(model.config.lstm_units)
    units = tuple(int(u) for u in units)
    if model.config.architecture == "step_lstm":
        raise InputError("a step_lstm cannot be narrowed (its cell is its own layer)")
    if model.config.shifts:
        raise InputError(
            "narrow a model that reads each piece once: with_shifts(()) first, its shifts "
            "back after"
        )
    if len(units) != len(wide) or any(not 1 <= u <= w for u, w in zip(units, wide, strict=True)):
        raise InputError(
            f"narrowing needs {len(wide)} layer sizes of 1 to the present {list(wide)}; "
            f"got {list(units)}"
        )
    net = model.keras_model
    norms = bool(model.config.layer_norm)
    outputs = []
    for i in range(1, len(wide) + 1):
        outputs.append(net.get_layer(f"lstm_{i}").output)
        outputs.append(net.get_layer(f"norm_{i}" if norms else f"lstm_{i}").output)
    probe = keras.Model(net.inputs, keras.ops.concatenate(outputs, axis=-1))
    means, spreads = _moments(model, probe, list(chorales))
    weights = {w.path: np.asarray(w.numpy(), dtype=np.float64) for w in net.weights}
    top = f"{'dense' if model.config.dense_units else 'logits'}/"
    new: dict[str, npt.NDArray[np.float64]] = {}
    below: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]] | None = None
    for i, (width, size) in enumerate(zip(wide, units, strict=True), start=1):
        at = 2 * sum(wide[: i - 1])  # this layer's outputs: h, then what the next layer reads
        h_mean, h_spread = means[at : at + width], spreads[at : at + width]
        out_mean, out_spread = (
            means[at + width : at + 2 * width],
            spreads[at + width : at + 2 * width],
        )
        cell = f"lstm_{i}/lstm_cell/"
        kernel, recurrent = weights[cell + "kernel"], weights[cell + "recurrent_kernel"]
        forward = weights[f"lstm_{i + 1}/lstm_cell/kernel" if i < len(wide) else top + "kernel"]
        sends = h_spread * np.linalg.norm(recurrent, axis=1)
        sends = sends + out_spread * np.linalg.norm(forward, axis=1)
        keep = np.sort(np.argsort(-sends, kind="stable")[:size])
        drop = np.setdiff1d(np.arange(width), keep)
        bias = weights[cell + "bias"] + h_mean[drop] @ recurrent[drop]
        if below is not None:  # the layer below lost units: their mean output into the bias
            kept_below, mean_below = below
            lost = np.setdiff1d(np.arange(kernel.shape[0]), kept_below)
            bias = bias + mean_below[lost] @ kernel[lost]
            kernel = kernel[kept_below]
        new[cell + "kernel"] = _gates(kernel, keep, width)
        new[cell + "recurrent_kernel"] = _gates(recurrent[keep], keep, width)
        new[cell + "bias"] = _gates(bias, keep, width)
        if norms:
            for name in ("gamma", "beta"):
                new[f"norm_{i}/{name}"] = weights[f"norm_{i}/{name}"][keep]
        below = keep, out_mean
    assert below is not None
    kept_below, mean_below = below
    lost = np.setdiff1d(np.arange(wide[-1]), kept_below)
    new[top + "kernel"] = weights[top + "kernel"][kept_below]
    new[top + "bias"] = weights[top + "bias"] + mean_below[lost] @ weights[top + "kernel"][lost]
    return {path: new.get(path, value).astype(np.float32) for path, value in weights.items()}


def _gates(
    matrix: npt.NDArray[np.float64], keep: npt.NDArray[np.int64], width: int
) -> npt.NDArray[np.float64]:
    """The columns of ``keep``'s units in each of an LSTM's four gate blocks (i, f, c, o)."""
    return np.concatenate([matrix[..., gate * width + keep] for gate in range(4)], axis=-1)


def _moments(
    model: LanguageModel, probe: object, pieces: list[Chorale]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Mean and spread of each output of ``probe`` over every real token of ``pieces``."""
    if not pieces:
        raise InputError("narrowing needs music to measure the units on; got no chorales")
    encoded = [model.vocab.encode(piece) for piece in pieces]
    leads = [model.network.padding_for(piece.pickup, piece.meter) for piece in pieces]
    total = squares = None
    count = 0
    for rows, _, outputs in scoring.batches(model, encoded, leads, pieces, 16, reader=probe):
        for row, index in enumerate(rows):
            seen = outputs[row, leads[index] : leads[index] + len(encoded[index]) - 1]
            seen = seen.astype(np.float64)
            total = seen.sum(0) if total is None else total + seen.sum(0)
            squares = (seen**2).sum(0) if squares is None else squares + (seen**2).sum(0)
            count += len(seen)
    assert total is not None and squares is not None
    mean = total / max(count, 1)
    return mean, np.sqrt(np.maximum(squares / max(count, 1) - mean**2, 0.0))
