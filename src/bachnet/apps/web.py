"""The web app: ``bachnet app``, a Gradio page that composes, plays and engraves chorales.

`Studio` does the work and knows nothing of Gradio: it loads models (once each), warms their
compiled generation up, composes or harmonises, and writes every file a click shows or offers
(MIDI, MusicXML, WAV, the score as SVG, the piano roll as PNG). `build` lays the page out
around a `Studio`, and `serve` starts it (extra ``bachnet[app]``). The compose button is also
the API endpoint ``generate``, and the regenerate button (`Studio.fill`: rewrite some bars and
voices of the piece shown, a JSB test piece or an uploaded file) the endpoint ``fill``, so
scripts can call both with ``gradio_client``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from bachnet.apps.upload import UPLOAD_BYTES, read_upload
from bachnet.core.aliases import PathLike
from bachnet.data.corpus import Dataset
from bachnet.errors import InputError, LimitError
from bachnet.formats import suffixes
from bachnet.formats.audio import AudioUnavailableError
from bachnet.formats.score import ScoreUnavailableError, write_score
from bachnet.generation.config import GenerationConfig, choose_method
from bachnet.generation.samplers import available as available_samplers
from bachnet.generation.samplers import from_options
from bachnet.model.pretrained import presets
from bachnet.music.chorale import Chorale
from bachnet.music.keys import find_key
from bachnet.music.phrases import parse_phrases
from bachnet.music.regions import VOICE_LETTERS, parse_bars, parse_voices
from bachnet.net import BachNet

if TYPE_CHECKING:
    import gradio

__all__ = [
    "FILL_METHODS",
    "FILL_SOURCES",
    "HARMONISE",
    "KEYS",
    "PROMPTS",
    "Composition",
    "Studio",
    "build",
    "serve",
]

PROMPTS: tuple[str, ...] = ("none", "JSB test piece", "uploaded file")
"""Where the opening comes from (or, to harmonise, the melody or the bass)."""

HARMONISE: tuple[str, ...] = ("continue the prompt", "harmonise its soprano", "harmonise its bass")
"""What the page does with a prompt: continue it, or keep one of its lines and write the rest."""

FILL_SOURCES: tuple[str, ...] = ("the piece shown", "JSB test piece", "uploaded file")
"""The pieces `Studio.fill` rewrites: the studio's last result, a JSB test chorale, a file."""

FILL_METHODS: tuple[str, ...] = ("auto", "rerank", "gibbs")
"""How `Studio.fill` writes: the best of several left-to-right draws, or the filler network."""

_VOICE_NAMES = ("soprano", "alto", "tenor", "bass")

KEYS: tuple[str, ...] = (
    "any",
    *(f"{tonic} major" for tonic in ("C", "G", "D", "A", "F", "Bb", "Eb")),
    *(f"{tonic} minor" for tonic in ("A", "E", "B", "D", "G", "C")),
)
"""Keys the app offers (``any``: the key the model chooses, moved into a plain key)."""

FILL_SEED_OFFSET = 7919
"""A regeneration with seed ``s`` draws from ``s + 7919``: the compose call with the same seed
would otherwise draw the same first notes (and rewrite bar 1 as it was)."""

KEEP = 32
"""How many results' folders a `Studio` keeps by default (the oldest go first)."""

BUSY_SECONDS = 120.0
"""How long a request waits for the studio while others compose before it is turned away."""

WORKERS = 4
"""Requests the app works on at once: uploads are read side by side (each in its own child
process, `bachnet.apps.upload`), composing takes turns (one at a time)."""

QUEUE_SIZE = 32
"""Requests that may wait in the app's queue; more are turned away at once."""

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
    action: str = "composed"

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
            + f"; {self.action} and rendered in {self.seconds:.2f} s."
        ]
        return " ".join(parts + self.notes)


