# One image for every phoenix service: `docker run IMAGE service processor`, `IMAGE portal`, ...
# Debian bookworm, so esorex and the ESO UVES/GIRAFFE pipelines come from Debian's packages,
# the same ones `make setup` installs.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# esorex and the CPL recipe plugins are in Debian bookworm's main archive.
RUN apt-get update \
    && apt-get install -y --no-install-recommends esorex cpl-plugin-uves cpl-plugin-giraf \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/phoenix
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY shared ./shared
COPY services ./services
RUN pip install -c constraints.txt . \
    && useradd --system --uid 10001 --create-home --home-dir /home/phoenix phoenix \
    && mkdir -p /data /archive \
    && chown phoenix:phoenix /data /archive

USER phoenix
WORKDIR /home/phoenix

# Inside a container the metrics server listens on every interface, on a fixed port, so
# Prometheus and the health check can reach it.
ENV PHOENIX_METRICS_HOST=0.0.0.0 \
    PHOENIX_METRICS_PORT=9100 \
    PHOENIX_DATA_DIR=/data
EXPOSE 9100

# Liveness of the process (`/healthz`); Python's urllib, so the image needs no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PHOENIX_METRICS_PORT', '9100'), timeout=4)"]

ENTRYPOINT ["phoenix"]
CMD ["--help"]
