#!/usr/bin/env bash
# Train a preset on a lent GPU machine (Keras JAX backend; no TensorFlow and no network there).
#
# Usage: scripts/train_gpu.sh OUT MINUTES [bachnet train options...]
#
#   OUT      folder for the run (OUT/run) and the finished model (OUT/run/model)
#   MINUTES  wall-clock budget for training (the run stops after the epoch that passes it)
#
# The corpus is read from $BACHNET_ARCHIVE (default .gpudata/jsbfakes: JSB's train split plus the
# 500 JS Fake Chorales, JSB's valid and test; build it here with
# `python scripts/jsb_plus_fakes.py .gpudata/jsbfakes` and carry .gpudata). Python packages the
# machine lacks (keras, namex, optree) are installed from the wheels in .whl/ when present.
# Every accelerator is used (--data-parallel). The defaults are the recipe of the
# jsb-fakes-large preset (3 x 512 beat_lstm, 5.67 M parameters, 120 epochs: about 5 minutes on
# one H200; test NLL 0.3578, 0.3547 after `bachnet calibrate` on the valid split);
# pass options after MINUTES to change them, e.g. `--lstm-units 64 --epochs 2` for a smoke test.
set -euo pipefail
out=${1:?usage: scripts/train_gpu.sh OUT MINUTES [options]}
minutes=${2:?usage: scripts/train_gpu.sh OUT MINUTES [options]}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
if ! python3 -c "import keras" 2>/dev/null && compgen -G "$root/.whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/bachnet-site "$root"/.whl/*.whl
    export PYTHONPATH=/tmp/bachnet-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$root/src${PYTHONPATH:+:$PYTHONPATH}
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
archive=${BACHNET_ARCHIVE:-$root/.gpudata/jsbfakes}
python3 -c "import jax; print('devices:', jax.devices())"
python3 -m bachnet train -o "$out/run" --data "$archive" --data-parallel \
    --time-limit "$minutes" --architecture beat_lstm --lstm-units 512,512,512 --dropout 0.3 \
    --epochs 120 --decay-epochs 100 --patience 1000 -v 2 "$@"
python3 -m bachnet evaluate "$out/run/model" --data "$archive" --split test
