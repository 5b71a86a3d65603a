"""Fuzzing in CI: the properties of mock_opend.fuzz with a few hundred examples
each (``python -m mock_opend.fuzz --minutes 10`` is the long campaign), and a
garbage storm against a live server while a real client keeps working."""

from __future__ import annotations

import os
import random
import socket
import threading
import time

import pytest
from conftest import sdk_context

from mock_opend import fuzz

EXAMPLES = int(os.environ.get("MOCK_OPEND_FUZZ_EXAMPLES", "300"))


@pytest.mark.parametrize("name", ["decoder", "connection", "handlers", "websocket", "fields"])
def test_property(name: str) -> None:
    fuzz.properties(EXAMPLES)[name]()


@pytest.mark.sdk
def test_garbage_storm_does_not_disturb_a_real_client(opend_server_factory, caplog) -> None:
    server = opend_server_factory(now="2026-06-15", rate_limit="off", max_body_len=1 << 16)
    stop = threading.Event()
    sent = [0]

    def storm(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            try:
                with socket.create_connection((server.host, server.port), timeout=1) as s:
                    for _ in range(rng.randint(1, 20)):
                        size = rng.choice([1, 10, 44, 45, 100, 4000])
                        blob = rng.randbytes(size)
                        if rng.random() < 0.5:
                            blob = b"FT" + blob[2:]
                        s.sendall(blob)
                        sent[0] += 1
            except OSError:
                pass

    threads = [threading.Thread(target=storm, args=(i,), daemon=True) for i in range(4)]
    for t in threads:
        t.start()
    try:
        with sdk_context("futu", server.host, server.port) as ctx:
            t0 = time.monotonic()
            while time.monotonic() - t0 < 3:
                ret, data, _ = ctx.get_option_market_statistic("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12")
                assert ret == 0 and len(data) == 10
    finally:
        stop.set()
        for t in threads:
            t.join(5)
    assert sent[0] > 100
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # no handler blew up
