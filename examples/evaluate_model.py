"""Score a model on one split of a dataset: loss (nats/token), accuracy and perplexity.

`BachNet.evaluate` reads each chorale from its first token to its last in one pass: every
token after the first is scored once, given all the tokens of its chorale before it. These are
the figures of the model card and of ``bachnet evaluate``.

Run::

    python examples/evaluate_model.py                                  # bundled model, JSB test
    python examples/evaluate_model.py --model tiny/model --data tiny/csv --split valid
    python examples/evaluate_model.py --model runs/small/model --split test --json

``--data`` is ``jsb`` (the JSB Chorales, downloaded once and cached) or a folder / ``.tgz`` /
``.zip`` of JSB-format CSV chorales whose sub-folders are the splits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="model folder, preset name or URL (default: bundled)"
    )
    parser.add_argument("--data", default="jsb", help="'jsb' or a folder/archive of CSV files")
    parser.add_argument("--split", default="test", help="split to score (e.g. train/valid/test)")
    parser.add_argument("--batch-size", type=int, default=16, help="chorales per forward pass")
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON line")
    args = parser.parse_args()

    from bachnet import BachNet, Dataset, ModelFileError

    try:
        net = BachNet.from_pretrained(args.model)
    except (ModelFileError, ValueError, OSError) as error:
        sys.exit(f"cannot load model {args.model or '(bundled default)'}: {error}")
    dataset = Dataset.jsb() if args.data == "jsb" else Dataset.from_folder(args.data)
    try:
        chorales = dataset.split(args.split)
    except KeyError as error:
        sys.exit(str(error.args[0]))  # names the splits the dataset has

    start = time.perf_counter()
    metrics = net.evaluate(chorales, batch_size=args.batch_size)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({"split": args.split, "chorales": len(chorales), **metrics}))
        return
    rows = {
        "model": repr(net),
        "data": f"{dataset.source} [{args.split}]: {len(chorales)} chorales",
        "tokens": f"{int(metrics['tokens']):,} scored in {seconds:.1f} s",
        "loss": f"{metrics['loss']:.4f} nats/token",
        "accuracy": f"{metrics['accuracy']:.4f}",
        "perplexity": f"{metrics['perplexity']:.4f}",
    }
    for label, value in rows.items():
        print(f"{label + ':':<12}{value}")
    recorded = net.metadata.get("metrics", {}).get(args.split)
    if recorded:
        print(f"recorded in the model's config.json for {args.split!r}: {recorded}")


if __name__ == "__main__":
    main()
