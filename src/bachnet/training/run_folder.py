"""The run folder of a training run: its files, its lock, its progress and checkpoints.

A *run folder* makes training resumable; `bachnet.training.fit` describes what it holds. Every
file is written to a temporary name and renamed into place, ``state.json`` last.
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
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import keras
import numpy as np

from bachnet.core.aliases import PathLike
from bachnet.core.files import atomic_path, write_json
from bachnet.errors import InputError, RunFolderError
from bachnet.model.config import ModelConfig, TrainConfig
from bachnet.model.protocol import LanguageModel

__all__ = [
    "BEST_FILE",
    "HISTORY_FILE",
    "LOCK_FILE",
    "RUN_FILE",
    "STATE_FILE",
    "History",
    "Progress",
    "RunFolder",
    "RunSettings",
    "averaged",
    "check_new_run_folder",
    "owned",
    "run_settings",
]

History = dict[str, list[float]]
RUN_FILE, STATE_FILE, BEST_FILE, HISTORY_FILE = (
    "run.json",
    "state.json",
    "best.weights.h5",
    "history.csv",
)


@dataclass(frozen=True)
class RunSettings:
    """What a run folder was started with (its ``run.json``): enough to resume it.

    Attributes:
        model: the model configuration.
        train: the training configuration.
        data: the data source given to ``bachnet train --data`` (``None`` if not recorded).
        command: the command line that started the run (``None`` if not recorded).
        init: the trained model the run started from (``bachnet train --init``), if any.
        splits: the names of the pieces in each split, for a corpus split by bachnet (a
            musician's folder), so that a resumed run trains on the same pieces.
        one_key: every piece was moved into C major or A minor (``bachnet train --one-key``).
    """

    model: ModelConfig
    train: TrainConfig
    data: str | None = None
    command: str | None = None
    init: str | None = None
    splits: dict[str, list[str]] | None = None
    one_key: bool = False


def run_settings(folder: PathLike) -> RunSettings:
    """Read the settings a run folder was started with, to resume it.

    Raises:
        InputError: the folder holds no run, or its ``run.json`` cannot be read.

    Examples:
        >>> import tempfile
        >>> run_settings(tempfile.mkdtemp())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        bachnet.errors.InputError: ...: nothing to resume (no run.json)
    """
    run_file = Path(folder) / RUN_FILE
    if not run_file.is_file():
        raise InputError(f"{folder}: nothing to resume (no {RUN_FILE})")
    try:
        saved = json.loads(run_file.read_text(encoding="utf-8"))
        return RunSettings(
            model=ModelConfig.from_dict(saved["model"]),
            train=TrainConfig.from_dict(saved["train"]),
            data=saved.get("data"),
            command=saved.get("command"),
            init=saved.get("init"),
            splits=saved.get("splits"),
            one_key=bool(saved.get("one_key", False)),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"{run_file}: cannot read the run's settings ({error})") from None


LOCK_FILE = ".lock"
"""The file in a run folder that the training process holding it locks (its PID inside)."""


_WINDOWS_LOCK_OFFSET = 1 << 30
"""Where Windows locks one byte of the lock file: far past the PID, so others can read it."""


def lock_handle(handle: BinaryIO, *, release: bool = False) -> bool:
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
def owned(folder: Path) -> Iterator[None]:
    """Hold ``folder`` for one training process: a second one gets a `RunFolderError`.

    An exclusive lock on ``folder/.lock`` (`lock_handle`), released by the system when the
    process ends however it ends (a ``kill -9`` leaves no stale lock); the file holds the
    holder's PID, which the second process's message names.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_FILE
    handle = open(lock, "a+b")  # noqa: SIM115 - held for the whole run
    locked = False
    try:
        if not lock_handle(handle):
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
            lock_handle(handle, release=True)
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


@dataclass
class Progress:
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
    def read(cls, path: Path) -> Progress:
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


class RunFolder:
    """The run folder: writes a checkpoint per epoch, reads it back to resume."""

    def __init__(
        self, folder: Path, net: LanguageModel, config: TrainConfig, describe: dict[str, Any]
    ) -> None:
        self.folder, self.net, self.config = folder, net, config
        self.identity = {
            "model": net.config.to_dict(),
            "vocabulary": net.vocab.get_config(),
            "train": config.to_dict(),
        }
        self.describe = describe
        self.progress = Progress()

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
        self.progress = Progress.read(state_file)
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
            raise InputError(
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
            with averaged(model):
                _atomic_weights(model, self.folder / BEST_FILE)
        self.progress.epoch, self.progress.checkpoint = epoch + 1, name
        self.progress.write(self.folder / STATE_FILE)
        _write_history_csv(self.folder / HISTORY_FILE, self.progress.history)
        for old in (self.folder / "checkpoints").iterdir():
            if old.name != Path(name).name:
                shutil.rmtree(old, ignore_errors=True)


RANDOM_FILE = "random.npz"
"""The checkpoint file holding the random generators' states (dropout's seeds)."""


@contextlib.contextmanager
def averaged(model: keras.Model) -> Iterator[None]:
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
