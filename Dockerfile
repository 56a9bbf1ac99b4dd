# The WhatsApp Miner image: one image, two services (see docker-compose.yml).
# BASE_IMAGE lets tests and air-gapped builds use a local Python base.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATABASE_PATH=/data/whatsapp-miner.sqlite3

RUN useradd --system --uid 10001 --home-dir /srv --shell /usr/sbin/nologin app \
    && mkdir -p /data \
    && chown app /data

WORKDIR /srv
COPY --chown=root:root app/ /srv/app/
USER 10001
VOLUME ["/data"]
CMD ["python3", "-m", "app.miner"]
