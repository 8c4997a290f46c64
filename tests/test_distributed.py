"""Data-parallel training (JAX backend, two simulated CPU devices) follows one device's curve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax")

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import keras
    import numpy as np
    from bachnet import BachNet, Chorale, ModelConfig, TrainConfig
    from bachnet.training.fit import data_parallel, train

    devices = data_parallel(int(sys.argv[1])) if sys.argv[1] != "0" else 0
    rng = np.random.default_rng(0)
    pieces = [
        Chorale(np.sort(rng.integers(48, 72, size=(64, 4)), axis=1)[:, ::-1]) for _ in range(8)
    ]
    keras.utils.set_random_seed(0)
    config = ModelConfig(
        architecture="beat_lstm", lstm_units=(16,), embedding_dim=8, dense_units=8,
        window=32, dropout=0.0,
    )
    net = BachNet(config)
    history = train(net, pieces, config=TrainConfig(epochs=3, batch_size=8), verbose=0)
    print(json.dumps({"devices": devices, "loss": history["loss"],
                      "visible": len(keras.distribution.list_devices())}))
    """
)


def _start(devices: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
    }
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(devices)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(process: subprocess.Popen[str]) -> dict[str, object]:
    try:
        stdout, stderr = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == 0, stderr[-2000:]
    result: dict[str, object] = json.loads(stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow  # a whole training run or process: CI's nox -s slow
def test_two_devices_follow_the_single_device_loss_curve() -> None:
    # both runs at once: on a machine with two cores the test takes one run's time
    first, second = _start(0), _start(2)
    try:
        single, double = _result(first), _result(second)
    finally:  # a failed first run leaves no second one running on
        second.kill()
        second.wait(timeout=60)
    assert double["devices"] == 2 and double["visible"] == 2
    one, two = single["loss"], double["loss"]
    assert isinstance(one, list) and isinstance(two, list) and len(one) == len(two) == 3
    assert one[-1] < one[0]  # it learns
    for a, b in zip(one, two, strict=True):
        assert abs(a - b) < 1e-3 * max(1.0, abs(a)), (one, two)
