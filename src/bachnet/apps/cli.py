"""The ``bachnet`` command line: generate, train, evaluate, calibrate, models."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from bachnet import formats
from bachnet._version import __version__
from bachnet.data import Dataset, DownloadError
from bachnet.data.corpus import SPLIT_SIZES
from bachnet.data.reference import reference_figures, reference_phrases
from bachnet.errors import BachNetError, InputError, NotFoundError
from bachnet.formats.audio import AudioUnavailableError
from bachnet.formats.score import ROLL_SUFFIX, ScoreUnavailableError
from bachnet.model.config import ModelConfig, TrainConfig
from bachnet.music import metrics
from bachnet.music.chorale import Chorale
from bachnet.music.grid import MAX_TEMPO, MIN_TEMPO
from bachnet.music.phrases import (
    parse_fermatas,
    parse_phrases,
    phrase_dict,
    phrase_figures,
    phrase_table,
)

# Modules that import Keras (and so TensorFlow, seconds to load) are imported by the commands
# that need them, after `_quiet_tensorflow`, so `bachnet --help` stays instant.
if TYPE_CHECKING:
    from bachnet.net import BachNet

__all__ = [
    "main",
]


def _quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (CUDA probes, oneDNN notes) hidden.

    Only the text TensorFlow's C++ core prints while importing is dropped; a failed import
    still raises its Python exception.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow" or "tensorflow" in sys.modules:
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            # Keras reports a missing backend itself, with the real message.
            with contextlib.suppress(ImportError):
                import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _load_model(model: str | None) -> BachNet:
    _quiet_tensorflow()
    from bachnet.net import BachNet

    return BachNet.from_pretrained(model)


_DATA_HELP = (
    "'jsb' (downloaded once), 'music21' (bundled, holds the JSB test pieces), a folder or "
    ".tgz/.zip archive of MIDI, MusicXML, .mxl, **kern or CSV chorales, or several joined by + "
    "(jsb+FOLDER)."
)

_DATA_OPTION = click.option("--data", default="jsb", show_default=True, help=_DATA_HELP)
"""``--data`` of the commands that read a model's scores from a corpus (evaluate, calibrate)."""


class _Reading:
    """A progress bar on standard error while a folder's files are read."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(
                length=total, label=f"reading {total} files", file=sys.stderr
            )
            self.bar.__enter__()
        self.bar.update(1)
        if done == total:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _load_data(
    source: str,
    *,
    sizes: tuple[float, ...] = SPLIT_SIZES,
    seed: int = 0,
    splits: dict[str, list[str]] | None = None,
    one_key: bool = False,
) -> Dataset:
    """A corpus by name (`Dataset.load`), split as a run recorded it when ``splits`` is given
    and moved into C major / A minor with ``one_key``; a musician's folder prints what was
    kept and refused."""
    dataset = Dataset.load(source, sizes=sizes, seed=seed, progress=_Reading())
    if splits:
        dataset = dataset.with_splits(splits)
    if dataset.check is not None:
        click.echo(dataset.check.summary(), err=True)
    if one_key:
        dataset = dataset.in_one_key()
        click.echo("every piece moved into C major or A minor (--one-key)", err=True)
    return dataset


def _recorded_splits(dataset: Dataset, source: str) -> dict[str, list[str]] | None:
    """The split to record with a run: the piece names of a musician's corpus (a split made
    here), none for the JSB archive and other corpora that carry their own split."""
    if dataset.check is None and "+" not in source:
        return None
    return dataset.split_names()


FINE_TUNE = {"learning_rate": 1e-4, "decay_epochs": 0, "patience": 5, "epochs": 50}
"""`bachnet train --init`'s defaults: the learning rate the default preset's run ended on,
held constant, and early stopping after 5 epochs without a better loss on the valid split."""


def _union_ranges(first: Any, second: list[list[int]]) -> list[list[int]]:
    """Each voice's range spanning both ``first`` (may be missing) and ``second``."""
    if not first:
        return second
    return [[min(a[0], b[0]), max(a[1], b[1])] for a, b in zip(first, second, strict=True)]


