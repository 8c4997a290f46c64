"""The one public surface: `bachnet.__all__` lists exactly what `bachnet` exports."""

from __future__ import annotations

import inspect
import types

import bachnet

SUBMODULES = {
    "chorale",
    "vocab",
    "data",
    "pipeline",
    "config",
    "model",
    "train",
    "generate",
    "pretrained",
    "files",
    "cli",
    "networks",
    "plugins",
    "keys",
    "endings",
    "harmonize",
    "audio",
    "score",
    "notebook",
    "app",
    "aliases",
    "errors",
}


def test_all_names_exist() -> None:
    missing = [name for name in bachnet.__all__ if not hasattr(bachnet, name)]
    assert not missing


def test_every_public_export_is_listed() -> None:
    public = {
        name
        for name, value in vars(bachnet).items()
        if not name.startswith("_")
        and not (isinstance(value, types.ModuleType) and name in SUBMODULES)
        and name != "annotations"
    }
    assert public <= set(bachnet.__all__), sorted(public - set(bachnet.__all__))
    assert sorted(bachnet.__all__) == sorted(set(bachnet.__all__)), "duplicates in __all__"


def test_samplers_is_public_and_lazy() -> None:
    assert "samplers" in bachnet.__all__
    assert isinstance(bachnet.samplers, types.ModuleType)
    assert bachnet.samplers.get("greedy").name == "greedy"


def test_every_public_object_has_a_docstring_with_an_example() -> None:
    lacking = []
    for name in bachnet.__all__:
        value = getattr(bachnet, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            doc = inspect.getdoc(value) or ""
            if "Examples:" not in doc and not issubclass_exception(value):
                lacking.append(name)
    assert not lacking, f"no Examples: section in {lacking}"


def issubclass_exception(value: object) -> bool:
    return inspect.isclass(value) and issubclass(value, Exception)
