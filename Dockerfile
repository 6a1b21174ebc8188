# syntax=docker/dockerfile:1
# A worker-manager node: the wheel with the postgres extra on a slim Python 3.11, run as
# an unprivileged user, its home on a volume. docs/operations.md ("Deploy") says how to
# use it; compose.yaml runs two nodes of one chain on PostgreSQL with it.
#
#   docker build -t worker-manager .
#   docker run --rm -v wm-home:/var/lib/worker-manager worker-manager \
#       init --chain-id worker-manager-1 --admin secret1…
#   docker run -d -v wm-home:/var/lib/worker-manager -p 1317:1317 worker-manager

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: the project's wheel and the wheels of everything it needs ---------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip wheel --wheel-dir /wheels ".[postgres]"

# --- the node ------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ARG WM_UID=10001
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WM_HOME=/var/lib/worker-manager
RUN groupadd --system --gid "${WM_UID}" worker-manager \
    && useradd --system --uid "${WM_UID}" --gid worker-manager \
        --home-dir /var/lib/worker-manager --no-create-home --shell /usr/sbin/nologin \
        worker-manager \
    && install -d -m 0700 -o worker-manager -g worker-manager /var/lib/worker-manager
# installed from the build stage's wheels only: no compiler, no index, no wheels left behind
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels "worker-manager[postgres]"
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/worker-manager-entrypoint

# the home (config.toml, the SQLite database unless PostgreSQL, secrets/, keyring/)
VOLUME ["/var/lib/worker-manager"]
USER ${WM_UID}:${WM_UID}
EXPOSE 1317
# /healthz answers 503 while the node cannot reach its database; WM_PORT if it is set
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % (os.environ.get('WM_PORT') or '1317'), timeout=4)"]
ENTRYPOINT ["worker-manager"]
CMD ["serve", "--host", "0.0.0.0"]