class Studio:
    """Loads models, composes and renders: the web app's work, without the web.

    Args:
        model: the model shown first: a preset name, a folder, or ``None`` for the default.
        folder: where each composition's files go (default: a new temporary folder).
        tempo: quarter notes per minute of the audio and MIDI.
        keep: how many results' folders to keep (older ones are removed as new ones come).

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
        keep: int = KEEP,
    ) -> None:
        if keep < 1:
            raise InputError(f"keep must be at least 1, got {keep}")
        self.default_model = model or next(p.name for p in presets() if p.default)
        self.models = [p.name for p in presets() if p.kind == "model"]
        if self.default_model not in self.models:
            self.models.insert(0, self.default_model)
        self._owns_folder = folder is None
        self.folder = (
            Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="bachnet-app-"))
        )
        self.keep = keep
        self.tempo = tempo
        self._nets: dict[str, BachNet] = {}
        self._lock = threading.Lock()  # one composition at a time: the CPU is the limit
        self._count = 0
        self.last: Composition | None = None
        """The piece shown: the last one this studio composed or regenerated."""

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
        harmonise_voice: str = "soprano",
        phrases: str = "",
        particles: int = 1,
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
            seed: makes the result repeatable (``None``: a new one each time, named in the
                summary so it can be repeated).
            key: a name from `KEYS` (``"any"``: no key asked for).
            prompt: one of `PROMPTS`: no opening, the opening of a JSB test chorale, or of
                an uploaded ``.mid``/``.musicxml``/``.csv`` file.
            test_piece: which JSB test chorale (0-based) for ``prompt="JSB test piece"``.
            upload: the uploaded file for ``prompt="uploaded file"``.
            prompt_steps: how many opening steps of the prompt piece to continue from.
            harmonise: instead of continuing the prompt, keep one of its lines whole (see
                ``harmonise_voice``) and write the other voices around it.
            harmonise_voice: the line ``harmonise`` keeps: ``"soprano"`` (a melody: alto,
                tenor and bass are written under it) or ``"bass"`` (soprano, alto and tenor
                are written over it).
            phrases: a phrase plan (`bachnet.music.phrases.parse_phrases`): lengths in
                quarters (``"8,8,12,8"``), ``"auto"`` (Bach's lengths), or empty (one cadence,
                at the end); a composition only.
            particles: drafts carried on side by side and resampled by what the phrase plan
                and the rules allow (`bachnet.generation.config.GenerationConfig.particles`;
                1: one draft, the fastest); a composition only. With more than one and a
                phrase plan, ``rules`` means the set made for them (``rules="particles"``,
                `bachnet.generation.rules.PARTICLES_RULES`).
            audio: render the WAV file (`bachnet.formats.audio`); without it, no audio is written.

        Raises:
            InputError: a bad setting, a missing or unreadable prompt; the message says which.
        """
        start = time.perf_counter()
        if key not in KEYS:
            raise InputError(f"unknown key {key!r}; use one of {', '.join(KEYS)}")
        if harmonise_voice not in ("soprano", "bass"):
            raise InputError(f"harmonise_voice must be soprano or bass, got {harmonise_voice!r}")
        drafts = 1 if harmonise else particles
        plan = None if harmonise else parse_phrases(phrases)
        made_for_drafts = bool(rules) and drafts > 1 and plan is not None
        settings = GenerationConfig(
            steps=int(steps),
            sampler=from_options(sampler, temperature=temperature, top_k=top_k, top_p=top_p),
            rules=("particles" if made_for_drafts else "default") if rules else None,
            key=None if key == "any" else key,
            phrases=plan,
            particles=drafts,
        )
        line = (3 if harmonise_voice == "bass" else 0) if harmonise else None
        piece = self._prompt(prompt, test_piece, upload, line)
        seed = _new_seed() if seed is None else seed
        with self._turn():
            net = self.net(model)
            if harmonise:
                if piece is None:
                    raise InputError(
                        f"to harmonise, choose a JSB test piece or upload a "
                        f"{'melody' if harmonise_voice == 'soprano' else 'bass line'}"
                    )
                if harmonise_voice == "bass":
                    chorale = net.harmonize(bass=piece, config=settings, seed=seed)
                else:
                    chorale = net.harmonize(piece, config=settings, seed=seed)
            else:
                opening = None if piece is None else piece.replace(piece.chords[:prompt_steps])
                chorale = net.generate(opening, config=settings, seed=seed)
            stem = "harmonisation" if harmonise else "chorale"
            notes = [_fermata_note(chorale)] if settings.phrases is not None else []
            if settings.particles > 1:
                kept = ' (rules: "particles")' if made_for_drafts else ""
                notes.append(f"{settings.particles} drafts carried on, one kept{kept}.")
            notes.append(f"Seed {seed}.")
            return self._render(chorale, stem, start=start, audio=audio, notes=notes)

    def fill(
        self,
        *,
        model: str | None = None,
        sampler: str = "top_p",
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        rules: bool = True,
        seed: int | None = 0,
        source: str = "the piece shown",
        test_piece: int = 0,
        upload: PathLike | None = None,
        bars: str = "",
        voices: str = VOICE_LETTERS,
        pickup: int | None = None,
        method: str = "auto",
        filler: str | None = None,
        audio: bool = True,
    ) -> Composition:
        """Regenerate some bars and voices of a piece, keep every other note, write its files.

        The result becomes the piece shown (`last`), so a second call can rewrite it again.

        Args:
            model: a preset name or model folder (default: the studio's model).
            sampler: a sampler name; ``temperature``, ``top_k`` and ``top_p`` refine it as
                `bachnet.generation.samplers.from_options` says (``method="rerank"`` only).
            temperature: see ``sampler``.
            top_k: see ``sampler``.
            top_p: see ``sampler``.
            rules: apply the default voice-leading rules to the notes written (with
                ``method="gibbs"``: their parallel fifths and octaves).
            seed: makes the result repeatable (``None``: a new one each time); the draw
                uses ``seed + FILL_SEED_OFFSET``, so it differs from a composition with the
                same seed.
            source: one of `FILL_SOURCES`: the piece shown (the last one this studio
                composed or regenerated), a JSB test chorale, or an uploaded file.
            test_piece: which JSB test chorale (0-based) for ``source="JSB test piece"``.
            upload: the uploaded ``.mid``/``.musicxml``/``.csv`` file for
                ``source="uploaded file"``.
            bars: the bars to rewrite, numbered as in the score (``"3-4"``, ``"2,5-6"``;
                bar 1 is the first full bar); empty: every bar.
            voices: the voices to rewrite, letters of ``"SATB"``.
            pickup: sixteenths before bar 1 (a pickup, bar 0), less than a bar; ``None``:
                the piece's own (`Chorale.pickup`).
            method: one of `FILL_METHODS`: ``"auto"`` (the one measured best for the mask,
                `bachnet.generation.config.choose_method`), ``"rerank"`` (the best-scored of
                several draws of the model) or ``"gibbs"`` (a filler network that sees the
                whole piece).
            filler: the filler for ``method="gibbs"``: a preset name or folder (``None``: the
                bundled ``jsb-coconet``).
            audio: render the WAV file (`bachnet.formats.audio`); without it, no audio is written.

        Returns:
            The new piece and its files; its summary says which bars and voices were
            rewritten and how many notes were written.

        Raises:
            InputError: nothing to regenerate yet, a bad source, bar, voice or setting, a
                missing or unreadable file; the message says which.

        Examples:
            >>> studio = Studio()  # doctest: +SKIP
            >>> first = studio.compose(steps=64, seed=1)  # doctest: +SKIP
            >>> studio.fill(bars="2-3", voices="AT", seed=2).notes[0]  # doctest: +SKIP
            'Regenerated bars 2-3 in alto and tenor (rerank): 9 notes over 32 sixteenths; ...'
        """
        start = time.perf_counter()
        if source not in FILL_SOURCES:
            raise InputError(f"unknown source {source!r}; use one of {', '.join(FILL_SOURCES)}")
        if method not in FILL_METHODS:
            raise InputError(f"method must be one of {', '.join(FILL_METHODS)}; got {method!r}")
        if source == FILL_SOURCES[0]:  # the piece shown
            piece = None if self.last is None else self.last.chorale
        else:
            piece = self._prompt(source, test_piece, upload)
        if piece is None:
            raise InputError(
                "nothing to regenerate yet: compose a piece first, or choose a JSB test piece "
                "or a file"
            )
        spec = str(bars).strip()
        mask = piece.mask(bars=spec or None, voices=voices, pickup=pickup)
        chosen = choose_method(mask) if method == "auto" else method
        label = f"{chosen}, auto" if method == "auto" else chosen
        settings = GenerationConfig(
            sampler=from_options(sampler, temperature=temperature, top_k=top_k, top_p=top_p),
            rules="default" if rules else None,
            method=chosen,  # type: ignore[arg-type]  # one of FILL_METHODS, checked above
            filler=filler,
        )
        seed = _new_seed() if seed is None else seed
        with self._turn():
            # a seed of its own: the compose seed again would redraw the same opening notes
            chorale = self.net(model).fill(
                piece, mask, config=settings, seed=seed + FILL_SEED_OFFSET
            )
            return self._render(
                chorale,
                "regeneration",
                start=start,
                audio=audio,
                action="regenerated",
                notes=[_rewritten(piece, chorale, mask, spec, voices, label), f"Seed {seed}."],
            )

    def _render(
        self,
        chorale: Chorale,
        stem: str,
        *,
        start: float,
        audio: bool,
        action: str = "composed",
        notes: list[str] | None = None,
    ) -> Composition:
        """Write ``chorale``'s files into the next numbered folder; it becomes `last`.

        Call it holding ``self._lock`` (it counts the folders). Only the `KEEP` newest
        folders are kept: older ones are removed.
        """
        notes = list(notes or [])
        self._count += 1
        folder = self.folder / f"{self._count:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for old in sorted(self.folder.glob("[0-9][0-9][0-9][0-9]"))[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)
        named = chorale.replace(name=f"bachnet {stem} {self._count}")
        with ThreadPoolExecutor(max_workers=1) as pool:  # the synthesiser runs beside the score
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
        self.last = Composition(
            chorale=named,
            folder=folder,
            midi=midi,
            musicxml=musicxml,
            wav=wav,
            svg=svg,
            roll=roll,
            seconds=time.perf_counter() - start,
            notes=notes,
            action=action,
        )
        return self.last

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """Hold the studio's lock (one composition at a time), waiting at most `BUSY_SECONDS`.

        Raises:
            LimitError: another request held the studio for `BUSY_SECONDS`.
        """
        if not self._lock.acquire(timeout=BUSY_SECONDS):
            raise LimitError(
                f"the studio has been busy for {BUSY_SECONDS:g} s with other requests; "
                "try again in a moment"
            )
        try:
            yield
        finally:
            self._lock.release()

    def close(self) -> None:
        """Remove the studio's folder if the studio made it (a temporary folder)."""
        if self._owns_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _prompt(
        self, prompt: str, test_piece: int, upload: PathLike | None, line: int | None = None
    ) -> Chorale | None:
        """The piece a prompt names; ``line``: the voice a one-part upload is (to harmonise)."""
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
        return read_upload(upload, line=line)


