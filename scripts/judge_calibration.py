"""The judge's calibration table: Bach against Bach, the JS Fake Chorales (with the listeners'
verdicts), and generated pieces (folders written by scripts/judge_levers.py).

    python scripts/judge_calibration.py [--fakes ../shared/data/js_fakes.tgz] [FOLDER ...]

Prints one Markdown row per collection: AUC (4-bar excerpts against JSB test unless said) with
its 95 % interval, the "Bach or Mock?" grade beside Bach's, and for the fakes the Spearman
correlation of each piece's Bach-likeness (1 - the judge's out-of-fold score) with the share of
listeners it fooled.
"""

from __future__ import annotations

import argparse
import json
import tarfile
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from bachnet.data.reference import reference
from bachnet.judge import Verdict, judge, read_js_fakes

HERE = Path(__file__).resolve().parents[1]


def row(label: str, verdict: Verdict, extra: str = "") -> str:
    low, high = verdict.test.interval
    return (
        f"| {label} | {verdict.pieces[1]} | {verdict.auc:.3f} ({low:.2f}-{high:.2f}) | "
        f"{verdict.grade.mean:.2f} (Bach {verdict.bach_grade.mean:.2f}) | {extra} |"
    )


def listener_halves(archive: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per piece, the share fooled among listeners of skill 0-2 and among those of skill 3-5."""
    with tarfile.open(archive) as tar:
        handle = tar.extractfile("js_fakes/listening_test.json")
        assert handle is not None
        verdicts = json.load(handle)
    halves = []
    for levels in (("skill_0", "skill_1", "skill_2"), ("skill_3", "skill_4", "skill_5")):
        shares = []
        for n in range(len(verdicts)):
            piece = verdicts[f"midi/{n}.mid"]
            heard = sum(piece.get(level, {}).get("responses", 0) for level in levels)
            called = sum(piece.get(level, {}).get("correct", 0) for level in levels)
            shares.append(1 - called / heard if heard else np.nan)
        halves.append(np.array(shares))
    return halves[0], halves[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", nargs="*", type=Path)
    ap.add_argument("--fakes", type=Path, default=HERE.parent / "shared" / "data" / "js_fakes.tgz")
    args = ap.parse_args()
    print("| pieces judged against Bach | pieces | AUC (95 % interval) | grade | listeners |")
    print("| --- | ---: | --- | --- | --- |")
    bach = judge(list(reference("train")), against="valid+test", name="Bach train")
    print(row("Bach's own: train split against valid + test", bach), flush=True)
    fakes = read_js_fakes(args.fakes)
    verdict = judge(list(fakes.pieces), name="JS fakes")
    scores = verdict.test.piece_scores
    judged = ~np.isnan(scores)
    rho, p = spearmanr(1 - scores[judged], fakes.fooled[judged])
    many = fakes.responses[judged] >= 10
    rho10, p10 = spearmanr(1 - scores[judged][many], fakes.fooled[judged][many])
    novice, expert = listener_halves(args.fakes)
    both = ~np.isnan(novice) & ~np.isnan(expert)
    rho_l, p_l = spearmanr(novice[both], expert[both])
    extra = (
        f"fooled {100 * fakes.fooled.mean():.0f} % of listeners; Spearman of the judge's "
        f"Bach-likeness with the share fooled {rho:+.3f} (p = {p:.2f}, {judged.sum()} pieces); "
        f"pieces with >= 10 responses {rho10:+.3f} (p = {p10:.2f}, {many.sum()}); the "
        f"listeners among themselves (skill 0-2 vs 3-5) {rho_l:+.3f} (p = {p_l:.2f}, "
        f"{both.sum()} pieces)"
    )
    print(row("JS Fake Chorales (500)", verdict, extra), flush=True)
    for folder in args.folders:
        print(row(folder.name, judge(folder, name=folder.name)), flush=True)


if __name__ == "__main__":
    main()
