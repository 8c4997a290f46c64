"""Training `BachNet`: Nadam, a decaying learning rate, early stopping and resumable runs.

A *run folder* makes training resumable. After every finished epoch it holds::

    run.json               what is trained: model and training configs, vocabulary, data
    checkpoints/epoch-N/   model.weights.h5, optimizer.npz and random.npz (dropout's seed
                           generators) of the last finished epoch
    best.weights.h5        the weights with the best validation loss so far
    state.json             finished epochs, early-stopping state, history (written last)
    history.csv            one row per epoch

Each file is written to a temporary name and renamed into place, and ``state.json`` is renamed
last, so after a crash (even ``kill -9``) the folder always describes one finished epoch.
Training again into the same folder resumes from it: same weights, same optimizer state, same
learning-rate schedule, the same dropout masks (the seed generators' states are saved) and the
same windows (they depend only on the random seed and the epoch), so the resumed run's losses
are those of a run that never stopped.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import keras
import numpy as np
import numpy.typing as npt

from bachnet._version import __version__
from bachnet.core.aliases import PathLike
from bachnet.data.download import JSB_ARCHIVE, registry
from bachnet.errors import InputError
from bachnet.model.config import TrainConfig
from bachnet.model.networks import phrase_places
from bachnet.model.protocol import LanguageModel
from bachnet.music.chorale import Chorale
from bachnet.music.grid import METERS
from bachnet.training.parallel import data_parallel
from bachnet.training.run_folder import (
    BEST_FILE,
    RUN_FILE,
    History,
    Progress,
    RunFolder,
    RunSettings,
    averaged,
    check_new_run_folder,
    owned,
    run_settings,
)
from bachnet.training.windows import Batch, Windows

if TYPE_CHECKING:
    import tensorflow as tf

    from bachnet.model.networks import Network

__all__ = [
    "RUN_FILE",
    "UNPLANNED",
    "History",
    "Perplexity",
    "RunSettings",
    "check_new_run_folder",
    "data_parallel",
    "plan_codes",
    "provenance",
    "run_settings",
    "train",
]


@keras.saving.register_keras_serializable(package="bachnet")
class Perplexity(keras.metrics.Mean):  # type: ignore[misc]
    """``exp`` of the mean sparse cross-entropy (from logits), in nats.

    Examples:
        >>> m = Perplexity()
        >>> m.update_state(np.array([1]), np.array([[0.0, 0.0]]))
        >>> round(float(m.result()), 3)
        2.0
    """

    def __init__(self, name: str = "perplexity", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Accumulate the cross-entropy of a batch.

        Args:
            y_true: target ids.
            y_pred: logits, with one more axis (the vocabulary) than ``y_true``.
            sample_weight: optional weights of the targets.

        Examples:
            >>> m = Perplexity()
            >>> m.update_state(np.array([0, 1]), np.zeros((2, 4)))  # uniform over 4 ids
            >>> round(float(m.result()), 3)
            4.0
        """
        if len(y_true.shape) == len(y_pred.shape):  # distributions (distillation targets)
            loss = keras.losses.categorical_crossentropy(y_true, y_pred, from_logits=True)
        else:
            loss = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        super().update_state(loss, sample_weight=sample_weight)

    def result(self) -> Any:
        """``exp(mean cross-entropy)``.

        Examples:
            >>> m = Perplexity()
            >>> m.update_state(np.array([0]), np.log(np.array([[0.25, 0.75]])))  # p = 1/4
            >>> round(float(m.result()), 3)
            4.0
        """
        return keras.ops.exp(super().result())