def _new_seed() -> int:
    """A fresh seed for a click without one, shown in the summary so it can be repeated."""
    return int(np.random.default_rng().integers(0, 2**31 - FILL_SEED_OFFSET))


def _fermata_note(piece: Chorale) -> str:
    """Where a piece's phrases end, as a musician counts bars and beats."""
    places = []
    for step in piece.fermatas:
        bar, into = divmod(step - piece.pickup, piece.bar_steps)
        places.append(f"{bar + 1}.{into // 4 + 1}")
    return f"{len(places)} phrases, fermatas at bar.beat {', '.join(places)}."


def _rewritten(
    before: Chorale,
    after: Chorale,
    mask: npt.NDArray[np.bool_],
    bars: str,
    voices: str,
    method: str,
) -> str:
    """One sentence for a fill's summary: which bars and voices, how many notes written."""
    numbers = parse_bars(bars) if bars else []
    runs: list[str] = []
    for bar in numbers:
        if runs and bar - 1 in numbers:
            runs[-1] = f"{runs[-1].split('-')[0]}-{bar}"
        else:
            runs.append(str(bar))
    where = (
        "every bar" if not numbers else f"bar{'s' if len(numbers) > 1 else ''} {', '.join(runs)}"
    )
    names = [_VOICE_NAMES[column] for column in parse_voices(voices)]
    who = (
        "every voice"
        if len(names) == len(_VOICE_NAMES)
        else " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))
    )
    chords = after.chords
    starts = np.ones(chords.shape, dtype=bool)  # a note starts where the pitch changes
    starts[1:] = chords[1:] != chords[:-1]
    written = int((mask & starts & (chords > 0)).sum())
    changed = int((mask & (chords != before.chords)).sum())
    cells = int(mask.sum())
    steps = int(mask.any(axis=1).sum())
    return (
        f"Regenerated {where} in {who} ({method}): {written} note{'s' if written != 1 else ''} "
        f"over {steps} sixteenths; {changed} of the {cells} voice-sixteenths differ from before."
    )


