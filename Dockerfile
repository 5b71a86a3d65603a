# mock-opend as a container: the mock OpenD for client authors in any language.
#
#   docker build -t mock-opend .
#   docker run --rm -p 11111:11111 -p 11112:11112 mock-opend
#
# BASE is a Debian- or Ubuntu-based image with python3 (3.11 or newer) and its venv module
# (the build runs groupadd and useradd: busybox images such as Alpine lack them). The packages come
# from the package index, or, offline, from wheels made beforehand on the host:
#
#   pip wheel . -w wheels
#   docker build --build-context wheels=wheels -t mock-opend .
#
# docs/container.md has the rest: ports, health, CI services, compose.
ARG BASE=python:3.12-slim

# Empty unless `--build-context wheels=DIR` replaces it with a folder of wheels.
FROM scratch AS wheels

FROM ${BASE}
RUN --mount=type=bind,target=/src,readonly \
    --mount=type=bind,from=wheels,target=/wheels \
    set -eu; \
    python3 -m venv /opt/mock-opend; \
    pip=/opt/mock-opend/bin/pip; \
    if ls /wheels/*.whl >/dev/null 2>&1; then \
        "$pip" install --no-cache-dir --no-index --find-links /wheels mock-opend; \
    else \
        mkdir /tmp/src; \
        cp -r /src/pyproject.toml /src/README.md /src/mock_opend /src/conformance /tmp/src/; \
        "$pip" install --no-cache-dir /tmp/src; \
        rm -rf /tmp/src; \
    fi; \
    groupadd --system --gid 10001 opend; \
    useradd --system --uid 10001 --gid 10001 --home-dir /data --create-home --shell /usr/sbin/nologin opend

# the ready file tells `mock-opend health` (the HEALTHCHECK) which port `serve` took
ENV PATH=/opt/mock-opend/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MOCK_OPEND_READY_FILE=/tmp/mock-opend.ready.json
USER 10001:10001
WORKDIR /data
# 11111 TCP API, 11112 WebSocket (the JS SDK), 11113 the admin API when turned on
# (inside a container it needs --admin-host 0.0.0.0 and --admin-token).
EXPOSE 11111 11112 11113
HEALTHCHECK --interval=5s --timeout=4s --start-period=10s --retries=3 CMD ["mock-opend", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["mock-opend"]
CMD ["serve", "--host", "0.0.0.0"]
