"""The one public surface: `bachnet.__all__` lists exactly what `bachnet` exports."""

from __future__ import annotations

import inspect
import types

import bachnet
from bachnet._moved import MOVED

SUBMODULES = {
    "apps",
    "core",
    "data",
    "errors",
    "formats",
    "generation",
    "judge",
    "model",
    "music",
    "net",
    "training",
}
"""The sub-packages along the data flow: attributes of `bachnet` once imported, not exports."""

PUBLIC = [
    "BachNet",
    "BachNetError",
    "Chorale",
    "Dataset",
    "DownloadError",
    "InputError",
    "LimitError",
    "ModelConfig",
    "ModelFileError",
    "Preset",
    "RunFolderError",
    "TrainConfig",
    "Vocabulary",
    "Windows",
    "__version__",
    "metrics",
    "presets",
    "rules",
    "samplers",
]
"""`bachnet.__all__` before the package was split into sub-packages: it must not change."""


def test_public_names_are_unchanged() -> None:
    assert sorted(bachnet.__all__) == sorted(PUBLIC)


def test_old_module_paths_still_import_with_a_warning() -> None:
    import importlib
    import sys
    import warnings

    for old, new in MOVED.items():
        sys.modules.pop(old, None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = importlib.import_module(old)
        assert module is importlib.import_module(new), old
        messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
        assert f"{old} moved to {new}; import it from there" in messages, (old, messages)


def test_all_names_exist() -> None:
    missing = [name for name in bachnet.__all__ if not hasattr(bachnet, name)]
    assert not missing


def test_every_public_export_is_listed() -> None:
    public = {
        name
        for name, value in vars(bachnet).items()
        if not name.startswith("_")
        and not (
            isinstance(value, types.ModuleType)
            and (name in SUBMODULES or f"bachnet.{name}" in MOVED)  # old paths: aliases
        )
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