def build(studio: Studio) -> gradio.Blocks:
    """The page: settings on the left; score, piano roll, audio and downloads on the right.

    The compose button is the API endpoint ``generate``; the regenerate button (under
    "Regenerate bars") is ``fill``. Both answer with the score (HTML), the piano roll, the
    audio, the downloads and the summary.

    Raises:
        ImportError: Gradio is missing (``pip install 'bachnet[app]'``).
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home by default
    import gradio as gr

    low, high, increment = STEPS
    Shown = tuple[str, str | None, str | None, list[str], str]

    def show(result: Composition) -> Shown:
        svg = (result.svg or "").replace("<svg ", '<svg style="width:100%;height:auto" ', 1)
        score = f'<div id="bachnet-score" style="background:white">{svg}</div>'
        roll = str(result.roll) if result.roll else None
        wav = str(result.wav) if result.wav else None
        return score, roll, wav, result.downloads, result.summary

    def sampling(
        temperature: float, top_k: float, top_p: float
    ) -> tuple[float | None, int | None, float | None]:
        """The sliders' temperature, top-k and top-p; ``None`` where a slider says off."""
        return (
            None if temperature == 1.0 else float(temperature),
            int(top_k) or None,
            None if top_p >= 1.0 else float(top_p),
        )

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
        upload: str | None = None,  # a default: an API call by keyword may leave it out
        harmonise: bool = False,
        harmonise_mode: str = HARMONISE[0],
        phrases: str = "",
        particles: float = 1,
    ) -> Shown:
        # ``harmonise`` (a hidden checkbox) keeps the endpoint's first 13 inputs as they were:
        # True from an older script means "harmonise its soprano".
        if harmonise_mode not in HARMONISE:
            raise gr.Error(f"harmonise: use one of {', '.join(HARMONISE)}")
        if harmonise and harmonise_mode == HARMONISE[0]:
            harmonise_mode = HARMONISE[1]
        temperature_, top_k_, top_p_ = sampling(temperature, top_k, top_p)
        try:
            result = studio.compose(
                model=model,
                sampler=sampler,
                temperature=temperature_,
                top_k=top_k_,
                top_p=top_p_,
                rules=bool(rules),
                steps=int(steps),
                seed=None if seed is None or seed < 0 else int(seed),
                key=key,
                prompt=prompt,
                test_piece=int(test_piece),
                upload=upload,
                harmonise=harmonise_mode != HARMONISE[0],
                harmonise_voice="bass" if harmonise_mode == HARMONISE[2] else "soprano",
                phrases=phrases or "",
                particles=1 if particles is None else int(particles),
            )
        except (ValueError, OSError) as error:
            raise gr.Error(str(error)) from error
        return show(result)

    def fill(
        model: str,
        sampler: str,
        temperature: float,
        top_k: float,
        top_p: float,
        rules: bool,
        seed: float,
        source: str,
        test_piece: float,
        upload: str | None = None,  # defaults: an API call by keyword may leave them out
        bars: str | None = None,
        voices: list[str] | None = None,
        pickup: float | None = None,
        method: str = FILL_METHODS[0],
    ) -> Shown:
        temperature_, top_k_, top_p_ = sampling(temperature, top_k, top_p)
        try:
            result = studio.fill(
                model=model,
                sampler=sampler,
                temperature=temperature_,
                top_k=top_k_,
                top_p=top_p_,
                rules=bool(rules),
                seed=None if seed is None or seed < 0 else int(seed),
                source=source,
                test_piece=int(test_piece),
                upload=upload,
                bars=bars or "",
                voices="".join(voices or []),
                pickup=None if pickup is None else int(pickup),
                method=method,
            )
        except (ValueError, OSError) as error:
            raise gr.Error(str(error)) from error
        return show(result)

    # Gradio's own copies of uploads and results: checked every 10 minutes, gone after an hour
    with gr.Blocks(title="bachnet", delete_cache=(600, 3600)) as page:
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
                seed = gr.Number(
                    value=-1, precision=0, label="Seed (-1: a new one each click; see summary)"
                )
                key = gr.Dropdown(list(KEYS), value="any", label="Key")
                phrases = gr.Textbox(
                    value="",
                    label="Phrases: quarters each, or auto (empty: one cadence at the end)",
                    placeholder="8,8,12,8",
                    max_lines=1,
                    elem_id="phrases",
                )
                particles = gr.Slider(
                    1,
                    16,
                    value=1,
                    step=1,
                    label="Drafts carried on toward the cadences (1 = one draft, fastest)",
                    elem_id="particles",
                )
                prompt = gr.Radio(list(PROMPTS), value="none", label="Prompt")
                test_piece = gr.Number(value=0, precision=0, label="JSB test piece (0-76)")
                upload = gr.File(
                    label="Upload a prompt, melody or bass line",
                    file_types=list(suffixes("read")),
                    type="filepath",
                )
                legacy_harmonise = gr.Checkbox(value=False, visible=False)
                harmonise = gr.Radio(
                    list(HARMONISE),
                    value=HARMONISE[0],
                    label="With the prompt",
                    elem_id="harmonise",
                )
                button = gr.Button("Compose", variant="primary", elem_id="compose")
                with gr.Accordion("Regenerate bars", open=True, elem_id="regenerate-bars"):
                    source = gr.Radio(
                        list(FILL_SOURCES),
                        value=FILL_SOURCES[0],
                        label="Piece to regenerate (JSB test piece, upload: as chosen above)",
                        elem_id="source",
                    )
                    bars = gr.Textbox(
                        value="",
                        label="Bars (e.g. 3-4; empty = all)",
                        placeholder="3-4",
                        max_lines=1,
                        elem_id="bars",
                    )
                    voices = gr.CheckboxGroup(
                        [
                            (name, letter)
                            for name, letter in zip(_VOICE_NAMES, VOICE_LETTERS, strict=True)
                        ],
                        value=list(VOICE_LETTERS),
                        label="Voices",
                        elem_id="voices",
                    )
                    pickup = gr.Number(
                        value=None,
                        precision=0,
                        minimum=0,
                        maximum=15,
                        label="Pickup before bar 1 (16ths; empty: the piece's own)",
                        elem_id="pickup",
                    )
                    method = gr.Radio(
                        list(FILL_METHODS),
                        value=FILL_METHODS[0],
                        label="Method (gibbs: a filler network that sees the whole piece)",
                        elem_id="method",
                    )
                    regenerate = gr.Button("Regenerate", elem_id="regenerate")
            with gr.Column(scale=2):
                summary = gr.Markdown(elem_id="summary")
                audio = gr.Audio(label="Listen", type="filepath", elem_id="audio")
                score = gr.HTML(label="Score")
                roll = gr.Image(
                    label="Piano roll", show_label=False, type="filepath", elem_id="roll"
                )
                files = gr.File(label="Downloads", file_count="multiple", elem_id="downloads")
        outputs = [score, roll, audio, files, summary]
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
                legacy_harmonise,
                harmonise,
                phrases,
                particles,
            ],
            outputs=outputs,
            api_name="generate",
        )
        regenerate.click(
            fill,
            inputs=[
                model,
                sampler,
                temperature,
                top_k,
                top_p,
                rules,
                seed,
                source,
                test_piece,
                upload,
                bars,
                voices,
                pickup,
                method,
            ],
            outputs=outputs,
            api_name="fill",
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

    Requests are queued (`QUEUE_SIZE` waiting at most), `WORKERS` at a time: uploads are read
    side by side, each in a child process with its own size, length, time and memory caps
    (`bachnet.apps.upload`), and composing takes turns, a request waiting at most
    `BUSY_SECONDS`. Uploads over `bachnet.apps.upload.UPLOAD_BYTES` are refused by the server.
    The studio's temporary folder is removed when the app stops.

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
    try:
        page = build(studio)
        if warm_up:
            log(f"warming up {studio.default_model} ...")
            log(f"warm in {studio.warm_up(log):.1f} s")
        page.queue(default_concurrency_limit=WORKERS, max_size=QUEUE_SIZE).launch(
            server_name=host,
            server_port=port,
            share=False,
            allowed_paths=[str(studio.folder)],
            show_error=True,
            max_file_size=UPLOAD_BYTES,
        )
    finally:
        studio.close()
