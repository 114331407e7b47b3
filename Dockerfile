# syntax=docker/dockerfile:1
# songrec: multi-stage image. CPU torch by default; `--build-arg TORCH_VARIANT=cu128` for a CUDA build.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ARG TORCH_VARIANT=cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY songrec ./songrec
COPY training ./training
COPY bot ./bot
COPY migrations ./migrations
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install "torch==2.13.0" --index-url "https://download.pytorch.org/whl/${TORCH_VARIANT}" \
 && /opt/venv/bin/pip install ".[metrics]"

FROM python:${PYTHON_VERSION}-slim AS runtime
RUN useradd --create-home --uid 10001 songrec && mkdir -p /data && chown songrec:songrec /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src/migrations /app/migrations
ENV PATH=/opt/venv/bin:$PATH \
    SONGREC_HOME=/data \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER songrec
# The database, the catalogue cache and the model artifacts live here; keep it on a volume.
VOLUME ["/data"]
HEALTHCHECK --interval=60s --timeout=20s --start-period=120s --retries=3 CMD ["songrec", "status"]
ENTRYPOINT ["songrec"]
CMD ["serve"]
