#!/usr/bin/env bash
# Train a preset on a lent GPU machine (Keras JAX backend; no TensorFlow and no network there).
#
# Usage: scripts/train_gpu.sh OUT MINUTES [bachnet train options...]
#
#   OUT      folder for the run (OUT/run) and the finished model (OUT/run/model)
#   MINUTES  wall-clock budget for training (the run stops after the epoch that passes it)
#
# The JSB archive is read from $BACHNET_ARCHIVE (default .gpudata/jsb_chorales.tgz): copy
# ../shared/data/jsb_chorales.tgz there. Python packages the machine lacks (keras, namex,
# optree) are installed from the wheels in .whl/ when present. Every accelerator is used
# (--data-parallel). The defaults train the full-size beat_lstm (3 x 512, 5.66 M parameters);
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
archive=${BACHNET_ARCHIVE:-$root/.gpudata/jsb_chorales.tgz}
python3 -c "import jax; print('devices:', jax.devices())"
python3 -m bachnet train -o "$out/run" --data "$archive" --data-parallel \
    --time-limit "$minutes" --architecture beat_lstm --lstm-units 512,512,512 --dropout 0.3 \
    --epochs 400 --decay-epochs 400 --patience 60 -v 2 "$@"
python3 -m bachnet evaluate "$out/run/model" --data "$archive" --split test
