"""`judge`: how Bach-like is a collection of chorales? Two opinions in one `Verdict`.

1. the classifier two-sample test (`bachnet.judge.two_sample`): a classifier trained to tell
   N-bar excerpts of the pieces from excerpts of Bach's, scored on pieces it never saw; its
   ROC AUC is the verdict (0.5: it cannot tell them apart; 1.0: it always can), with a
   bootstrap interval and the features that give the pieces away;
2. the "Bach or Mock?" grade (`bachnet.judge.grader`, Fang et al. 2020): each piece's
   distance from Bach's distributions of notes, rhythm, harmony, voice-leading faults,
   intervals and repetition, beside the grade of Bach's own held-out chorales.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bachnet.core.aliases import PathLike
from bachnet.core.files import atomic_path
from bachnet.data.corpus import Dataset
from bachnet.data.reference import reference
from bachnet.errors import BachNetError, InputError, InputTypeError
from bachnet.judge.features import feature_matrix
from bachnet.judge.grader import GRADER_FEATURES, Grade, Grader
from bachnet.judge.two_sample import TwoSampleResult, classifier_test
from bachnet.music.chorale import Chorale

__all__ = ["Verdict", "judge", "pieces_of"]

SPLITS = ("test", "valid", "train", "valid+test", "all")
"""The names ``against`` accepts: JSB splits (``valid+test``: Bach's 153 held-out chorales)."""


@dataclass(frozen=True)
class Verdict:
    """The judge's findings on one collection (`judge`).

    Attributes:
        name: what was judged (a model's name, a folder).
        against: what it was judged against (``"test"``: JSB's test split).
        bars: bars per excerpt.
        pieces: pieces judged, and how many of them were long enough for an excerpt.
        bach_pieces: Bach's pieces, and how many were long enough.
        test: the classifier two-sample test.
        grade: the "Bach or Mock?" grade of the pieces.
        bach_grade: the same grade of Bach's pieces (the scale: what Bach himself scores).
        seed: the seed of the folds, the classifier and the bootstrap.
    """

    name: str
    against: str
    bars: int
    pieces: tuple[int, int]
    bach_pieces: tuple[int, int]
    test: TwoSampleResult = field(repr=False)
    grade: Grade = field(repr=False)
    bach_grade: Grade = field(repr=False)
    seed: int = 0

    @property
    def auc(self) -> float:
        """The classifier test's ROC AUC (0.5: cannot tell the pieces from Bach's)."""
        return self.test.auc

    def to_dict(self) -> dict[str, Any]:
        """The verdict as plain JSON-ready data (what ``bachnet judge --json`` prints)."""
        low, high = self.test.interval
        return {
            "name": self.name,
            "against": self.against,
            "bars": self.bars,
            "seed": self.seed,
            "pieces": {"given": self.pieces[0], "judged": self.pieces[1]},
            "bach_pieces": {"given": self.bach_pieces[0], "judged": self.bach_pieces[1]},
            "excerpts": {
                "candidate": int(self.test.labels.sum()),
                "bach": int((1 - self.test.labels).sum()),
            },
            "classifier_test": {
                "auc": round(self.test.auc, 4),
                "interval_95": [round(low, 4), round(high, 4)],
                "folds": self.test.folds,
                "giveaways": [
                    {
                        "feature": g.feature,
                        "family": g.family,
                        "unit": g.unit,
                        "bach": round(g.bach, 5),
                        "candidate": round(g.candidate, 5),
                        "auc_alone": round(g.auc, 4),
                    }
                    for g in self.test.giveaways
                ],
            },
            "grade": {
                "candidate": round(self.grade.mean, 4),
                "bach": round(self.bach_grade.mean, 4),
                "by_feature": {
                    name: {"candidate": round(c, 4), "bach": round(b, 4)}
                    for (name, c), b in zip(
                        self.grade.by_feature().items(),
                        self.bach_grade.by_feature().values(),
                        strict=True,
                    )
                },
            },
        }

    def report(self) -> str:
        """A short text report: the AUC and its interval, the giveaways, the grade."""
        low, high = self.test.interval
        lines = [
            f"{self.name} against Bach ({self.against}), {self.bars}-bar excerpts: "
            f"{self.pieces[1]} pieces ({int(self.test.labels.sum())} excerpts) vs "
            f"{self.bach_pieces[1]} ({int((1 - self.test.labels).sum())})",
            f"classifier two-sample test: AUC {self.test.auc:.3f} "
            f"(95 % interval {low:.3f}-{high:.3f}; 0.5 = indistinguishable from Bach)",
            "what gives it away (each feature alone):",
        ]
        lines += [f"  {g.describe()}" for g in self.test.giveaways]
        lines.append(
            f'"Bach or Mock?" grade (Fang et al. 2020; lower = closer to Bach): '
            f"{self.grade.mean:.2f}, Bach's own {self.bach_grade.mean:.2f}"
        )
        worst = sorted(
            zip(
                GRADER_FEATURES,
                self.grade.by_feature().values(),
                self.bach_grade.by_feature().values(),
                strict=True,
            ),
            key=lambda t: -(t[1] - t[2]),
        )[:3]
        lines.append(
            "  furthest from Bach: "
            + ", ".join(f"{name} {c:.2f} (Bach {b:.2f})" for name, c, b in worst)
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def write_json(self, path: PathLike) -> Path:
        """Write `to_dict` to ``path`` (atomically)."""
        target = Path(path)
        with atomic_path(target) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return target

    def plot(self, path: PathLike) -> Path:
        """Draw the ROC curve and the giveaways to a ``.png``, ``.svg`` or ``.pdf`` file.

        Needs matplotlib (``pip install "bachnet[judge]"``).

        Raises:
            BachNetError: matplotlib is missing.
        """
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as error:  # pragma: no cover - without the extra only
            raise BachNetError(
                'plotting a verdict needs matplotlib: pip install "bachnet[judge]"'
            ) from error
        target = Path(path)
        fig, (roc, bars) = plt.subplots(
            1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1, 1.6]}
        )
        fpr, tpr = self.test.roc_curve()
        low, high = self.test.interval
        roc.plot(
            fpr, tpr, color="#8b1a1a", lw=2, label=f"AUC {self.test.auc:.2f} ({low:.2f}-{high:.2f})"
        )
        roc.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="chance (0.5)")
        roc.set_xlabel("Bach's excerpts taken for the candidate's")
        roc.set_ylabel("candidate's excerpts found")
        roc.set_title(f"{self.name} vs Bach ({self.against}), {self.bars} bars", fontsize=10)
        roc.legend(loc="lower right", fontsize=9)
        roc.set_aspect("equal")
        gives = list(reversed(self.test.giveaways))
        y = np.arange(len(gives))
        ratios = [g.candidate / g.bach if g.bach else np.nan for g in gives]
        colours = ["#8b1a1a" if r > 1 else "#3b6ea5" for r in ratios]
        bars.barh(y, [100 * (r - 1) for r in ratios], 0.6, color=colours)
        bars.axvline(0, color="black", lw=1)
        bars.set_yticks(y, [g.feature for g in gives], fontsize=8)
        for row, g, ratio in zip(y, gives, ratios, strict=True):
            bars.annotate(  # on the other side of the zero line from its bar
                g.values(self.name),
                (0, row),
                xytext=(-4 if ratio > 1 else 4, 0),
                textcoords="offset points",
                ha="right" if ratio > 1 else "left",
                va="center",
                fontsize=7,
                color="#333333",
            )
        low_x, high_x = bars.get_xlim()
        bars.set_xlim(min(low_x, -0.8 * high_x), max(high_x, -0.8 * low_x))
        bars.set_xlabel(f"{self.name} against Bach, % more (+) or less (-)")
        bars.set_title("what gives it away (each figure's mean per excerpt)", fontsize=10)
        fig.tight_layout()
        with atomic_path(target, suffix=target.suffix) as tmp:
            fig.savefig(tmp, dpi=120)
        plt.close(fig)
        return target


