"""Model ablation at equal CPU time: which variant learns most per CPU-second?

Each variant trains in its own process, from the same seed, on random transposed windows of
the JSB train split, until it has used ``--minutes`` of *CPU time* (the process's
``time.process_time``, all threads): budgets stay equal even when the machine is busy with
other work. Then it is scored on the whole chorales of the *validation* split (nats per token
of the 47-token stream, `BachNet.evaluate`), the split the choice is made on.

Variants:

* ``lstm-384``: today's token LSTM (2 x 384), constant learning rate;
* ``beat-384``: the same plus the position input (`bachnet.model.networks.BeatLSTMNetwork`);
* ``voice-384``: ``beat-384`` plus what the voice to write holds and for how long
  (`bachnet.model.networks.VoiceLSTMNetwork`, TonicNet's repetition counter);
* ``beat-256``: the position model, smaller (2 x 256);
* ``beat-384-decay``: ``beat-384`` with the learning rate decayed tenfold over the epochs
  that ``beat-384`` reached in the budget;
* ``step-384`` / ``step-512`` / ``step-768``: the step-level model
  (`bachnet.model.networks.StepLSTMNetwork`, one LSTM step per 16th step, voice embeddings of 64),
  2 x 384 (less work per token than ``beat-256``), 2 x 512 (about half ``beat-384``'s work
  per token) and 2 x 768 (about the same work per token as ``beat-384``).

Run:
    python benchmarks/ablation.py --minutes 10
    python benchmarks/ablation.py --minutes 2 --only beat-256   # one variant
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

VARIANTS: dict[str, dict[str, object]] = {
    "lstm-384": {"architecture": "lstm", "lstm_units": [384, 384]},
    "beat-384": {"architecture": "beat_lstm", "lstm_units": [384, 384]},
    "voice-384": {"architecture": "voice_lstm", "lstm_units": [384, 384]},
    "beat-256": {"architecture": "beat_lstm", "lstm_units": [256, 256]},
    "beat-384-decay": {"architecture": "beat_lstm", "lstm_units": [384, 384], "decay": True},
    "step-384": {"architecture": "step_lstm", "lstm_units": [384, 384], "embedding_dim": 64},
    "step-512": {"architecture": "step_lstm", "lstm_units": [512, 512], "embedding_dim": 64},
    "step-768": {"architecture": "step_lstm", "lstm_units": [768, 768], "embedding_dim": 64},
}


def run_variant(name: str, minutes: float, decay_epochs: float | None) -> dict[str, object]:
    """Train one variant in this process and score it on the validation split."""
    import keras

    from bachnet import BachNet, Dataset, ModelConfig, TrainConfig, Windows
    from bachnet.training.fit import train

    spec = dict(VARIANTS[name])
    spec.pop("decay", None)
    data = Dataset.jsb(progress=False)
    keras.utils.set_random_seed(0)
    config = ModelConfig.from_dict({"dropout": 0.3, **spec})
    net = BachNet(config)
    settings = TrainConfig(epochs=10_000, patience=10_000, decay_epochs=decay_epochs or 1e9)
    wall, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as folder:
        history = train(
            net,
            data.split("train"),
            data.split("valid"),
            config=settings,
            run_dir=folder,
            verbose=0,
            time_limit=minutes * 60,
            clock=time.process_time,
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    epochs = len(history["loss"])
    windows = Windows(
        data.split("train"),
        net.vocab,
        length=config.window,
        align=net.network.align,
        lead=net.network.lead if net.network.pad_lead else 0,
    )
    tokens = epochs * windows.batches_per_epoch(settings.batch_size, drop_remainder=True)
    tokens *= settings.batch_size * config.window
    valid = net.evaluate(data.split("valid"))
    return {
        "variant": name,
        "parameters": net.count_params(),
        "epochs": epochs,
        "tokens_per_cpu_s": tokens / cpu,
        "tokens_per_wall_s": tokens / wall,
        "cpu_minutes": cpu / 60,
        "wall_minutes": wall / 60,
        "valid_nll": valid["loss"],
        "valid_accuracy": valid["accuracy"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="CPU minutes per variant")
    parser.add_argument("--only", nargs="*", choices=sorted(VARIANTS), help="some variants")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--decay-epochs", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_variant(args.child, args.minutes, args.decay_epochs)))
        return
    rows = []
    reached: int | None = None
    for name in args.only or list(VARIANTS):
        command = [sys.executable, __file__, "--child", name, "--minutes", str(args.minutes)]
        if VARIANTS[name].get("decay"):
            command += ["--decay-epochs", str(reached or 100)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        if name == "beat-384":
            reached = int(row["epochs"])
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(f"\nCPU budget {args.minutes:g} min per variant; {os.cpu_count()} CPUs; validation split")
    print("| variant | parameters | tokens/s (CPU; wall) | epochs | valid NLL | valid accuracy |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['variant']} | {row['parameters']:,} | "
            f"{row['tokens_per_cpu_s']:,.0f}; {row['tokens_per_wall_s']:,.0f} | {row['epochs']} | "
            f"{row['valid_nll']:.4f} | {row['valid_accuracy']:.4f} |"
        )


if __name__ == "__main__":
    main()
