# One image for every process of the hub on Kubernetes (helm/axhub): hub-api, scheduler,
# migrations, portal, MLflow and the Ray head and workers (same Python, same Ray version).
#   docker build -t ghcr.io/axhub/axhub:0.1.0 .                        # CPU PyTorch
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 -t … .   # GPU workers
#   docker build --build-arg PYTHON_IMAGE=mirror.example/python:3.11-slim …   # offline mirror
# `make image` builds it, `make image-check` (ops/check-image.sh) checks a built image against
# the checkout: imports, the compiled core's decisions equal the sources', every command the
# chart runs, the API and the portal started as the chart starts them, the core's pass time.
# CI does not build it (no Docker daemon there); tests/scheduler/test_compiled_core.py builds
# the core as the first stage does and checks it.

# any CPython 3.11 image with pip and the C headers (the official slim one has both)
ARG PYTHON_IMAGE=python:3.11-slim

# Stage 1: the scheduler's policy core compiled by mypyc. Same decisions as the sources, to the
# letter of every reason (`python -m scheduler.bench fingerprint`), a faster pass (≈ 0.7 × the
# pure pass time at 10k jobs × 1k GPUs; docs/scheduler.md). Only the image carries it: in a
# checkout the extension modules would shadow later edits of the sources.
FROM ${PYTHON_IMAGE} AS compiled-core
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.lock ./
# mypy and what it needs, at the locked versions; setuptools drives the C build
RUN pip install --no-cache-dir setuptools==84.2.1 \
      $(grep -E '^(mypy|mypy-extensions|typing-extensions|pathspec|librt)==' requirements.lock)
COPY scheduler ./scheduler
COPY ops/compile-core.sh ./ops/
RUN sh ops/compile-core.sh /build

FROM ${PYTHON_IMAGE}

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/tmp

RUN groupadd --gid 10001 axhub && useradd --uid 10001 --gid 10001 --no-create-home axhub

WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
RUN pip install --upgrade pip uv \
    && uv pip install --system -r requirements.lock \
    && pip install --index-url "$TORCH_INDEX" "torch==${TORCH_VERSION}"
COPY hub_api ./hub_api
COPY scheduler ./scheduler
COPY portal ./portal
# the compiled core beside its sources (extension modules win the import) and mypyc's runtime
COPY --from=compiled-core /build/scheduler/core/*.so ./scheduler/core/
COPY --from=compiled-core /build/*__mypyc*.so ./
# /app before site-packages (where `uv pip install .` puts a pure copy): for every process,
# the `axhub` entry point included, the compiled core and mypyc's runtime come from /app
ENV PYTHONPATH=/app
RUN uv pip install --system --no-deps . && python -c "import hub_api, scheduler, portal, ray, mlflow" \
    && cd / && python -c "from scheduler.core import core_build; assert core_build() == 'compiled'"

# Data lives on volumes (HUB_DATA_DIR=/data); the root filesystem can be read-only.
ENV HUB_DATA_DIR=/data
USER 10001:10001
EXPOSE 8000 8501 5000 8265
CMD ["axhub", "serve", "--host", "0.0.0.0", "--port", "8000"]
