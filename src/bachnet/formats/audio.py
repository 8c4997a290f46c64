"""Audio: a chorale rendered offline with a General MIDI SoundFont.

The `AUDIO` format of the table (`bachnet.music.table`: ``.wav``, ``.flac``, ``.ogg``, written
only) and `render`, the converter behind `Chorale.to_audio`.

Rendering needs the optional extra ``bachnet[audio]`` and nothing else: ``pretty-midi`` ships
the small TimGM6mb SoundFont, and the ``midirenderer`` wheel (a synthesiser compiled in, for
Linux x86-64, macOS and Windows) renders with it. Where the FluidSynth library is installed
(Debian/Ubuntu: ``apt install libfluidsynth3``; macOS: ``brew install fluid-synth``) the
``pyfluidsynth`` binding of the extra uses it instead; `audio_backend` says which one renders.
Any General MIDI ``.sf2`` file can be used instead of the default one.
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
    "BACKENDS",
    "INSTRUMENTS",
    "MAX_AUDIO_SECONDS",
    "AudioUnavailableError",
    "audio_backend",
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
BACKENDS: tuple[str, ...] = ("fluidsynth", "midirenderer")
"""The synthesisers `render` can use, in the order it tries them (see `audio_backend`)."""

_VELOCITY = 80
_BLOCK = 4096
_TICKS_PER_SECOND = 24000
"""MIDI clock of the file handed to midirenderer: one quarter a second, 24000 ticks each."""
_MIDIRENDERER_GAIN = 2.5
"""midirenderer plays about 8 dB below FluidSynth at ``gain=1.0``: this brings it level."""
_SINC_TAPS = 16
_SINC_PHASES = 1024
_RESAMPLE_BLOCK = 16384


class AudioUnavailableError(BachNetError, RuntimeError):
    """The audio extra, a synthesiser or a SoundFont is missing."""


def require(suffix: str = ".wav", soundfont: PathLike | None = None) -> None:
    """Check, before any work, that audio in ``suffix`` can be written.

    Raises:
        AudioUnavailableError: the extra (no synthesiser), a SoundFont or (for
            ``.flac``/``.ogg``) ``soundfile`` is missing; the message says what to install.
        FileNotFoundError: ``soundfont`` names no file.
    """
    audio_backend()
    find_soundfont(soundfont)
    if suffix.lower() in (".flac", ".ogg"):
        try:
            import soundfile  # noqa: F401
        except ImportError as error:
            raise AudioUnavailableError(
                f"writing {suffix} needs the soundfile package: pip install 'bachnet[audio]'"
            ) from error


def audio_backend() -> str:
    """The synthesiser `render` uses now, one of `BACKENDS`.

    ``"fluidsynth"`` when the ``pyfluidsynth`` binding and the FluidSynth library load, else
    ``"midirenderer"`` when that wheel is installed (it needs no system library).

    Raises:
        AudioUnavailableError: neither is there; the message names both ways to get audio.

    Examples:
        >>> audio_backend() in BACKENDS  # doctest: +SKIP
        True
    """
    try:
        _fluidsynth()
    except AudioUnavailableError as fluid_error:
        try:
            _midirenderer()
        except AudioUnavailableError as wheel_error:
            raise AudioUnavailableError(
                "audio needs the audio extra: pip install 'bachnet[audio]' (its midirenderer "
                "wheel renders on Linux x86-64, macOS and Windows), or pyfluidsynth with the "
                "FluidSynth library (Debian/Ubuntu: apt install libfluidsynth3; macOS: brew "
                f"install fluid-synth). FluidSynth: {fluid_error.__cause__ or fluid_error} "
                f"midirenderer: {wheel_error.__cause__ or wheel_error}"
            ) from fluid_error
        return "midirenderer"
    return "fluidsynth"


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
    """Render ``chorale`` to stereo samples with the synthesiser `audio_backend` names.

    Each voice plays on its own MIDI channel with the same instrument; a note held over
    several steps (equal pitches in a row) sounds once; silence is silence. The result lasts
    exactly the chorale's length at ``tempo`` plus ``tail`` seconds for the last notes'
    release. FluidSynth renders at ``sample_rate``; midirenderer renders at 48 kHz, which is
    then resampled (windowed sinc) and brought to FluidSynth's level, turned down as a whole
    where that would pass full scale.

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
        AudioUnavailableError: the extra (no synthesiser) or a SoundFont is missing, or the
            synthesiser cannot read the SoundFont.

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
    backend = audio_backend()
    seconds_per_step = STEP_QUARTERS * 60.0 / tempo
    events = _events(chorale)
    frames = round(len(chorale) * seconds_per_step * sample_rate) + round(tail * sample_rate)
    if backend == "fluidsynth":
        stereo = _render_fluidsynth(events, font, program, seconds_per_step, sample_rate, frames)
    else:
        stereo = _render_midirenderer(events, font, program, seconds_per_step, sample_rate, seconds)
        stereo = _fit(stereo, frames)
    assert stereo.shape == (frames, 2)
    return stereo


