"""Generation speed: the original BachNet's re-read-the-window loop vs. `generate_tokens`.

One run, one model, one machine:

(a) the original BachNet's way: for every new token the whole 256-token window runs through
    the network (``net.logits(window)[:, -1]`` and a sampler), batch 1; also with Keras' compiled
    ``predict_on_batch`` in place of the eager call;
(b) `bachnet.generation.compose.generate_tokens` (prompt read once, one compiled LSTM step per
token):
    ms/token at batch 1 and tokens/s at batch 64, each timed after a warm-up call with the
    same shapes (the compile time is reported on its own);
(c) the machine's float32 matmul peak (numpy, 2048^3, best of 5) and the ceiling it puts on
    batch generation: peak / FLOP per token, the FLOP counted from the model config. An XLA
    matmul of the same size is timed too: numpy's BLAS may not use every vector unit
    (OpenBLAS picks AVX2 kernels on AMD Zen CPUs that have AVX-512), XLA does.

Every timing is taken twice, as wall-clock time and as the process's CPU time. On a busy
machine (a training job beside the benchmark) wall-clock rates fall with the share of the CPU
the benchmark gets, while CPU-time rates measure the work itself. With ``--threads 1`` numpy
and TensorFlow/XLA run one thread each, so CPU time holds no spin-waiting of idle threads
and the CPU-time figures are the ones to compare between runs.

The model is the full-size default `BachNet()` with random weights (speed does not depend on
the weights) unless ``--model`` names a saved model folder or preset.

Run:
    python benchmarks/generate.py
    python benchmarks/generate.py --threads 1 --skip-seed
    python benchmarks/generate.py --model runs/preset-small/model --tokens 2048
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@dataclass(frozen=True)
class Timing:
    """Seconds of one measurement: wall clock and process CPU time."""

    wall: float
    cpu: float


def timed(fn: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def best(timings: list[Timing]) -> Timing:
    return Timing(min(t.wall for t in timings), min(t.cpu for t in timings))


def flop_per_token(config: Any) -> int:
    """Multiply-adds x 2 of one token through the network (the embedding is a lookup).

    Each LSTM layer multiplies ``[x, h]`` by its four gate kernels: ``2 * 4 * units *
    (input + units)``; then the dense layer and the logits. Biases, activations and layer
    normalisation are O(units) and left out.
    """
    total, width = 0, config.embedding_dim
    for units in config.lstm_units:
        total += 2 * 4 * units * (width + units)
        width = units
    if config.dense_units:
        total += 2 * width * config.dense_units
        width = config.dense_units
    return int(total + 2 * width * config.vocab_size)


def matmul_peaks(size: int = 2048, repeats: int = 5) -> tuple[Timing, Timing]:
    """Best float32 GFLOP/s (wall, CPU) of a ``size^3`` matmul: numpy, then XLA."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    xla = tf.function(tf.matmul, jit_compile=True)
    ta, tb = tf.constant(a), tf.constant(b)
    peaks = []
    for fn in (lambda: a @ b, lambda: xla(ta, tb).numpy()):
        fn()  # warm-up (and, for XLA, the compile)
        fastest = best([timed(fn) for _ in range(repeats)])
        flop = 2 * size**3 / 1e9
        peaks.append(Timing(flop / fastest.wall, flop / fastest.cpu))
    return peaks[0], peaks[1]


def seed_way(net: Any, window: Any, tokens: int, *, compiled: bool, sampler: str) -> Timing:
    """Seconds per token of the original BachNet's loop: re-read the window for each token."""
    import numpy as np

    from bachnet.generation.samplers import get as get_sampler

    chosen = get_sampler(sampler)
    logits: Callable[[Any], Any] = (
        net.keras_model.predict_on_batch if compiled else net.logits  # compiled: tf.function
    )

    def run(count: int) -> None:
        context = window
        for step in range(count):
            drawn = chosen(np.asarray(logits(context))[:, -1], seed=step)
            new = np.asarray(drawn, dtype=np.int32)[:, None]
            context = np.concatenate([context[:, 1:], new], axis=1)

    run(1)  # warm-up (and, compiled, the trace)
    total = timed(lambda: run(tokens))
    return Timing(total.wall / tokens, total.cpu / tokens)