def train(
    net: LanguageModel,
    train: Iterable[Chorale],
    valid: Iterable[Chorale] | None = None,
    *,
    config: TrainConfig | None = None,
    run_dir: PathLike | None = None,
    verbose: int | str = "auto",
    describe: dict[str, Any] | None = None,
    time_limit: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    teachers: Sequence[LanguageModel] = (),
) -> History:
    """Train ``net`` in place and return the history (one value per epoch and metric).

    Nadam with gradient clipping and optional weight decay; learning rate
    ``lr * 0.1 ** (epoch / decay_epochs)``; sparse cross-entropy from logits with accuracy and
    perplexity; early stopping on the validation loss (the training loss without ``valid``)
    that restores the best weights. Validation windows are the non-overlapping windows of
    ``valid``, untransposed. On the TensorFlow backend windows come from tf.data, on the others
    from the NumPy path.

    Args:
        net: the model to train.
        train: training chorales.
        valid: validation chorales for early stopping (optional).
        config: training hyper-parameters.
        run_dir: folder for checkpoints; if it holds a finished epoch, training resumes there.
        verbose: Keras's verbosity (1 = progress bar).
        describe: extra facts stored in ``run.json`` (data source, command line).
        time_limit: stop after the first epoch that ends more than this many seconds after
            the start (the run folder can be resumed later; ``None``: no limit).
        clock: the clock ``time_limit`` is measured on: wall-clock seconds by default,
            ``time.process_time`` for this process's CPU seconds (fair budgets on a busy
            machine).
        teachers: the loaded models that ``config.teachers`` names, one each, in order
            (knowledge distillation: they are run on every training batch; see `TrainConfig`).

    Returns:
        Metric name -> one value per epoch (``loss``, ``accuracy``, ``perplexity``,
        ``learning_rate``, and their ``val_`` versions with ``valid``).

    Raises:
        RunFolderError: (a ``ValueError``) ``run_dir`` holds a run of a different model or
            configuration, or files that are not a run.
        InputError: the loss became NaN or infinite; the run folder keeps
            the last finite epoch.

    Examples:
        >>> import tempfile
        >>> from bachnet import BachNet, ModelConfig
        >>> keras.utils.set_random_seed(0)
        >>> net = BachNet(ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16))
        >>> piece = Chorale([[72, 67, 64, 48], [74, 67, 62, 43]] * 10)  # 80 tokens: 4 windows
        >>> run = tempfile.mkdtemp()
        >>> config = TrainConfig(epochs=1, batch_size=4)
        >>> history = train(net, [piece], config=config, run_dir=run, verbose=0)
        >>> sorted(history), len(history["loss"])
        (['accuracy', 'learning_rate', 'loss', 'perplexity'], 1)
        >>> sorted(path.name for path in Path(run).iterdir())
        ['.lock', 'best.weights.h5', 'checkpoints', 'history.csv', 'run.json', 'state.json']
    """
    config = config or TrainConfig()
    teachers = list(teachers)
    if len(teachers) != len(config.teachers):
        raise InputError(
            f"the training configuration names {len(config.teachers)} teacher(s) "
            f"({', '.join(config.teachers) or 'none'}) but {len(teachers)} were given"
        )
    for name, teacher in zip(config.teachers, teachers, strict=True):
        if teacher.vocab != net.vocab:
            raise InputError(
                f"teacher {name} reads pitches {teacher.vocab.low}..{teacher.vocab.high}, "
                f"the model {net.vocab.low}..{net.vocab.high}: a teacher must share the vocabulary"
            )
    train = list(train)
    windows = Windows(
        train,
        net.vocab,
        length=net.config.window,
        stride=config.stride,
        transpose=config.transpose,
        seed=config.seed,
        unplanned=UNPLANNED if net.network.phrases else 0.0,
        **_placed(net.network, train),
    )
    valid_windows = None
    if valid is not None:
        valid_list = list(valid)
        if valid_list:
            valid_windows = Windows(
                valid_list,
                net.vocab,
                length=net.config.window,
                stride=net.config.window,
                transpose=0,
                **_placed(net.network, valid_list),
            )
    optimizer = keras.optimizers.Nadam(
        learning_rate=config.learning_rate,
        clipnorm=config.clipnorm or None,
        weight_decay=config.weight_decay or None,
        use_ema=config.ema > 0,
        ema_momentum=config.ema or 0.99,
    )
    model = net.keras_model
    soft = bool(teachers)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(from_logits=True)
        if soft
        else keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[
            keras.metrics.CategoricalAccuracy(name="accuracy") if soft else "accuracy",
            Perplexity(),
        ],
    )
    run = RunFolder(Path(run_dir), net, config, describe or {}) if run_dir is not None else None
    with contextlib.ExitStack() as held:
        if run is not None:
            if not (run.folder / RUN_FILE).exists():
                check_new_run_folder(run.folder)  # before the lock file is written there
            held.enter_context(owned(run.folder))
        return _train(
            net,
            train,
            config,
            run,
            windows,
            valid_windows,
            describe,
            time_limit,
            clock,
            verbose,
            teachers,
        )


