"""How long the judge takes: N pieces against Bach's test split (target: 256 pieces <= 60 s).

The pieces are JSB train chorales (so no model is needed), cycled to reach ``--pieces``; the
judge's own work is timed: features of every 4-bar excerpt, five cross-validated classifiers,
the bootstrap interval, the grader. Bach's corpus is loaded (and cached) before the clock
starts.

Run:
    python benchmarks/judge.py                 # 256 pieces, 3 runs
    python benchmarks/judge.py --pieces 1024 --runs 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TARGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pieces", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bars", type=int, default=4)
    args = parser.parse_args()

    from bachnet.data.reference import reference
    from bachnet.judge import judge

    train = list(reference("train"))
    list(reference("test"))
    pieces = [train[k % len(train)] for k in range(args.pieces)]
    times = []
    for run in range(args.runs):
        start = time.perf_counter()
        verdict = judge(pieces, against="test", bars=args.bars, seed=run, name="JSB train")
        times.append(time.perf_counter() - start)
        print(f"run {run + 1}: {times[-1]:.1f} s (AUC {verdict.auc:.3f})")
    best, median = min(times), statistics.median(times)
    verdict_word = "within" if median <= TARGET_SECONDS else "OVER"
    print(
        f"judge, {args.pieces} pieces vs JSB test, {args.bars}-bar excerpts: median "
        f"{median:.1f} s, best {best:.1f} s ({verdict_word} the {TARGET_SECONDS:.0f} s target)"
    )


if __name__ == "__main__":
    main()
