"""Mean judge features of pickled piece sets against Bach's JSB test (4-bar excerpts).

python experiments/hold_mass/figures.py A.pkl B.pkl ...
"""

from __future__ import annotations

import os
import pickle
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NAMES = (
    "chord changes per beat",
    "soprano notes per beat",
    "alto notes per beat",
    "tenor notes per beat",
    "bass notes per beat",
    "dominant sevenths",
    "chords outside Bach's 24 commonest",
)


def main() -> None:
    from bachnet.data.reference import reference
    from bachnet.judge.features import FEATURES, feature_matrix

    names = list(FEATURES)
    columns = [names.index(name) for name in NAMES]
    sets = {"Bach (test)": list(reference("test"))}
    for path in sys.argv[1:]:
        with open(path, "rb") as file:
            sets[os.path.basename(path)] = pickle.load(file)
    print("| pieces | " + " | ".join(NAMES) + " |")
    for label, pieces in sets.items():
        rows = feature_matrix(list(pieces), bars=4).features
        means = rows[:, columns].mean(axis=0)
        print(f"| {label} | " + " | ".join(f"{m:.3f}" for m in means) + " |")


if __name__ == "__main__":
    main()
