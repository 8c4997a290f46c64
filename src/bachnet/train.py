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
import csv
import dataclasses
import io
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import keras
import numpy as np

from .aliases import PathLike
from .chorale import Chorale
from .config import ModelConfig, TrainConfig
from .errors import InputError, RunFolderError
from .files import atomic_path, write_json
from .model import BachNet
from .pipeline import Batch, Windows

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = [
    "History",
    "Perplexity",
    "RunSettings",
    "check_new_run_folder",
    "data_parallel",
    "provenance",
    "run_settings",
    "train",
]


History = dict[str, list[float]]
RUN_FILE, STATE_FILE, BEST_FILE, HISTORY_FILE = (
    "run.json",
    "state.json",
    "best.weights.h5",
    "history.csv",
)


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
    net: BachNet,
    train: Iterable[Chorale],
    valid: Iterable[Chorale] | None = None,
    *,
    config: TrainConfig | None = None,
    run_dir: PathLike | None = None,
    verbose: int | str = "auto",
    describe: dict[str, Any] | None = None,
    time_limit: float | None = None,
    clock: Callable[[], float] = time.monotonic,
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
        >>> from bachnet import ModelConfig
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
    train = list(train)
    windows = Windows(
        train,
        net.vocab,
        length=net.config.window,
        stride=config.stride,
        transpose=config.transpose,
        seed=config.seed,
        align=net.network.align,
        lead=net.network.lead if net.network.pad_lead else 0,
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
                lead=net.network.lead if net.network.pad_lead else 0,
            )
    optimizer = keras.optimizers.Nadam(
        learning_rate=config.learning_rate,
        clipnorm=config.clipnorm or None,
        weight_decay=config.weight_decay or None,
        use_ema=config.ema > 0,
        ema_momentum=config.ema or 0.99,
    )
    model = net.keras_model
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy", Perplexity()],
    )
    run = _Run(Path(run_dir), net, config, describe or {}) if run_dir is not None else None
    with contextlib.ExitStack() as held:
        if run is not None:
            if not (run.folder / RUN_FILE).exists():
                check_new_run_folder(run.folder)  # before the lock file is written there
            held.enter_context(_owned(run.folder))
        return _train(
            net, train, config, run, windows, valid_windows, describe, time_limit, clock, verbose
        )


