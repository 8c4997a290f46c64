"""Scoring a model: logits, the loss of whole chorales, and temperature calibration.

One place computes what a model says of a sequence: `evaluate` and `calibrate` read `scored`,
the reranking of harmonisations reads `nll_per_piece`, and both batch the pieces the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from bachnet.errors import InputError
from bachnet.model.protocol import LanguageModel
from bachnet.music.chorale import Chorale

__all__ = ["batches", "calibrate", "evaluate", "logits", "nll_per_piece", "scored"]


def logits(model: LanguageModel, tokens: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Logits ``(batch, time, vocab)`` for every position of ``(batch, time)`` token ids."""
    array = np.asarray(tokens, dtype=np.int32)
    if array.ndim == 1:
        array = array[None]
    return np.asarray(model.keras_model.predict_on_batch(array), dtype=np.float32)


def evaluate(
    model: LanguageModel, chorales: Iterable[Chorale], *, batch_size: int = 16
) -> dict[str, float]:
    """Loss (nats per token), accuracy and perplexity over whole chorales; see
    `bachnet.BachNet.evaluate`.

    ``loss`` pools every scored token; ``loss_per_chorale`` is the mean over chorales of each
    chorale's own mean (TonicNet's way): the two differ when long and short pieces differ.
    """
    logits, target, owner = scored(model, chorales, batch_size, "evaluate")
    log_probs = logits - _logsumexp(logits)
    nll = -np.take_along_axis(log_probs, target[:, None], axis=-1)[:, 0]
    loss = float(nll.mean())
    counts = np.bincount(owner)
    sums = np.bincount(owner, weights=nll)
    return {
        "loss": loss,
        "loss_per_chorale": float((sums[counts > 0] / counts[counts > 0]).mean()),
        "accuracy": float((logits.argmax(-1) == target).mean()),
        "perplexity": float(np.exp(loss)),
        "tokens": float(len(target)),
    }


def calibrate(
    model: LanguageModel, chorales: Iterable[Chorale], *, batch_size: int = 16
) -> dict[str, float]:
    """Fit one temperature on ``chorales`` and fold it into the output layer; see
    `bachnet.BachNet.calibrate`.

    Raises:
        InputError: no chorales, or a model that averages transpositions (its output is a
            mixture, not the output layer's logits: calibrate the model it was made from).
    """
    if model.config.shifts:
        raise InputError(
            "calibrate() needs a model that reads each piece once: calibrate the model "
            f"before BachNet.with_shifts({list(model.config.shifts)})"
        )
    logits, target, _ = scored(model, chorales, batch_size, "calibrate")
    rows = np.arange(len(target))

    def loss_at(log_t: float) -> float:
        scaled = logits / np.exp(log_t)
        return float((_logsumexp(scaled)[:, 0] - scaled[rows, target]).mean())

    low, high = np.log(0.25), np.log(4.0)  # golden-section search on log T (convex)
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    for _ in range(60):
        if loss_at(a) < loss_at(b):
            high, b = b, a
            a = high - ratio * (high - low)
        else:
            low, a = a, b
            b = low + ratio * (high - low)
    temperature = float(np.exp((low + high) / 2.0))
    layer = model.network.output_layer(model.keras_model)
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel / temperature, bias / temperature])
    before = model.metadata.get("calibration", {}).get("temperature", 1.0)
    result = {
        "temperature": temperature,
        "loss_before": loss_at(0.0),
        "loss_after": loss_at(np.log(temperature)),
        "tokens": float(len(target)),
    }
    model.metadata["calibration"] = {**result, "temperature": float(before) * temperature}
    return result


