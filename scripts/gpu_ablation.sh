#!/usr/bin/env bash
# [model] levers at equal GPU time on a lent machine: several `bachnet train` runs side by side on
# one accelerator (Keras JAX backend; no TensorFlow and no network there).
#
# Usage: [ROUND=2] scripts/gpu_ablation.sh OUT MINUTES   (round 1 and 2: the runs below)
#
# Reads .gpudata/jsb_chorales.tgz (the JSB archive) and .gpudata/jsbfakes/ (JSB's train split plus
# the 500 JS Fake Chorales as CSV in train/, JSB's valid and test untouched); Python packages the
# machine lacks come from the wheels in .whl/. Each run's model is written to OUT/NAME/ (weights
# split into 15 MB parts, `cat part.* > model.weights.h5`) with its log; evaluate them on the CPU.
set -uo pipefail
out=${1:?usage: scripts/gpu_ablation.sh OUT MINUTES}
minutes=${2:?usage: scripts/gpu_ablation.sh OUT MINUTES}
root=$(cd "$(dirname "$0")/.." && pwd)
if ! python3 -c "import keras" 2>/dev/null && compgen -G "$root/.whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/bachnet-site "$root"/.whl/*.whl || exit 1
    export PYTHONPATH=/tmp/bachnet-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$root/src${PYTHONPATH:+:$PYTHONPATH}
# Several processes share the card: no process may take 75 % of its memory up front.
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
python3 -c "import jax, keras; print('devices:', jax.devices(), 'keras', keras.__version__)" || exit 1
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv || true
jsb=$root/.gpudata/jsb_chorales.tgz
fakes=$root/.gpudata/jsbfakes
common=(--architecture beat_lstm --dropout 0.3 --patience 1000 -v 2 --time-limit "$minutes")
# SMOKE="--lstm-units 16 --epochs 1" tries the script on a tiny config.
read -r -a smoke <<<"${SMOKE:-}"
run() {  # NAME DATA [options...]
    local name=$1 data=$2
    shift 2
    python3 -m bachnet train -o "/tmp/runs/$name" --data "$data" "${common[@]}" "$@" "${smoke[@]}" \
        >"$out/$name.log" 2>&1
    echo "$name finished: $?" >>"$out/$name.log"
    if [ -f "/tmp/runs/$name/model/config.json" ]; then
        tar -C "/tmp/runs/$name" -cf "/tmp/runs/$name.tar" model
        split -b 15000000 "/tmp/runs/$name.tar" "$out/$name.tar.part-"
    fi
}
if [ "${ROUND:-1}" = 1 ]; then
    run fakes-384 "$fakes" --lstm-units 384,384 --epochs 120 --decay-epochs 100 &
    run fakes-512x3 "$fakes" --lstm-units 512,512,512 --epochs 120 --decay-epochs 100 &
    run jsb-384 "$jsb" --lstm-units 384,384 --epochs 360 --decay-epochs 200 &
else
    run fakes-512x2 "$fakes" --lstm-units 512,512 --epochs 150 --decay-epochs 100 &
    run fakes-512x3-ema "$fakes" --lstm-units 512,512,512 --epochs 150 --decay-epochs 100 \
        --ema 0.999 &
    run fakes-384x3 "$fakes" --lstm-units 384,384,384 --epochs 150 --decay-epochs 100 &
fi
wait
nvidia-smi --query-gpu=name,memory.used --format=csv || true
tail -n 3 "$out"/*.log
