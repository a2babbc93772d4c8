# syntax=docker/dockerfile:1
# Deskhand: one image for the web processes, the worker and `deskhand db upgrade`.

# ---- build: install into a virtualenv and export the embedding model to ONNX (fp32) once --------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DESKHAND_CACHE_DIR=/opt/deskhand/cache
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# The CPU build of torch first, so nothing pulls a multi-GB CUDA build.
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY channels ./channels
COPY graphs ./graphs
COPY knowledge ./knowledge
COPY tools ./tools
COPY evals ./evals
# Our own package from the build context (its dependencies are pinned by pyproject's lower bounds);
# the ONNX export happens here, at build time, never when a container starts.
# hadolint ignore=DL3013
RUN pip install ".[llm]" \
    && python -c "from pathlib import Path; from knowledge.embedder import load_embedder; \
load_embedder('auto', cache_dir=Path('/opt/deskhand/cache/models'))"

# ---- runtime: the virtualenv and the exported model, run as an unprivileged user -------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    DESKHAND_ENV=production DESKHAND_CACHE_DIR=/opt/deskhand/cache \
    DESKHAND_DATA_DIR=/var/lib/deskhand DESKHAND_LOG_FORMAT=json PORT=3000
RUN groupadd --system --gid 10001 deskhand \
    && useradd --system --uid 10001 --gid deskhand --home-dir /var/lib/deskhand --create-home deskhand \
    && install -d -o 10001 -g 10001 /var/lib/deskhand/index
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=deskhand:deskhand /opt/deskhand/cache /opt/deskhand/cache
WORKDIR /var/lib/deskhand
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"]
CMD ["sh", "-c", "exec deskhand serve --host 0.0.0.0 --port \"$PORT\""]