def _train(
    net: LanguageModel,
    train: list[Chorale],
    config: TrainConfig,
    run: RunFolder | None,
    windows: Windows,
    valid_windows: Windows | None,
    describe: dict[str, Any] | None,
    time_limit: float | None,
    clock: Callable[[], float],
    verbose: int | str,
    teachers: list[LanguageModel],
) -> History:
    model = net.keras_model
    first_epoch = run.restore() if run is not None else 0
    progress = run.progress if run is not None else Progress()
    keeper = _Keeper(
        progress, run, monitor="val_loss" if valid_windows else "loss", patience=config.patience
    )
    if first_epoch >= config.epochs or progress.stopped:
        keeper.restore_best(model)
        history = progress.copy_history()
        net.metadata.update(provenance(train, config, history, describe or {}))
        return history
    drop = windows.per_epoch >= config.batch_size
    epochs = range(first_epoch, config.epochs)
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.LearningRateScheduler(config.learning_rate_at),
        keeper,
    ]
    if config.ema:  # validate on the averaged weights; train on the raw ones
        callbacks.insert(0, keras.callbacks.SwapEMAWeights())
    if time_limit is not None:
        callbacks.append(_Deadline(time_limit, clock))
    target = _Targets(teachers, config.distill, net.vocab.size)
    model.fit(
        target(_source(windows, config.batch_size, epochs, drop)),
        epochs=config.epochs,
        initial_epoch=first_epoch,
        steps_per_epoch=windows.batches_per_epoch(config.batch_size, drop_remainder=drop),
        validation_data=target(_source(valid_windows, config.batch_size, None, False), hard=True)
        if valid_windows
        else None,
        validation_steps=valid_windows.batches_per_epoch(config.batch_size)
        if valid_windows
        else None,
        validation_batch_size=config.batch_size,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the epoch plans are shuffled already
    )
    if keeper.diverged:
        raise InputError(keeper.diverged)
    keeper.restore_best(model)
    history = progress.copy_history()
    net.metadata.update(provenance(train, config, history, describe or {}))
    return history


