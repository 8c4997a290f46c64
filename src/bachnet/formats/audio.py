"""Audio: a chorale rendered offline through FluidSynth with a General MIDI SoundFont.

The `AUDIO` format of the table (`bachnet.music.table`: ``.wav``, ``.flac``, ``.ogg``, written
only) and `render`, the converter behind `Chorale.to_audio`.

Rendering needs the optional extra ``bachnet[audio]`` (the ``pyfluidsynth`` binding and
``pretty-midi``, which ships the small TimGM6mb SoundFont) and the FluidSynth library itself
(Debian/Ubuntu: ``apt install libfluidsynth3``; macOS: ``brew install fluid-synth``). Any
General MIDI ``.sf2`` file can be used instead of the default one.
"""

from __future__ import annotations

import io
import os
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bachnet.core.aliases import PathLike
from bachnet.core.files import atomic_path
from bachnet.errors import BachNetError, InputError, LimitError
from bachnet.music.grid import STEP_QUARTERS, check_tempo
from bachnet.music.table import Format, WriteOptions

if TYPE_CHECKING:
    from bachnet.music.chorale import Chorale

__all__ = [
    "AUDIO",
    "AUDIO_SUFFIXES",
    "INSTRUMENTS",
    "MAX_AUDIO_SECONDS",
    "AudioUnavailableError",
    "find_soundfont",
    "render",
    "require",
    "wav_bytes",
    "write_audio",
]

AUDIO_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg")
"""File suffixes `write_audio` understands (``.flac``/``.ogg`` need the ``soundfile`` package)."""

INSTRUMENTS: dict[str, int] = {"choir": 52, "organ": 19, "strings": 48, "piano": 0, "flute": 73}
"""Instrument names -> General MIDI programs (0-based): ``choir`` is "Choir Aahs"."""

MAX_AUDIO_SECONDS = 3600
"""The longest audio `render` writes (an hour: about 600 MB of 16-bit stereo at 44.1 kHz)."""

SOUNDFONT_ENV = "BACHNET_SOUNDFONT"
"""Environment variable naming a ``.sf2`` file to use when none is passed."""

_SYSTEM_SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # Debian/Ubuntu fluid-soundfont-gm
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",  # Fedora, Arch
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
)
_VELOCITY = 80
_BLOCK = 4096


class AudioUnavailableError(BachNetError, RuntimeError):
    """The audio extra, the FluidSynth library or a SoundFont is missing."""


def require(suffix: str = ".wav", soundfont: PathLike | None = None) -> None:
    """Check, before any work, that audio in ``suffix`` can be written.

    Raises:
        AudioUnavailableError: the extra, the FluidSynth library, a SoundFont or (for
            ``.flac``/``.ogg``) ``soundfile`` is missing; the message says what to install.
        FileNotFoundError: ``soundfont`` names no file.
    """
    _fluidsynth()
    find_soundfont(soundfont)
    if suffix.lower() in (".flac", ".ogg"):
        try:
            import soundfile  # noqa: F401
        except ImportError as error:
            raise AudioUnavailableError(
                f"writing {suffix} needs the soundfile package: pip install 'bachnet[audio]'"
            ) from error


def find_soundfont(soundfont: PathLike | None = None) -> Path:
    """The SoundFont to render with.

    In order: ``soundfont`` if given; the file named by ``$BACHNET_SOUNDFONT``; a system
    General MIDI font (Debian's ``fluid-soundfont-gm``, Fedora's, Homebrew's); the TimGM6mb
    font that ``pretty-midi`` ships.

    Raises:
        FileNotFoundError: ``soundfont`` (or ``$BACHNET_SOUNDFONT``) names no file.
        AudioUnavailableError: no SoundFont was found at all.

    Examples:
        >>> find_soundfont().suffix  # doctest: +SKIP
        '.sf2'
    """
    chosen = soundfont if soundfont is not None else os.environ.get(SOUNDFONT_ENV) or None
    if chosen is not None:
        path = Path(chosen)
        if not path.is_file():
            raise FileNotFoundError(f"SoundFont {path} does not exist or is not a file")
        return path
    for candidate in _SYSTEM_SOUNDFONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    try:
        import pretty_midi
    except ImportError:
        pass
    else:
        bundled = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
        if bundled.is_file():
            return bundled
    raise AudioUnavailableError(
        "no General MIDI SoundFont found: pass soundfont=PATH, set $BACHNET_SOUNDFONT, or "
        "install one (pip install 'bachnet[audio]', or apt install fluid-soundfont-gm)"
    )


