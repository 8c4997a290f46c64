"""Data parallelism: split each batch over every accelerator (JAX backend)."""

from __future__ import annotations

import keras

from bachnet.errors import InputError

__all__ = ["data_parallel"]


def data_parallel(devices: int | None = None) -> int:
    """Train data-parallel over this machine's accelerators (or simulated CPU devices).

    Sets Keras's distribution (`keras.distribution.DataParallel`) for every model built
    afterwards: the weights are replicated, each batch is split across the devices and the
    gradients are averaged, so the same code scales from one device to several. JAX backend
    only (``KERAS_BACKEND=jax``); to try it on a CPU, simulate devices with
    ``XLA_FLAGS=--xla_force_host_platform_device_count=2``. The batch size must be a multiple
    of the number of devices.

    Args:
        devices: how many devices to use (default: all).

    Returns:
        The number of devices used.

    Raises:
        InputError: another backend, or more devices asked for than there are.

    Examples:
        >>> data_parallel()  # doctest: +SKIP
        2
    """
    if keras.backend.backend() != "jax":
        raise InputError(
            f"data-parallel training needs the JAX backend (KERAS_BACKEND=jax), not "
            f"{keras.backend.backend()}"
        )
    found = keras.distribution.list_devices()
    count = len(found) if devices is None else devices
    if not 1 <= count <= len(found):
        raise InputError(f"asked for {devices} devices, this machine has {len(found)}")
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=found[:count]))
    return count