def provenance(
    train: Iterable[Chorale],
    config: TrainConfig,
    history: History,
    describe: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a trained model records about its training (`train` puts it in ``net.metadata``).

    ``voice_ranges``: each voice's lowest and highest pitch in the training chorales
    (generation keeps to them); ``corpus``: the data source named in ``describe["data"]``,
    with the archive's sha256 for ``"jsb"``; ``command``; ``train``: the configuration;
    ``epochs_run``; ``bachnet_version``.

    Examples:
        >>> piece = Chorale([[72, 67, 64, 48], [74, 65, 62, 43]])
        >>> record = provenance([piece], TrainConfig(epochs=1), {"loss": [1.0]}, {"data": "mine"})
        >>> record["voice_ranges"], record["corpus"], record["epochs_run"]
        ([[72, 74], [65, 67], [62, 64], [43, 48]], {'source': 'mine'}, 1)
    """
    describe = describe or {}
    chords = np.concatenate([c.chords for c in train])
    ranges = []
    for voice in range(4):
        sounding = chords[chords[:, voice] > 0, voice]
        ranges.append([int(sounding.min()), int(sounding.max())] if sounding.size else [0, 0])
    corpus: dict[str, Any] = {"source": describe.get("data", "chorales")}
    if corpus["source"] == "jsb":
        corpus["sha256"] = registry()[JSB_ARCHIVE][0].split(":")[-1]
    if "splits" in describe:  # a split bachnet made: evaluate the model on the same pieces
        corpus["splits"] = describe["splits"]
    if describe.get("one_key"):  # every piece was moved into C major / A minor
        corpus["one_key"] = True
    record: dict[str, Any] = {
        "voice_ranges": ranges,
        "corpus": corpus,
        "train": config.to_dict(),
        "epochs_run": len(history.get("loss", [])),
        "bachnet_version": __version__,
    }
    if "command" in describe:
        record["command"] = describe["command"]
    return record


UNPLANNED = 0.3
"""The chance that a training window of a piece with fermatas is read without its phrase plan
by a model that hears phrases (``phrase_lstm``), so that it writes without a plan too."""


class _Placing(TypedDict):
    align: list[int]
    lead: list[int]
    codes: list[int]
    marks: list[npt.NDArray[np.int32] | None] | None


def _placed(network: Network, pieces: list[Chorale]) -> _Placing:
    """Where each piece's windows may start, the silence before it, its metre's code and, for
    a model that hears phrases, each token's phrase row, as `Windows` takes them (``align``,
    ``lead``, ``codes``, ``marks``): the model reads every piece from the bar line, or beat, it
    expects. A piece without fermatas has no plan (``None``)."""
    leads = [network.padding_for(piece.pickup, piece.meter) for piece in pieces]
    marks: list[npt.NDArray[np.int32] | None] | None = None
    if network.phrases:
        marks = [
            plan_codes(piece, lead) if piece.fermatas else None
            for piece, lead in zip(pieces, leads, strict=True)
        ]
    return {
        "align": [network.align_for(piece.meter) for piece in pieces],
        "lead": leads,
        "codes": [network.meter_code(piece.meter) for piece in pieces],
        "marks": marks,
    }


def plan_codes(piece: Chorale, lead: int) -> npt.NDArray[np.int32]:
    """The phrase code of each token of ``piece`` read after ``lead`` silence tokens (the
    lead's own included): ``len(METERS)`` times its step's `phrase_places` row, as
    `bachnet.model.networks.Network.encode` adds it.

    Examples:
        >>> plan_codes(Chorale([[72, 67, 64, 48]] * 3, fermatas=[2]), 4).tolist()
        [32, 32, 32, 32, 24, 24, 24, 24, 16, 16, 16, 16, 8, 8, 8, 8]
    """
    offset = lead // 4
    rows = phrase_places(offset + len(piece.chords), [f + offset for f in piece.fermatas])
    return (np.repeat(rows, 4) * len(METERS)).astype(np.int32)


def _source(
    windows: Windows, batch_size: int, epochs: range | None, drop: bool
) -> tf.data.Dataset | Iterator[Batch] | Batch:
    if keras.backend.backend() == "tensorflow":
        return windows.tf_dataset(batch_size, epochs=epochs, drop_remainder=drop)
    if epochs is None:  # validation: the few fixed windows as arrays (Keras takes no iterables)
        return next(windows.batches(windows.per_epoch))
    return windows.batches(batch_size, epochs=epochs, drop_remainder=drop)


class _Targets:
    """The training targets: token ids, or with teachers the distillation distributions.

    With teachers, each batch's targets become ``(batch, time, vocab)`` probabilities:
    ``distill`` x the teachers' averaged prediction (the mean of their log-probabilities,
    renormalised: the better of the two ways of averaging measured on JSB valid) + ``1 -
    distill`` x the one-hot true token; with ``hard=True`` (validation) the one-hot token alone,
    so that ``val_loss`` stays the plain cross-entropy.
    """

    def __init__(self, teachers: list[LanguageModel], distill: float, vocab_size: int) -> None:
        self.teachers, self.distill, self.vocab_size = teachers, distill, vocab_size

    def soft(self, inputs: Any, targets: Any, hard: bool = False) -> Any:
        """The target distributions of one batch (any backend's tensors or arrays)."""
        ops = keras.ops
        one_hot = ops.one_hot(targets, self.vocab_size)
        if hard:
            return one_hot
        log_probs = [
            ops.log_softmax(teacher.keras_model(inputs, training=False), axis=-1)
            for teacher in self.teachers
        ]
        mean = ops.softmax(ops.mean(ops.stack(log_probs), axis=0), axis=-1)
        return self.distill * mean + (1.0 - self.distill) * one_hot

    def __call__(self, source: Any, hard: bool = False) -> Any:
        if not self.teachers:
            return source
        if isinstance(source, tuple):  # validation arrays (NumPy path)
            inputs, targets = source
            return inputs, np.asarray(self.soft(inputs, targets, hard))
        if keras.backend.backend() == "tensorflow" and not isinstance(source, Iterator):
            return source.map(lambda x, y: (x, self.soft(x, y, hard)))
        return ((x, np.asarray(self.soft(x, y, hard))) for x, y in source)


class _Keeper(keras.callbacks.Callback):  # type: ignore[misc]
    """Early stopping with best-weight restore; its state is the run's `Progress`."""

    def __init__(
        self, progress: Progress, run: RunFolder | None, monitor: str, patience: int
    ) -> None:
        super().__init__()
        self.progress, self.run, self.monitor, self.patience = progress, run, monitor, patience
        self.best_weights: list[Any] | None = None  # in memory only when there is no run folder
        self.diverged: str | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        progress = self.progress
        logs = {k: float(v) for k, v in (logs or {}).items()}
        logs["learning_rate"] = float(
            keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
        )
        for key, value in logs.items():
            progress.history.setdefault(key, []).append(value)
        bad = sorted(key for key, value in logs.items() if not np.isfinite(value))
        if bad:  # diverged: keep the last good checkpoint, stop, and say so
            self.model.stop_training = True
            self.diverged = (
                f"training diverged at epoch {epoch + 1}: {', '.join(bad)} not finite "
                f"(learning rate {logs.get('learning_rate')}); the run folder keeps epoch "
                f"{progress.epoch}. Try a lower learning rate."
            )
            return
        current = logs.get(self.monitor)
        improved = current is not None and (progress.best is None or current < progress.best)
        if improved:
            progress.best, progress.best_epoch, progress.wait = current, epoch + 1, 0
            if self.run is None:
                with averaged(self.model):
                    self.best_weights = [np.array(w) for w in self.model.get_weights()]
        else:
            progress.wait += 1
            if progress.wait >= self.patience:
                progress.stopped = True
                self.model.stop_training = True
        if self.run is not None:
            self.run.save(epoch, improved)
        else:
            progress.epoch = epoch + 1

    def restore_best(self, model: keras.Model) -> None:
        """Put the best weights back (from the run folder, which survives a resume)."""
        best_file = self.run.folder / BEST_FILE if self.run is not None else None
        if best_file is not None and best_file.exists():
            model.load_weights(str(best_file))
        elif self.best_weights is not None:
            model.set_weights(self.best_weights)


class _Deadline(keras.callbacks.Callback):  # type: ignore[misc]
    """Stops training after the first epoch that ends past ``seconds`` from the start."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        super().__init__()
        if not seconds > 0:
            raise InputError(f"time_limit must be > 0 seconds, got {seconds}")
        self.seconds, self.clock = seconds, clock
        self.start = clock()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if self.clock() - self.start > self.seconds:
            self.model.stop_training = True