def _split_sizes(value: str) -> tuple[float, ...]:
    try:
        sizes = tuple(float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not three comma-separated numbers") from None
    if len(sizes) != 3 or any(not math.isfinite(v) or v < 0 for v in sizes) or sizes[0] <= 0:
        raise click.BadParameter(
            f"{value!r}: give three shares train,valid,test >= 0 with train > 0 (e.g. 0.8,0.1,0.1)"
        )
    return sizes


def _figures(metrics: dict[str, float]) -> str:
    return (
        f"loss {metrics['loss']:.4f} nats/token (per chorale {metrics['loss_per_chorale']:.4f}), "
        f"accuracy {metrics['accuracy']:.4f}, perplexity {metrics['perplexity']:.4f}"
    )


def _score_test(net: BachNet, dataset: Dataset) -> None:
    """Score the test split, where ``dataset`` has one; print it and keep it in the metadata."""
    if "test" in dataset.splits:
        test = net.evaluate(dataset.split("test"))
        net.metadata["metrics"] = {"test": {k: round(v, 4) for k, v in test.items()}}
        click.echo(f"test: {_figures(test)}")


def _finite(value: float | None, option: str) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number", param_hint=f"'{option}'")
    return value


def _units(value: str) -> tuple[int, ...]:
    try:
        units = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers") from None
    return units


class _Group(click.Group):
    """The command group: every error bachnet raises on purpose, and every expected OS error
    (a missing, unreadable or unwritable file, a full disk), ends as one ``Error:`` line with
    exit status 1; a traceback is left only for real bugs."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BachNetError as error:
            raise click.ClickException(str(error)) from None
        except OSError as error:
            where = f"{error.filename}: " if getattr(error, "filename", None) else ""
            reason = error.strerror or str(error)
            raise click.ClickException(f"{where}{reason}") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bachnet")
def main() -> None:
    """Compose four-voice chorales in the style of J.S. Bach.

    Start with `bachnet generate -o chorale.mid`: it uses the model bundled with the package
    and needs no network.
    """


@main.command()
@click.option("--data", default="jsb", show_default=True, help=_DATA_HELP)
@click.option(
    "--split-sizes",
    default="0.8,0.1,0.1",
    show_default=True,
    help="Train, valid and test shares of a folder without train/valid/test sub-folders, "
    "split by piece (seeded by --seed); recorded in the run folder.",
)
@click.option(
    "--one-key",
    is_flag=True,
    help="Move every piece into C major or A minor before training (its key found by "
    "key-profile analysis; recorded, so evaluate scores the same way). Windows are still "
    "transposed at random unless --transpose 0.",
)
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Run folder: checkpoints every epoch, the trained model in OUT/model.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the run in OUT (it must exist); settings come from OUT/run.json.",
)
@click.option("--epochs", type=click.IntRange(min=1), default=360, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--lr",
    "learning_rate",
    type=click.FloatRange(min=0, min_open=True),
    default=1e-3,
    show_default=True,
)
@click.option(
    "--decay-epochs",
    type=click.FloatRange(min=0),
    default=200,
    show_default=True,
    help="Epochs for the learning rate to fall tenfold; 0 keeps it constant.",
)
@click.option("--clipnorm", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option("--weight-decay", type=click.FloatRange(min=0), default=0.0, show_default=True)
@click.option(
    "--ema",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.0,
    show_default=True,
    help="Momentum of a moving average of the weights, per batch (0 = off; e.g. 0.995). "
    "Validation and the saved model use the averaged weights.",
)
@click.option("--patience", type=click.IntRange(min=1), default=50, show_default=True)
@click.option(
    "--stride",
    type=click.IntRange(min=1),
    default=None,
    help="The original BachNet's fixed windows every STRIDE tokens (default: random windows).",
)
@click.option(
    "--transpose",
    type=click.IntRange(0, 24),
    default=6,
    show_default=True,
    help="Largest random transposition in semitones (random windows).",
)
@click.option(
    "--lstm-units",
    default="360,360",
    show_default=True,
    help="LSTM sizes, bottom first. Given with --init, the trained model is narrowed to them "
    "(without, --init keeps its own sizes).",
)
@click.option(
    "--architecture",
    type=click.Choice(
        ["lstm", "beat_lstm", "voice_lstm", "bar_lstm", "meter_lstm", "phrase_lstm", "step_lstm"]
    ),
    default="meter_lstm",
    show_default=True,
    help="Model type: beat_lstm also knows each token's voice and place in the beat; "
    "voice_lstm also what the voice to write holds and for how long; "
    "bar_lstm is voice_lstm knowing the place in the 4/4 bar (each piece's pickup); "
    "meter_lstm knows the bar of each piece's own metre (4/4, 3/4, 3/2); "
    "phrase_lstm is meter_lstm hearing how far ahead the next fermata stands "
    "(generate --phrases); "
    "step_lstm runs one LSTM step per 16th step and writes its four voices from a small head.",
)
@click.option("--embedding-dim", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--dense-units", type=click.IntRange(min=0), default=256, show_default=True)
@click.option(
    "--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.3, show_default=True
)
@click.option("--window", type=click.IntRange(min=1), default=256, show_default=True)
@click.option(
    "--shifts",
    default=None,
    metavar="S,S,...",
    help="Train a model that reads every piece at these semitone shifts at once and averages "
    "the copies' predictions, e.g. -1,0,1 (must include 0; each step costs about as much "
    "more). Default: none; `bachnet calibrate --shifts` adds them to a trained model.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--init",
    default=None,
    metavar="MODEL",
    help="Start from a trained model (a preset name or folder): its network, vocabulary and "
    "weights; the architecture options are then ignored. Use a lower --lr to fine-tune.",
)
@click.option(
    "--teacher",
    "teachers",
    multiple=True,
    metavar="MODEL",
    help="Distil this model (repeat the option for an ensemble): the training targets mix "
    "the teachers' averaged prediction with the true token (see --distill).",
)
@click.option(
    "--distill",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.5,
    show_default=True,
    help="The teachers' share of the training target (with --teacher).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Stop after the epoch that passes this many minutes (resume later with --resume).",
)
@click.option(
    "--data-parallel",
    is_flag=True,
    help="Split each batch over every accelerator (JAX backend; see "
    "bachnet.training.parallel.data_parallel).",
)
@click.option(
    "-v",
    "--verbose",
    type=click.IntRange(0, 2),
    default=1,
    show_default=True,
    help="0 silent, 1 progress bar, 2 one line per epoch.",
)
def train(
    out: Path,
    resume: bool,
    data: str,
    verbose: int,
    data_parallel: bool,
    time_limit: float | None,
    init: str | None,
    split_sizes: str,
    one_key: bool,
    **options: Any,
) -> None:
    """Train a model on the JSB train split (valid split for early stopping), then test it.

    The defaults are the model of the bundled default, jsb-lean (a 2 x 360 meter_lstm,
    dropout 0.3). Its recipe: jsb-bar (`--architecture bar_lstm --lstm-units 384,384`, trained
    on JSB's train split plus the JS Fake Chorales: `python scripts/jsb_plus_fakes.py DATA`,
    then `--data DATA --epochs 100 --decay-epochs 100`), fine-tuned into jsb-meter and jsb-keys
    (`--init jsb-bar --architecture meter_lstm`, then `--data jsb+FAKES+THREE4 --split-sizes
    1,0,0` with `python scripts/fakes_in_bars.py FAKES` and `python scripts/jsb_three_four.py
    THREE4`; experiments/meter_lstm_run), then narrowed and trained on: `--init jsb-keys
    --lstm-units 360,360 --data jsb+FAKES+THREE4 --split-sizes 1,0,0 --lr 2e-4 --decay-epochs
    20 --epochs 30`, then `bachnet calibrate RUN/model -o OUT` (docs/benchmarks.md, (n)). A
    model that averages transpositions (jsb-keys: `--shifts -1,0,1` in calibrate) is trained as
    one network and saved without them unless --shifts keeps them. jsb-voice is
    `--architecture voice_lstm --lstm-units 384,384` on DATA. jsb-beat's recipe is
    `--architecture beat_lstm --lstm-units 384,384` on JSB alone; the original BachNet is
    `--architecture lstm --lstm-units 512,512,512 --dropout 0.2`.

    Your own music: `--data FOLDER` reads MIDI, MusicXML, .mxl, **kern and CSV files (see
    `bachnet data check FOLDER`), split by piece (--split-sizes); `--data jsb+FOLDER` adds
    JSB's. `--init MODEL` fine-tunes a trained model (e.g. `--init jsb-bar`): unless set, the
    learning rate is 1e-4, held, for at most 50 epochs with early stopping after 5 without a
    better valid loss; with `--lstm-units` it is first narrowed to that many units (the units
    that send most on kept). `--teacher MODEL` (repeated) distils an ensemble into the model.

    The run folder makes training resumable: after an interruption (even kill -9), run
    `bachnet train -o OUT --resume` to continue from the last finished epoch.
    """
    _quiet_tensorflow()
    import keras

    from bachnet.net import BachNet
    from bachnet.training.fit import RUN_FILE, check_new_run_folder, run_settings
    from bachnet.training.fit import train as run_training

    command = shlex.join(["bachnet", *sys.argv[1:]])
    if resume:
        settings = run_settings(out)
        command = f"{settings.command or ''} (resumed: {command})".strip()
        model_config, train_config = settings.model, settings.train
        context = click.get_current_context()
        ignored = [
            max(param.opts, key=len)
            for param in context.command.params
            if param.name in (*options, "data", "init", "split_sizes", "one_key")
            and param.name != "epochs"
            and context.get_parameter_source(param.name) != click.core.ParameterSource.DEFAULT
        ]
        if ignored:
            click.echo(
                f"note: --resume continues the run with its own settings; ignoring "
                f"{', '.join(ignored)} (only --epochs may change)",
                err=True,
            )
        if (
            click.get_current_context().get_parameter_source("epochs")
            != click.core.ParameterSource.DEFAULT
        ):
            train_config = dataclasses.replace(train_config, epochs=options["epochs"])
        data = settings.data or data
        init = settings.init
        recorded = settings.splits
        one_key = settings.one_key
    else:
        recorded = None
        if (out / RUN_FILE).exists():
            raise click.ClickException(
                f"{out} already holds a run: add --resume to continue it, or choose another folder"
            )
        check_new_run_folder(out)  # before any data is loaded
        model_config = ModelConfig(
            architecture=options.pop("architecture"),
            lstm_units=_units(options.pop("lstm_units")),
            embedding_dim=options.pop("embedding_dim"),
            dense_units=options.pop("dense_units"),
            dropout=options.pop("dropout"),
            window=options.pop("window"),
            shifts=_shifts(options.pop("shifts")),
        )
        if init is not None:  # fine-tuning: what the user did not set follows FINE_TUNE
            source = click.get_current_context().get_parameter_source
            for name, value in FINE_TUNE.items():
                if source(name) == click.core.ParameterSource.DEFAULT:
                    options[name] = value
        decay = options.pop("decay_epochs")
        options["teachers"] = tuple(options["teachers"])
        train_config = TrainConfig(decay_epochs=decay if decay else math.inf, **options)
    dataset = _load_data(
        data,
        sizes=_split_sizes(split_sizes),
        seed=train_config.seed,
        splits=recorded,
        one_key=one_key,
    )
    splits = dataset.splits
    train_split = dataset.split("train" if "train" in splits else "all")
    valid_split = dataset.split("valid") if "valid" in splits else None
    keras.utils.set_random_seed(train_config.seed)
    if data_parallel:
        from bachnet.training.fit import data_parallel as use_devices

        devices = use_devices()
        if train_config.batch_size % devices:
            raise click.ClickException(
                f"--batch-size {train_config.batch_size} is not a multiple of the {devices} devices"
            )
        click.echo(f"data-parallel over {devices} devices", err=True)
    if init is not None:
        net = _load_model(init)
        net.metadata.pop("calibration", None)  # the temperature was fitted to other weights
        click.echo(f"starting from {init}: its network, vocabulary and weights", err=True)
        if net.config.shifts != model_config.shifts:  # as asked (--shifts) or recorded
            if net.config.shifts and not model_config.shifts:
                click.echo(
                    f"trained as one network, without its shifts {list(net.config.shifts)} "
                    "(put them back after training: bachnet calibrate RUN/model -o OUT "
                    f"--shifts {','.join(str(s) for s in net.config.shifts)}; or train with "
                    "them: --shifts)",
                    err=True,
                )
            net = net.with_shifts(model_config.shifts)
        becomes = _becomes(net, model_config, resume)
        if becomes == "meter_lstm":
            net = net.with_meters()
            click.echo("as a meter_lstm: its 4/4 places start every metre's", err=True)
        elif becomes == "phrase_lstm":
            net = net.with_phrases()
            click.echo("as a phrase_lstm: it starts hearing no phrase plan", err=True)
        net = _narrowed(net, model_config, train_split, resume)
    else:
        net = BachNet(model_config)
    teachers = [_load_model(name) for name in train_config.teachers]
    click.echo(f"{net!r}; {len(train_split)} training chorales from {dataset.source}", err=True)
    describe: dict[str, Any] = {"data": data, "command": command}
    if init is not None:
        describe["init"] = init
    if one_key:
        describe["one_key"] = True
    named = _recorded_splits(dataset, data)
    if named is not None:
        describe["splits"] = named
    run_training(
        net,
        train_split,
        valid_split,
        config=train_config,
        run_dir=out,
        verbose=verbose,
        describe=describe,
        time_limit=None if time_limit is None else time_limit * 60,
        teachers=teachers,
    )
    if init is not None:  # generation keeps to the pretrained ranges and the new data's
        net.metadata["voice_ranges"] = _union_ranges(
            _load_model(init).metadata.get("voice_ranges"), net.metadata["voice_ranges"]
        )
    _score_test(net, dataset)
    saved_to = net.save_pretrained(out / "model")
    click.echo(f"model saved to {saved_to}")


def _shifts(value: str | None) -> tuple[int, ...]:
    """``--shifts``: comma-separated semitone shifts (checked by `ModelConfig`)."""
    if value is None:
        return ()
    try:
        shifts = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a list of whole semitones such as -1,0,1", param_hint="'--shifts'"
        ) from None
    try:
        ModelConfig(architecture="lstm", shifts=shifts)  # checks them, builds nothing
    except InputError as error:
        raise click.BadParameter(str(error), param_hint="'--shifts'") from None
    return shifts


def _narrowed(net: Any, model_config: ModelConfig, train_split: Any, resume: bool) -> Any:
    """``--init MODEL --lstm-units U``: the loaded model narrowed to ``U`` units (its units
    that send most on kept, measured on the training split; `BachNet.narrowed`). A resumed
    run only takes the recorded shape: its checkpoint holds the weights."""
    wide, asked = tuple(net.config.lstm_units), tuple(model_config.lstm_units)
    if wide == asked:
        return net
    if resume:
        from bachnet.net import BachNet

        config = dataclasses.replace(net.config, lstm_units=asked)
        return BachNet(config, net.vocab, metadata=net.metadata)
    source = click.get_current_context().get_parameter_source("lstm_units")
    if source == click.core.ParameterSource.DEFAULT:
        return net
    try:
        narrow = net.narrowed(asked, train_split)
    except InputError as error:
        raise click.ClickException(f"--lstm-units: {error}") from None
    click.echo(
        f"narrowed from {','.join(map(str, wide))} to {','.join(map(str, asked))} units "
        "(the units that send most on kept)",
        err=True,
    )
    return narrow


_BECOMES = {"meter_lstm": "bar_lstm", "phrase_lstm": "meter_lstm"}
"""What `train --init` can turn a loaded model into, and from what."""


def _becomes(net: Any, model_config: ModelConfig, resume: bool) -> str | None:
    """What `train --init` turns the loaded model into: a ``meter_lstm`` (from a
    ``bar_lstm``) or a ``phrase_lstm`` (from a ``meter_lstm``), asked with ``--architecture``
    (or recorded so in the run resumed); ``None`` to fine-tune it as it is."""
    asked, have = model_config.architecture, net.config.architecture
    if not resume:
        source = click.get_current_context().get_parameter_source("architecture")
        if source == click.core.ParameterSource.DEFAULT:
            return None
    if asked == have:
        return None
    if _BECOMES.get(asked) == have:
        return asked
    if asked in _BECOMES:
        raise click.ClickException(
            f"--init gives a {have} model: only a {_BECOMES[asked]} can become a "
            f"{asked}; leave --architecture out to fine-tune it as it is"
        )
    raise click.ClickException(
        f"--init gives a {have} model; it can become a meter_lstm (from a bar_lstm) or a "
        f"phrase_lstm (from a meter_lstm) but not a {asked}: leave --architecture out to "
        "fine-tune it as it is"
    )


@main.group(name="data")
def data_group() -> None:
    """Look at a corpus before training on it."""


@data_group.command(name="check")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--summary", is_flag=True, help="Print only the totals, not a line per file.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the JSON report to this file.",
)
def data_check(source: Path, summary: bool, as_json: bool, out: Path | None) -> None:
    """Read every music file in SOURCE (a folder or archive) and say which would be trained on.

    Per file: kept (its length, metre, key and what was changed to fit the 16th-note grid or the
    voices) or refused and why (not four voices, off the 16th grid, far outside SATB, outside
    the pitches the model reads, unreadable); then the totals, voice ranges, metres and keys.
    Nothing in SOURCE is written. `bachnet train --data SOURCE` trains on the kept files.
    """
    from bachnet.core.files import write_json
    from bachnet.data.check import check_files
    from bachnet.data.corpus import unpacked

    _, report = check_files(unpacked(source), progress=_Reading())
    report.source = str(source)
    if out is not None:
        write_json(out, report.to_dict())
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(report.summary() if summary else str(report))
    if out is not None:
        click.echo(f"report written to {out}", err=True)


@main.command()
@click.argument("model", required=False)
@_DATA_OPTION
@click.option("--split", default="test", show_default=True, help="Which split to score.")
@click.option(
    "--split-sizes",
    default="0.8,0.1,0.1",
    show_default=True,
    help="How a folder without split sub-folders is split (as `bachnet train` did), when "
    "the model has not recorded its split.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds that split.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate(
    model: str | None, data: str, split: str, split_sizes: str, seed: int, as_json: bool
) -> None:
    """Score MODEL (a folder, preset name or URL; default: the bundled model) on a split.

    Every token after the first of each chorale is scored once, given all of the chorale before it.
    A model trained on a musician's folder is scored on the split it recorded for that folder,
    and one trained with `--one-key` on the pieces moved into C major / A minor.
    """
    net = _load_model(model)
    corpus = net.metadata.get("corpus", {})
    recorded = corpus.get("splits") if corpus.get("source") == data else None
    one_key = bool(corpus.get("one_key", False))  # scored in the key it was trained in
    dataset = _load_data(
        data, sizes=_split_sizes(split_sizes), seed=seed, splits=recorded, one_key=one_key
    )
    chorales = dataset.split(split)
    metrics = net.evaluate(chorales)
    if as_json:
        click.echo(json.dumps(metrics))
    else:
        click.echo(f"{split}: {len(chorales)} chorales, {int(metrics['tokens'])} tokens")
        click.echo(_figures(metrics))


@main.command()
@click.argument("model", required=False)
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to save the calibrated model in.",
)
@_DATA_OPTION
@click.option(
    "--split",
    default="valid",
    show_default=True,
    type=click.Choice(["valid", "train"]),
    help="The split the temperature is fitted on (never the test split).",
)
@click.option(
    "--shifts",
    default=None,
    metavar="S,S,...",
    help="After calibrating, read every piece at these semitone shifts at once and average "
    "the copies' predictions (an ensemble with no new weights), e.g. -1,0,1; must include 0.",
)
def calibrate(model: str | None, out: Path, data: str, split: str, shifts: str | None) -> None:
    """Fit MODEL's temperature on a split, fold it into its weights, save it to OUT.

    Temperature scaling: the logits are divided by the one temperature that minimises the
    loss on the split. The test split, where the data has one, is scored after and its
    figures stored with the model. With --shifts, the saved model averages its predictions
    over those transpositions of every piece (figures printed for the split before and after).
    """
    values = None if shifts is None else _shifts(shifts)  # a bad value before any work
    net = _load_model(model)
    dataset = _load_data(data)
    result = net.calibrate(dataset.split(split))
    click.echo(
        f"{split}: temperature {result['temperature']:.4f}; loss {result['loss_before']:.4f} "
        f"-> {result['loss_after']:.4f} nats/token ({int(result['tokens'])} tokens)"
    )
    named = [model] if model else []
    command = ["bachnet", "calibrate", *named, "-o", str(out), "--data", data, "--split", split]
    if values is not None:
        try:
            net = net.with_shifts(values)
        except InputError as error:  # a step_lstm
            raise click.BadParameter(str(error), param_hint="'--shifts'") from None
        loss = net.evaluate(dataset.split(split))["loss"]
        click.echo(f"{split}: shifts {list(values)}; loss {loss:.4f} nats/token")
        command += ["--shifts", ",".join(str(value) for value in values)]
    net.metadata["calibration"]["command"] = shlex.join(command)
    _score_test(net, dataset)
    click.echo(f"model saved to {net.save_pretrained(out)}")


def _sampler_spec(
    name: str, temperature: float | None, top_k: int | None, top_p: float | None
) -> Any:
    _quiet_tensorflow()
    from bachnet.generation import samplers

    try:
        return samplers.from_options(name, temperature=temperature, top_k=top_k, top_p=top_p)
    except InputError as error:
        raise click.BadParameter(str(error), param_hint="'--sampler'") from None


def _prompt(spec: str, steps: int | None, seed: int | None) -> Any:
    if spec == "none":
        return None
    if spec == "random":
        return _load_data("jsb").split("test").draw(seed, steps=steps or 16)
    if _SPLIT_INDEX.fullmatch(spec) and not Path(spec).exists():
        piece = _jsb_piece(spec, "'--prompt'")
        return piece.replace(piece.chords[:steps] if steps else None)
    try:
        piece = Chorale.read(spec)
    except (InputError, OSError) as error:
        raise click.BadParameter(str(error), param_hint="'--prompt'") from None
    return piece.replace(piece.chords[:steps] if steps else None)


_SPLIT_INDEX = re.compile(r"[A-Za-z_]+:-?\d+")
"""``SPLIT:INDEX`` (``test:3``): a JSB chorale, where a prompt or melody may name one."""


def _jsb_piece(spec: str, hint: str) -> Chorale:
    """The JSB chorale that ``SPLIT:INDEX`` names (e.g. ``test:3``); ``hint`` names the option."""
    split, _, index = spec.partition(":")
    if not _SPLIT_INDEX.fullmatch(spec):
        raise click.BadParameter(f"{spec!r}: expected SPLIT:INDEX, e.g. test:3", param_hint=hint)
    dataset = _load_data("jsb")
    try:
        pieces = dataset.split(split)
    except NotFoundError as error:
        raise click.BadParameter(f"{spec!r}: {error}", param_hint=hint) from None
    number = int(index)
    if not 0 <= number < len(pieces):
        raise click.BadParameter(
            f"{spec!r}: the {split} split has {len(pieces)} chorales, "
            f"numbered 0..{len(pieces) - 1}",
            param_hint=hint,
        )
    return pieces[number]


def _numbered(path: Path, number: int, count: int) -> Path:
    if count == 1:
        return path
    if path.name.lower().endswith(ROLL_SUFFIX):  # x.roll.png -> x-2.roll.png
        return path.with_name(f"{path.name[: -len(ROLL_SUFFIX)]}-{number}{ROLL_SUFFIX}")
    return path.with_name(f"{path.stem}-{number}{path.suffix}")


def _check_outputs(outputs: tuple[Path, ...]) -> None:
    """Refuse, before any work, an unknown output suffix, an output that cannot be written
    (every such path named in one message), or one whose extra is missing."""
    problems = []
    for path in outputs:
        try:
            _check_writable(path)
        except click.BadParameter as error:
            problems.append(error.message)
            continue
        try:
            formats.lookup(path, "write")
        except InputError:
            known = ", ".join(formats.suffixes("write"))
            problems.append(f"{path}: unknown suffix; use one of {known}")
    if problems:
        raise click.BadParameter("; ".join(problems), param_hint="'-o'")
    for path in outputs:
        writer = formats.lookup(path, "write")
        try:
            if writer.require is not None:
                writer.require(path)
        except (AudioUnavailableError, ScoreUnavailableError) as error:
            raise click.ClickException(f"cannot write {path}: {error}") from None


def _check_writable(path: Path) -> None:
    """Refuse, before any work, an output that is a folder or lies where nothing can be written.

    Missing folders on the way are allowed (writing creates them): the first one is made and
    removed again to prove it can be; in an existing folder, the temporary file that
    `bachnet.core.files.atomic_path` writes first is made and removed.
    """
    try:
        if path.is_dir():
            raise click.BadParameter(f"{path}: is a folder, not a file", param_hint="'-o'")
        folder = path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            message = f"{path}: {folder} is a file, not a folder"
            raise click.BadParameter(message, param_hint="'-o'")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise click.BadParameter(f"{path}: cannot write in {folder}", param_hint="'-o'")
        _try_writing(path, folder)
    except OSError as error:
        message = f"{path}: cannot be written ({_reason(error, path)})"
        raise click.BadParameter(message, param_hint="'-o'") from None


def _try_writing(path: Path, folder: Path) -> None:
    """Make and remove what writing ``path`` makes first in ``folder``, its nearest existing
    folder: the first missing folder, or the temporary file beside ``path``."""
    missing = path.parent.relative_to(folder).parts
    if missing:
        first = folder / missing[0]
        with contextlib.suppress(FileExistsError):  # made meanwhile by someone else: fine
            first.mkdir()
            first.rmdir()
        return
    fd, name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
    os.close(fd)
    os.unlink(name)


def _write_all(result: Any, outputs: tuple[Path, ...], tempo: float, key: Any = "auto") -> None:
    """Write each piece (numbered when there are several) in every output format (a score
    in ``key``: by default the key analysis finds).

    A file that cannot be written does not stop the others: every one that can be is written,
    then one error names each that failed and those that were written.
    """
    pieces = result if isinstance(result, list) else [result]
    written: list[Path] = []
    failed: list[str] = []
    bug: Exception | None = None
    for number, piece in enumerate(pieces, start=1):
        for path in outputs:
            target = _numbered(path, number, len(pieces))
            try:
                done = piece.write(target, tempo=tempo, key=key)
            except (BachNetError, OSError) as error:
                failed.append(f"{target} ({_reason(error, target)})")
                continue
            except Exception as error:  # a bug: the other files are still written
                failed.append(f"{target} ({type(error).__name__})")
                bug = bug or error
                continue
            written.append(done)
            click.echo(f"wrote {done} ({len(piece)} steps, {piece.duration:g} quarter notes)")
    if not failed:
        return
    kept = f"wrote {', '.join(map(str, written))}" if written else "nothing was written"
    if bug is not None:
        click.echo(f"could not write {'; '.join(failed)}; {kept}", err=True)
        raise bug
    raise click.ClickException(f"could not write {'; '.join(failed)}; {kept}")


def _reason(error: Exception, target: Path) -> str:
    """Why writing ``target`` failed, in a few words (an `OSError`'s reason and its file)."""
    if not isinstance(error, OSError):
        return str(error)
    reason = error.strerror or str(error)
    if error.filename and str(error.filename) != str(target):
        return f"{error.filename}: {reason}"
    return reason


# Options that generate and harmonize share.

F = TypeVar("F", bound=Callable[..., Any])


def _out_option(default: str) -> Callable[[F], F]:
    """``-o/--out``, repeatable, writing ``default`` when not given."""
    return click.option(
        "-o",
        "--out",
        "outputs",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        default=[Path(default)],
        show_default=True,
        help=f"Output file(s): {_output_suffixes()}; a piano roll NAME.roll.png. "
        "Repeat for several formats. With -n > 1, files are numbered.",
    )


def _output_suffixes() -> str:
    """The suffixes ``-o`` takes, from the format table: ``.mid/.midi, ... (bachnet[audio])``."""
    return ", ".join(
        "/".join(fmt.suffixes) + (f" (bachnet[{fmt.extra}])" if fmt.extra else "")
        for fmt in formats.registered()
        if fmt.can("write")
    )


def _num_option(what: str) -> Callable[[F], F]:
    """``-n/--num``: how many pieces to write."""
    return click.option(
        "-n",
        "--num",
        "num_samples",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help=f"How many {what}.",
    )


_MODEL_OPTION = click.option(
    "-m",
    "--model",
    default=None,
    help="A model folder, preset name or URL (default: the bundled model).",
)
_SEED_OPTION = click.option("--seed", type=int, default=None, help="Repeatable output.")


def _rules_spec(no_rules: bool, strict: bool, text: str | None) -> Any:
    """The rules ``--rules``, ``--no-rules`` and ``--strict`` ask for, checked: ``"default"``,
    ``"strict"``, ``None`` or rule specs.

    ``--rules`` takes ``default``, ``strict``, ``none``, rule names joined by commas
    (``leap,spacing``), a JSON list of rule specs or one spec (``[{"name": "tie", "weight":
    1.0}]``), or the path of a ``.json`` file holding either; in a list, a set's name
    (``default``) stands for its rules.
    """
    given = [
        flag
        for flag, on in (
            ("--rules", text is not None),
            ("--no-rules", no_rules),
            ("--strict", strict),
        )
        if on
    ]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} exclude each other")
    if no_rules:
        return None
    if strict:
        return "strict"
    if text is None:
        return "default"
    spec: Any
    stripped = text.strip()
    if stripped.lower() == "none":
        return None
    if stripped.lower().endswith(".json"):
        path = Path(stripped)
        if not path.is_file():
            raise click.BadParameter(f"{stripped}: no such JSON file", param_hint="'--rules'")
        stripped = path.read_text(encoding="utf-8")
    if stripped.startswith(("[", "{")):
        try:
            spec = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise click.BadParameter(f"not valid JSON: {error}", param_hint="'--rules'") from None
        if not isinstance(spec, list | dict):
            raise click.BadParameter(
                "JSON rules must be a list of rule specs or one spec", param_hint="'--rules'"
            )
    elif stripped.lower() in ("default", "strict"):
        spec = stripped.lower()
    else:
        spec = [name.strip() for name in stripped.split(",") if name.strip()]
    from bachnet.generation.rules import get_rules  # loads Keras

    try:
        get_rules(spec)
    except (BachNetError, TypeError, ValueError) as error:
        raise click.BadParameter(str(error), param_hint="'--rules'") from None
    return spec


def _rules_options(function: F) -> F:
    """``--rules``, ``--no-rules`` and ``--strict``, handed to ``function`` as one ``rules``
    argument (`_rules_spec`)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["rules"] = _rules_spec(
            kwargs.pop("no_rules"), kwargs.pop("strict"), kwargs.pop("rules_text")
        )
        return function(*args, **kwargs)

    decorated: Any = wrapper
    for option in (
        click.option(
            "--strict",
            is_flag=True,
            help="Textbook voice leading: no parallels, crossings, wide spacing; steps preferred.",
        ),
        click.option(
            "--no-rules",
            is_flag=True,
            help="Sample the raw model: no voice-leading rules (default: parallel fifths and "
            "octaves at Bach's rate, no leap over an octave, a bass that prefers steps).",
        ),
        click.option(
            "--rules",
            "rules_text",
            metavar="SPEC",
            default=None,
            help="Voice-leading rules: default, strict, particles (with --particles), none, "
            "names joined by commas "
            "(leap,spacing; default,spacing adds one to the default set), a JSON list of specs "
            '(\'["default", {"name": "tie", "weight": 1.0}]\') or a .json file of one. Names: '
            "see the rules guide.",
        ),
    ):
        decorated = option(decorated)
    return cast(F, decorated)


_TEMPO_OPTION = click.option(
    "--tempo",
    type=click.FloatRange(min=MIN_TEMPO, max=MAX_TEMPO),
    callback=lambda ctx, param, value: _finite(value, "--tempo"),
    default=72.0,
    show_default=True,
    help="Quarter notes per minute.",
)


def _method_options(default: str) -> Callable[[F], F]:
    """``--method`` (default ``default``), ``--candidates``, ``--gibbs-steps``, ``--filler``:
    how a harmonisation or a fill is chosen."""

    def decorate(function: F) -> F:
        function = click.option(
            "--filler",
            default=None,
            help="The filler for --method gibbs: a preset name or a folder (default: the "
            "bundled jsb-coconet).",
        )(function)
        function = click.option(
            "--gibbs-steps",
            type=click.IntRange(1, 1000),
            default=None,
            help="Annealed Gibbs steps for --method gibbs (each one pass of the filler; "
            "default: 24 where a voice is written over more than 4 bars, else 8).",
        )(function)
        function = click.option(
            "--candidates",
            type=click.IntRange(min=1),
            default=8,
            show_default=True,
            help="Draws per piece (rerank), the beam width (beam) or the particles (smc).",
        )(function)
        return click.option(
            "--method",
            type=click.Choice(["auto", "rerank", "sample", "beam", "smc", "gibbs"]),
            default=default,
            show_default=True,
            help="rerank: keep the best-scored of --candidates draws; sample: one draw; beam: a "
            "beam search of width --candidates (deterministic); smc: --candidates drafts drawn "
            "together, those that make the kept notes likely carried on (sequential Monte "
            "Carlo); gibbs: a filler that sees the "
            "whole piece (the notes after a gap too), annealed Gibbs sampling; auto: gibbs when "
            "notes are kept after or below the written ones, else rerank.",
        )(function)

    return decorate


def _choice_config(
    sampler: Any,
    rules: Any,
    method: str,
    candidates: int,
    gibbs_steps: int | None,
    filler: str | None,
) -> Any:
    """The `GenerationConfig` of ``harmonize`` and ``fill`` from their shared options."""
    from bachnet.generation.config import GenerationConfig  # loads Keras

    return GenerationConfig(
        sampler=sampler,
        rules=rules,
        candidates=candidates,
        method=method,  # type: ignore[arg-type]
        gibbs_steps=gibbs_steps,
        filler=filler,
    )


def _sampler_options(function: F) -> F:
    """``--sampler`` and the filter settings `bachnet.generation.samplers.from_options` takes."""
    for option in reversed(
        (
            click.option(
                "--sampler",
                default="top_p",
                show_default=True,
                help="greedy, temperature, top_k, top_p (nucleus), typical, sampling, or a "
                "plugin's name.",
            ),
            click.option(
                "--temperature",
                type=click.FloatRange(min=0, min_open=True),
                default=None,
                help="Soften (>1) or sharpen (<1) the distribution.",
            ),
            click.option(
                "--top-k",
                type=click.IntRange(min=1),
                default=None,
                help="Keep the K most likely notes.",
            ),
            click.option(
                "--top-p",
                type=click.FloatRange(0, 1, min_open=True),
                default=None,
                help="Keep the smallest set of notes reaching probability P.",
            ),
        )
    ):
        function = option(function)
    return function


@main.command()
@_out_option("chorale.mid")
@_MODEL_OPTION
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=128,
    show_default=True,
    help="New 16th-note steps (16 = one 4/4 bar).",
)
@_sampler_options
@_num_option("chorales")
@_SEED_OPTION
@click.option(
    "--prompt",
    default="none",
    show_default=True,
    help="'none', 'random' (a JSB test piece), SPLIT:INDEX (e.g. test:3) "
    "or a .csv/.mid/.musicxml file.",
)
@click.option(
    "--prompt-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Use only the prompt's first steps (default: all; 16 for 'random').",
)
@click.option("--no-prompt-in-output", is_flag=True, help="Write only the new music.")
@click.option(
    "--free-voices",
    is_flag=True,
    help="Let voices leave the ranges they have in the training data (kept by default).",
)
@click.option(
    "--key",
    default=None,
    help="Compose in this key, e.g. 'D minor', 'Bb', 'g', and write scores with its key "
    "signature (default: one of at most 4 sharps or flats, or the prompt's; the signature "
    "then from key analysis).",
)
@click.option(
    "--no-cadence",
    is_flag=True,
    help="Stop after exactly --steps steps instead of ending with a cadence.",
)
@click.option(
    "--phrases",
    default=None,
    metavar="8,8,12,8|auto",
    help="Plan phrases ending on fermatas over cadences: lengths in quarters (the piece is as "
    "long as they make it), or 'auto' for lengths drawn from Bach's until they cover --steps.",
)
@click.option(
    "--fermatas",
    default=None,
    metavar="2.3,4.3,7.1",
    help="Plan phrases by where their fermatas fall: bar.beat in 4/4, bar 1 the first full bar "
    "(a prompt's bars included); the piece ends at the last one. Not with --phrases.",
)
@click.option(
    "--meter",
    type=click.Choice(["4/4", "3/4"]),
    default="4/4",
    show_default=True,
    help="Time signature; a 3/4 piece is written in phrases (--phrases auto unless given), "
    "its fermatas on downbeats.",
)
@click.option(
    "--form",
    type=click.Choice(["AAB"]),
    default=None,
    help="Bar form: the first two phrases written out twice, then the rest (--phrases auto "
    "unless given; at least three phrases).",
)
@click.option(
    "--particles",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Draw each piece as this many drafts at once and carry on those that make its "
    "cadences likely (sequential Monte Carlo); 1: one draft.",
)
@_rules_options
@_TEMPO_OPTION
def generate(
    outputs: tuple[Path, ...],
    model: str | None,
    steps: int,
    sampler: str,
    temperature: float | None,
    top_k: int | None,
    top_p: float | None,
    num_samples: int,
    seed: int | None,
    prompt: str,
    prompt_steps: int | None,
    no_prompt_in_output: bool,
    free_voices: bool,
    key: str | None,
    no_cadence: bool,
    phrases: str | None,
    fermatas: str | None,
    meter: str,
    form: str | None,
    particles: int,
    rules: Any,
    tempo: float,
) -> None:
    """Compose chorales; write MIDI, MusicXML, CSV, audio (WAV) or an engraved score (SVG, PNG).

    By default a chorale follows voice-leading rules, opens on its key's tonic chord and ends
    with a cadence on beat 1 or 3 of a complete last bar (so it can be up to 35 steps longer
    than --steps). With --phrases it is a chain of phrases, each ending on a fermata over a
    cadence in Bach's mix of kinds and keys, composed in one pass; --fermatas places the same
    fermatas by bar and beat.

    Example: bachnet generate -o chorale.mid -o chorale.musicxml --steps 128 --seed 1;
    bachnet generate --phrases 8,8,12,8 -o phrased.musicxml;
    bachnet generate --fermatas 2.3,4.3,7.1,9.3 -o placed.musicxml;
    bachnet generate --meter 3/4 -o waltz.musicxml; bachnet generate --form AAB -o bar.musicxml
    """
    _check_outputs(outputs)
    plan = _phrases(phrases)
    placed = _fermatas(fermatas)
    if plan is not None and placed is not None:
        raise click.UsageError("give --phrases or --fermatas, not both")
    spec = _sampler_spec(sampler, temperature, top_k, top_p)
    start = _prompt(prompt, prompt_steps, seed)
    net = _load_model(model)
    from bachnet.generation.config import GenerationConfig  # loads Keras

    config = GenerationConfig(
        steps=steps,
        sampler=spec,
        include_prompt=not no_prompt_in_output,
        voice_ranges=not free_voices,
        rules=rules,
        key=key,
        cadence=not no_cadence,
        phrases=plan,
        fermatas=placed,
        meter=meter,
        form=form,
        particles=particles,
    )
    result = net.generate(start, config=config, num_samples=num_samples, seed=seed)
    _write_all(result, outputs, tempo, key=config.key or "auto")  # scores in the key asked for


def _fermatas(spec: str | None) -> tuple[tuple[int, int], ...] | None:
    """``--fermatas``: None or comma-separated bar.beat positions, in order."""
    if spec is None:
        return None
    try:
        positions = parse_fermatas(spec)
    except InputError as error:
        raise click.BadParameter(str(error), param_hint="'--fermatas'") from None
    if list(positions) != sorted(set(positions)):
        raise click.BadParameter(f"{spec!r}: give them in order", param_hint="'--fermatas'")
    return positions


def _phrases(spec: str | None) -> tuple[float, ...] | str | None:
    """``--phrases``: None, "auto" or comma-separated lengths in quarters."""
    try:
        return parse_phrases(spec)
    except InputError as error:
        raise click.BadParameter(str(error), param_hint="'--phrases'") from None


@main.command()
def models() -> None:
    """List the pretrained models and their test-split figures."""
    from bachnet.model.pretrained import presets

    for preset in presets():
        where = "bundled" if preset.bundled else "download"
        split = "test" if "test" in preset.metrics else "valid"
        metrics = preset.metrics.get(split, {})
        figures = ", ".join(f"{k} {v}" for k, v in metrics.items() if k != "tokens") or "no figures"
        mark = " (default)" if preset.default else ""
        kind = "" if preset.kind == "model" else f", {preset.kind}"
        click.echo(
            f"{preset.name}{mark} [{where}, {preset.size / 1e6:.1f} MB{kind}]: {preset.description}"
        )
        click.echo(f"    {split}: {figures}")


@main.command()
@click.argument(
    "melody", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--soprano-of",
    default=None,
    help="Harmonise a line of a JSB chorale, SPLIT:INDEX (e.g. test:3), instead of MELODY: its "
    "soprano (its bass with --voice bass).",
)
@click.option(
    "--voice",
    type=click.Choice(["soprano", "bass"]),
    default="soprano",
    show_default=True,
    help="Which voice MELODY (or the --soprano-of chorale's line) is: the other voices are "
    "written around it.",
)
@click.option(
    "--fermatas",
    default=None,
    metavar="2.3,4.3,7.1",
    help="Where the melody's phrases end, bar.beat (bar 1 the first full bar): a cadence under "
    "each and a fermata in every voice. Default: the melody's own (a MusicXML file's; a MIDI "
    "file has none).",
)
@_out_option("harmonized.mid")
@_MODEL_OPTION
@_method_options("rerank")
@_sampler_options
@_num_option("harmonisations")
@_SEED_OPTION
@_rules_options
@_TEMPO_OPTION
def harmonize(
    melody: Path | None,
    soprano_of: str | None,
    voice: str,
    fermatas: str | None,
    outputs: tuple[Path, ...],
    model: str | None,
    method: str,
    candidates: int,
    gibbs_steps: int | None,
    filler: str | None,
    sampler: str,
    temperature: float | None,
    top_k: int | None,
    top_p: float | None,
    num_samples: int,
    seed: int | None,
    rules: Any,
    tempo: float,
) -> None:
    """Write alto, tenor and bass under MELODY (a one-part .mid, .musicxml or .csv file), or
    soprano, alto and tenor over it with --voice bass.

    The given voice of the result is the melody, note for note (moved by octaves into its
    range if it lies outside). The rhythm must be on the 16th-note grid. Each fermata of the
    melody (a MusicXML file's, or --fermatas) ends a phrase on a cadence, as Bach's do, and
    is kept in the result.

    Examples: bachnet harmonize tune.musicxml -o tune-satb.musicxml -o tune-satb.mid --seed 1;
    bachnet harmonize tune.mid --fermatas 2.3,4.3 -o tune-satb.musicxml;
    bachnet harmonize bassline.mid --voice bass -o satb.musicxml
    """
    import warnings

    _check_outputs(outputs)
    if (melody is None) == (soprano_of is None):
        raise click.UsageError("give either MELODY or --soprano-of, not both or neither")
    spec = _sampler_spec(sampler, temperature, top_k, top_p)
    source: Any = melody if soprano_of is None else _jsb_piece(soprano_of, "'--soprano-of'")
    net = _load_model(model)
    config = _choice_config(spec, rules, method, candidates, gibbs_steps, filler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if voice == "bass":  # of a JSB chorale (--soprano-of), its bass
            result = net.harmonize(
                bass=source, fermatas=fermatas, config=config, num_samples=num_samples, seed=seed
            )
        else:
            result = net.harmonize(
                source, fermatas=fermatas, config=config, num_samples=num_samples, seed=seed
            )
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            click.echo(f"note: {warning.message}", err=True)
    _write_all(result, outputs, tempo)


@main.command(name="fill")
@click.argument("piece")
@click.option(
    "--bars",
    default=None,
    help="Bars to rewrite, as in the score: 5, 5-6 or 2-3,7 (bar 1 = the first full bar; "
    "default: all).",
)
@click.option(
    "--voices",
    default="SATB",
    show_default=True,
    help="Voices to rewrite in those bars: letters of SATB, e.g. AT.",
)
@click.option(
    "--pickup",
    type=click.IntRange(0, 23),
    default=None,
    help="Sixteenths before bar 1 (a pickup is bar 0). Default: the piece's own (a MusicXML "
    "pickup measure, a MIDI file's rests before it, music21's edition of a JSB piece, or "
    "what a CSV's length leaves over whole bars).",
)
@_out_option("filled.mid")
@_MODEL_OPTION
@_method_options("auto")
@_sampler_options
@_num_option("versions")
@_SEED_OPTION
@_rules_options
@_TEMPO_OPTION
def fill_command(
    piece: str,
    bars: str | None,
    voices: str,
    pickup: int | None,
    outputs: tuple[Path, ...],
    model: str | None,
    method: str,
    candidates: int,
    gibbs_steps: int | None,
    filler: str | None,
    sampler: str,
    temperature: float | None,
    top_k: int | None,
    top_p: float | None,
    num_samples: int,
    seed: int | None,
    rules: Any,
    tempo: float,
) -> None:
    """Rewrite some bars and voices of PIECE, keeping every other note exactly.

    PIECE is a .mid, .musicxml or .csv chorale, or a JSB chorale as SPLIT:INDEX (e.g. test:3).
    Bars are numbered as in the score: bar 1 is the first full bar, a pickup is bar 0.

    Examples: bachnet fill chorale.musicxml --bars 5-6 -o new.musicxml;
    bachnet fill test:3 --bars 3-4 --voices AT -n 3 -o versions.mid
    """
    _check_outputs(outputs)
    path = Path(piece)
    if path.exists():
        source = Chorale.read(path)
    elif _SPLIT_INDEX.fullmatch(piece):
        source = _jsb_piece(piece, "'PIECE'")
    else:
        raise click.BadParameter(
            f"{piece!r}: no such file, and not SPLIT:INDEX (e.g. test:3)", param_hint="'PIECE'"
        )
    mask = source.mask(bars=bars, voices=voices, pickup=pickup)
    spec = _sampler_spec(sampler, temperature, top_k, top_p)
    net = _load_model(model)
    config = _choice_config(spec, rules, method, candidates, gibbs_steps, filler)
    click.echo(f"rewriting {int(mask.sum())} of {mask.size} notes ({len(source)} sixteenths)")
    result = net.fill(source, mask, config=config, num_samples=num_samples, seed=seed)
    _write_all(result, outputs, tempo)


@main.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--split",
    "splits",
    multiple=True,
    help="A JSB split to show beside the files: test, valid, train or all; repeat for "
    "several (default: test). The first one is the reference of the interval distance.",
)
@click.option("--no-keys", is_flag=True, help="Skip music21's key analysis (the slow part).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(files: tuple[Path, ...], splits: tuple[str, ...], no_keys: bool, as_json: bool) -> None:
    """Style figures of FILES (.mid, .musicxml or .csv chorales) beside Bach's own chorales.

    Parallel fifths and octaves, voice crossing, spacing, held notes, rhythm, melodic
    intervals, keys and endings, where long notes and chord changes fall in the bar
    (bachnet.music.metrics); then phrases read from the fermatas: lengths, cadence kinds and
    keys, bar form, metres (bachnet.music.phrases). Without FILES, the JSB split(s) alone.

    Example: bachnet stats chorale-*.mid --split test --split valid
    """
    pieces = []
    for path in files:
        try:
            pieces.append(Chorale.read(path))
        except Exception as error:  # music21 raises many kinds of error on a damaged file
            message = str(error) if str(path) in str(error) else f"{path}: {error}"
            raise click.ClickException(message) from None
    keys = not no_keys
    columns = {}
    phrased = {}
    if pieces:
        name = files[0].name if len(files) == 1 else f"{len(files)} files"
        columns[name] = metrics.measure(pieces, keys=keys)
        phrased[name] = phrase_figures(pieces)
    splits = tuple(dict.fromkeys(splits or ("test",)))
    for split in splits:
        try:
            columns[f"Bach, JSB {split}"] = reference_figures(split, keys=keys)
            phrased[f"Bach, JSB {split}"] = reference_phrases(split)
        except NotFoundError as error:
            raise click.BadParameter(str(error), param_hint="'--split'") from None
        except DownloadError as error:
            raise click.ClickException(str(error)) from None
    style = metrics.table(columns, reference=f"Bach, JSB {splits[0]}", as_json=as_json)
    if as_json:
        both = json.loads(style)
        both["phrases"] = {name: phrase_dict(f) for name, f in phrased.items()}
        click.echo(json.dumps(both, indent=2))
    else:
        click.echo(style)
        click.echo()
        click.echo(phrase_table(phrased))


@main.command(name="judge")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@_MODEL_OPTION
@click.option(
    "--against",
    type=click.Choice(["test", "valid", "train", "valid+test", "all"]),
    default="test",
    show_default=True,
    help="Which of Bach's chorales (a JSB split) to judge against.",
)
@click.option(
    "--bars", type=click.IntRange(min=1), default=4, show_default=True, help="Bars per excerpt."
)
@click.option(
    "-n",
    "--num",
    "num_samples",
    type=click.IntRange(min=2),
    default=256,
    show_default=True,
    help="With --model: how many pieces to generate.",
)
@click.option(
    "--steps",
    type=click.IntRange(min=16),
    default=192,
    show_default=True,
    help="With --model: 16th-note steps per piece (192 = 12 bars, Bach's median length).",
)
@click.option(
    "--phrases",
    default=None,
    metavar="8,8,12,8|auto",
    help="With --model: compose in phrases ending on fermatas over cadences, as generate "
    "--phrases does ('auto': Bach's phrase lengths until they cover --steps).",
)
@_sampler_options
@_rules_options
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds generation and judge.")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --model: also write the generated pieces as CSV files into this new folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.option(
    "-o",
    "--out",
    "outputs",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the verdict: .png/.svg/.pdf (ROC curve and giveaways) or .json; repeatable.",
)
def judge_command(
    paths: tuple[Path, ...],
    model: str | None,
    against: str,
    bars: int,
    num_samples: int,
    steps: int,
    phrases: str | None,
    sampler: str,
    temperature: float | None,
    top_k: int | None,
    top_p: float | None,
    rules: Any,
    seed: int,
    keep: Path | None,
    as_json: bool,
    outputs: tuple[Path, ...],
) -> None:
    """Can these chorales be told from Bach's? Judge PATHS (files or folders), or --model.

    A classifier learns to tell N-bar excerpts of the pieces from Bach's (the JSB split named
    by --against) and is scored on pieces it never saw: its ROC AUC is the verdict (0.5 = it
    cannot tell them apart, 1.0 = it always can), with a 95 % interval and the features that
    give the pieces away. The "Bach or Mock?" grade (Fang et al. 2020) is a second opinion.
    Needs scikit-learn: pip install "bachnet[judge]".

    Examples: bachnet judge my_chorales/ --bars 4 -o verdict.png;
    bachnet judge --model jsb-beat -n 256 --json; bachnet judge --model jsb-keys --phrases auto
    --bars 8
    """
    from bachnet.judge import judge as run_judge

    for output in outputs:
        if output.suffix.lower() not in (".png", ".svg", ".pdf", ".json"):
            raise click.BadParameter(
                f"{output}: write .png, .svg, .pdf or .json", param_hint="'-o'"
            )
    if bool(paths) == (model is not None):
        raise click.UsageError("give either PATHS to judge or --model to generate and judge")
    composing = {
        "--phrases": phrases is not None,
        "--keep": keep is not None,
        "--rules/--no-rules/--strict": rules != "default",
        "the sampler options": (sampler, temperature, top_k, top_p) != ("top_p", None, None, None),
    }
    if model is None and any(composing.values()):
        given = ", ".join(name for name, on in composing.items() if on)
        raise click.UsageError(f"{given}: only with --model (they shape the pieces it composes)")
    if model is None:
        pieces: list[Chorale] = []
        for path in paths:
            pieces += list(Dataset.from_paths(path))
        name = paths[0].name if len(paths) == 1 else f"{len(paths)} paths"
    else:
        if keep is not None and keep.exists():
            raise click.BadParameter(f"{keep} exists; name a new folder", param_hint="'--keep'")
        net = _load_model(model)
        spec = _sampler_spec(sampler, temperature, top_k, top_p)
        from bachnet.generation.config import GenerationConfig  # loads Keras

        config = GenerationConfig(steps=steps, sampler=spec, rules=rules, phrases=_phrases(phrases))
        pieces = []
        with click.progressbar(
            length=num_samples, label=f"generating {num_samples} pieces", file=sys.stderr
        ) as bar:
            for start in range(0, num_samples, 64):
                count = min(64, num_samples - start)
                got = net.generate(config=config, num_samples=count, seed=seed + start)
                pieces += got if isinstance(got, list) else [got]
                bar.update(count)
        if keep is not None:
            keep.mkdir(parents=True)
            for index, piece in enumerate(pieces):
                piece.write(keep / f"{index}.csv")
        name = model
    verdict = run_judge(pieces, against=against, bars=bars, seed=seed, name=name)
    click.echo(json.dumps(verdict.to_dict(), indent=2) if as_json else verdict.report())
    for output in outputs:
        if output.suffix.lower() == ".json":
            verdict.write_json(output)
        else:
            verdict.plot(output)
        if not as_json:
            click.echo(f"wrote {output}")


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 lets other machines connect.",
)
@click.option(
    "-m", "--model", default=None, help="The model shown first (default: the bundled model)."
)
@click.option(
    "--no-warm-up",
    is_flag=True,
    help="Serve at once; the first click of each length then compiles.",
)
def app(port: int, host: str, model: str | None, no_warm_up: bool) -> None:
    """Start the web app: compose, listen, read the score, download (needs bachnet[app]).

    Open the printed address in a browser. The compose button is also the API endpoint
    ``generate`` (see ``gradio_client``). Stop with Ctrl-C.
    """
    _quiet_tensorflow()
    try:
        from bachnet.apps.web import serve
    except ImportError as error:
        raise click.ClickException(
            f"the web app needs Gradio: pip install 'bachnet[app]' ({error})"
        ) from None
    try:
        serve(host=host, port=port, model=model, warm_up=not no_warm_up, log=click.echo)
    except ImportError as error:
        raise click.ClickException(
            f"the web app needs Gradio: pip install 'bachnet[app]' ({error})"
        ) from None


if __name__ == "__main__":
    main()