def _train(
    net: BachNet,
    train: list[Chorale],
    config: TrainConfig,
    run: _Run | None,
    windows: Windows,
    valid_windows: Windows | None,
    describe: dict[str, Any] | None,
    time_limit: float | None,
    clock: Callable[[], float],
    verbose: int | str,
) -> History:
    model = net.keras_model
    first_epoch = run.restore() if run is not None else 0
    progress = run.progress if run is not None else _Progress()
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
    model.fit(
        _source(windows, config.batch_size, epochs, drop),
        epochs=config.epochs,
        initial_epoch=first_epoch,
        steps_per_epoch=windows.batches_per_epoch(config.batch_size, drop_remainder=drop),
        validation_data=_source(valid_windows, config.batch_size, None, False)
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
    from . import __version__
    from .data import JSB_ARCHIVE, registry

    describe = describe or {}
    chords = np.concatenate([c.chords for c in train])
    ranges = []
    for voice in range(4):
        sounding = chords[chords[:, voice] > 0, voice]
        ranges.append([int(sounding.min()), int(sounding.max())] if sounding.size else [0, 0])
    corpus: dict[str, Any] = {"source": describe.get("data", "chorales")}
    if corpus["source"] == "jsb":
        corpus["sha256"] = registry()[JSB_ARCHIVE][0].split(":")[-1]
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


@dataclass(frozen=True)
class RunSettings:
    """What a run folder was started with (its ``run.json``): enough to resume it.

    Attributes:
        model: the model configuration.
        train: the training configuration.
        data: the data source given to ``bachnet train --data`` (``None`` if not recorded).
        command: the command line that started the run (``None`` if not recorded).
    """

    model: ModelConfig
    train: TrainConfig
    data: str | None = None
    command: str | None = None


def run_settings(folder: PathLike) -> RunSettings:
    """Read the settings a run folder was started with, to resume it.

    Raises:
        ValueError: the folder holds no run, or its ``run.json`` cannot be read.

    Examples:
        >>> import tempfile
        >>> run_settings(tempfile.mkdtemp())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: ...: nothing to resume (no run.json)
    """
    run_file = Path(folder) / RUN_FILE
    if not run_file.is_file():
        raise ValueError(f"{folder}: nothing to resume (no {RUN_FILE})")
    try:
        saved = json.loads(run_file.read_text(encoding="utf-8"))
        return RunSettings(
            model=ModelConfig.from_dict(saved["model"]),
            train=TrainConfig.from_dict(saved["train"]),
            data=saved.get("data"),
            command=saved.get("command"),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{run_file}: cannot read the run's settings ({error})") from None


LOCK_FILE = ".lock"
"""The file in a run folder that the training process holding it locks (its PID inside)."""


_WINDOWS_LOCK_OFFSET = 1 << 30
"""Where Windows locks one byte of the lock file: far past the PID, so others can read it."""


def _lock(handle: BinaryIO, *, release: bool = False) -> bool:
    """Lock ``handle``'s file for this process without waiting (``False``: another holds it).

    POSIX: an exclusive ``flock``. Windows: ``msvcrt.locking`` of one byte at
    `_WINDOWS_LOCK_OFFSET` (a Windows lock bars reads of the bytes it covers, and the PID at
    the start must stay readable). The system drops either lock when the process ends;
    ``release=True`` drops it now.
    """
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        mode = msvcrt.LK_UNLCK if release else msvcrt.LK_NBLCK  # type: ignore[attr-defined,unused-ignore]
        handle.seek(_WINDOWS_LOCK_OFFSET)
        try:
            msvcrt.locking(handle.fileno(), mode, 1)  # type: ignore[attr-defined,unused-ignore]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle, fcntl.LOCK_UN if release else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def _owned(folder: Path) -> Iterator[None]:
    """Hold ``folder`` for one training process: a second one gets a `RunFolderError`.

    An exclusive lock on ``folder/.lock`` (`_lock`), released by the system when the
    process ends however it ends (a ``kill -9`` leaves no stale lock); the file holds the
    holder's PID, which the second process's message names.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_FILE
    handle = open(lock, "a+b")  # noqa: SIM115 - held for the whole run
    locked = False
    try:
        if not _lock(handle):
            handle.seek(0)
            holder = handle.read(64).decode("utf-8", "replace").strip() or "another process"
            raise RunFolderError(
                f"{folder} is in use: a training process (PID {holder}) holds {lock}; wait "
                "for it to finish or stop it"
            )
        locked = True
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()).encode())
        handle.flush()
        yield
    finally:
        if locked:
            _lock(handle, release=True)
        handle.close()


def check_new_run_folder(folder: PathLike) -> None:
    """Refuse to start a new run in a folder that holds anything (its own run or other files).

    Raises:
        RunFolderError: the folder holds a run (resume it instead) or other files, which a
            new run would mix with or overwrite; nothing is changed.

    Examples:
        >>> import tempfile
        >>> check_new_run_folder(Path(tempfile.mkdtemp()) / "new")  # missing or empty: fine
    """
    path = Path(folder)
    if (path / RUN_FILE).exists():
        raise RunFolderError(f"{path} already holds a run: resume it, or choose another folder")
    if path.exists() and not path.is_dir():
        raise RunFolderError(f"{path} is a file, not a folder")
    foreign = (
        sorted(p.name for p in path.iterdir() if not p.name.startswith("."))
        if path.exists()
        else []
    )
    if foreign:
        more = " ..." if len(foreign) > 5 else ""
        raise RunFolderError(
            f"{path} is not empty and holds no run ({RUN_FILE} is missing): "
            f"{', '.join(foreign[:5])}{more}; nothing was changed. Choose an empty or new folder."
        )


def data_parallel(devices: int | None = None) -> int:
    """Train data-parallel over this machine's accelerators (or simulated CPU devices).

    Sets Keras's distribution (`keras.distribution.DataParallel`) for every model built
    afterwards: the weights are replicated, each batch is split across the devices and the
    gradients are averaged, so the same code scales from one device to several. JAX backend
    only (``KERAS_BACKEND=jax``); to try it on a CPU, simulate devices with
    ``XLA_FLAGS=--xla_force_host_platform_device_count=2``. The batch size must be a multiple
    of the number of devices.

    Args:
        devices: how many devices to use (default: all).

    Returns:
        The number of devices used.

    Raises:
        ValueError: another backend, or more devices asked for than there are.

    Examples:
        >>> data_parallel()  # doctest: +SKIP
        2
    """
    if keras.backend.backend() != "jax":
        raise ValueError(
            f"data-parallel training needs the JAX backend (KERAS_BACKEND=jax), not "
            f"{keras.backend.backend()}"
        )
    found = keras.distribution.list_devices()
    count = len(found) if devices is None else devices
    if not 1 <= count <= len(found):
        raise ValueError(f"asked for {devices} devices, this machine has {len(found)}")
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=found[:count]))
    return count


def _source(
    windows: Windows, batch_size: int, epochs: range | None, drop: bool
) -> tf.data.Dataset | Iterator[Batch] | Batch:
    if keras.backend.backend() == "tensorflow":
        return windows.tf_dataset(batch_size, epochs=epochs, drop_remainder=drop)
    if epochs is None:  # validation: the few fixed windows as arrays (Keras takes no iterables)
        return next(windows.batches(windows.per_epoch))
    return windows.batches(batch_size, epochs=epochs, drop_remainder=drop)


@dataclass
class _Progress:
    """Where a run stands, in one place: saved as ``state.json`` after every epoch.

    ``epoch`` epochs are finished, the last in ``checkpoint``; early stopping keeps the best
    monitored value, its epoch, the epochs waited since and whether it stopped the run;
    ``history`` has one value per finished epoch and metric.
    """

    epoch: int = 0
    checkpoint: str | None = None
    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0
    stopped: bool = False
    history: History = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> _Progress:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{key: data[key] for key in data if key in cls.__dataclass_fields__})

    def write(self, path: Path) -> None:
        write_json(path, dataclasses.asdict(self))

    def copy_history(self) -> History:
        return {key: list(values) for key, values in self.history.items()}


def _with_defaults(saved: dict[str, Any]) -> dict[str, Any]:
    """``run.json``'s model and train configs with the fields a newer bachnet added filled in.

    A run begun before a field existed (``ema``, ``architecture``) resumes as the default it
    had then; a config that does not parse is left as it is, for the mismatch to report.
    """
    filled = dict(saved)
    for key, kind in (("model", ModelConfig), ("train", TrainConfig)):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            filled[key] = json.loads(json.dumps(kind.from_dict(saved[key]).to_dict()))
    return filled


class _Run:
    """The run folder: writes a checkpoint per epoch, reads it back to resume."""

    def __init__(
        self, folder: Path, net: BachNet, config: TrainConfig, describe: dict[str, Any]
    ) -> None:
        self.folder, self.net, self.config = folder, net, config
        self.identity = {
            "model": net.config.to_dict(),
            "vocabulary": net.vocab.get_config(),
            "train": config.to_dict(),
        }
        self.describe = describe
        self.progress = _Progress()

    def restore(self) -> int:
        """Load the last finished epoch, if any; return the epoch to start from."""
        self.folder.mkdir(parents=True, exist_ok=True)
        run_file = self.folder / RUN_FILE
        if run_file.exists():
            saved = json.loads(run_file.read_text(encoding="utf-8"))
            mine = json.loads(json.dumps(self.identity))
            saved["train"] = {**saved.get("train", {}), "epochs": self.config.epochs}  # may grow
            saved = _with_defaults(saved)  # fields added since the run began take their defaults
            for key in ("model", "vocabulary", "train"):
                if saved.get(key) != mine[key]:
                    raise RunFolderError(
                        f"{self.folder} holds a run with another {key} configuration: "
                        f"{saved.get(key)} (not {mine[key]})"
                    )
        else:
            check_new_run_folder(self.folder)
            write_json(run_file, {**self.identity, **self.describe})
        state_file = self.folder / STATE_FILE
        if not state_file.exists():
            return 0
        self.progress = _Progress.read(state_file)
        checkpoint = self.folder / str(self.progress.checkpoint)
        model = self.net.keras_model
        with warnings.catch_warnings():  # the optimizer is restored below, from optimizer.npz
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(str(checkpoint / "model.weights.h5"))
        optimizer = model.optimizer
        optimizer.build(model.trainable_variables)
        with np.load(checkpoint / "optimizer.npz", allow_pickle=False) as saved:
            arrays = [saved[f"v{i}"] for i in range(len(saved.files))]
        if len(arrays) != len(optimizer.variables):
            raise ValueError(
                f"{checkpoint}: optimizer state has {len(arrays)} variables, "
                f"expected {len(optimizer.variables)}"
            )
        for variable, value in zip(optimizer.variables, arrays, strict=True):
            variable.assign(value)
        randomness = checkpoint / RANDOM_FILE
        if randomness.exists():  # checkpoints written before it resume with fresh dropout
            states = _seed_states(model)
            with np.load(randomness, allow_pickle=False) as saved:
                if len(saved.files) == len(states):  # in the model's order (names vary)
                    for i, variable in enumerate(states):
                        variable.assign(saved[f"s{i}"])
        return self.progress.epoch

    def save(self, epoch: int, improved: bool) -> None:
        """Checkpoint a finished (0-based) ``epoch``; ``state.json`` is replaced last."""
        model = self.net.keras_model
        name = f"checkpoints/epoch-{epoch + 1:04d}"
        staging = Path(tempfile.mkdtemp(dir=self.folder, prefix=".checkpoint."))
        try:
            model.save_weights(str(staging / "model.weights.h5"))
            arrays = {f"v{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)}
            np.savez(staging / "optimizer.npz", **arrays)  # type: ignore[arg-type]
            seeds = {f"s{i}": np.asarray(v) for i, v in enumerate(_seed_states(model))}
            np.savez(staging / RANDOM_FILE, **seeds)  # type: ignore[arg-type]
            final = self.folder / name
            final.parent.mkdir(exist_ok=True)
            shutil.rmtree(final, ignore_errors=True)
            os.replace(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if improved:
            with _averaged(model):
                _atomic_weights(model, self.folder / BEST_FILE)
        self.progress.epoch, self.progress.checkpoint = epoch + 1, name
        self.progress.write(self.folder / STATE_FILE)
        _write_history_csv(self.folder / HISTORY_FILE, self.progress.history)
        for old in (self.folder / "checkpoints").iterdir():
            if old.name != Path(name).name:
                shutil.rmtree(old, ignore_errors=True)


class _Keeper(keras.callbacks.Callback):  # type: ignore[misc]
    """Early stopping with best-weight restore; its state is the run's `_Progress`."""

    def __init__(self, progress: _Progress, run: _Run | None, monitor: str, patience: int) -> None:
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
                with _averaged(self.model):
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
            raise ValueError(f"time_limit must be > 0 seconds, got {seconds}")
        self.seconds, self.clock = seconds, clock
        self.start = clock()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if self.clock() - self.start > self.seconds:
            self.model.stop_training = True


RANDOM_FILE = "random.npz"
"""The checkpoint file holding the random generators' states (dropout's seeds)."""


@contextlib.contextmanager
def _averaged(model: keras.Model) -> Iterator[None]:
    """Hold the optimizer's moving average of the weights in ``model`` (no-op without one)."""
    optimizer = model.optimizer
    if not getattr(optimizer, "use_ema", False):
        yield
        return
    pairs = list(
        zip(optimizer._trainable_variables, optimizer._model_variables_moving_average, strict=True)
    )

    def swap() -> None:
        for variable, average in pairs:
            value = keras.ops.copy(variable.value)
            variable.assign(average.value)
            average.assign(value)

    swap()
    try:
        yield
    finally:
        swap()


def _seed_states(model: keras.Model) -> list[Any]:
    """The model's random seed generators' state variables (dropout draws from them)."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def _atomic_weights(model: keras.Model, target: Path) -> None:
    with atomic_path(target, suffix=".weights.h5") as tmp:
        model.save_weights(str(tmp), overwrite=True)


def _write_history_csv(path: Path, history: History) -> None:
    keys = sorted(history)
    rows = max((len(v) for v in history.values()), default=0)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["epoch", *keys])
    for i in range(rows):
        writer.writerow([i + 1, *(history[k][i] if i < len(history[k]) else "" for k in keys)])
    with atomic_path(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8", newline="")
