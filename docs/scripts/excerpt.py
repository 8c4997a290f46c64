"""Compose the home page's excerpt: a piano roll (PNG), the MIDI file and a Markdown fragment.

Run from the repository root once the default model is bundled (it needs the score extra)::

    python -m pip install -e ".[score]"
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
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def note_name(midi: int) -> str:
    """``60 -> "C4"``; ``0`` (silence) -> ``"-"``."""
    return "-" if midi == 0 else f"{NAMES[midi % 12]}{midi // 12 - 1}"


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
    from bachnet.formats.score import piano_roll

    piano_roll(chorale, title=title).savefig(args.out / "excerpt.png")
    (args.out / "excerpt.md").write_text(fragment(chorale.chords, command, label), encoding="utf-8")
    for name in ("excerpt.png", "excerpt.mid", "excerpt.md"):
        print(f"wrote {args.out / name}")


def _default_name() -> str:
    from bachnet.model.pretrained import get_preset

    try:
        return get_preset().name
    except ValueError:
        return "the bundled model"


if __name__ == "__main__":
    main()
