"""The web app's click: compose 128 steps and render every file, after warm-up.

Times `bachnet.apps.web.Studio.compose` (what the compose button runs: generation, MIDI,
MusicXML, WAV, the engraved SVG score and the piano roll), each part on its own as well, for
several seeds and steps-slider values after `Studio.warm_up`. It also sweeps the steps slider
after warm-up and prints the slowest generation: a compile costs seconds, so a sweep that
stays well under a second compiled nothing. With ``--serve`` it starts the real Gradio app on a
loopback port and times the ``generate`` API call end to end through ``gradio_client``.

Target (issue [listen]): a click answers in <= 2 s for 128 steps on a 2-core CPU.

Run:
    python benchmarks/app.py
    python benchmarks/app.py --serve --repeats 5
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def parts(studio: object, steps: int) -> dict[str, float]:
    """Seconds for each piece of one click, measured one by one."""
    from bachnet.formats.score import write_score

    net = studio.net()  # type: ignore[attr-defined]
    folder = tempfile.mkdtemp()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    chorale = net.generate(steps=steps, seed=11)
    timings["generate"] = time.perf_counter() - start
    for name, work in (
        ("MIDI", lambda: chorale.write(f"{folder}/c.mid")),
        ("MusicXML", lambda: chorale.write(f"{folder}/c.musicxml")),
        ("WAV (22.05 kHz)", lambda: chorale.write(f"{folder}/c.wav", sample_rate=22050)),
        ("SVG score", chorale.to_svg),
        ("piano roll PNG", lambda: write_score(chorale, f"{folder}/c.roll.png")),
    ):
        start = time.perf_counter()
        work()
        timings[name] = time.perf_counter() - start
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="default: the bundled model")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help="also time the real app's API")
    args = parser.parse_args()

    from bachnet.apps.web import STEPS, Studio
    from bachnet.generation.decoder import compiled_loops

    studio = Studio(args.model)
    print(f"model {studio.default_model}; warming up ...", flush=True)
    print(f"warm-up: {studio.warm_up():.1f} s")
    compiled = len(compiled_loops(studio.net()))
    clicks = []
    for i in range(args.repeats):
        steps = (128, 64, 192, 128, 16, 256)[i % 6]
        result = studio.compose(steps=steps, seed=i)
        clicks.append((steps, result.seconds))
        print(f"click {i + 1}: {steps:3d} steps -> {result.seconds:.2f} s")
    at_128 = [s for steps, s in clicks if steps == 128]
    print(f"128 steps: median {statistics.median(at_128):.2f} s over {len(at_128)} clicks")
    after = len(compiled_loops(studio.net()))
    print(f"generation programs (sampler x rules): {compiled} after warm-up, {after} after")
    low, high, increment = STEPS
    sweep = []
    for steps in range(low, high + 1, increment):  # a compile would cost seconds: none shows
        start = time.perf_counter()
        studio.net().generate(steps=steps, seed=steps)
        sweep.append((time.perf_counter() - start, steps))
    slowest, at = max(sweep)
    print(
        f"steps slider swept {low}..{high}: generation {min(sweep)[0]:.2f}..{slowest:.2f} s "
        f"(slowest at {at} steps), no compile"
    )
    print("one click, part by part (128 steps, serial):")
    for name, seconds in parts(studio, 128).items():
        print(f"  {name:18s} {seconds:.3f} s")
    if args.serve:
        serve_and_time(args.model, args.repeats)


def serve_and_time(model: str | None, repeats: int) -> None:
    """Start ``bachnet app`` and time the ``generate`` API end to end."""
    from gradio_client import Client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "bachnet", "app", "--port", str(port)]
    if model:
        command += ["--model", model]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"http://127.0.0.1:{port}/"
    try:
        started = time.perf_counter()
        while True:
            try:
                urllib.request.urlopen(address, timeout=5).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise SystemExit("the app exited") from None
                time.sleep(0.5)
        print(f"app ready (with warm-up) after {time.perf_counter() - started:.1f} s")
        client = Client(address, verbose=False, download_files=tempfile.mkdtemp())
        model_name = model or "jsb-beat"
        for i in range(repeats):
            start = time.perf_counter()
            client.predict(
                model_name, "top_p", 1.0, 0, 1.0, True, 128, i, "any", "none", 0, None, False,
                api_name="/generate",
            )  # fmt: skip
            print(f"API click {i + 1}: {time.perf_counter() - start:.2f} s (with downloads)")
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
