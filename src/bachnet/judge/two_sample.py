"""The classifier two-sample test: can a classifier tell these pieces from Bach's?

After Lopez-Paz & Oquab, "Revisiting Classifier Two-Sample Tests" (ICLR 2017): if two samples
come from one distribution, no classifier can tell them apart better than chance on held-out
data. Here the samples are excerpts of N bars (`bachnet.judge.features`), the classifier is
scikit-learn's histogram gradient boosting over the judge's ~120 musical features, and the
figure is the ROC AUC of its out-of-fold scores:

- the pieces (never the excerpts) are split into 5 folds, stratified, so no piece is ever on
  both sides of a split; each excerpt is scored by the model that did not see its piece;
- the two sides weigh equally in training (class weights), whatever their sizes;
- the interval is a bootstrap over pieces (1,000 resamples of each side's pieces, each
  excerpt's out-of-fold score kept): 0.5 inside it means the judge cannot tell them apart;
- the giveaways are the features that separate the two sides best on their own (the AUC of
  each feature alone, furthest from 0.5), each with Bach's mean and the candidate's.

scikit-learn is imported only here and only when the judge runs (``pip install
"bachnet[judge]"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bachnet.errors import BachNetError, InputError
from bachnet.judge.features import FEATURE_LIST, Excerpts

__all__ = ["Giveaway", "TwoSampleResult", "auc", "classifier_test", "need_sklearn"]


@dataclass(frozen=True)
class Giveaway:
    """One feature that tells the candidate from Bach.

    Args:
        feature: its name (one of `bachnet.judge.FEATURES`).
        family: range, rhythm, melody, spacing, voice leading or harmony.
        unit: how its values print (``"%"``: a share 0..1, printed as a percentage).
        bach: its mean over Bach's excerpts.
        candidate: its mean over the candidate's excerpts.
        auc: the AUC of this feature alone (candidate = positive; 0.5 = no help, 0 or 1 =
            it alone separates them).
    """

    feature: str
    family: str
    unit: str
    bach: float
    candidate: float
    auc: float

    def describe(self) -> str:
        """One line: the feature, Bach's value, the candidate's.

        Examples:
            >>> Giveaway("alto-tenor crossed", "spacing", "%", 0.015, 0.0, 0.43).describe()
            'alto-tenor crossed: Bach 1.5 %, candidate 0.0 % (alone: AUC 0.43)'
        """
        return f"{self.feature}: {self.values()} (alone: AUC {self.auc:.2f})"

    def values(self, name: str = "candidate") -> str:
        """Bach's value and the candidate's (called ``name``), in the feature's unit.

        Examples:
            >>> Giveaway("bass mean pitch", "range", "midi", 50.77, 49.6, 0.39).values("mine")
            'Bach 50.8, mine 49.6'
        """
        return f"Bach {_fmt(self.bach, self.unit)}, {name} {_fmt(self.candidate, self.unit)}"


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{100 * value:.1f} %"
    if unit in ("midi", "semitones"):
        return f"{value:.1f}"
    return f"{value:.2f}"


@dataclass(frozen=True)
class TwoSampleResult:
    """What the classifier test found.

    Attributes:
        auc: ROC AUC of the out-of-fold scores (candidate = positive class).
        interval: 95 % bootstrap interval of ``auc`` (resampling pieces).
        scores: each excerpt's out-of-fold probability of being the candidate's.
        labels: 1 for the candidate's excerpts, 0 for Bach's.
        owners: each excerpt's piece, numbered over Bach's pieces first, then the candidate's.
        piece_scores: for each candidate piece (in the order given), the mean probability
            that its excerpts are the candidate's; NaN for a piece too short to judge.
        bach_piece_scores: the same for Bach's pieces.
        giveaways: the features that separate the sides best alone, strongest first.
        folds: the number of cross-validation folds.
    """

    auc: float
    interval: tuple[float, float]
    scores: npt.NDArray[np.float64] = field(repr=False)
    labels: npt.NDArray[np.int64] = field(repr=False)
    owners: npt.NDArray[np.int64] = field(repr=False)
    piece_scores: npt.NDArray[np.float64] = field(repr=False)
    bach_piece_scores: npt.NDArray[np.float64] = field(repr=False)
    giveaways: tuple[Giveaway, ...]
    folds: int

    def roc_curve(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """False- and true-positive rates of the out-of-fold scores, for plotting."""
        order = np.argsort(-self.scores, kind="stable")
        labels = self.labels[order]
        tpr = np.concatenate([[0.0], np.cumsum(labels) / max(1, labels.sum())])
        fpr = np.concatenate([[0.0], np.cumsum(1 - labels) / max(1, (1 - labels).sum())])
        return fpr, tpr


def need_sklearn() -> Any:
    """scikit-learn's modules the judge uses, or a `BachNetError` saying how to install it."""
    try:
        import sklearn.ensemble
        import sklearn.model_selection
    except ImportError as error:  # pragma: no cover - exercised without the extra only
        raise BachNetError('the judge needs scikit-learn: pip install "bachnet[judge]"') from error
    return sklearn


