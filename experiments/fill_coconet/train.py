"""Train the Coconet infilling model on JSB train + JS Fakes; validate on JSB valid.

Resumable: every epoch the weights, the optimizer state, the epoch, the plateau bookkeeping and the
data RNG state are written to ``RUN/ckpt`` (a fresh directory swapped in by renames), the best
weights (by valid loss) to ``RUN/best.weights.h5``; ``--resume`` continues from ``RUN/ckpt``.

Example::

    TF_CPP_MIN_LOG_LEVEL=3 taskset -c 1 python train.py --time-limit 120
    TF_CPP_MIN_LOG_LEVEL=3 taskset -c 1 python train.py --resume --time-limit 60

On an accelerator (JAX backend; see ``train_gpu.sh``) a time-boxed run wants longer epochs
(``--epoch-mult``: each epoch draws that many random crops per 64-step stretch of each piece),
batches made ahead by worker threads (``--workers``) and a learning-rate decay per minute of
training rather than per epoch (``--decay-per-minute``), so that the schedule does not depend on
how fast the machine turns out to be.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import math
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import warnings  # noqa: E402

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("BACHNET_SHARED_DATA", HERE.parents[2] / "shared" / "data"))
DATA = HERE / "data"


def set_threads(n: int) -> None:
    """Pin TensorFlow's thread pools (no-op on other backends)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)


def ensure_data() -> None:
    """Unpack the two archives from ``$BACHNET_SHARED_DATA`` (default: ``../shared/data`` beside
    the checkout) into ./data if needed."""
    import tarfile

    for name, probe in (("jsb_chorales", "jsb_chorales/train"), ("js_fakes", "js_fakes/pieces")):
        if not (DATA / probe).is_dir():
            DATA.mkdir(parents=True, exist_ok=True)
            with tarfile.open(SHARED / f"{name}.tgz") as tar:
                tar.extractall(DATA)


def training_files() -> list[str]:
    """JSB train + JS Fakes pieces (never JSB test)."""
    return sorted(glob.glob(str(DATA / "jsb_chorales/train/*.csv"))) + sorted(
        glob.glob(str(DATA / "js_fakes/pieces/*.csv"))
    )


