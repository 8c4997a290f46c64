"""The web app: ``bachnet app``, a Gradio page that composes, plays and engraves chorales.

`Studio` does the work and knows nothing of Gradio: it loads models (once each), warms their
compiled generation up, composes or harmonises, and writes every file a click shows or offers
(MIDI, MusicXML, WAV, the score as SVG, the piano roll as PNG). `build` lays the page out
around a `Studio`, and `serve` starts it (extra ``bachnet[app]``). The compose button is also
the API endpoint ``generate``, so scripts can call it with ``gradio_client``.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bachnet.core.aliases import PathLike
from bachnet.data.corpus import Dataset
from bachnet.errors import InputError
from bachnet.formats import suffixes
from bachnet.formats.audio import AudioUnavailableError
from bachnet.formats.score import ScoreUnavailableError, write_score
from bachnet.generation.config import GenerationConfig
from bachnet.generation.samplers import available as available_samplers
from bachnet.generation.samplers import from_options
from bachnet.model.pretrained import presets
from bachnet.music.chorale import Chorale
from bachnet.music.keys import find_key
from bachnet.net import BachNet

if TYPE_CHECKING:
    import gradio

__all__ = [
    "KEYS",
    "PROMPTS",
    "Composition",
    "Studio",
    "build",
    "serve",
]

PROMPTS: tuple[str, ...] = ("none", "JSB test piece", "uploaded file")
"""Where the opening comes from (or, to harmonise, the melody)."""

KEYS: tuple[str, ...] = (
    "any",
    *(f"{tonic} major" for tonic in ("C", "G", "D", "A", "F", "Bb", "Eb")),
    *(f"{tonic} minor" for tonic in ("A", "E", "B", "D", "G", "C")),
)
"""Keys the app offers (``any``: the key the model chooses, moved into a plain key)."""

STEPS = (16, 256, 16)
"""The steps slider: lowest, highest, increment (16th notes; 16 = one 4/4 bar)."""


@dataclass(frozen=True)
class Composition:
    """One click's result: the chorale and the files written for it."""

    chorale: Chorale
    folder: Path
    midi: Path
    musicxml: Path
    wav: Path | None
    svg: str | None
    roll: Path | None
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def downloads(self) -> list[str]:
        """The files offered for download: MIDI, MusicXML and (when rendered) WAV."""
        return [str(p) for p in (self.midi, self.musicxml, self.wav) if p is not None]

    @property
    def summary(self) -> str:
        """One Markdown line: what was written, how long it took, and any notes."""
        key = find_key(self.chorale) if self.chorale.chords.any() else None
        parts = [
            f"**{self.chorale.name or 'chorale'}**: {len(self.chorale)} steps "
            f"({self.chorale.duration:g} quarter notes)"
            + (f", in {key}" if key is not None else "")
            + f"; composed and rendered in {self.seconds:.2f} s."
        ]
        return " ".join(parts + self.notes)