def render(
    chorale: Chorale,
    *,
    tempo: float = 60.0,
    sample_rate: int = 44100,
    instrument: str | int = "choir",
    soundfont: PathLike | None = None,
    tail: float = 1.0,
) -> npt.NDArray[np.float32]:
    """Render ``chorale`` to stereo samples through FluidSynth.

    Each voice plays on its own MIDI channel with the same instrument; a note held over
    several steps (equal pitches in a row) sounds once; silence is silence. The result lasts
    exactly the chorale's length at ``tempo`` plus ``tail`` seconds for the last notes'
    release.

    Args:
        chorale: the piece.
        tempo: quarter notes per minute.
        sample_rate: samples per second (8000..192000).
        instrument: a name from `INSTRUMENTS` or a General MIDI program 0..127.
        soundfont: a ``.sf2`` file (default: see `find_soundfont`).
        tail: seconds of release after the last step (>= 0).

    Returns:
        Float samples in -1..1, shape ``(frames, 2)``.

    Raises:
        InputError: a bad tempo, sample rate, tail or instrument.
        LimitError: more than `MAX_AUDIO_SECONDS` of audio.
        AudioUnavailableError: the extra, the FluidSynth library or a SoundFont is missing.

    Examples:
        >>> from bachnet import Chorale
        >>> samples = render(Chorale([[69, 0, 0, 0]] * 16), tail=0)  # doctest: +SKIP
        >>> samples.shape  # 4 quarters at 60 per minute  # doctest: +SKIP
        (176400, 2)
    """
    check_tempo(tempo)
    if not 8000 <= sample_rate <= 192000:
        raise InputError(f"sample_rate must be 8000..192000 Hz, got {sample_rate}")
    if not (np.isfinite(tail) and 0 <= tail <= 60):
        raise InputError(f"tail must be 0..60 seconds, got {tail}")
    seconds = len(chorale) * STEP_QUARTERS * 60.0 / tempo + tail
    if seconds > MAX_AUDIO_SECONDS:
        raise LimitError(
            f"{len(chorale):,} steps at {tempo:g} quarter notes per minute last "
            f"{seconds / 60:,.0f} minutes, more than the {MAX_AUDIO_SECONDS // 60} minutes of "
            "audio bachnet renders; write MIDI instead, or a faster tempo"
        )
    program = _program(instrument)
    font = find_soundfont(soundfont)
    fluidsynth = _fluidsynth()
    synth = fluidsynth.Synth(gain=1.0, samplerate=float(sample_rate))
    try:
        font_id = synth.sfload(str(font))
        if font_id == -1:
            raise AudioUnavailableError(f"FluidSynth could not load the SoundFont {font}")
        for channel in range(4):
            synth.program_select(channel, font_id, 0, program)
        seconds_per_step = STEP_QUARTERS * 60.0 / tempo
        chords = chorale.chords
        total = round(len(chords) * seconds_per_step * sample_rate)
        pieces: list[npt.NDArray[np.int16]] = []
        done = 0
        sounding = [0, 0, 0, 0]
        for step in range(len(chords) + 1):
            until = round(step * seconds_per_step * sample_rate)
            if until > done:
                pieces.append(_samples(synth, until - done))
                done = until
            row = chords[step] if step < len(chords) else (0, 0, 0, 0)
            for channel in range(4):
                pitch = int(row[channel])
                if pitch != sounding[channel]:
                    if sounding[channel]:
                        synth.noteoff(channel, sounding[channel])
                    if pitch:
                        synth.noteon(channel, pitch, _VELOCITY)
                    sounding[channel] = pitch
        pieces.append(_samples(synth, round(tail * sample_rate)))
    finally:
        synth.delete()
    stereo = np.concatenate(pieces).reshape(-1, 2).astype(np.float32) / 32768.0
    assert len(stereo) == total + round(tail * sample_rate)
    return stereo


