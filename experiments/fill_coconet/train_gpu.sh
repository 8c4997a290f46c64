#!/usr/bin/env bash
# One time-boxed training run of the Coconet fill model on an accelerator, then the [fill] tasks.
#
# Run from the repository root on the device machine (JAX backend, no TensorFlow, no network):
#
#     bash experiments/fill_coconet/train_gpu.sh        # with carry [".whl", ".gpudata"]
#
# Needs: .whl/ (keras, namex, optree wheels for Python 3.12; jax and numpy are already there),
# .gpudata/ (jsb_chorales.tgz, js_fakes.tgz), and $OUT (what is written there comes back).
# Sizes and times come from the environment, so a tiny CPU smoke test runs the same script:
#
#     OUT=/tmp/out NO_INSTALL=1 FILTERS=8 BLOCKS=2 BATCH=8 EPOCH_MULT=1 MAX_STEPS=3 \
#         TRAIN_END_S=40 EVAL_LIMIT=3 bash experiments/fill_coconet/train_gpu.sh
#
# $OUT afterwards (at most 8 files come back, none over 16 MiB):
#   run_gpu/best.weights.h5  best weights, model only (float32)
#   run_gpu/best.json        config, epoch and valid loss of those weights
#   run_gpu/state.json       the last checkpoint's state (history of every epoch)
#   run_gpu/train.log        the training log
#   eval.json                F1-F5 (written after every task)
#   console.log              everything the script printed
# The last checkpoint's weights and optimizer state (too big to come back) stay on the machine.
#
# The run of 2026-12-04 (run_gpu/; defaults as below, timeout_s 560) trained 23 epochs in 6.3 min
# (valid 0.9045 at epoch 21), but its evaluation, then compiling ahead (--jit on), printed nothing
# in the 154 s left: a GPU evaluation needs more of the call's time (or a second call) than that.

set -u -o pipefail
SECONDS=0
OUT=${OUT:?OUT must be set}
FILTERS=${FILTERS:-80}
BLOCKS=${BLOCKS:-20}
BATCH=${BATCH:-128}
LR=${LR:-1.5e-3}
EPOCH_MULT=${EPOCH_MULT:-8}
DECAY_PER_MINUTE=${DECAY_PER_MINUTE:-0.75}
PLATEAU=${PLATEAU:-4}
PATIENCE=${PATIENCE:-12}
WORKERS=${WORKERS:-4}
MAX_STEPS=${MAX_STEPS:-}
TRAIN_END_S=${TRAIN_END_S:-390}   # training stops by this many seconds after the script's start
TOTAL_S=${TOTAL_S:-545}           # the evaluation is cut off by then (the call's limit is ~560 s)
EVAL_STEPS=${EVAL_STEPS:-16}
EVAL_LIMIT=${EVAL_LIMIT:-}
EVAL_JIT=${EVAL_JIT:-off}         # 'on' compiled ~40 input lengths ahead: not done after 154 s on the H200

mkdir -p "$OUT/run_gpu"

main() {
export KERAS_BACKEND=jax
export XLA_PYTHON_CLIENT_PREALLOCATE=false
export PYTHONUNBUFFERED=1
export TF_CPP_MIN_LOG_LEVEL=3
export BACHNET_SHARED_DATA=$PWD/.gpudata
echo "# $(date '+%F %T') train_gpu.sh filters=$FILTERS blocks=$BLOCKS batch=$BATCH lr=$LR epoch_mult=$EPOCH_MULT" \
    "decay_per_minute=$DECAY_PER_MINUTE plateau=$PLATEAU patience=$PATIENCE workers=$WORKERS" \
    "max_steps=$MAX_STEPS train_end_s=$TRAIN_END_S total_s=$TOTAL_S eval_steps=$EVAL_STEPS eval_limit=$EVAL_LIMIT" \
    "eval_jit=$EVAL_JIT"

if [ -z "${NO_INSTALL:-}" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        .whl/keras-*.whl .whl/namex-*.whl .whl/optree-*.whl || return 1
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
python3 -c "import sys, jax, numpy, keras; print(sys.version.split()[0], 'jax', jax.__version__, jax.devices(), 'numpy', numpy.__version__, 'keras', keras.__version__, keras.backend.backend())" || return 1
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader

cd experiments/fill_coconet || return 1
LIMIT_MIN=$(python3 -c "print(max(0.05, ($TRAIN_END_S - $SECONDS) / 60))")
echo "# $(date '+%T') [${SECONDS}s] training, time limit $LIMIT_MIN min"
python3 train.py --run "$OUT/run_gpu" --log "$OUT/run_gpu/train.log" --time-limit "$LIMIT_MIN" \
    --filters "$FILTERS" --blocks "$BLOCKS" --batch "$BATCH" --lr "$LR" --epoch-mult "$EPOCH_MULT" \
    --decay-per-minute "$DECAY_PER_MINUTE" --plateau "$PLATEAU" --patience "$PATIENCE" --workers "$WORKERS" \
    ${MAX_STEPS:+--max-steps "$MAX_STEPS"}
local rc=$?
echo "# $(date '+%T') [${SECONDS}s] training ended (rc $rc)"

# Keep what can come back: the last checkpoint's state; its weights and optimizer stay here.
if [ -d "$OUT/run_gpu/ckpt" ]; then
    cp "$OUT/run_gpu/ckpt/state.json" "$OUT/run_gpu/state.json"
    ls -l "$OUT/run_gpu/ckpt" "$OUT/run_gpu"
    rm -rf /tmp/ckpt_gpu && mv "$OUT/run_gpu/ckpt" /tmp/ckpt_gpu
fi
rm -rf "$OUT/run_gpu/ckpt.new" "$OUT/run_gpu/ckpt.old" "$OUT"/run_gpu/*.tmp*
[ -f "$OUT/run_gpu/best.weights.h5" ] || { echo "no best weights"; return 1; }

local left=$((TOTAL_S - SECONDS))
if [ "$left" -lt 20 ]; then echo "no time left to evaluate"; return 1; fi
echo "# $(date '+%T') [${SECONDS}s] evaluating, cut off after ${left}s"
timeout -k 5 "$left" python3 evaluate.py --weights "$OUT/run_gpu/best.weights.h5" --config "$OUT/run_gpu/best.json" \
    --steps "$EVAL_STEPS" --jit "$EVAL_JIT" --out "$OUT/eval.json" ${EVAL_LIMIT:+--limit "$EVAL_LIMIT"}
rc=$?
echo "# $(date '+%T') [${SECONDS}s] evaluation ended (rc $rc)"
ls -l "$OUT" "$OUT/run_gpu"
return $rc
}

main 2>&1 | tee -a "$OUT/console.log"