def incremental(
    net: Any, batch: int, tokens: int, *, repeats: int, sampler: str, rules: Any = None
) -> tuple[Timing, list[Timing]]:
    """The first call and ``repeats`` warm calls of `generate_tokens`, same shapes."""
    import numpy as np

    from bachnet.generation.compose import generate_tokens

    prompt = np.zeros((batch, 16), dtype=np.int32)  # a silent beat, as `generate` starts

    def call(seed: int) -> Timing:
        return timed(
            lambda: generate_tokens(net, prompt, tokens, sampler=sampler, seed=seed, rules=rules)
        )

    return call(0), [call(seed) for seed in range(1, repeats + 1)]


def set_threads(threads: int | None) -> None:
    """One thread count for numpy's BLAS and TensorFlow/XLA; call before importing them."""
    if threads is None:
        return
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", help="a saved model folder or preset (default: random)")
    parser.add_argument("--sampler", default="top_p", help="sampler name (default top_p)")
    parser.add_argument(
        "--seed-tokens", type=int, default=20, help="tokens, original BachNet's way"
    )
    parser.add_argument("--tokens", type=int, default=1024, help="tokens at batch 1")
    parser.add_argument("--batch", type=int, default=64, help="the large batch")
    parser.add_argument("--batch-tokens", type=int, default=512, help="tokens per sample")
    parser.add_argument("--repeats", type=int, default=3, help="warm calls (best is shown)")
    parser.add_argument("--threads", type=int, help="numpy and TensorFlow threads")
    parser.add_argument("--skip-seed", action="store_true", help="skip (a), the slow part")
    args = parser.parse_args()
    set_threads(args.threads)

    import keras
    import numpy as np

    from bachnet import BachNet

    keras.utils.set_random_seed(0)
    net = BachNet.from_pretrained(args.model) if args.model else BachNet()
    config = net.config
    flop = flop_per_token(config)
    threads = args.threads or "default"
    print(f"model: {net!r}; backend {keras.backend.backend()}; sampler {args.sampler}")
    print(f"machine: {os.cpu_count()} CPUs, threads {threads}, load average (1 min) at the start "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"FLOP per token: {flop / 1e6:.2f} M (LSTM gate kernels + dense layers)")

    numpy_peak, xla_peak = matmul_peaks()
    ceiling = Timing(numpy_peak.wall * 1e9 / flop, numpy_peak.cpu * 1e9 / flop)
    xla_ceiling = Timing(xla_peak.wall * 1e9 / flop, xla_peak.cpu * 1e9 / flop)

    seed_eager = seed_compiled = None
    if not args.skip_seed:
        window = np.random.default_rng(0).integers(0, config.vocab_size, (1, config.window))
        window = window.astype(np.int32)
        seed_eager = seed_way(net, window, args.seed_tokens, compiled=False, sampler=args.sampler)
        seed_compiled = seed_way(net, window, args.seed_tokens, compiled=True, sampler=args.sampler)

    first_1, warm_1 = incremental(net, 1, args.tokens, repeats=args.repeats, sampler=args.sampler)
    first_b, warm_b = incremental(
        net, args.batch, args.batch_tokens, repeats=args.repeats, sampler=args.sampler
    )
    # The default voice-leading rules on top, and a new length in the same length bucket.
    _, ruled_1 = incremental(
        net, 1, args.tokens, repeats=args.repeats, sampler=args.sampler, rules="default"
    )
    _, ruled_b = incremental(
        net, args.batch, args.batch_tokens, repeats=args.repeats, sampler=args.sampler,
        rules="default",
    )  # fmt: skip
    other_length = incremental(net, 1, args.tokens - 8, repeats=0, sampler=args.sampler)[0]
    step = best(warm_1)
    per_token = Timing(step.wall / args.tokens, step.cpu / args.tokens)
    ruled_step = best(ruled_1)
    fastest = best(warm_b)
    count = args.batch * args.batch_tokens
    rate = Timing(count / fastest.wall, count / fastest.cpu)
    median_rate = count / statistics.median(t.wall for t in warm_b)

    def row(label: str, wall: str, cpu: str) -> None:
        print(f"| {label} | {wall} | {cpu} |")

    print()
    row("what", "wall clock", "CPU time")
    row("---", "---:", "---:")
    row("numpy float32 matmul 2048^3, GFLOP/s", f"{numpy_peak.wall:.0f}", f"{numpy_peak.cpu:.0f}")
    row("XLA float32 matmul 2048^3, GFLOP/s", f"{xla_peak.wall:.0f}", f"{xla_peak.cpu:.0f}")
    if seed_eager is not None and seed_compiled is not None:
        for label, value in (("eager net.logits", seed_eager), ("predict_on_batch", seed_compiled)):
            row(
                f"original BachNet's way ({label}, window {config.window}): ms/token, batch 1",
                f"{value.wall * 1e3:.1f}",
                f"{value.cpu * 1e3:.1f}",
            )
    row(
        "incremental generate_tokens: ms/token, batch 1",
        f"{per_token.wall * 1e3:.3f}",
        f"{per_token.cpu * 1e3:.3f}",
    )
    if seed_eager is not None and seed_compiled is not None:
        eager, compiled = seed_eager, seed_compiled
        row(
            "speed-up over the original BachNet's way (eager; predict_on_batch)",
            f"{eager.wall / per_token.wall:,.0f}x; {compiled.wall / per_token.wall:,.0f}x",
            f"{eager.cpu / per_token.cpu:,.0f}x; {compiled.cpu / per_token.cpu:,.0f}x",
        )
    row(
        f"incremental: tokens/s, batch {args.batch} (best; wall median)",
        f"{rate.wall:,.0f}; {median_rate:,.0f}",
        f"{rate.cpu:,.0f}",
    )
    row(
        "ceiling = numpy peak / FLOP per token, tokens/s",
        f"{ceiling.wall:,.0f}",
        f"{ceiling.cpu:,.0f}",
    )
    row(
        f"% of ceiling at batch {args.batch} (numpy; XLA matmul)",
        f"{100 * rate.wall / ceiling.wall:.0f} %; {100 * rate.wall / xla_ceiling.wall:.0f} %",
        f"{100 * rate.cpu / ceiling.cpu:.0f} %; {100 * rate.cpu / xla_ceiling.cpu:.0f} %",
    )
    row(
        f"compile (first call minus a warm one), batch 1; {args.batch}, s",
        f"{first_1.wall - step.wall:.1f}; {first_b.wall - fastest.wall:.1f}",
        f"{first_1.cpu - step.cpu:.1f}; {first_b.cpu - fastest.cpu:.1f}",
    )
    count_rate = args.batch * args.batch_tokens / best(ruled_b).wall
    ruled_rate = args.batch * args.batch_tokens / best(ruled_b).cpu
    row(
        "with the default rules: ms/token, batch 1 (cost over no rules)",
        f"{ruled_step.wall / args.tokens * 1e3:.3f} "
        f"({100 * (ruled_step.wall / step.wall - 1):+.0f} %)",
        f"{ruled_step.cpu / args.tokens * 1e3:.3f} "
        f"({100 * (ruled_step.cpu / step.cpu - 1):+.0f} %)",
    )
    row(
        f"with the default rules: tokens/s, batch {args.batch} (cost over no rules)",
        f"{count_rate:,.0f} ({100 * (rate.wall / count_rate - 1):+.0f} %)",
        f"{ruled_rate:,.0f} ({100 * (rate.cpu / ruled_rate - 1):+.0f} %)",
    )
    row(
        f"first call with {args.tokens - 8} tokens (same length bucket: no compile), s",
        f"{other_length.wall:.2f} (warm {args.tokens} tokens: {step.wall:.2f})",
        f"{other_length.cpu:.2f}",
    )
    print()
    share = Timing(100 * rate.wall / ceiling.wall, 100 * rate.cpu / ceiling.cpu)
    print(
        f"targets: <= 1 ms/token at batch 1: {per_token.wall * 1e3:.3f} ms wall, "
        f"{per_token.cpu * 1e3:.3f} ms CPU; >= 80 % of ceiling at batch {args.batch}: "
        f"{share.wall:.0f} % wall, {share.cpu:.0f} % CPU"
    )
    print(f"load average (1 min) at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