class Studio:
    """Loads models, composes and renders: the web app's work, without the web.

    Args:
        model: the model shown first: a preset name, a folder, or ``None`` for the default.
        folder: where each composition's files go (default: a new temporary folder).
        tempo: quarter notes per minute of the audio and MIDI.

    Examples:
        >>> studio = Studio()  # doctest: +SKIP
        >>> studio.compose(steps=32, seed=1).midi.suffix  # doctest: +SKIP
        '.mid'
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        folder: PathLike | None = None,
        tempo: float = 72.0,
    ) -> None:
        self.default_model = model or next(p.name for p in presets() if p.default)
        self.models = [p.name for p in presets()]
        if self.default_model not in self.models:
            self.models.insert(0, self.default_model)
        self.folder = (
            Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="bachnet-app-"))
        )
        self.tempo = tempo
        self._nets: dict[str, BachNet] = {}
        self._lock = threading.Lock()  # one composition at a time: the CPU is the limit
        self._count = 0

    def net(self, name: str | None = None) -> BachNet:
        """The model called ``name`` (a preset or folder), loaded once."""
        name = name or self.default_model
        if name not in self._nets:
            self._nets[name] = BachNet.from_pretrained(name)
        return self._nets[name]

    def warm_up(self, progress: Callable[[str], None] | None = None) -> float:
        """Compile the default model's generation for every steps-slider length.

        Compiled programs are shared by every length that pads to the same buffer, so after
        this no click with the default sampler recompiles, whatever the steps slider says.

        Returns:
            Seconds taken.
        """
        start = time.perf_counter()
        low, high, increment = STEPS
        for rules in (True, False):
            for steps in range(low, high + 1, increment):
                self.net().generate(
                    steps=steps, seed=0, sampler="top_p", rules="default" if rules else None
                )
            if progress is not None:
                progress(f"rules {'on' if rules else 'off'}: {time.perf_counter() - start:.0f} s")
        return time.perf_counter() - start

    def compose(
        self,
        *,
        model: str | None = None,
        sampler: str = "top_p",
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        rules: bool = True,
        steps: int = 128,
        seed: int | None = 0,
        key: str = "any",
        prompt: str = "none",
        test_piece: int = 0,
        upload: PathLike | None = None,
        prompt_steps: int = 16,
        harmonise: bool = False,
        audio: bool = True,
    ) -> Composition:
        """Compose (or harmonise) one chorale and write its files.

        Args:
            model: a preset name or model folder (default: the studio's model).
            sampler: a sampler name; ``temperature``, ``top_k`` and ``top_p`` refine it as
                `bachnet.generation.samplers.from_options` says.
            temperature: see ``sampler``.
            top_k: see ``sampler``.
            top_p: see ``sampler``.
            rules: apply the default voice-leading rules.
            steps: new 16th-note steps to compose.
            seed: makes the result repeatable (``None``: a new one each time).
            key: a name from `KEYS` (``"any"``: no key asked for).
            prompt: one of `PROMPTS`: no opening, the opening of a JSB test chorale, or of
                an uploaded ``.mid``/``.musicxml``/``.csv`` file.
            test_piece: which JSB test chorale (0-based) for ``prompt="JSB test piece"``.
            upload: the uploaded file for ``prompt="uploaded file"``.
            prompt_steps: how many opening steps of the prompt piece to continue from.
            harmonise: instead of continuing the prompt, keep its whole soprano as a melody
                and write alto, tenor and bass under it.
            audio: render the WAV file (FluidSynth); without it, no audio is written.

        Raises:
            InputError: a bad setting, a missing or unreadable prompt; the message says which.
        """
        start = time.perf_counter()
        if key not in KEYS:
            raise InputError(f"unknown key {key!r}; use one of {', '.join(KEYS)}")
        settings = GenerationConfig(
            steps=int(steps),
            sampler=from_options(sampler, temperature=temperature, top_k=top_k, top_p=top_p),
            rules="default" if rules else None,
            key=None if key == "any" else key,
        )
        piece = self._prompt(prompt, test_piece, upload)
        notes: list[str] = []
        with self._lock:
            net = self.net(model)
            if harmonise:
                if piece is None:
                    raise InputError("to harmonise, choose a JSB test piece or upload a melody")
                chorale = net.harmonize(piece, config=settings, seed=seed)
            else:
                opening = (
                    None if piece is None else Chorale(piece.chords[:prompt_steps], name=piece.name)
                )
                chorale = net.generate(opening, config=settings, seed=seed)
            self._count += 1
            folder = self.folder / f"{self._count:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            stem = "harmonisation" if harmonise else "chorale"
            named = Chorale(
                chorale.chords, name=f"bachnet {stem} {self._count}", fermatas=chorale.fermatas
            )
            with ThreadPoolExecutor(max_workers=1) as pool:  # FluidSynth runs beside the score
                rendering = (
                    pool.submit(
                        named.write, folder / f"{stem}.wav", tempo=self.tempo, sample_rate=22050
                    )
                    if audio
                    else None
                )
                midi = named.write(folder / f"{stem}.mid", tempo=self.tempo)
                musicxml = named.write(folder / f"{stem}.musicxml", tempo=self.tempo)
                svg = roll = None
                try:
                    svg = named.to_svg()
                except ScoreUnavailableError as error:
                    notes.append(f"(No score: {error}.)")
                try:
                    roll = write_score(named, folder / f"{stem}.roll.png")
                except ScoreUnavailableError as error:
                    notes.append(f"(No piano roll: {error}.)")
                wav = None
                if rendering is not None:
                    try:
                        wav = rendering.result()
                    except AudioUnavailableError as error:
                        notes.append(f"(No audio: {error}.)")
        return Composition(
            chorale=named,
            folder=folder,
            midi=midi,
            musicxml=musicxml,
            wav=wav,
            svg=svg,
            roll=roll,
            seconds=time.perf_counter() - start,
            notes=notes,
        )

    def _prompt(self, prompt: str, test_piece: int, upload: PathLike | None) -> Chorale | None:
        if prompt not in PROMPTS:
            raise InputError(f"unknown prompt {prompt!r}; use one of {', '.join(PROMPTS)}")
        if prompt == "none":
            return None
        if prompt == "JSB test piece":
            pieces = Dataset.jsb().split("test")
            if not 0 <= int(test_piece) < len(pieces):
                raise InputError(f"test piece {test_piece} is outside 0..{len(pieces) - 1}")
            return pieces[int(test_piece)]
        if upload is None:
            raise InputError(f"choose a file to upload ({', '.join(suffixes('read'))})")
        return Chorale.read(upload)


def build(studio: Studio) -> gradio.Blocks:
    """The page: settings on the left; score, piano roll, audio and downloads on the right.

    Raises:
        ImportError: Gradio is missing (``pip install 'bachnet[app]'``).
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home by default
    import gradio as gr

    low, high, increment = STEPS

    def generate(
        model: str,
        sampler: str,
        temperature: float,
        top_k: float,
        top_p: float,
        rules: bool,
        steps: float,
        seed: float,
        key: str,
        prompt: str,
        test_piece: float,
        upload: str | None,
        harmonise: bool,
    ) -> tuple[str, str | None, str | None, list[str], str]:
        try:
            result = studio.compose(
                model=model,
                sampler=sampler,
                temperature=None if temperature == 1.0 else float(temperature),
                top_k=int(top_k) or None,
                top_p=None if top_p >= 1.0 else float(top_p),
                rules=bool(rules),
                steps=int(steps),
                seed=None if seed is None or seed < 0 else int(seed),
                key=key,
                prompt=prompt,
                test_piece=int(test_piece),
                upload=upload,
                harmonise=bool(harmonise),
            )
        except (ValueError, OSError) as error:
            raise gr.Error(str(error)) from error
        svg = (result.svg or "").replace("<svg ", '<svg style="width:100%;height:auto" ', 1)
        score = f'<div id="bachnet-score" style="background:white">{svg}</div>'
        roll = str(result.roll) if result.roll else None
        wav = str(result.wav) if result.wav else None
        return score, roll, wav, result.downloads, result.summary

    with gr.Blocks(title="bachnet") as page:
        gr.Markdown(
            "# bachnet\nFour-voice chorales in the style of J.S. Bach: compose one, hear it, "
            "read its score, download it."
        )
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                model = gr.Dropdown(studio.models, value=studio.default_model, label="Model")
                sampler = gr.Dropdown(available_samplers(), value="top_p", label="Sampler")
                temperature = gr.Slider(
                    0.1, 2.0, value=1.0, step=0.05, label="Temperature (1 = off)"
                )
                top_k = gr.Slider(0, 47, value=0, step=1, label="Top-k (0 = off)")
                top_p = gr.Slider(0.5, 1.0, value=1.0, step=0.01, label="Top-p (1 = off)")
                rules = gr.Checkbox(value=True, label="Voice-leading rules")
                steps = gr.Slider(
                    low, high, value=128, step=increment, label="Steps (16 = one bar)"
                )
                seed = gr.Number(value=0, precision=0, label="Seed (-1 = random)")
                key = gr.Dropdown(list(KEYS), value="any", label="Key")
                prompt = gr.Radio(list(PROMPTS), value="none", label="Prompt")
                test_piece = gr.Number(value=0, precision=0, label="JSB test piece (0-76)")
                upload = gr.File(
                    label="Upload a prompt or melody",
                    file_types=list(suffixes("read")),
                    type="filepath",
                )
                harmonise = gr.Checkbox(
                    value=False, label="Harmonise the prompt's soprano instead of continuing it"
                )
                button = gr.Button("Compose", variant="primary", elem_id="compose")
            with gr.Column(scale=2):
                summary = gr.Markdown(elem_id="summary")
                audio = gr.Audio(label="Listen", type="filepath", elem_id="audio")
                score = gr.HTML(label="Score")
                roll = gr.Image(
                    label="Piano roll", show_label=False, type="filepath", elem_id="roll"
                )
                files = gr.File(label="Downloads", file_count="multiple", elem_id="downloads")
        button.click(
            generate,
            inputs=[
                model,
                sampler,
                temperature,
                top_k,
                top_p,
                rules,
                steps,
                seed,
                key,
                prompt,
                test_piece,
                upload,
                harmonise,
            ],
            outputs=[score, roll, audio, files, summary],
            api_name="generate",
        )
    return page


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    model: str | None = None,
    warm_up: bool = True,
    log: Callable[[str], None] = print,
) -> None:
    """Start the web app and block until it is stopped (Ctrl-C).

    Args:
        host: the address to listen on (``0.0.0.0`` to accept other machines).
        port: the port.
        model: the model shown first (a preset name or folder; default: the default preset).
        warm_up: compile generation for every steps-slider length before serving.
        log: where progress lines go.

    Raises:
        ImportError: Gradio is missing (``pip install 'bachnet[app]'``).
    """
    studio = Studio(model)
    page = build(studio)
    if warm_up:
        log(f"warming up {studio.default_model} ...")
        log(f"warm in {studio.warm_up(log):.1f} s")
    page.queue(default_concurrency_limit=1).launch(
        server_name=host,
        server_port=port,
        share=False,
        allowed_paths=[str(studio.folder)],
        show_error=True,
    )
