"""Audio: FluidSynth and midirenderer rendering, WAV/FLAC writing, the voices' balance, clear
errors when pieces are missing."""

from __future__ import annotations

import sys
import types
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bachnet import Chorale, audio
from bachnet.formats.audio import (
    AudioUnavailableError,
    audio_backend,
    find_soundfont,
    render,
    require,
    wav_bytes,
    write_audio,
)


def _synth_available() -> bool:
    try:
        audio_backend()
        find_soundfont()
    except (AudioUnavailableError, FileNotFoundError):
        return False
    return True


needs_synth = pytest.mark.skipif(
    not _synth_available(), reason="needs bachnet[audio] (a synthesiser and a SoundFont)"
)

CADENCE = Chorale([[72, 67, 64, 48]] * 8 + [[71, 67, 62, 43]] * 8 + [[72, 67, 64, 48]] * 16)


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    mono = samples.mean(axis=1)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / rate)[spectrum.argmax()])


@needs_synth
@pytest.mark.parametrize(("tempo", "rate"), [(60.0, 44100), (90.0, 22050), (123.0, 8000)])
def test_duration_matches_the_chorale_at_its_tempo(tempo: float, rate: int) -> None:
    samples = render(CADENCE, tempo=tempo, sample_rate=rate, tail=0.5)
    seconds = CADENCE.duration * 60.0 / tempo  # duration is in quarter notes
    assert samples.shape == (round(seconds * rate) + round(0.5 * rate), 2)
    assert samples.dtype == np.float32
    assert np.abs(samples).max() <= 1.0


@needs_synth
def test_not_silent_while_notes_sound_and_silent_in_a_rest() -> None:
    piece = Chorale([[72, 67, 64, 48]] * 16 + [[0, 0, 0, 0]] * 32)  # 4 quarters, 8 of rest
    samples = render(piece, tail=0)
    second = 44100
    rms = lambda part: float(np.sqrt(np.mean(part**2)))  # noqa: E731
    assert rms(samples[: 3 * second]) > 0.01
    assert rms(samples[-2 * second :]) < 1e-4  # the release has died away


@needs_synth
@pytest.mark.parametrize("instrument", ["choir", "piano", 48])
def test_a_held_a4_peaks_at_440_hz(instrument: str | int) -> None:
    samples = render(Chorale([[69, 0, 0, 0]] * 16), instrument=instrument, tail=0)
    assert peak_frequency(samples, 44100) == pytest.approx(440.0, abs=3.0)
    octave_up = render(Chorale([[81, 0, 0, 0]] * 16), instrument=instrument, tail=0)
    assert peak_frequency(octave_up, 44100) == pytest.approx(
        880.0, rel=0.015
    )  # sampled choirs sway


@needs_synth
def test_write_wav_reads_back(tmp_path: Path) -> None:
    out = CADENCE.write(tmp_path / "c.wav", tempo=120, sample_rate=22050)
    with wave.open(str(out)) as read:
        assert (read.getnchannels(), read.getsampwidth(), read.getframerate()) == (2, 2, 22050)
        assert read.getnframes() == round(CADENCE.duration * 0.5 * 22050) + 22050  # 1 s tail
        frames = np.frombuffer(read.readframes(read.getnframes()), dtype="<i2")
    assert np.abs(frames).max() > 1000


@needs_synth
def test_flac_round_trip(tmp_path: Path) -> None:
    soundfile = pytest.importorskip("soundfile")
    out = CADENCE.write(tmp_path / "c.flac", sample_rate=16000)
    data, rate = soundfile.read(str(out))
    assert rate == 16000 and data.shape[1] == 2
    assert np.allclose(data, np.clip(CADENCE.to_audio(sample_rate=16000), -1, 1), atol=1e-4)


@needs_synth
def test_a_user_soundfont_is_used_and_a_missing_one_is_named(tmp_path: Path) -> None:
    font = find_soundfont()
    assert render(CADENCE, soundfont=font, tail=0).any()
    with pytest.raises(FileNotFoundError, match=r"nowhere\.sf2"):
        render(CADENCE, soundfont=tmp_path / "nowhere.sf2")


def test_environment_variable_names_the_soundfont(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    font = tmp_path / "mine.sf2"
    font.write_bytes(b"RIFF")
    monkeypatch.setenv("BACHNET_SOUNDFONT", str(font))
    assert find_soundfont() == font
    monkeypatch.setenv("BACHNET_SOUNDFONT", str(tmp_path / "gone.sf2"))
    with pytest.raises(FileNotFoundError, match=r"gone\.sf2"):
        find_soundfont()


def test_missing_synthesiser_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, without_module: Callable[[str, str], None]
) -> None:
    without_module("fluidsynth", "Couldn't find the FluidSynth library.")
    without_module("midirenderer", "No module named 'midirenderer'")
    monkeypatch.setattr(audio, "find_soundfont", lambda soundfont=None: Path("x.sf2"))
    with pytest.raises(
        AudioUnavailableError, match=r"bachnet\[audio\].*midirenderer.*libfluidsynth3"
    ):
        render(CADENCE)
    with pytest.raises(AudioUnavailableError, match=r"FluidSynth library.*No module named"):
        require()


