#!/usr/bin/env bash
# Build the Docker image and exercise it: the app starts, turns healthy, and its `generate`
# API returns a MIDI file that music21 reads. Bounded in time; cleans up after itself.
#
#   bash scripts/docker_smoke.sh            # needs docker (and root to start dockerd)
#
# 1. starts dockerd if none is running (and stops it at the end);
# 2. uses python:3.11-slim, or, where no registry can be reached, makes a base image from
#    Debian packages with debootstrap (python3, venv, pip, FluidSynth, Cairo) and `docker import`;
# 3. builds a wheelhouse on the host (`pip wheel ".[app]"`): the image installs offline from it;
# 4. builds the image (--network host), runs it, waits for its HEALTHCHECK, calls the app's
#    `generate` endpoint with gradio_client, reads the MIDI back, prints the image size.
# Needs a Python with gradio_client and music21 (the test extras) as `python`.
set -euo pipefail
cd "$(dirname "$0")/.."

TAG=${TAG:-bachnet:smoke}
NAME=bachnet-smoke-$$
PORT=${PORT:-17860}
LIMIT=${LIMIT:-1500}  # seconds for the whole script
WORK=$(mktemp -d)
DOCKERD_PID=""
SECONDS=0

log() { printf '[%4ds] %s\n' "$SECONDS" "$*"; }

cleanup() {
    docker rm -f "$NAME" >/dev/null 2>&1 || true
    # this Dockerfile's earlier builds and build stages, left untagged by this one (each ~7 GB);
    # only images carrying its label are touched
    docker image prune -f --filter label=org.bachnet.image >/dev/null 2>&1 || true
    rm -f wheelhouse/*.whl
    if [ -n "$DOCKERD_PID" ]; then
        kill "$DOCKERD_PID" 2>/dev/null || true
        wait "$DOCKERD_PID" 2>/dev/null || true
        log "stopped the dockerd this script started"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
# the watchdog's own `sleep` goes with it (a stray `sleep` would hold open any pipe that
# captured this script's output until the limit)
( sleep "$LIMIT" & SLEEPER=$!
  trap 'kill $SLEEPER 2>/dev/null; exit 0' TERM
  wait $SLEEPER && log "time limit of $LIMIT s reached" && kill -TERM $$ ) 2>/dev/null &
WATCHDOG=$!
trap 'kill $WATCHDOG 2>/dev/null || true; cleanup' EXIT

# 1. the daemon
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    dockerd >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { tail -20 "$WORK/dockerd.log"; exit 1; }
fi

# 2. the base image
BASE=python:3.11-slim
if ! docker image inspect "$BASE" >/dev/null 2>&1 && ! timeout 60 docker pull -q "$BASE" >/dev/null 2>&1; then
    BASE=bachnet-base:bookworm
    if ! docker image inspect "$BASE" >/dev/null 2>&1; then
        log "no registry: making $BASE from Debian packages (debootstrap)"
        debootstrap --variant=minbase \
            --include=python3,python3-venv,python3-pip,ca-certificates,libfluidsynth3,libcairo2 \
            bookworm "$WORK/rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 \
            || { tail -20 "$WORK/debootstrap.log"; exit 1; }
        rm -rf "$WORK/rootfs/var/cache/apt/archives"/*.deb "$WORK/rootfs/var/lib/apt/lists"/*
        tar -C "$WORK/rootfs" -c . | docker import - "$BASE" >/dev/null
        rm -rf "$WORK/rootfs"
    fi
fi
log "base image: $BASE"

# 3. the wheelhouse, built by this Python for the image's (they must be the same version)
IMAGE_PY=$(docker run --rm "$BASE" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
HOST_PY=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$IMAGE_PY" = "$HOST_PY" ] || { log "the image has Python $IMAGE_PY, this host $HOST_PY"; exit 1; }
log "building the wheelhouse for Python $IMAGE_PY"
mkdir -p wheelhouse
python -m pip wheel -q -w wheelhouse ".[app]" 2>&1 | grep -v "^WARNING: Location" || true
log "wheelhouse: $(ls wheelhouse/*.whl | wc -l) wheels, $(du -sh wheelhouse | cut -f1)"

# 4. build and run
start=$SECONDS
docker build -q --network host --build-arg BASE="$BASE" -t "$TAG" . >/dev/null
log "image built in $((SECONDS - start)) s: $(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}')"
docker run -d --name "$NAME" --network host -e PORT="$PORT" "$TAG" >/dev/null
for _ in $(seq 120); do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$NAME")
    [ "$status" = healthy ] && break
    [ "$(docker inspect -f '{{.State.Running}}' "$NAME")" = true ] || { docker logs "$NAME" | tail -20; exit 1; }
    sleep 2
done
[ "$status" = healthy ] || { docker logs "$NAME" | tail -20; exit 1; }
log "container healthy; user $(docker exec "$NAME" id -un)"

python - "$PORT" <<'PY'
import sys, tempfile
from pathlib import Path

import music21
from gradio_client import Client

client = Client(f"http://127.0.0.1:{sys.argv[1]}/", verbose=False, download_files=tempfile.mkdtemp())
score, roll, wav, files, summary = client.predict(
    "jsb-beat", "top_p", 1.0, 0, 1.0, True, 64, 3, "any", "none", 0, None, False,
    api_name="/generate",
)
midi = next(Path(f) for f in files if str(f).endswith(".mid"))
parsed = music21.converter.parse(str(midi), forceSource=True, storePickle=False)
print(f"generate -> {summary}")
print(f"MIDI read back: {len(parsed.parts)} parts, {parsed.highestTime} quarter notes")
assert len(parsed.parts) == 4 and parsed.highestTime >= 16
assert wav is not None and Path(wav).stat().st_size > 1000, "no audio"
assert "<svg" in score, "no score"
PY
log "smoke test passed"