def validation_files() -> list[str]:
    """JSB valid pieces."""
    return sorted(glob.glob(str(DATA / "jsb_chorales/valid/*.csv")))


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file by rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_checkpoint(run: Path, model, optimizer, state: dict) -> None:
    """Write weights, optimizer variables and state to ``run/ckpt`` atomically (dir swap)."""
    new, cur, old = run / "ckpt.new", run / "ckpt", run / "ckpt.old"
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    model.save_weights(str(new / "model.weights.h5"))
    np.savez(new / "optimizer.npz", *[np.asarray(v) for v in optimizer.variables])
    (new / "state.json").write_text(json.dumps(state, indent=1))
    shutil.rmtree(old, ignore_errors=True)
    if cur.exists():
        os.replace(cur, old)
    os.replace(new, cur)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(run: Path) -> Path:
    """The directory of the newest complete checkpoint."""
    for name in ("ckpt", "ckpt.old"):
        if (run / name / "state.json").exists():
            return run / name
    raise FileNotFoundError(f"no checkpoint under {run}")


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, default=HERE / "run")
    ap.add_argument("--log", type=Path, default=HERE / "train.log")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--time-limit", type=float, default=None, help="minutes for this invocation")
    ap.add_argument("--epochs", type=int, default=1000)
    ap.add_argument("--filters", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-decay", type=float, default=0.97, help="per-epoch multiplicative decay")
    ap.add_argument(
        "--decay-per-minute",
        type=float,
        default=None,
        help="instead of --lr-decay: multiply the lr by this per minute of training (time-boxed runs)",
    )
    ap.add_argument(
        "--epoch-mult",
        type=int,
        default=None,
        help="random crops per 64-step stretch of each piece in one epoch (default 1; saved with the run)",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="threads making batches ahead (0 = in line, the original random stream; >0 = one seed per "
        "step drawn from the data RNG, so still reproducible, but a different stream)",
    )
    ap.add_argument("--plateau", type=int, default=2, help="halve lr after this many bad epochs")
    ap.add_argument("--patience", type=int, default=6, help="early stop after this many bad epochs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=None, help="steps per epoch cap (smoke tests)")
    args = ap.parse_args(argv)

    set_threads(args.threads)
    import keras

    import coconet as C

    ensure_data()
    start_wall = time.time()
    train = C.load_pieces(training_files())
    valid = C.load_pieces(validation_files())
    args.run.mkdir(parents=True, exist_ok=True)

    if args.resume:
        ck = load_checkpoint(args.run)
        state = json.loads((ck / "state.json").read_text())
        config = C.CoconetConfig(**state["config"])
    else:
        config = C.CoconetConfig(filters=args.filters, blocks=args.blocks)
        state = {
            "config": config.to_dict(),
            "epoch": 0,
            "lr": args.lr,
            "best": math.inf,
            "best_epoch": 0,
            "bad": 0,
            "since_halving": 0,
            "rng": np.random.default_rng(args.seed).bit_generator.state,
            "history": [],
            "crop": args.crop,
            "batch": args.batch,
            "epoch_mult": args.epoch_mult or 1,
        }
    model = C.build_model(config)
    optimizer = keras.optimizers.Adam(learning_rate=state["lr"])
    model.compile(optimizer=optimizer, loss=C.masked_cross_entropy)
    if args.resume:
        model.load_weights(str(ck / "model.weights.h5"))
        optimizer.build(model.trainable_variables)
        saved = np.load(ck / "optimizer.npz")
        arrays = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        if len(arrays) != len(optimizer.variables):
            raise RuntimeError("optimizer state does not match the model")
        for var, arr in zip(optimizer.variables, arrays):
            var.assign(arr)
        optimizer.learning_rate.assign(state["lr"])
    crop, batch = state["crop"], state["batch"]
    epoch_mult = state.get("epoch_mult", 1) if args.epoch_mult is None else args.epoch_mult
    state["epoch_mult"] = epoch_mult
    # The best weights are saved without the optimizer's variables (a compiled model's
    # save_weights writes them too, tripling the file): through an uncompiled twin.
    twin = C.build_model(config)
    rng = np.random.default_rng()
    rng.bit_generator.state = state["rng"]

    # Fixed validation set: tiled crops with masks from a fixed seed.
    vrng = np.random.default_rng(12345)
    vcrops = [c for p in valid for c in C.tile_crops(p, crop)]
    vbatches = [C.make_batch(vrng, vcrops[i : i + 64]) for i in range(0, len(vcrops), 64)]

    def valid_loss() -> float:
        total = 0.0
        for x, y in vbatches:
            logits = model(x, training=False)
            total += float(C.masked_cross_entropy(y, logits)) * len(x)
        return total / len(vcrops)

    with args.log.open("a") as log:
        log.write(
            f"# start {time.strftime('%F %T')} resume={args.resume} epoch={state['epoch']} "
            f"params={model.count_params()} config={config.to_dict()} train_pieces={len(train)} "
            f"valid_crops={len(vcrops)} backend={keras.backend.backend()} crop={crop} batch={batch} "
            f"epoch_mult={epoch_mult} workers={args.workers} lr={state['lr']:.2e} lr_decay={args.lr_decay} "
            f"decay_per_minute={args.decay_per_minute} plateau={args.plateau} patience={args.patience} "
            f"time_limit={args.time_limit}\n"
        )
    def batches(crops, order, steps):
        """The epoch's batches, in order; made ahead by worker threads if asked."""
        pick = [[crops[i] for i in order[s * batch : (s + 1) * batch]] for s in range(steps)]
        if not args.workers:
            for s in range(steps):
                yield C.make_batch(rng, pick[s])
            return
        seeds = rng.integers(0, 2**63 - 1, size=steps)
        with ThreadPoolExecutor(args.workers) as pool:
            ahead: collections.deque = collections.deque()
            for s in range(steps):
                ahead.append(pool.submit(C.make_batch, np.random.default_rng(int(seeds[s])), pick[s]))
                if len(ahead) > 2 * args.workers:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()

    epoch_secs: list[float] = []
    while state["epoch"] < args.epochs:
        if args.time_limit is not None and epoch_secs:
            left = args.time_limit * 60 - (time.time() - start_wall)
            # the first epoch also pays for compiling the step: judge by the later ones if any
            if left < max(epoch_secs[1:] or epoch_secs) * 1.05:
                print("time limit: stopping before the next epoch", flush=True)
                break
        t0 = time.time()
        crops = [
            C.random_crop(rng, p, crop)
            for p in train
            for _ in range(epoch_mult * max(1, math.ceil(p.shape[0] / crop)))
        ]
        order = rng.permutation(len(crops))
        steps = len(crops) // batch
        if args.max_steps:
            steps = min(steps, args.max_steps)
        losses = []
        for x, y in batches(crops, order, steps):
            losses.append(float(model.train_on_batch(x, y)))
        vl = valid_loss()
        secs = time.time() - t0
        epoch_secs.append(secs)
        state["epoch"] += 1
        improved = vl < state["best"] - 1e-4
        if improved:
            state.update(best=vl, best_epoch=state["epoch"], bad=0)
            twin.set_weights(model.get_weights())
            twin.save_weights(str(args.run / "best.weights.h5.tmp.weights.h5"))
            os.replace(args.run / "best.weights.h5.tmp.weights.h5", args.run / "best.weights.h5")
            atomic_write_text(
                args.run / "best.json",
                json.dumps({"config": config.to_dict(), "epoch": state["epoch"], "valid_loss": vl}),
            )
        else:
            state["bad"] += 1
        lr_used = state["lr"]
        if args.decay_per_minute is None:
            state["lr"] *= args.lr_decay
        else:
            state["lr"] *= args.decay_per_minute ** (secs / 60)
        state["since_halving"] = 0 if improved else state["since_halving"] + 1
        if state["since_halving"] >= args.plateau:
            state["lr"] *= 0.5
            state["since_halving"] = 0
        optimizer.learning_rate.assign(state["lr"])
        state["rng"] = rng.bit_generator.state
        state["history"].append(
            {"epoch": state["epoch"], "train": float(np.mean(losses)), "valid": vl, "lr": lr_used, "secs": secs}
        )
        save_checkpoint(args.run, model, optimizer, state)
        line = (
            f"epoch {state['epoch']:3d}  train {np.mean(losses):.4f}  valid {vl:.4f}  lr {lr_used:.2e}  "
            f"steps {steps}  {secs:.0f}s  {'*best' if improved else 'bad ' + str(state['bad'])}"
            f"  [{time.time() - start_wall:.0f}s]"
        )
        with args.log.open("a") as log:
            log.write(line + "\n")
        print(line, flush=True)
        if state["bad"] >= args.patience:
            with args.log.open("a") as log:
                log.write(f"# early stop: best valid {state['best']:.4f} at epoch {state['best_epoch']}\n")
            break


if __name__ == "__main__":
    main()
