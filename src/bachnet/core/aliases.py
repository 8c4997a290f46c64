"""Type aliases shared by the modules: paths and backend tensors."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["PathLike", "Tensor"]

PathLike = str | os.PathLike[str]
"""A file or folder path: a string or anything `os.fspath` takes."""

Tensor = Any
"""A tensor of the current Keras backend (TensorFlow, JAX or PyTorch), or array-like input."""
