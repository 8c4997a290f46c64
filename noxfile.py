"""Sessions: tests, tests_jax, lint, docs, docs_blocks, slow, docker (what CI runs), and bench.

``nox`` runs ``nox.options.sessions``, the one list of what CI checks. ``.ci/run`` runs the
README's test command first, in a fresh ``.ci-venv`` (that is the ``tests`` session), then
``nox --no-venv`` in that same environment for the rest: the sessions install into the current
environment there instead of each building its own (TensorFlow and JAX installed once).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nox

# What CI checks, in order.
nox.options.sessions = ["tests", "tests_jax", "lint", "docs", "docs_blocks", "slow", "docker"]
nox.options.reuse_existing_virtualenvs = True

TF_QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3"}
LINT_PATHS = ["src", "tests", "benchmarks", "examples", "noxfile.py", "docs/scripts"]
JAX_TESTS = [
    "tests/test_model.py",
    "tests/test_generate.py",
    "tests/test_samplers.py",
    "tests/test_rules.py",
    "tests/test_harmonize.py",
    "tests/test_fill.py",
    "tests/test_meters.py",
    "tests/test_phrase_model.py",
    "tests/test_transposed.py",
]
# Set by .ci/run once the README's test command (the `tests` session) has passed.
README_TESTS_PASSED = "BACHNET_README_TESTS_PASSED"


def install(session: nox.Session, *args: str) -> None:
    """``pip install`` into the session's venv, or into the current one under ``--no-venv``
    (nothing under ``--no-install``/``-R``, which nox's run_install ignores without a venv)."""
    if session.venv_backend == "none":
        config = getattr(session._runner, "global_config", None)
        if not getattr(config, "no_install", False):
            session.run_install("python", "-m", "pip", "install", "-q", *args, external=True)
    else:
        session.install(*args)


@nox.session
def tests(session: nox.Session) -> None:
    """The README's test command: the test suite on the TensorFlow backend, slow tests aside."""
    if os.environ.get(README_TESTS_PASSED) == "1":
        session.skip("the README's test command already passed (.ci/run runs it first)")
    install(session, "-e", ".[test]")
    session.run("python", "-m", "pytest", "-q", *session.posargs, env=TF_QUIET)


@nox.session
def tests_jax(session: nox.Session) -> None:
    """The model, generation, sampler, rule and harmonisation tests with KERAS_BACKEND=jax."""
    install(session, "-e", ".[test]")
    session.run(
        "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *JAX_TESTS,
        *session.posargs,
        env={**TF_QUIET, "KERAS_BACKEND": "jax"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint + format check), mypy --strict on src/, and import-linter's contracts.

    The tools are pinned in the ``lint`` extra; ``lint-imports`` runs once ``pyproject.toml``
    has a ``[tool.importlinter]`` section (or there is an ``.importlinter`` file).
    """
    install(session, "-e", ".[lint]")
    session.run("ruff", "--version")
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)
    session.run("mypy", "src/bachnet")
    pyproject = Path("pyproject.toml").read_text(encoding="utf-8")
    configured = re.search(r"^\[tool\.importlinter\]", pyproject, re.MULTILINE)
    if configured or Path(".importlinter").exists():
        session.run("lint-imports")
    else:
        session.log("lint-imports: no [tool.importlinter] contracts configured yet")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site; warnings are errors."""
    install(session, "-e", ".[docs]")
    session.run("mkdocs", "build", "--strict")


@nox.session
def docs_blocks(session: nox.Session) -> None:
    """Every Python code block of the documentation pages and the README (tests marked
    ``docs``: tests/test_docs.py), which the default run deselects."""
    install(session, "-e", ".[test]")
    session.run("python", "-m", "pytest", "-q", "-m", "docs", *session.posargs, env=TF_QUIET)


@nox.session
def slow(session: nox.Session) -> None:
    """The tests marked ``slow`` (headless Chromium, whole training runs), which the default
    run deselects."""
    install(session, "-e", ".[test]")
    # one at a time (-n 0): a training run killed and resumed, two devices against one, a
    # browser and a server each want the machine to themselves
    session.run(
        "python", "-m", "pytest", "-q", "-n", "0", "-m", "slow", *session.posargs, env=TF_QUIET
    )


def docker_usable() -> bool:
    """docker is installed, and this user is root (the script starts dockerd) or can reach it."""
    if shutil.which("docker") is None:
        return False
    if os.geteuid() == 0:
        return True
    probe = subprocess.run(["docker", "info"], capture_output=True, check=False)
    return probe.returncode == 0


@nox.session
def docker(session: nox.Session) -> None:
    """scripts/docker_smoke.sh: build the image offline from a wheelhouse and exercise it."""
    if not docker_usable():
        session.skip("docker is not installed or not usable by this user")
    install(session, "-e", ".[test]")  # the script's client side needs gradio_client, music21
    session.run("bash", "scripts/docker_smoke.sh", external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: data pipeline, training throughput, generation speed, the judge (not in CI)."""
    install(session, ".")
    for script in ("pipeline.py", "train.py", "generate.py", "judge.py"):
        session.run("python", f"benchmarks/{script}", *session.posargs, env=TF_QUIET)
    # the bundled models side by side at batch 1 (the [model] issue's speed bound)
    session.run("python", "benchmarks/batch1.py", env=TF_QUIET)
