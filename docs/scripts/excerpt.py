"""Compose the home page's excerpt: a piano roll (PNG), the MIDI file and a Markdown fragment.

Run from the repository root once the default model is bundled (it needs matplotlib)::

    python -m pip install matplotlib
    python docs/scripts/excerpt.py                      # BachNet.from_pretrained(), seed 1
    python docs/scripts/excerpt.py --model runs/small/model --seed 4 --steps 64

It writes ``docs/assets/excerpt.png``, ``docs/assets/excerpt.mid`` and
``docs/assets/excerpt.md``; the home page includes the last one (``--8<--``), so the new
excerpt shows up on the next ``mkdocs build``. Without a usable model it prints why, leaves
the three files as they are (the committed ``excerpt.md`` is a note saying the excerpt is still
to come) and exits with status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ASSETS = Path(__file__).resolve().parents[1] / "assets"
COLOURS = {"Soprano": "#c0392b", "Alto": "#e67e22", "Tenor": "#2980b9", "Bass": "#27ae60"}
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def note_name(midi: int) -> str:
    """``60 -> "C4"``; ``0`` (silence) -> ``"-"``."""
    return "-" if midi == 0 else f"{NAMES[midi % 12]}{midi // 12 - 1}"


def piano_roll(chords: Any, path: Path, title: str) -> Path:
    """Draw one bar per held note (consecutive equal pitches merged), a colour per voice."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from bachnet.chorale import VOICES

    steps = len(chords)
    fig, ax = plt.subplots(figsize=(10, 4), dpi=150)
    for voice, name in enumerate(VOICES):
        column = chords[:, voice]
        edges = np.flatnonzero(np.diff(column)) + 1
        starts = np.concatenate([[0], edges])
        stops = np.concatenate([edges, [steps]])
        bars = [(s, e - s) for s, e in zip(starts, stops, strict=True) if column[s] > 0]
        for start, length in bars:
            pitch = int(column[start])
            ax.broken_barh([(start, length)], (pitch - 0.4, 0.8), color=COLOURS[name])
        ax.plot([], [], color=COLOURS[name], linewidth=6, label=name)
    for step in range(0, steps + 1, 4):  # beats (quarter notes); bars every 16 steps
        ax.axvline(step, color="0.5" if step % 16 == 0 else "0.88", linewidth=0.8, zorder=0)
    notes = chords[chords > 0]
    low, high = (int(notes.min()), int(notes.max())) if notes.size else (48, 72)
    ticks = [m for m in range(low - 2, high + 3) if m % 12 in (0, 7)]  # C and G
    ax.set_yticks(ticks, [note_name(m) for m in ticks])
    ax.set_ylim(low - 2, high + 2)
    ax.set_xlim(0, steps)
    ax.set_xticks(range(0, steps + 1, 16), [str(b + 1) for b in range(steps // 16 + 1)])
    ax.set_xlabel("bar (4/4, sixteenth-note grid)")
    ax.set_title(title, fontsize=9, loc="right")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=4, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def fragment(chords: Any, command: str, model: str, rows: int = 16) -> str:
    """The Markdown the home page includes: the image, the MIDI link, the first ``rows`` steps."""
    lines = [
        "![Piano roll of a four-voice chorale composed by bachnet](assets/excerpt.png)",
        "",
        f"Composed by `{model}` with `{command}`. "
        "[Download the MIDI file](assets/excerpt.mid) to hear it.",
        "",
        f"The first {rows} sixteenth notes as the model wrote them (one row per grid step;",
        "a note held over several steps repeats its name):",
        "",
        "| step | soprano | alto | tenor | bass |",
        "| ---: | :---: | :---: | :---: | :---: |",
    ]
    for step, chord in enumerate(chords[:rows]):
        lines.append(f"| {step} | " + " | ".join(note_name(int(p)) for p in chord) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="default: the bundled model")
    parser.add_argument("--steps", type=int, default=64, help="16th notes (64 = four bars)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sampler", default="top_p")
    parser.add_argument("--out", type=Path, default=ASSETS, help="default: docs/assets")
    args = parser.parse_args()

    from bachnet import BachNet, ModelFileError

    try:
        net = BachNet.from_pretrained(args.model)
    except (ModelFileError, ValueError, OSError) as error:
        print(
            f"no excerpt written: cannot load {args.model or 'the bundled model'} ({error}).\n"
            f"{args.out / 'excerpt.md'} keeps its note; rerun once a model is bundled, "
            "or pass --model FOLDER.",
            file=sys.stderr,
        )
        sys.exit(1)
    chorale = net.generate(steps=args.steps, sampler=args.sampler, seed=args.seed)
    assert not isinstance(chorale, list)
    label = args.model or _default_name()
    command = f"bachnet generate --steps {args.steps} --sampler {args.sampler} --seed {args.seed}"
    if args.model:
        command += f" --model {args.model}"
    args.out.mkdir(parents=True, exist_ok=True)
    chorale.write(args.out / "excerpt.mid", tempo=72)
    title = f"bachnet, {label}: {args.steps} sixteenth notes, {args.sampler}, seed {args.seed}"
    piano_roll(chorale.chords, args.out / "excerpt.png", title)
    (args.out / "excerpt.md").write_text(fragment(chorale.chords, command, label), encoding="utf-8")
    for name in ("excerpt.png", "excerpt.mid", "excerpt.md"):
        print(f"wrote {args.out / name}")


def _default_name() -> str:
    from bachnet.presets import get_preset

    try:
        return get_preset().name
    except ValueError:
        return "the bundled model"


if __name__ == "__main__":
    main()
