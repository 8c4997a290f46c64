"""[judge] lever: a critic picks, of the bodies `generate` draws, the most Bach-like.

`generate()` draws `compose.HOME_TRIES` bodies a piece (6) and keeps the first that stays in
its home key. Here a critic chooses among those in the home key instead: a logistic
regression (standardised) over the judge's features of 4-bar excerpts
(`bachnet.judge.features`), trained on JSB's train split against 256 default pieces of other
seeds (20000-20255, cached in ``neg.npz``), scoring a body by the mean log-probability of
"Bach" over its excerpts (discriminator selection, as in Azadi et al. 2019's rejection
sampling). The judge then sees pieces of seeds OFFSET.. (``bachnet judge --model jsb-keys -n
256 --seed OFFSET``'s pieces, 192 steps) against JSB test, trained afresh on its own folds:
the critic never saw the test split or these seeds, but it does look at the judge's kind of
features, so a gain here may partly be the judge's blind spots; the "Bach or Mock?" grade
is the second opinion.

    python experiments/critic_selection/run.py TRIES OFFSET [nocritic]

``nocritic`` keeps today's choice (the first body in the home key) with TRIES bodies drawn,
the control for the extra draws.
"""

import json
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bachnet import BachNet, Chorale, Dataset
from bachnet.generation import compose
from bachnet.generation.config import GenerationConfig
from bachnet.judge import judge
from bachnet.judge.features import feature_matrix
from bachnet.music.metrics import measure

tries = int(sys.argv[1]) if len(sys.argv) > 1 else 6
offset = int(sys.argv[2]) if len(sys.argv) > 2 else 0
net = BachNet.from_pretrained("jsb-keys")
config = GenerationConfig(steps=192)
neg_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "neg.npz")
if os.path.exists(neg_file):
    saved = np.load(neg_file, allow_pickle=True)
    negatives = [Chorale(c) for c in saved["chords"]]
else:
    negatives = []
    for s in range(20000, 20256, 64):
        negatives += net.generate(config=config, num_samples=64, seed=s)
    np.savez(neg_file, chords=np.array([p.chords for p in negatives], dtype=object))
bach = list(Dataset.jsb(progress=False).split("train"))
xb = feature_matrix(bach, bars=4).features
xn = feature_matrix([p.chords for p in negatives], bars=4).features
X = np.concatenate([xb, xn])
y = np.r_[np.ones(len(xb)), np.zeros(len(xn))]
critic = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000)).fit(X, y)
print("critic's training accuracy", round(critic.score(X, y), 3), len(xb), len(xn), flush=True)


def pick(model, bodies, ids, num_samples, t, homes):
    """`compose._pick_bodies` with the critic choosing among the home-key bodies."""
    analysed = [compose.find_key(model.vocab.decode(row).chords) for row in bodies]
    if not homes:
        return ids, analysed
    chosen = []
    for sample in range(num_samples):
        drawn = range(sample * t, (sample + 1) * t)
        same = [r for r in drawn if analysed[r] == homes[r]]
        same = same or [r for r in drawn if analysed[r].mode == homes[r].mode] or [drawn[0]]
        scores = []
        for r in same:
            chords = model.vocab.decode(bodies[r]).chords
            chords = chords[(chords > 0).all(axis=1).argmax() :]  # the lead's silence off
            f = feature_matrix([chords], bars=4).features
            scores.append(critic.predict_log_proba(f)[:, 1].mean() if len(f) else -9.0)
        chosen.append(same[int(np.argmax(scores))])
    return ids[chosen], [homes[r] for r in chosen]


if "nocritic" not in sys.argv:
    compose._pick_bodies = pick
compose.HOME_TRIES = tries
pieces = []
for s in range(offset, offset + 256, 64):
    pieces += net.generate(config=config, num_samples=64, seed=s)
out: dict[str, object] = {"tries": tries, "offset": offset, "critic": "nocritic" not in sys.argv}
for bars in (4, 8):
    lines = judge(pieces, against="test", bars=bars, seed=0).report().splitlines()
    out[f"auc{bars}"] = lines[1]
    if bars == 4:
        out["giveaways"] = lines[3:9]
        out["grader"] = [line for line in lines if "Mock" in line]
figures = measure(pieces)
names = ("long_on_strong", "parallel_fifths", "parallel_octaves", "voice_crossing")
out["figures"] = {n: round(float(getattr(figures, n)), 2) for n in names}
out["figures"]["tonic"] = figures.tonic_triad
print(json.dumps(out, indent=1))
