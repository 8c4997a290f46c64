"""The JSB train split for benchmarks, offline when the shared copy of the archive exists."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bachnet import Dataset
from bachnet.data import ENV_DATA_DIR, JSB_ARCHIVE

SHARED_ARCHIVE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / JSB_ARCHIVE


def load_train() -> Dataset:
    """The JSB train split: from ``../shared/data`` through a temporary cache when it exists,
    else from the cache or one download."""
    if SHARED_ARCHIVE.is_file():
        with tempfile.TemporaryDirectory(prefix="bachnet-bench-") as cache:
            shutil.copy(SHARED_ARCHIVE, Path(cache) / JSB_ARCHIVE)
            saved = os.environ.get(ENV_DATA_DIR)
            os.environ[ENV_DATA_DIR] = cache
            try:
                return Dataset.jsb(progress=False).split("train")
            finally:
                if saved is None:
                    os.environ.pop(ENV_DATA_DIR, None)
                else:
                    os.environ[ENV_DATA_DIR] = saved
    return Dataset.jsb().split("train")