def test_fluidsynth_is_preferred_and_the_wheel_renders_without_it(
    monkeypatch: pytest.MonkeyPatch, without_module: Callable[[str, str], None]
) -> None:
    fluidsynth, midirenderer = types.ModuleType("fluidsynth"), types.ModuleType("midirenderer")
    monkeypatch.setattr(fluidsynth, "Synth", object, raising=False)
    monkeypatch.setattr(midirenderer, "render_wave_from", lambda font, midi: b"", raising=False)
    monkeypatch.setitem(sys.modules, "fluidsynth", fluidsynth)
    monkeypatch.setitem(sys.modules, "midirenderer", midirenderer)
    assert audio_backend() == "fluidsynth"
    without_module("fluidsynth", "Couldn't find the FluidSynth library.")
    assert audio_backend() == "midirenderer"


# ------------------------------------------------------------------ the wheel-only fallback


@pytest.fixture(params=["fluidsynth", "midirenderer"])
def backend(request: pytest.FixtureRequest, without_module: Callable[[str, str], None]) -> str:
    """Each synthesiser in turn: FluidSynth where it loads; midirenderer with FluidSynth's
    import made to fail, as on a machine without the library."""
    name: str = request.param
    if name == "fluidsynth":
        try:
            if audio_backend() != "fluidsynth":
                pytest.skip("needs pyfluidsynth and the FluidSynth library")
        except AudioUnavailableError:
            pytest.skip("needs bachnet[audio]")
    else:
        pytest.importorskip("midirenderer")
        without_module("fluidsynth", "Couldn't find the FluidSynth library.")
    try:
        find_soundfont()
    except (AudioUnavailableError, FileNotFoundError):
        pytest.skip("needs a General MIDI SoundFont (pretty-midi ships one)")
    assert audio_backend() == name
    return name


def level_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(samples, dtype=np.float64)) + 1e-20))


def read_wav(path: Path) -> tuple[int, np.ndarray]:
    with wave.open(str(path)) as read:
        assert (read.getnchannels(), read.getsampwidth()) == (2, 2)
        frames = np.frombuffer(read.readframes(read.getnframes()), dtype="<i2")
        return read.getframerate(), frames.reshape(-1, 2) / 32768.0


def test_each_backend_writes_a_chorale_of_the_right_length_and_level(
    backend: str, tmp_path: Path
) -> None:
    out = CADENCE.write(tmp_path / "c.wav", tempo=120, sample_rate=22050)
    rate, samples = read_wav(out)
    assert rate == 22050
    assert len(samples) == round(CADENCE.duration * 0.5 * 22050) + 22050  # 1 s tail
    assert -26 < level_db(samples[: 4 * 22050]) < -14  # the same level from either
    assert 0.1 < np.abs(samples).max() < 1.0


def test_each_backend_keeps_pitch_and_silence_at_8_khz(backend: str) -> None:
    piece = Chorale([[69, 0, 0, 0]] * 8 + [[0, 0, 0, 0]] * 24)  # 2 quarters, 6 of rest
    samples = render(piece, sample_rate=8000, instrument="flute", tail=0)
    assert samples.shape == (8 * 8000, 2) and np.abs(samples).max() <= 1.0
    assert peak_frequency(samples[: 2 * 8000], 8000) == pytest.approx(440.0, rel=0.01)
    assert level_db(samples[: 2 * 8000]) > -40
    assert level_db(samples[-2 * 8000 :]) < -80  # the release has died away


# Each voice alone over two bars of its register (the bass down to C2).
VOICE_LINES = {
    "soprano": [72, 72, 71, 69, 67, 69, 71, 72],
    "alto": [67, 65, 64, 65, 64, 62, 62, 64],
    "tenor": [60, 60, 55, 53, 55, 57, 55, 55],
    "bass": [48, 45, 43, 41, 40, 41, 43, 36],
}


def test_every_voice_sounds_within_6_db_of_the_others(backend: str, tmp_path: Path) -> None:
    levels = {}
    for voice, (name, line) in enumerate(VOICE_LINES.items()):
        rows = []
        for pitch in line:
            row = [0, 0, 0, 0]
            row[voice] = pitch
            rows += [row] * 4  # a quarter each
        out = Chorale(rows).write(tmp_path / f"{name}.wav", tempo=120, sample_rate=22050)
        levels[name] = level_db(read_wav(out)[1])
    assert max(levels.values()) - min(levels.values()) < 6.0, levels


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tempo": 0}, "tempo"),
        ({"tempo": float("nan")}, "tempo"),
        ({"sample_rate": 100}, "sample_rate"),
        ({"tail": -1}, "tail"),
        ({"instrument": "kazoo"}, "kazoo"),
        ({"instrument": 128}, "0..127"),
    ],
)
def test_bad_options_are_named(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render(CADENCE, **options)  # type: ignore[arg-type]


def test_write_audio_checks_suffix_and_shape(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mp3"):
        write_audio(tmp_path / "x.mp3", np.zeros(10))
    with pytest.raises(ValueError, match="shape"):
        write_audio(tmp_path / "x.wav", np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        write_audio(tmp_path / "x.wav", np.array([0.0, np.nan]))
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_wav_bytes_clip_and_scale() -> None:
    import io

    data = wav_bytes(np.array([0.0, 0.5, -2.0, 2.0]), 8000)
    with wave.open(io.BytesIO(data)) as read:
        frames = np.frombuffer(read.readframes(4), dtype="<i2")
    assert frames.tolist() == [0, 16383, -32767, 32767]
