"""The judge: can these chorales be told from Bach's?

`judge` answers with a `Verdict`: a classifier two-sample test over N-bar excerpts (ROC AUC
with a bootstrap interval, 0.5 = indistinguishable, and the features that give the pieces
away), and the "Bach or Mock?" grade of Fang et al. (2020) as a second opinion. The JS Fake
Chorales and their listeners' verdicts (`read_js_fakes`) calibrate it. Needs scikit-learn:
``pip install "bachnet[judge]"``.

Examples:
    >>> from bachnet.judge import judge
    >>> verdict = judge("my_chorales/", against="test", bars=4)  # doctest: +SKIP
    >>> round(verdict.auc, 2)  # doctest: +SKIP
    0.71
"""

from bachnet.judge.fakes import FakeChorales, read_js_fakes
from bachnet.judge.features import BACH_CHORDS, FEATURES, excerpt_features, excerpts, feature_matrix
from bachnet.judge.grader import GRADER_FEATURES, Grade, Grader
from bachnet.judge.two_sample import Giveaway, TwoSampleResult, auc, classifier_test
from bachnet.judge.verdict import SPLITS, Verdict, judge, pieces_of

__all__ = [
    "BACH_CHORDS",
    "FEATURES",
    "GRADER_FEATURES",
    "SPLITS",
    "FakeChorales",
    "Giveaway",
    "Grade",
    "Grader",
    "TwoSampleResult",
    "Verdict",
    "auc",
    "classifier_test",
    "excerpt_features",
    "excerpts",
    "feature_matrix",
    "judge",
    "pieces_of",
    "read_js_fakes",
]