def scored(
    model: LanguageModel, chorales: Iterable[Chorale], batch_size: int, caller: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Logits ``(tokens, vocab)`` of every scored token, its targets ``(tokens,)`` and the
    index of the chorale each token belongs to ``(tokens,)``."""
    pieces = list(chorales)
    encoded = [model.vocab.encode(c) for c in pieces]
    if not encoded:
        raise InputError(f"{caller}() needs at least one chorale")
    # A model trained with silence before each piece (a beat; up to its first bar line)
    # reads it here too; the scored tokens stay the same (all but each piece's first).
    leads = [model.network.padding_for(p.pickup, p.meter) for p in pieces]
    all_logits, all_targets, all_owners = [], [], []
    for rows, ids, batch_logits in batches(model, encoded, leads, pieces, batch_size):
        mask = np.zeros((len(rows), ids.shape[1] - 1), dtype=bool)
        for row, index in enumerate(rows):
            lead = leads[index]
            mask[row, lead : lead + len(encoded[index]) - 1] = True
        all_logits.append(batch_logits.astype(np.float64)[mask])
        all_targets.append(ids[:, 1:][mask])
        owners = np.broadcast_to(np.asarray(rows, dtype=np.int64)[:, None], mask.shape)
        all_owners.append(owners[mask])
    target = np.concatenate(all_targets)
    if len(target) == 0:
        raise InputError("the chorales are too short to score (one token each)")
    return np.concatenate(all_logits), target, np.concatenate(all_owners)


def nll_per_piece(
    model: LanguageModel, chorales: Chorale | Iterable[Chorale], *, batch_size: int = 64
) -> npt.NDArray[np.float64]:
    """Mean negative log-likelihood (nats per token) of each whole piece under the model.

    Each piece is read after the silence tokens that generation starts from (the model's
    ``network.lead_for(piece.pickup)``), so every token is scored, the first included, given
    all of the piece before it (the model's probability of the whole piece). Lower is more
    likely. Pieces of one length share a batch.

    Returns:
        A float64 array with one figure per piece, in the order given.

    Raises:
        InputError: no chorales, or a note outside the vocabulary.

    Examples:
        >>> import keras
        >>> from bachnet import BachNet, ModelConfig
        >>> keras.utils.set_random_seed(0)
        >>> net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4))
        >>> pieces = [Chorale([[72, 67, 64, 48]] * 4), Chorale([[74, 67, 62, 43]])]
        >>> nll = nll_per_piece(net, pieces)
        >>> nll.shape, bool(abs(nll[0] - np.log(47)) < 0.1)  # an untrained model: ~log(47)
        ((2,), True)
    """
    pieces = [chorales] if isinstance(chorales, Chorale) else list(chorales)
    if not pieces:
        raise InputError("score() needs at least one chorale")
    encoded = [model.vocab.encode(piece) for piece in pieces]
    leads = [model.network.lead_for(piece.pickup, piece.meter) for piece in pieces]
    result = np.zeros(len(encoded), dtype=np.float64)
    for rows, ids, batch_logits in batches(model, encoded, leads, pieces, batch_size):
        mask = np.zeros((len(rows), ids.shape[1] - 1), dtype=bool)
        for row, index in enumerate(rows):
            mask[row, leads[index] - 1 : leads[index] - 1 + len(encoded[index])] = True
        scores = batch_logits.astype(np.float64)
        top = scores.max(axis=-1, keepdims=True)
        log_norm = top[..., 0] + np.log(np.exp(scores - top).sum(axis=-1))
        target = ids[:, 1:]
        picked = np.take_along_axis(scores, target[..., None], axis=-1)[..., 0] - log_norm
        result[rows] = -(picked * mask).sum(axis=1) / mask.sum(axis=1)
    return result


def batches(
    model: LanguageModel,
    encoded: list[npt.NDArray[np.int32]],
    leads: list[int],
    pieces: list[Chorale],
    batch_size: int,
    *,
    reader: Any = None,
) -> Iterator[tuple[list[int], npt.NDArray[np.int32], npt.NDArray[np.float32]]]:
    """Pieces of about one length together: ``(indices, ids, logits)`` per batch.

    Row ``i`` of ``ids`` holds ``leads[i]`` silence tokens, then the piece (zeros after it);
    ``logits`` are the model's for ``ids[:, :-1]`` read in each piece's metre and, by a model
    that hears phrases, with the piece's fermatas as its plan (none known: no plan). With
    ``reader`` (a Keras model on the same inputs, e.g. one that returns a layer's output)
    its outputs come instead of the logits.
    """
    order = sorted(range(len(encoded)), key=lambda index: len(encoded[index]))
    for begin in range(0, len(order), batch_size):
        rows = order[begin : begin + batch_size]
        longest = max(leads[index] + len(encoded[index]) for index in rows)
        ids = np.zeros((len(rows), longest), dtype=np.int32)
        for row, index in enumerate(rows):
            lead = leads[index]
            ids[row, lead : lead + len(encoded[index])] = encoded[index]
        inputs = np.stack(
            [
                model.network.encode(ids[row, :-1], pieces[index].meter, _plan(pieces[index], lead))
                for row, index in enumerate(rows)
                for lead in (leads[index],)
            ]
        )
        network = model.keras_model if reader is None else reader
        yield rows, ids, np.asarray(network.predict_on_batch(inputs), dtype=np.float32)


def _plan(piece: Chorale, lead: int) -> list[int] | None:
    """``piece``'s fermatas as steps of a stream that reads ``lead`` silence tokens first, or
    ``None`` for a piece without fermatas (its plan is not known)."""
    if not piece.fermatas:
        return None
    return [fermata + lead // 4 for fermata in piece.fermatas]


def _logsumexp(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    top = x.max(axis=-1, keepdims=True)
    total: npt.NDArray[np.float64] = top + np.log(np.exp(x - top).sum(axis=-1, keepdims=True))
    return total
