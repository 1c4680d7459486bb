# syntax=docker/dockerfile:1
# A small production image of triage-bot: the virtualenv is built in one stage and copied
# into a slim runtime that runs as an unprivileged user (uid 10001) with a health check.
#   docker build -t triage-bot .
#   docker run --env-file .env -p 3000:3000 -v triage-data:/data triage-bot
# The base is pinned to an exact Python release; pin its digest too if your registry
# policy asks for it (docker buildx imagetools inspect python:3.11.11-slim-bookworm).
# The build stage's RUN lines use only $VENV and $DATA, so tests can run them as a script.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV VENV=/opt/venv \
    DATA=/data \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN python -m venv "$VENV" && "$VENV/bin/pip" install --quiet . && mkdir -p "$DATA"
# Smoke test of the installed package (outside /src), with its data files.
RUN cd "$DATA" && "$VENV/bin/triage-bot" --help > /dev/null \
    && "$VENV/bin/python" -c "import bot.app, bot.healthcheck; \
from bot.placeholders import example_ids; from bot.classifier.local import BUNDLED_MODEL; \
assert example_ids() and BUNDLED_MODEL.is_file(), 'package data missing'"

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3000 \
    POLICIES_DIR=/app/policies \
    DATABASE_URL=sqlite:////data/triage.db
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=10001:10001 /data /data
# The example policies; mount your own over /app/policies (read-only is fine).
COPY policies /app/policies
# Relative paths (models/ written by the daily retrain) land in the writable volume.
WORKDIR /data
USER 10001:10001
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]
CMD ["triage-bot", "serve"]
