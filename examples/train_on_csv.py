"""Train a model on a folder of JSB-format CSV chorales, save it, and compose with it.

The JSB format is one CSV file per chorale with the header ``note0,note1,note2,note3``
(soprano, alto, tenor, bass) and one row of MIDI pitches per 16th note, ``0`` for silence.
Sub-folders ``train/``, ``valid/`` and ``test/`` become the dataset's splits; a flat folder
is all training data.

Without ``--data`` the script first writes such a folder itself, from a few pieces of the JSB
Chorales (downloaded once, sha256-checked, cached), to show the format. Then it:

1. loads the folder with `bachnet.Dataset.from_folder`;
2. trains a `bachnet.BachNet` with `BachNet.fit` into a run folder (``OUT/run``): run the
   same command again with a larger ``--epochs`` and it resumes from the last finished epoch;
3. evaluates it on the test split (or valid, or train) and saves it with ``save_pretrained``
   to ``OUT/model`` (``config.json`` + ``model.weights.h5``);
4. loads the saved folder back and writes a new chorale to ``OUT/sample.mid`` and ``.csv``.

Run::

    python examples/train_on_csv.py --out tiny --tiny --epochs 5          # about a minute
    python examples/train_on_csv.py --data my_chorales/ --out runs/mine --epochs 100

``--tiny`` trains a 1 x 32 LSTM that learns little but runs in seconds; without it the model is
2 x 256 LSTMs (1.5 M parameters), a size a laptop CPU trains in hours on the whole corpus.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def write_csv_folder(folder: Path, chorales: int) -> Path:
    """Write ``chorales`` JSB training pieces (and a quarter as many valid/test) as CSV."""
    from bachnet import Dataset

    jsb = Dataset.jsb()
    counts = {"train": chorales, "valid": max(1, chorales // 4), "test": max(1, chorales // 4)}
    for split, count in counts.items():
        target = folder / split
        target.mkdir(parents=True, exist_ok=True)
        for chorale in jsb.split(split)[:count]:
            (target / f"{chorale.name}.csv").write_text(chorale.to_csv(), encoding="utf-8")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        help="folder (or .tgz/.zip) of CSV chorales; default: write a few JSB pieces to OUT/csv",
    )
    parser.add_argument("--out", type=Path, default=Path("bachnet-example"), help="output folder")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=None, help="default: 16 tiny, 64")
    parser.add_argument("--tiny", action="store_true", help="a seconds-to-train toy model")
    parser.add_argument(
        "--chorales", type=int, default=24, help="JSB pieces to write without --data"
    )
    parser.add_argument("--steps", type=int, default=64, help="16th notes to compose at the end")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras

    from bachnet import BachNet, Dataset, ModelConfig, TrainConfig

    data = args.data or write_csv_folder(args.out / "csv", args.chorales)
    dataset = Dataset.from_folder(data)
    print(f"data: {dataset!r}")
    splits = dataset.splits
    train = dataset.split("train" if "train" in splits else "all")
    valid = dataset.split("valid") if "valid" in splits else None

    if args.tiny:
        model_config = ModelConfig(
            embedding_dim=16, lstm_units=(32,), dense_units=32, dropout=0.1, window=64
        )
    else:
        model_config = ModelConfig(lstm_units=(256, 256), dropout=0.3)
    train_config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size or (16 if args.tiny else 64),
        seed=args.seed,
        patience=max(10, args.epochs // 5),
    )
    keras.utils.set_random_seed(args.seed)  # the same initial weights on every run
    net = BachNet(model_config)
    print(f"model: {net!r}; training on {len(train)} chorales")
    history = net.fit(train, valid, config=train_config, run_dir=args.out / "run", verbose=2)
    print(f"trained {len(history['loss'])} epochs; last loss {history['loss'][-1]:.4f}")

    scored = next((s for s in ("test", "valid") if s in splits), "all")
    metrics = net.evaluate(dataset.split(scored))
    print(
        f"{scored}: loss {metrics['loss']:.4f} nats/token, accuracy {metrics['accuracy']:.4f}, "
        f"perplexity {metrics['perplexity']:.2f}"
    )
    # fit() recorded the voice ranges, the training configuration and the epochs run
    net.metadata["corpus"] = {"source": str(data)}
    net.metadata["metrics"] = {scored: {k: round(v, 4) for k, v in metrics.items()}}
    folder = net.save_pretrained(args.out / "model")
    print(f"saved model to {folder}")

    reloaded = BachNet.from_pretrained(folder)  # a folder, a preset name or a URL
    chorale = reloaded.generate(steps=args.steps, seed=args.seed)
    for suffix in (".mid", ".csv"):
        print(f"wrote {chorale.write(args.out / f'sample{suffix}')}")


if __name__ == "__main__":
    main()
