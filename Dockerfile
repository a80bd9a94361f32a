# One image for every process of the hub on Kubernetes (helm/axhub): hub-api, scheduler,
# migrations, portal, MLflow and the Ray head and workers (same Python, same Ray version).
#   docker build -t ghcr.io/axhub/axhub:0.1.0 .                        # CPU PyTorch
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 -t … .   # GPU workers
# Not built in CI here (no Docker daemon on the build machines).
FROM python:3.11-slim

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
RUN uv pip install --system --no-deps . && python -c "import hub_api, scheduler, portal, ray, mlflow"

# Data lives on volumes (HUB_DATA_DIR=/data); the root filesystem can be read-only.
ENV HUB_DATA_DIR=/data \
    PYTHONPATH=/app
USER 10001:10001
EXPOSE 8000 8501 5000 8265
CMD ["axhub", "serve", "--host", "0.0.0.0", "--port", "8000"]