def pieces_of(source: PathLike | Iterable[Chorale] | Iterable[PathLike]) -> list[Chorale]:
    """The chorales of a collection, a file, a folder or a list of files and folders.

    Raises:
        InputError: a path that cannot be read as chorales (named), or nothing at all.
        InputTypeError: items that are neither chorales nor paths.
    """
    if isinstance(source, str | os.PathLike):
        return list(Dataset.from_paths(source))
    items: list[Any] = list(source)
    if not items:
        raise InputError("nothing to judge: no pieces given")
    if all(isinstance(item, Chorale) for item in items):
        return items
    if all(isinstance(item, str | Path) for item in items):
        return list(Dataset.from_paths(items))
    kinds = sorted({type(item).__name__ for item in items})
    raise InputTypeError(f"judge chorales or paths to music files, got {', '.join(kinds)}")


def _bach(against: str | Sequence[Chorale]) -> tuple[str, list[Chorale]]:
    if not isinstance(against, str):
        return "given pieces", pieces_of(against)
    if against not in SPLITS:
        raise InputError(f"--against must be one of {', '.join(SPLITS)}, got {against!r}")
    if against == "valid+test":
        return against, [*reference("valid"), *reference("test")]
    return against, list(reference(against))


def judge(
    pieces: PathLike | Iterable[Chorale] | Iterable[PathLike],
    *,
    against: str | Sequence[Chorale] = "test",
    bars: int = 4,
    seed: int = 0,
    name: str | None = None,
    grader_reference: Sequence[Chorale] | None = None,
) -> Verdict:
    """Judge how Bach-like a collection of chorales is.

    Args:
        pieces: chorales, or music files / folders of them (``.mid``, ``.musicxml``, ``.csv``).
        against: Bach's side: a JSB split name (``"test"``, ``"valid"``, ``"train"``,
            ``"valid+test"``, ``"all"``) or a collection of chorales.
        bars: bars of 4/4 per excerpt (excerpts are cut back from each piece's end).
        seed: one seed, one answer: the folds, the classifier and the bootstrap follow it.
        name: what to call the pieces in the report.
        grader_reference: the pieces whose distributions the grader measures distance from;
            by default JSB's train split (its valid split when judging against train).

    Raises:
        InputError: unreadable input, fewer than 2 pieces long enough for one excerpt on a
            side, an unknown split.
        BachNetError: scikit-learn is missing (``pip install "bachnet[judge]"``).

    Examples:
        >>> verdict = judge("my_chorales/")  # doctest: +SKIP
        >>> print(verdict.report())  # doctest: +SKIP
    """
    candidate = pieces_of(pieces)
    label = name or (str(pieces) if isinstance(pieces, str | Path) else "pieces")
    against_name, bach = _bach(against)
    x_bach = feature_matrix(bach, bars)
    x_candidate = feature_matrix(candidate, bars)
    if len(np.unique(x_candidate.owner)) < 2:
        raise InputError(
            f"the judge needs at least 2 pieces of {bars} bars or more ({bars * 16} sixteenths); "
            f"of the {len(candidate)} given, {len(np.unique(x_candidate.owner))} are that long"
        )
    result = classifier_test(x_bach, x_candidate, seed=seed)
    if grader_reference is None:
        grader_reference = list(reference("valid" if against_name == "train" else "train"))
    grader = Grader(grader_reference)
    return Verdict(
        name=label,
        against=against_name,
        bars=bars,
        pieces=(len(candidate), len(np.unique(x_candidate.owner))),
        bach_pieces=(len(bach), len(np.unique(x_bach.owner))),
        test=result,
        grade=grader.grade(candidate),
        bach_grade=grader.grade(bach),
        seed=seed,
    )