def auc(
    scores: npt.ArrayLike, labels: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> float:
    """ROC AUC (the Mann-Whitney statistic, ties counted half), optionally weighted.

    Args:
        scores: higher = more likely the positive class.
        labels: 1 for positives, 0 for negatives.
        weights: a non-negative weight per item (a bootstrap's multiplicities).

    Raises:
        InputError: a side with no (weight of) items.

    Examples:
        >>> auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        0.75
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=np.float64)
    _, group = np.unique(s, return_inverse=True)
    pos = np.bincount(group, weights=w * (y == 1))
    neg = np.bincount(group, weights=w * (y == 0))
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos <= 0 or total_neg <= 0:
        raise InputError("AUC needs items on both sides")
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (total_pos * total_neg))


def _bootstrap(
    scores: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    owners: npt.NDArray[np.int64],
    rounds: int,
    rng: np.random.Generator,
) -> tuple[float, float]:
    pieces = np.unique(owners)
    side = np.array([labels[owners == p][0] for p in pieces])
    index = np.searchsorted(pieces, owners)
    values = []
    for _ in range(rounds):
        counts = np.zeros(len(pieces))
        for s in (0, 1):
            members = np.flatnonzero(side == s)
            drawn = rng.choice(members, size=len(members), replace=True)
            counts += np.bincount(drawn, minlength=len(pieces))
        values.append(auc(scores, labels, counts[index]))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def _giveaways(
    x: npt.NDArray[np.float64], labels: npt.NDArray[np.int64], top: int
) -> tuple[Giveaway, ...]:
    found = []
    for k, feature in enumerate(FEATURE_LIST):
        column = x[:, k]
        if np.ptp(column) == 0:
            continue
        alone = auc(column, labels)
        found.append(
            Giveaway(
                feature=feature.name,
                family=feature.family,
                unit=feature.unit,
                bach=float(column[labels == 0].mean()),
                candidate=float(column[labels == 1].mean()),
                auc=alone,
            )
        )
    found.sort(key=lambda g: -abs(g.auc - 0.5))
    return tuple(found[:top])


def classifier_test(
    bach: Excerpts,
    candidate: Excerpts,
    *,
    seed: int = 0,
    folds: int = 5,
    rounds: int = 1000,
    top: int = 8,
) -> TwoSampleResult:
    """Run the classifier two-sample test on two feature matrices.

    Args:
        bach: Bach's excerpts (`bachnet.judge.features.feature_matrix`).
        candidate: the same for the pieces to judge.
        seed: seeds the folds, the classifier and the bootstrap: one seed, one answer.
        folds: cross-validation folds (split by piece); at most the pieces on either side.
        rounds: bootstrap resamples for the interval.
        top: how many giveaways to keep.

    Raises:
        InputError: fewer than 2 judged pieces on a side, or fewer pieces than folds.
    """
    sklearn = need_sklearn()
    xb, ob, n_bach = bach
    xc, oc, n_candidate = candidate
    for name, owner in (("Bach's", ob), ("the candidate's", oc)):
        pieces = len(np.unique(owner))
        if pieces < 2:
            raise InputError(
                f"the judge needs at least 2 pieces on each side long enough for one excerpt; "
                f"{name} side has {pieces}"
            )
        folds = min(folds, pieces)
    x = np.concatenate([xb, xc])
    labels = np.concatenate([np.zeros(len(xb), np.int64), np.ones(len(xc), np.int64)])
    owners = np.concatenate([ob, oc + n_bach])
    weights = np.where(labels == 1, len(labels) / (2 * len(xc)), len(labels) / (2 * len(xb)))
    splitter = sklearn.model_selection.StratifiedGroupKFold(
        n_splits=folds, shuffle=True, random_state=seed
    )
    scores = np.zeros(len(x))
    for train, test in splitter.split(x, labels, owners):
        model = sklearn.ensemble.HistGradientBoostingClassifier(
            max_iter=150,
            learning_rate=0.08,
            max_leaf_nodes=15,
            min_samples_leaf=10,
            l2_regularization=1.0,
            random_state=seed,
        )
        model.fit(x[train], labels[train], sample_weight=weights[train])
        scores[test] = model.predict_proba(x[test])[:, 1]
    rng = np.random.default_rng(seed)
    result_auc = auc(scores, labels)
    interval = _bootstrap(scores, labels, owners, rounds, rng)
    per_piece = _per_piece(scores, owners, n_bach + n_candidate)
    return TwoSampleResult(
        auc=result_auc,
        interval=interval,
        scores=scores,
        labels=labels,
        owners=owners,
        piece_scores=per_piece[n_bach:],
        bach_piece_scores=per_piece[:n_bach],
        giveaways=_giveaways(x, labels, top),
        folds=folds,
    )


def _per_piece(
    scores: npt.NDArray[np.float64], owners: npt.NDArray[np.int64], pieces: int
) -> npt.NDArray[np.float64]:
    total = np.bincount(owners, weights=scores, minlength=pieces)
    count = np.bincount(owners, minlength=pieces)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
