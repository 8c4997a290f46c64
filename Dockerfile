# bachnet's web app in a container:
#   docker build -t bachnet . && docker run -p 7860:7860 bachnet
# then open http://localhost:7860. Offline (an air-gapped build, or behind a proxy whose TLS the
# build does not trust): put every wheel in ./wheelhouse first, e.g.
#   python -m pip wheel ".[app]" -w wheelhouse
# (with the image's Python version) and the build installs from it alone (--no-index).
# BASE picks the base image: any Debian-like image with python3 (>= 3.10), venv and pip.
ARG BASE=python:3.11-slim

# The virtual environment is built in a first stage, so the wheels never reach the image.
FROM ${BASE} AS build
LABEL org.bachnet.image=build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY wheelhouse/ /tmp/wheelhouse/
COPY pyproject.toml README.md LICENSE /tmp/src/
COPY src/ /tmp/src/src/
RUN python3 -m venv /opt/bachnet \
    && if ls /tmp/wheelhouse/*.whl >/dev/null 2>&1; then \
           offline="--no-index --find-links /tmp/wheelhouse"; \
       else offline=""; fi \
    && /opt/bachnet/bin/pip install $offline "/tmp/src[app]"

FROM ${BASE}
LABEL org.bachnet.image=app
ENV PYTHONDONTWRITEBYTECODE=1 \
    TF_CPP_MIN_LOG_LEVEL=3 \
    GRADIO_ANALYTICS_ENABLED=False \
    MPLCONFIGDIR=/tmp/matplotlib \
    PORT=7860 \
    PATH=/opt/bachnet/bin:$PATH

# FluidSynth (audio) and Cairo (PNG scores), unless the base image has them already.
RUN if ! ldconfig -p | grep -q libfluidsynth || ! ldconfig -p | grep -q libcairo.so; then \
        apt-get update \
        && apt-get install -y --no-install-recommends libfluidsynth3 libcairo2 \
        && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=build /opt/bachnet /opt/bachnet

RUN useradd --create-home --uid 1000 bachnet
USER bachnet
WORKDIR /home/bachnet

EXPOSE 7860
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/', timeout=4)"
CMD ["sh", "-c", "exec bachnet app --host 0.0.0.0 --port \"$PORT\""]