_Event = tuple[int, int, int, int]
"""(step, channel, pitch ending or 0, pitch starting or 0), in time order."""


def _events(chorale: Chorale) -> list[_Event]:
    chords = chorale.chords
    events: list[_Event] = []
    sounding = [0, 0, 0, 0]
    for step in range(len(chords) + 1):
        row = chords[step] if step < len(chords) else (0, 0, 0, 0)
        for channel in range(4):
            pitch = int(row[channel])
            if pitch != sounding[channel]:
                events.append((step, channel, sounding[channel], pitch))
                sounding[channel] = pitch
    return events


def _render_fluidsynth(
    events: list[_Event],
    font: Path,
    program: int,
    seconds_per_step: float,
    sample_rate: int,
    frames: int,
) -> npt.NDArray[np.float32]:
    fluidsynth = _fluidsynth()
    synth = fluidsynth.Synth(gain=1.0, samplerate=float(sample_rate))
    try:
        font_id = synth.sfload(str(font))
        if font_id == -1:
            raise AudioUnavailableError(f"FluidSynth could not load the SoundFont {font}")
        for channel in range(4):
            synth.program_select(channel, font_id, 0, program)
        pieces: list[npt.NDArray[np.int16]] = []
        done = 0
        for step, channel, ending, starting in events:
            until = round(step * seconds_per_step * sample_rate)
            if until > done:
                pieces.append(_samples(synth, until - done))
                done = until
            if ending:
                synth.noteoff(channel, ending)
            if starting:
                synth.noteon(channel, starting, _VELOCITY)
        pieces.append(_samples(synth, frames - done))  # to the end, and the tail
    finally:
        synth.delete()
    return np.concatenate(pieces).reshape(-1, 2).astype(np.float32) / 32768.0


def _render_midirenderer(
    events: list[_Event],
    font: Path,
    program: int,
    seconds_per_step: float,
    sample_rate: int,
    seconds: float,
) -> npt.NDArray[np.float32]:
    midirenderer = _midirenderer()
    midi = _midi_file(events, program, seconds_per_step, seconds)
    try:
        wav = midirenderer.render_wave_from(font.read_bytes(), midi)
    except (RuntimeError, ValueError) as error:
        raise AudioUnavailableError(
            f"midirenderer could not render with the SoundFont {font}: {error}"
        ) from error
    with wave.open(io.BytesIO(wav)) as read:
        if (read.getnchannels(), read.getsampwidth()) != (2, 2):
            raise AudioUnavailableError(
                f"midirenderer wrote {read.getnchannels()} channels of "
                f"{8 * read.getsampwidth()}-bit samples, not 16-bit stereo"
            )
        rate = read.getframerate()
        pcm = np.frombuffer(read.readframes(read.getnframes()), dtype="<i2")
    stereo: npt.NDArray[np.float32] = pcm.reshape(-1, 2).astype(np.float32)
    stereo *= np.float32(_MIDIRENDERER_GAIN / 32768.0)
    if rate != sample_rate:
        stereo = _resample(stereo, rate, sample_rate)
    peak = float(np.abs(stereo).max(initial=0.0))
    if peak > 1.0:  # turned down as a whole rather than clipped
        stereo /= np.float32(peak)
    return stereo


