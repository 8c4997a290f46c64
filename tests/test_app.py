"""The web app: the Studio without a browser, the Gradio API, and a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import keras
import music21
import numpy as np
import pytest

from bachnet import BachNet, Chorale, Dataset, ModelConfig
from bachnet.apps.web import KEYS, Studio
from bachnet.data import JSB_ARCHIVE
from bachnet.errors import InputError

gradio = pytest.importorskip("gradio", reason="needs bachnet[app]")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny untrained model that never writes silence (fast to load and to run)."""
    keras.utils.set_random_seed(0)
    net = BachNet(ModelConfig(lstm_units=(16,), embedding_dim=8, dense_units=8, window=32))
    layer = net.keras_model.get_layer("logits")
    kernel, bias = layer.get_weights()
    bias[0] = -1000.0
    layer.set_weights([kernel, bias])
    return net.save_pretrained(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def studio(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Studio:
    return Studio(str(tiny_model), folder=tmp_path_factory.mktemp("studio"))


def test_compose_writes_every_file(studio: Studio) -> None:
    result = studio.compose(steps=32, seed=3, rules=False)
    assert len(result.chorale) >= 32
    assert Chorale.read(result.midi) == result.chorale
    parsed = music21.converter.parse(str(result.musicxml))
    assert len(parsed.parts) == 4
    assert result.roll is not None and result.roll.read_bytes()[:4] == b"\x89PNG"
    assert result.svg is not None and "<svg" in result.svg
    if result.wav is not None:  # FluidSynth present
        assert result.wav.stat().st_size > 44
        assert [Path(p).suffix for p in result.downloads] == [".mid", ".musicxml", ".wav"]
    assert "steps" in result.summary and f"{result.seconds:.2f} s" in result.summary


def test_compose_is_repeatable_with_a_seed(studio: Studio) -> None:
    first = studio.compose(steps=16, seed=5, audio=False)
    again = studio.compose(steps=16, seed=5, audio=False)
    assert first.chorale == again.chorale and first.folder != again.folder


def test_compose_in_phrases(studio: Studio) -> None:
    result = studio.compose(phrases="8, 8, 12", seed=2, audio=False)
    assert result.chorale.fermatas == (28, 60, 108) and result.chorale.pickup == 4
    assert "3 phrases, fermatas at bar.beat 2.3, 4.3, 7.3." in result.summary
    assert result.musicxml.read_text(encoding="utf-8").count("<fermata") == 12
    with pytest.raises(InputError, match="give phrase lengths in quarters"):
        studio.compose(phrases="eight", audio=False)


def test_compose_in_phrases_with_particles(studio: Studio, tiny_model: Path) -> None:
    result = studio.compose(phrases="8, 8", particles=4, seed=2, audio=False)
    assert result.chorale.fermatas == (28, 60)
    assert '4 drafts carried on, one kept (rules: "particles").' in result.summary
    # the rules checkbox means the set made for particles
    by_hand = BachNet.from_pretrained(tiny_model).generate(
        steps=128, phrases=[8, 8], particles=4, rules="particles", seed=2
    )
    assert result.chorale == by_hand
    plain = studio.compose(phrases="8, 8", seed=2, audio=False)
    assert "drafts" not in plain.summary
    unphrased = studio.compose(steps=32, particles=3, seed=2, audio=False)  # the default set
    assert "3 drafts carried on, one kept." in unphrased.summary
    assert unphrased.chorale == BachNet.from_pretrained(tiny_model).generate(
        steps=32, particles=3, seed=2
    )
    with pytest.raises(InputError, match=r"particles must be 1\.\.64, got 0"):
        studio.compose(particles=0, audio=False)


def test_prompt_from_an_uploaded_file_and_harmonisation(studio: Studio, tmp_path: Path) -> None:
    melody = Chorale([[72, 67, 64, 48]] * 8 + [[74, 67, 62, 43]] * 8 + [[76, 67, 60, 48]] * 16)
    upload = melody.write(tmp_path / "tune.mid")
    continued = studio.compose(prompt="uploaded file", upload=upload, prompt_steps=16, steps=16)
    assert (continued.chorale.chords[:16] == melody.chords[:16]).all()
    harmonised = studio.compose(prompt="uploaded file", upload=upload, harmonise=True, seed=1)
    assert (harmonised.chorale.chords[:, 0] == melody.chords[:, 0]).all()


def test_harmonising_a_bass_keeps_it(studio: Studio, tmp_path: Path) -> None:
    piece = Chorale([[72, 67, 64, 48]] * 8 + [[74, 67, 62, 43]] * 8 + [[72, 64, 55, 48]] * 16)
    upload = piece.write(tmp_path / "bass.mid")
    result = studio.compose(
        prompt="uploaded file", upload=upload, harmonise=True, harmonise_voice="bass", seed=2
    )
    assert len(result.chorale) == len(piece)
    assert (result.chorale.chords[:, 3] == piece.chords[:, 3]).all()
    assert (result.chorale.chords[:, :3] > 0).all()  # the voices written over a bass sound
    assert Chorale.read(result.midi) == result.chorale


@pytest.fixture
def tiny_filler(tmp_path: Path) -> str:
    """A tiny untrained filler for ``method="gibbs"``."""
    from bachnet.model.filler import Filler, FillerConfig

    keras.utils.set_random_seed(0)
    return str(Filler(FillerConfig(filters=4, blocks=1)).save(tmp_path / "filler"))


@pytest.mark.parametrize("method", ["rerank", "gibbs"])
def test_fill_rewrites_the_chosen_bars_and_voices_of_the_piece_shown(
    studio: Studio, tiny_filler: str, method: str
) -> None:
    shown = studio.compose(steps=48, seed=3, rules=False, audio=False)
    assert studio.last is shown
    source = shown.chorale
    result = studio.fill(
        bars="2", voices="AT", method=method, filler=tiny_filler, seed=4, audio=False
    )
    assert studio.last is result and result.folder != shown.folder
    assert len(result.chorale) == len(source)
    mask = source.mask(bars="2", voices="AT")
    assert int(mask.sum()) == 2 * 16
    assert (result.chorale.chords[~mask] == source.chords[~mask]).all()
    assert (result.chorale.chords[mask] > 0).all()  # a fill never writes a rest
    assert Chorale.read(result.midi) == result.chorale
    assert Chorale.read(result.midi).chords[~mask].tolist() == source.chords[~mask].tolist()
    assert len(music21.converter.parse(str(result.musicxml)).parts) == 4
    assert result.roll is not None and result.roll.read_bytes()[:4] == b"\x89PNG"
    assert result.wav is None and result.midi.name == "regeneration.mid"
    assert f"Regenerated bar 2 in alto and tenor ({method})" in result.summary
    assert "regenerated and rendered in" in result.summary
    again = studio.fill(voices="S", seed=5, audio=False)  # the piece shown is now the fill
    kept = ~source.mask(voices="S")
    assert (again.chorale.chords[kept] == result.chorale.chords[kept]).all()
    assert "Regenerated every bar in soprano (gibbs, auto)" in again.summary  # A, T, B kept


def test_fill_an_uploaded_file_and_a_jsb_test_piece(
    studio: Studio, tmp_path: Path, jsb_archive: Path, cache_dir: Path
) -> None:
    piece = Chorale([[72, 67, 64, 48]] * 8 + [[74, 67, 62, 43]] * 8 + [[72, 64, 55, 48]] * 20)
    upload = piece.write(tmp_path / "piece.mid")
    result = studio.fill(
        source="uploaded file", upload=upload, bars="0-1", pickup=4, voices="B", audio=False
    )
    mask = piece.mask(bars="0-1", voices="B", pickup=4)
    assert np.flatnonzero(mask[:, 3]).tolist() == list(range(20))
    assert (result.chorale.chords[~mask] == piece.chords[~mask]).all()
    assert "Regenerated bars 0-1 in bass" in result.summary
    cache_dir.mkdir(parents=True)
    shutil.copy(jsb_archive, cache_dir / JSB_ARCHIVE)  # Dataset.jsb() reads it, offline
    chorale = studio.fill(source="JSB test piece", test_piece=2, bars="1", audio=False)
    test_piece = Dataset.jsb(progress=False).split("test")[2]
    mask = test_piece.mask(bars="1")
    assert (chorale.chorale.chords[~mask] == test_piece.chords[~mask]).all()


def test_fill_with_nothing_shown_says_so(tiny_model: Path, tmp_path: Path) -> None:
    fresh = Studio(str(tiny_model), folder=tmp_path)
    with pytest.raises(InputError, match="nothing to regenerate yet: compose a piece first"):
        fresh.fill(bars="1")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bars": "9"}, "bar 9 is not in this piece"),
        ({"bars": "2-x"}, "bars must look like"),
        ({"voices": ""}, "name at least one voice"),
        ({"voices": "SX"}, "unknown voice letter"),
        ({"method": "beam"}, "method must be one of auto, rerank, gibbs"),
        ({"source": "whatever"}, "unknown source"),
        ({"source": "uploaded file"}, "choose a file"),
        ({"pickup": 16}, "a pickup is 0..15"),
    ],
)
def test_bad_fill_settings_say_what_is_wrong(
    studio: Studio, options: dict[str, object], message: str
) -> None:
    studio.compose(steps=32, seed=1, audio=False)
    with pytest.raises(InputError, match=message):
        studio.fill(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"key": "H major"}, "unknown key"),
        ({"prompt": "uploaded file"}, "choose a file"),
        ({"prompt": "whatever"}, "unknown prompt"),
        ({"harmonise": True}, "to harmonise"),
        ({"harmonise": True, "harmonise_voice": "bass"}, "upload a bass line"),
        ({"harmonise_voice": "alto"}, "harmonise_voice must be soprano or bass"),
        ({"sampler": "greedy", "top_k": 3}, "takes no --top-k"),
    ],
)
def test_bad_settings_say_what_is_wrong(
    studio: Studio, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        studio.compose(steps=16, **options)  # type: ignore[arg-type]


def test_keys_offered_are_keys() -> None:
    from bachnet.music.keys import Key

    assert KEYS[0] == "any"
    assert len({Key.parse(k) for k in KEYS[1:]}) == len(KEYS) - 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``bachnet app`` in a subprocess on a free loopback port; yields its address."""
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "bachnet", "app", "--port", str(port), "--no-warm-up"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--model", str(tiny_model)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    address = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(address, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.5)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_listens_on_loopback_only(served: str) -> None:
    port = int(served.rstrip("/").rsplit(":", 1)[1])
    outside = [a for a in _own_addresses() if not a.startswith("127.")]
    for address in outside[:1]:
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=2):
            pass


def _own_addresses() -> list[str]:
    try:
        return socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        return []


def test_generate_api_endpoint(served: str, tiny_model: Path, tmp_path: Path) -> None:
    client_module = pytest.importorskip("gradio_client")
    client = client_module.Client(served, verbose=False, download_files=str(tmp_path))
    api = client.view_api(return_format="dict", print_info=False)
    assert "/generate" in api["named_endpoints"]
    score, roll, _wav, files, summary = client.predict(
        str(tiny_model),
        "top_p",
        1.0,
        0,
        1.0,
        False,
        32,
        7,
        "any",
        "none",
        0,
        None,
        False,
        api_name="/generate",
    )
    midi = next(Path(f) for f in files if str(f).endswith(".mid"))
    piece = Chorale.read(midi)
    assert len(piece) >= 32
    assert "<svg" in score and "steps" in summary
    assert Path(roll).read_bytes()[:4] == b"\x89PNG"


def test_generate_api_harmonises_a_bass(served: str, tiny_model: Path, tmp_path: Path) -> None:
    client_module = pytest.importorskip("gradio_client")
    client = client_module.Client(served, verbose=False, download_files=str(tmp_path))
    bass = Chorale([[72, 67, 64, 48]] * 8 + [[74, 67, 62, 43]] * 8 + [[72, 64, 55, 48]] * 16)
    path = bass.write(tmp_path / "bass.mid")
    *_, files, summary = client.predict(
        str(tiny_model),
        "top_p",
        1.0,
        0,
        1.0,
        False,
        32,
        7,
        "any",
        "uploaded file",
        0,
        client_module.handle_file(str(path)),
        False,
        "harmonise its bass",
        api_name="/generate",
    )
    midi = next(Path(f) for f in files if str(f).endswith(".mid"))
    assert midi.name == "harmonisation.mid" and "harmonisation" in summary
    assert Chorale.read(midi).chords[:, 3].tolist() == bass.chords[:, 3].tolist()


def test_fill_api_endpoint(served: str, tiny_model: Path, tmp_path: Path) -> None:
    client_module = pytest.importorskip("gradio_client")
    client = client_module.Client(served, verbose=False, download_files=str(tmp_path))
    api = client.view_api(return_format="dict", print_info=False)
    assert "/fill" in api["named_endpoints"]
    sampling = (str(tiny_model), "top_p", 1.0, 0, 1.0, False)
    *_, files, _summary = client.predict(
        *sampling, 32, 7, "any", "none", 0, None, False, api_name="/generate"
    )
    before = Chorale.read(next(Path(f) for f in files if str(f).endswith(".mid")))
    score, roll, _wav, files, summary = client.predict(
        *sampling,
        8,
        "the piece shown",
        0,
        None,
        "2",
        ["A", "T"],
        0,
        "rerank",
        api_name="/fill",
    )
    midi = next(Path(f) for f in files if str(f).endswith(".mid"))
    assert midi.name == "regeneration.mid"
    after = Chorale.read(midi)
    kept = ~before.mask(bars="2", voices="AT")
    assert len(after) == len(before)
    assert after.chords[kept].tolist() == before.chords[kept].tolist()
    assert "<svg" in score and Path(roll).read_bytes()[:4] == b"\x89PNG"
    assert "Regenerated bar 2 in alto and tenor (rerank)" in summary
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="bar 99 is not in this piece"):
        client.predict(
            *sampling, 8, "the piece shown", 0, None, "99", ["S"], 0, "rerank", api_name="/fill"
        )


@pytest.mark.slow
@pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)
def test_in_headless_chromium(served: str, tmp_path: Path) -> None:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--window-size=1400,1800",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    try:
        driver.get(served)
        wait = WebDriverWait(driver, 120)
        wait.until(lambda d: d.find_elements(By.ID, "compose"))
        driver.find_element(By.ID, "compose").click()
        for selector in ("#bachnet-score svg", "#roll img", "#downloads a[href$='.mid']"):
            try:
                wait.until(lambda d, selector=selector: d.find_elements(By.CSS_SELECTOR, selector))
            except Exception as error:
                driver.save_screenshot(str(tmp_path / "failure.png"))
                page = driver.find_element(By.TAG_NAME, "body").text
                raise AssertionError(f"no {selector} in:\n{page}") from error
        assert driver.find_elements(By.CSS_SELECTOR, "#audio audio")
        summary = driver.find_element(By.ID, "summary").text
        assert "steps" in summary
        link = driver.find_element(By.CSS_SELECTOR, "#downloads a[href$='.mid']")
        target = tmp_path / "download.mid"
        with urllib.request.urlopen(link.get_attribute("href"), timeout=30) as response:
            target.write_bytes(response.read())
        piece = Chorale.read(target)
        assert len(piece) >= 128  # the steps slider's default

        driver.find_element(By.CSS_SELECTOR, "#bars textarea, #bars input").send_keys("1")
        driver.find_element(By.ID, "regenerate").click()
        try:
            wait.until(lambda d: "Regenerated bar 1" in d.find_element(By.ID, "summary").text)
            wait.until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "#downloads a[href$='regeneration.mid']")
            )
        except Exception as error:
            driver.save_screenshot(str(tmp_path / "failure.png"))
            page = driver.find_element(By.TAG_NAME, "body").text
            raise AssertionError(f"no regeneration in:\n{page}") from error
        assert "in every voice" in driver.find_element(By.ID, "summary").text
        link = driver.find_element(By.CSS_SELECTOR, "#downloads a[href$='regeneration.mid']")
        with urllib.request.urlopen(link.get_attribute("href"), timeout=30) as response:
            (tmp_path / "regeneration.mid").write_bytes(response.read())
        filled = Chorale.read(tmp_path / "regeneration.mid")
        assert len(filled) == len(piece)
        assert filled.chords[16:].tolist() == piece.chords[16:].tolist()  # bar 1 only
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(tmp_path / "app.png"))

        # harmonise an uploaded one-part melody
        tune = [67, 69, 71, 72, 74, 72, 71, 69, 67, 67, 71, 69, 67]
        melody = music21.stream.Part()
        for pitch in tune:
            melody.append(music21.note.Note(pitch, quarterLength=1.0))
        upload = tmp_path / "tune.mid"
        music21.stream.Score([melody]).write("midi", fp=str(upload))
        driver.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(upload))
        for text in ("uploaded file", "harmonise its soprano"):
            label = driver.find_element(By.XPATH, f"(//label[contains(., '{text}')])[1]")
            driver.execute_script("arguments[0].click()", label)
        driver.find_element(By.ID, "compose").click()
        try:
            wait.until(lambda d: "harmonisation" in d.find_element(By.ID, "summary").text)
            wait.until(
                lambda d: d.find_elements(
                    By.CSS_SELECTOR, "#downloads a[href$='harmonisation.mid']"
                )
            )
        except Exception as error:
            driver.save_screenshot(str(tmp_path / "failure.png"))
            page = driver.find_element(By.TAG_NAME, "body").text
            raise AssertionError(f"no harmonisation in:\n{page}") from error
        link = driver.find_element(By.CSS_SELECTOR, "#downloads a[href$='harmonisation.mid']")
        with urllib.request.urlopen(link.get_attribute("href"), timeout=30) as response:
            (tmp_path / "harmonisation.mid").write_bytes(response.read())
        harmonised = Chorale.read(tmp_path / "harmonisation.mid")
        assert harmonised.chords[:, 0].tolist() == [p for p in tune for _ in range(4)]
        assert (harmonised.chords[:, 1:] > 0).all()
    finally:
        driver.quit()


# ------------------------------------------------------------------ hostile uploads


def huge_delta_midi(path: Path) -> Path:
    """A 37-byte MIDI file whose one note lasts 2**28 ticks (music21 grew to gigabytes)."""
    track = b"\x00\x90\x3c\x40" + b"\xff\xff\xff\x7f\x80\x3c\x00" + b"\x00\xff\x2f\x00"
    header = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0"
    path.write_bytes(header + b"MTrk" + len(track).to_bytes(4, "big") + track)
    return path


def test_hostile_uploads_are_refused_by_a_child_process(studio: Studio, tmp_path: Path) -> None:
    from bachnet.apps import upload as uploads
    from bachnet.errors import LimitError

    hostile = huge_delta_midi(tmp_path / "hostile.mid")
    with pytest.raises(LimitError, match=r"lasts 2,236,963 sixteenths, more than the 1,024"):
        studio.compose(prompt="uploaded file", upload=hostile, audio=False)
    with pytest.raises(LimitError, match=r"lasts 2,236,963 sixteenths"):
        studio.fill(source="uploaded file", upload=hostile, audio=False)
    big = tmp_path / "big.csv"
    big.write_bytes(b"0" * (uploads.UPLOAD_BYTES + 1))
    with pytest.raises(LimitError, match="5,000,001 bytes is more than the 5,000,000"):
        studio.compose(prompt="uploaded file", upload=big, audio=False)
    long_piece = Chorale([[72, 67, 64, 48]] * 1040).write(tmp_path / "long.musicxml")
    with pytest.raises(LimitError, match="lasts 1,040 sixteenths, more than the 1,024"):
        uploads.read_upload(long_piece)
    fine = Chorale([[72, 67, 64, 48]] * 16, pickup=4).write(tmp_path / "fine.musicxml")
    assert uploads.read_upload(fine) == Chorale.read(fine)
    with pytest.raises(LimitError, match=r"fine.musicxml: reading it took more than 0.001 s"):
        uploads.read_upload(fine, seconds=0.001)
    with pytest.raises(LimitError, match="memory"):
        uploads.read_upload(fine, memory=50_000_000)


def test_the_studio_keeps_only_its_newest_folders(tiny_model: Path, tmp_path: Path) -> None:
    studio = Studio(str(tiny_model), folder=tmp_path / "studio", keep=2)
    folders = [studio.compose(steps=16, seed=s, audio=False).folder for s in range(3)]
    assert sorted(p.name for p in (tmp_path / "studio").iterdir()) == ["0002", "0003"]
    assert not folders[0].exists() and folders[2].is_dir()
    own = Studio(str(tiny_model))
    own.compose(steps=16, seed=0, audio=False)
    assert own.folder.is_dir()
    own.close()
    assert not own.folder.exists()
    studio.close()  # not its folder to remove: the caller's
    assert folders[2].is_dir()


def test_a_request_is_turned_away_when_the_studio_stays_busy(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bachnet.apps import web
    from bachnet.errors import LimitError

    monkeypatch.setattr(web, "BUSY_SECONDS", 0.05)
    with studio._lock, pytest.raises(LimitError, match=r"busy for 0\.05 s"):
        studio.compose(steps=16, seed=0, audio=False)


def test_the_app_answers_while_a_hostile_upload_is_refused(
    served: str, tiny_model: Path, tmp_path: Path
) -> None:
    client_module = pytest.importorskip("gradio_client")
    from gradio_client.exceptions import AppError

    client = client_module.Client(served, verbose=False, download_files=str(tmp_path))
    sampling = (str(tiny_model), "top_p", 1.0, 0, 1.0, False, 32, 7, "any")
    hostile = client_module.handle_file(str(huge_delta_midi(tmp_path / "hostile.mid")))
    attack = client.submit(*sampling, "uploaded file", 0, hostile, False, api_name="/generate")
    other = client.submit(*sampling, "none", 0, None, False, api_name="/generate")
    *_, files, summary = other.result(timeout=120)
    assert "steps" in summary and any(str(f).endswith(".mid") for f in files)
    with pytest.raises(AppError, match="more than the 1,024"):
        attack.result(timeout=120)
    big = tmp_path / "big.mid"
    big.write_bytes(b"MThd" + b"\x00" * 5_000_000)
    with pytest.raises(Exception, match=r"(?i)size|large|exceed"):
        client.predict(
            *sampling,
            "uploaded file",
            0,
            client_module.handle_file(str(big)),
            False,
            api_name="/generate",
        )


def test_an_uploaded_one_part_melody_or_bass_is_harmonised(studio: Studio, tmp_path: Path) -> None:
    tune = [72, 72, 74, 76, 76, 74, 72, 71, 69, 69, 71, 72, 72, 71, 71]
    part = music21.stream.Part()
    for pitch in tune:
        part.append(music21.note.Note(pitch, quarterLength=1.0))
    part.append(music21.note.Note(72, quarterLength=1.0))
    path = tmp_path / "tune.mid"
    music21.stream.Score([part]).write("midi", fp=str(path))
    melody = [*np.repeat([*tune, 72], 4)]
    result = studio.compose(prompt="uploaded file", upload=path, harmonise=True, audio=False)
    assert result.chorale.chords[:, 0].tolist() == melody
    assert (result.chorale.chords[:, 1:] > 0).all()  # the other voices written
    bass = [p - 24 for p in melody]
    low = tmp_path / "bass.mid"
    music21.stream.Score([part.transpose(-24)]).write("midi", fp=str(low))
    written = studio.compose(
        prompt="uploaded file", upload=low, harmonise=True, harmonise_voice="bass", audio=False
    )
    assert written.chorale.chords[:, 3].tolist() == bass
    with pytest.raises(InputError, match="expected 4 parts, got 1"):
        studio.compose(prompt="uploaded file", upload=path, audio=False)  # a prompt: 4 voices


def test_a_click_without_a_seed_gets_a_new_one_named_in_the_summary(studio: Studio) -> None:
    import re

    first = studio.compose(steps=32, seed=None, audio=False)
    second = studio.compose(steps=32, seed=None, audio=False)
    seeds = [int(re.findall(r"Seed (\d+)\.", r.summary)[0]) for r in (first, second)]
    assert seeds[0] != seeds[1] and first.chorale != second.chorale
    again = studio.compose(steps=32, seed=seeds[0], audio=False)
    assert again.chorale == first.chorale and f"Seed {seeds[0]}." in again.summary


def test_generate_api_by_keyword_needs_no_upload(
    served: str, tiny_model: Path, tmp_path: Path
) -> None:
    # Only what differs from the defaults is named; the upload box may be left out (#26).
    client_module = pytest.importorskip("gradio_client")
    client = client_module.Client(served, verbose=False, download_files=str(tmp_path))
    _score, _roll, _wav, files, summary = client.predict(
        model=str(tiny_model), steps=32, seed=7, rules=False, api_name="/generate"
    )
    assert "Seed 7" in summary and "drafts" not in summary
    assert Chorale.read(next(Path(f) for f in files if str(f).endswith(".mid"))).chords.any()
    *_, summary = client.predict(
        model=str(tiny_model), steps=32, seed=7, phrases="4,4", particles=3, api_name="/generate"
    )
    assert "2 phrases" in summary and "3 drafts carried on, one kept" in summary
