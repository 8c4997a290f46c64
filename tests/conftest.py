"""Shared fixtures: the JSB archive, an isolated cache, a loopback HTTP server, tiny chorales.

No test may touch the user's cache or the network: an autouse fixture points
``BACHNET_DATA_DIR`` at a fresh temporary folder and removes ``BACHNET_MIRROR`` for every test.
Downloads are exercised against a `http.server` bound to 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The tests compile many tiny programs and run each briefly: XLA's CPU backend without LLVM's
# optimisation passes compiles them faster (three slow tests: 52.7 -> 45.9 s). The library,
# its benchmarks and a user's runs keep XLA's defaults.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = " ".join(
        [os.environ.get("XLA_FLAGS", ""), "--xla_backend_optimization_level=0"]
    ).strip()

import numpy as np
import pytest

from bachnet import Chorale, Dataset
from bachnet.data import ENV_DATA_DIR, ENV_MIRROR, JSB_ARCHIVE

REPO_ROOT = Path(__file__).resolve().parents[1]
JSB_ARCHIVE_PATH = REPO_ROOT.parent / "shared" / "data" / JSB_ARCHIVE
JSB_SHA256 = "e722fbc866fc1ba0bac56a6fcad95d7e3e584da80173e13932e3da441440efd7"


@pytest.fixture(scope="session")
def jsb_archive() -> Path:
    """The byte-identical copy of ``jsb_chorales.tgz`` in ``../shared/data`` (no network)."""
    if not JSB_ARCHIVE_PATH.is_file():
        pytest.skip(
            f"JSB archive not found at {JSB_ARCHIVE_PATH}: these tests need the shared data "
            "folder (../shared/data/jsb_chorales.tgz beside the repository clone)"
        )
    return JSB_ARCHIVE_PATH


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty cache folder and no mirror."""
    cache = tmp_path / "bachnet-cache"
    monkeypatch.setenv(ENV_DATA_DIR, str(cache))
    monkeypatch.delenv(ENV_MIRROR, raising=False)
    return cache


@pytest.fixture
def cache_dir(_isolated_cache: Path) -> Path:
    """The (not yet created) cache folder ``BACHNET_DATA_DIR`` points at for this test."""
    return _isolated_cache


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.requests.append(self.path)
        super().do_GET()


class LoopbackServers:
    """Starts ``ThreadingHTTPServer``s on 127.0.0.1; calling it serves a folder, returns its URL.

    ``requests`` lists every path requested from any of them, in order.
    """

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._running: list[tuple[http.server.ThreadingHTTPServer, threading.Thread]] = []

    def __call__(self, directory: str | os.PathLike[str]) -> str:
        handler = type("Handler", (_QuietHandler,), {"requests": self.requests})
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(directory))
        )
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        self._running.append((server, thread))
        host, port = server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        for server, thread in self._running:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._running.clear()


@pytest.fixture
def loopback_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServers]:
    """``loopback_server(folder)`` serves ``folder`` over HTTP and returns the base URL."""
    # A proxy from the environment must not intercept loopback requests.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    servers = LoopbackServers()
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture
def dead_url() -> str:
    """A loopback URL on a port nothing listens on: any fetch from it fails at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def jsb_dataset(jsb_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """`Dataset.jsb()` loaded from a pre-filled cache (the archive copied in, no network)."""
    cache = tmp_path_factory.mktemp("jsb-cache")
    shutil.copy(jsb_archive, cache / JSB_ARCHIVE)
    saved = {name: os.environ.get(name) for name in (ENV_DATA_DIR, ENV_MIRROR)}
    os.environ[ENV_DATA_DIR] = str(cache)
    os.environ.pop(ENV_MIRROR, None)
    try:
        return Dataset.jsb(progress=False)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def tiny_chorales() -> list[Chorale]:
    """Three small deterministic chorales inside MIDI 36..81, with held notes and rests."""
    held = Chorale(
        [[60, 64, 67, 48], [60, 64, 67, 48], [60, 0, 67, 48], [62, 0, 67, 50]] * 3,
        name="held",
    )
    cadence = Chorale(
        [[72, 67, 64, 48]] * 4 + [[74, 67, 62, 43]] * 4 + [[72, 64, 55, 48]] * 8,
        name="cadence",
    )
    rng = np.random.default_rng(20240601)
    soprano = rng.integers(62, 82, size=40)
    alto = rng.integers(55, 72, size=40)
    tenor = rng.integers(48, 67, size=40)
    bass = rng.integers(36, 55, size=40)
    walk = Chorale(np.stack([soprano, alto, tenor, bass], axis=1), name="walk")
    return [held, cadence, walk]


@pytest.fixture
def without_module(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """``without_module(name, message)``: importing ``name`` fails with ``message`` (a missing
    optional dependency) for the rest of the test."""
    import builtins

    real_import = builtins.__import__
    blocked: dict[str, str] = {}

    def guarded(name: str, *args: object, **kwargs: object) -> object:
        if name in blocked:
            raise ImportError(blocked[name])
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", guarded)

    def block(name: str, message: str) -> None:
        blocked[name] = message

    return block
