# o2c worker image: `docker compose build worker` (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app

# `pip install .` installs the pinned dependencies and the `o2c` command. The wheel does not
# carry templates/ and config/ (they are not Python packages), and settings.py looks for them
# next to itself (PROJECT_ROOT); PYTHONPATH=/app makes the o2c modules load from /app, where
# templates/ and config/ are.
RUN pip install . \
    && useradd --create-home --uid 10001 o2c \
    && mkdir -p /app/var \
    && chown o2c /app/var

ENV PYTHONPATH=/app \
    O2C_VAR_DIR=/app/var \
    O2C_CONFIG_DIR=/app/config

USER o2c

# SIGTERM stops polling and lets running activities finish (30 s graceful shutdown).
STOPSIGNAL SIGTERM
CMD ["o2c", "worker"]
