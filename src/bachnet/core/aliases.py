"""Type aliases shared by the modules: paths and backend tensors."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["PathLike", "StepFn", "Tensor"]

PathLike = str | os.PathLike[str]
"""A file or folder path: a string or anything `os.fspath` takes."""

Tensor = Any
"""A tensor of the current Keras backend (TensorFlow, JAX or PyTorch), or array-like input."""

StepFn = Callable[[Tensor, Tensor, list[Tensor]], tuple[Tensor, list[Tensor]]]
"""A network's one-token step: ``(token ids (batch,), index, states) -> (logits, states)``."""
