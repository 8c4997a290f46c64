"""Sessions: tests, tests_jax (model tests on the JAX backend), lint, bench, docs."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite on the TensorFlow backend (as CI runs it)."""
    session.install(".[test]")
    session.run("python", "-m", "pytest", "-q", *session.posargs, env={"TF_CPP_MIN_LOG_LEVEL": "3"})


@nox.session
def tests_jax(session: nox.Session) -> None:
    """The model, generation, sampler, rule and harmonisation tests with KERAS_BACKEND=jax."""
    session.install(".[test]")
    files = [
        "tests/test_model.py",
        "tests/test_generate.py",
        "tests/test_samplers.py",
        "tests/test_rules.py",
        "tests/test_harmonize.py",
    ]
    session.run(
        "python", "-m", "pytest", "-q", *files, *session.posargs, env={"KERAS_BACKEND": "jax"}
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) and mypy --strict on src/."""
    session.install(".[dev]")
    paths = ["src", "tests", "benchmarks", "examples", "noxfile.py", "docs/scripts"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    session.run("mypy", "src/bachnet")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: data pipeline, training throughput, generation speed."""
    session.install(".")
    for script in ("pipeline.py", "train.py", "generate.py"):
        session.run(
            "python", f"benchmarks/{script}", *session.posargs, env={"TF_CPP_MIN_LOG_LEVEL": "3"}
        )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site; warnings are errors."""
    session.install(".[docs]")
    session.run("mkdocs", "build", "--strict")