def write_audio(path: PathLike, samples: npt.ArrayLike, sample_rate: int = 44100) -> Path:
    """Write samples (``(frames,)`` or ``(frames, channels)``, floats in -1..1) atomically.

    ``.wav`` is 16-bit PCM through the standard library; ``.flac`` and ``.ogg`` use the
    ``soundfile`` package.

    Raises:
        InputError: an unknown suffix or samples of the wrong shape.
        AudioUnavailableError: ``.flac``/``.ogg`` without ``soundfile``.

    Examples:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.wav"
        >>> write_audio(out, np.zeros((100, 2)), 8000).stat().st_size  # 44-byte header
        444
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in AUDIO_SUFFIXES:
        raise InputError(
            f"{target}: unknown audio suffix {suffix!r}; use one of {', '.join(AUDIO_SUFFIXES)}"
        )
    data = _frames(samples)
    with atomic_path(target, suffix=suffix) as tmp:
        if suffix == ".wav":
            tmp.write_bytes(wav_bytes(data, sample_rate))
        else:
            try:
                import soundfile
            except ImportError as error:
                raise AudioUnavailableError(
                    f"writing {suffix} needs the soundfile package: pip install 'bachnet[audio]'"
                ) from error
            soundfile.write(
                str(tmp), np.clip(data, -1.0, 1.0), sample_rate, format=suffix[1:].upper()
            )
    return target


def wav_bytes(samples: npt.ArrayLike, sample_rate: int) -> bytes:
    """16-bit PCM WAV bytes of float samples in -1..1 (``(frames,)`` or ``(frames, channels)``).

    Examples:
        >>> len(wav_bytes(np.zeros(100), 8000))  # a 44-byte header and 200 bytes of samples
        244
    """
    pcm = (np.clip(_frames(samples), -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(pcm.shape[1])
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _frames(samples: npt.ArrayLike) -> npt.NDArray[np.float64]:
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or not 1 <= data.shape[1] <= 8:
        raise InputError(
            f"samples must have shape (frames,) or (frames, channels), got {data.shape}"
        )
    if not np.all(np.isfinite(data)):
        raise InputError("samples must be finite numbers (found NaN or infinity)")
    return data


def _program(instrument: str | int) -> int:
    if isinstance(instrument, str):
        if instrument not in INSTRUMENTS:
            raise InputError(
                f"unknown instrument {instrument!r}; use a General MIDI program 0..127 or one "
                f"of {', '.join(INSTRUMENTS)}"
            )
        return INSTRUMENTS[instrument]
    if isinstance(instrument, bool) or not isinstance(instrument, int | np.integer):
        raise InputError(f"instrument must be a name or a program number, got {instrument!r}")
    if not 0 <= instrument <= 127:
        raise InputError(f"a General MIDI program is 0..127, got {instrument}")
    return int(instrument)


def _samples(synth: Any, frames: int) -> npt.NDArray[np.int16]:
    out = [
        np.asarray(synth.get_samples(min(_BLOCK, frames - done)), dtype=np.int16)
        for done in range(0, frames, _BLOCK)
    ]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int16)


def _fluidsynth() -> Any:
    try:
        import fluidsynth
    except ImportError as error:
        raise AudioUnavailableError(
            "audio needs the audio extra (pip install 'bachnet[audio]') and the FluidSynth "
            "library (Debian/Ubuntu: apt install libfluidsynth3; macOS: brew install "
            f"fluid-synth): {error}"
        ) from error
    if not hasattr(fluidsynth, "Synth"):  # a different package named fluidsynth
        raise AudioUnavailableError(
            "the installed 'fluidsynth' module is not pyfluidsynth: pip install pyfluidsynth"
        )
    return fluidsynth


def _write(chorale: Chorale, path: Path, options: WriteOptions) -> Path:
    samples = chorale.to_audio(
        tempo=options.tempo,
        sample_rate=options.sample_rate,
        instrument=options.instrument,
        soundfont=options.soundfont,
    )
    return write_audio(path, samples, options.sample_rate)


def _require(path: Path) -> None:
    require(path.suffix)


AUDIO = Format(
    "audio",
    AUDIO_SUFFIXES,
    "audio rendered by FluidSynth with a General MIDI SoundFont",
    write=_write,
    extra="audio",
    require=_require,
)
"""``.wav``/``.flac``/``.ogg``: written only (extra ``bachnet[audio]``)."""