def _midi_file(
    events: list[_Event], program: int, seconds_per_step: float, seconds: float
) -> bytes:
    """A type-0 Standard MIDI File of ``events`` whose track ends at ``seconds``."""

    def ticks(seconds: float) -> int:
        return round(seconds * _TICKS_PER_SECOND)

    timed: list[tuple[int, bytes]] = [(0, b"\xff\x51\x03" + (1_000_000).to_bytes(3, "big"))]
    timed += [(0, bytes((0xC0 | channel, program))) for channel in range(4)]
    for step, channel, ending, starting in events:
        when = ticks(step * seconds_per_step)
        if ending:
            timed.append((when, bytes((0x80 | channel, ending, 0))))
        if starting:
            timed.append((when, bytes((0x90 | channel, starting, _VELOCITY))))
    timed.append((max(timed[-1][0], ticks(seconds)), b"\xff\x2f\x00"))
    track = bytearray()
    last = 0
    for when, message in timed:
        track += _variable_length(when - last) + message
        last = when
    header = b"MThd" + (6).to_bytes(4, "big") + bytes((0, 0, 0, 1))
    header += _TICKS_PER_SECOND.to_bytes(2, "big")
    return header + b"MTrk" + len(track).to_bytes(4, "big") + bytes(track)


def _variable_length(number: int) -> bytes:
    out = [number & 0x7F]
    number >>= 7
    while number:
        out.append(0x80 | (number & 0x7F))
        number >>= 7
    return bytes(reversed(out))


def _resample(
    samples: npt.NDArray[np.float32], source: int, target: int
) -> npt.NDArray[np.float32]:
    """``samples`` at ``source`` Hz resampled to ``target`` Hz by a Kaiser-windowed sinc."""
    frames = round(len(samples) * target / source)
    step = source / target
    cutoff = 0.92 * min(1.0, target / source)
    offsets = np.arange(1 - _SINC_TAPS, _SINC_TAPS + 1)
    distance = offsets[None, :] - np.arange(_SINC_PHASES + 1)[:, None] / _SINC_PHASES
    window = np.i0(8.0 * np.sqrt(np.clip(1.0 - (distance / _SINC_TAPS) ** 2, 0.0, None)))
    kernel = np.sinc(cutoff * distance) * window
    kernel = (kernel / kernel.sum(axis=1, keepdims=True)).astype(np.float32)
    padded = np.pad(samples, ((_SINC_TAPS, _SINC_TAPS + 1), (0, 0)))
    out = np.empty((frames, samples.shape[1]), dtype=np.float32)
    for start in range(0, frames, _RESAMPLE_BLOCK):
        when = np.arange(start, min(start + _RESAMPLE_BLOCK, frames)) * step
        whole = np.floor(when).astype(np.int64)
        phase = np.round((when - whole) * _SINC_PHASES).astype(np.int64)
        taps = padded[whole[:, None] + offsets[None, :] + _SINC_TAPS]
        out[start : start + len(when)] = np.einsum("bt,btc->bc", kernel[phase], taps)
    return out


def _fit(samples: npt.NDArray[np.float32], frames: int) -> npt.NDArray[np.float32]:
    """``samples`` cut or padded with silence to exactly ``frames`` frames."""
    if len(samples) >= frames:
        return samples[:frames]
    return np.pad(samples, ((0, frames - len(samples)), (0, 0)))


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
    except (ImportError, OSError) as error:
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


def _midirenderer() -> Any:
    try:
        import midirenderer
    except ImportError as error:
        raise AudioUnavailableError(f"the midirenderer wheel did not load: {error}") from error
    if not hasattr(midirenderer, "render_wave_from"):
        raise AudioUnavailableError(
            "the installed 'midirenderer' module has no render_wave_from: "
            "pip install 'midirenderer>=0.1.3'"
        )
    return midirenderer


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
    "audio rendered with a General MIDI SoundFont (FluidSynth or midirenderer)",
    write=_write,
    extra="audio",
    require=_require,
)
"""``.wav``/``.flac``/``.ogg``: written only (extra ``bachnet[audio]``)."""
