"""What the proxy and the stubs cost, against the echo floor, in one run.

One client on one connection sends a market snapshot request (3203) and waits
for the reply, for a few seconds each time, against:

- the echo floor (bench/echo.py answering with the upstream's exact bytes),
- the upstream itself (tests/upstream_opend.py: a mock-opend with a 3203 handler),
- mock-opend relaying to that upstream (``--upstream``),
- mock-opend relaying and recording (``--record``),
- mock-opend answering from the recorded stub (``--stubs``), the upstream gone.

    python -m bench.proxy [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

from bench.__main__ import INIT_BODY, recv_frame, start, stop
from mock_opend.frame import encode_frame
from mock_opend.proto_ids import message_types

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = str(ROOT / "tests" / "upstream_opend.py")
SERVE = [sys.executable, "-m", "mock_opend", "serve", "--port", "0", "--ws-port", "off", "--log-level", "warning"]


def snapshot_body() -> bytes:
    req = message_types(3203)[0]()  # type: ignore[index,misc]
    for code in ("00700", "09988", "03690"):
        sec = req.c2s.securityList.add()
        sec.market, sec.code = 1, code
    return req.SerializeToString()


def round_trips(port: int, seconds: float) -> dict[str, float]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray()
    sock.sendall(encode_frame(1001, 1, INIT_BODY))
    recv_frame(sock, buf)
    body, lat = snapshot_body(), []
    end = time.perf_counter() + seconds
    serial = 2
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        sock.sendall(encode_frame(3203, serial, body))
        recv_frame(sock, buf)
        lat.append(time.perf_counter() - t0)
        serial += 1
    sock.close()
    lat.sort()
    return {
        "req_s": round(len(lat) / sum(lat)),
        "p50_us": round(lat[len(lat) // 2] * 1e6),
        "p99_us": round(lat[int(len(lat) * 0.99)] * 1e6),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        up, up_ready, _ = start([sys.executable, UPSTREAM, "--port", "0", "--ws-port", "off", "--log-level", "warning"])
        try:
            upstream = f"127.0.0.1:{up_ready['port']}"
            results["upstream"] = round_trips(up_ready["port"], args.seconds)
            # the echo floor answers with the upstream's own reply bytes
            sock = socket.create_connection(("127.0.0.1", up_ready["port"]))
            buf = bytearray()
            sock.sendall(encode_frame(1001, 1, INIT_BODY))
            init_reply = recv_frame(sock, buf)
            sock.sendall(encode_frame(3203, 2, snapshot_body()))
            snap_reply = recv_frame(sock, buf)
            sock.close()
            canned = {
                (1001).to_bytes(4, "little").hex() + INIT_BODY.hex(): init_reply.hex(),
                (3203).to_bytes(4, "little").hex() + snapshot_body().hex(): snap_reply.hex(),
            }
            replies = Path(tmp) / "replies.json"
            replies.write_text(json.dumps(canned))
            echo, echo_ready, _ = start([sys.executable, "-m", "bench.echo", str(replies)])
            try:
                results["echo floor"] = round_trips(echo_ready["port"], args.seconds)
            finally:
                stop(echo)
            for name, extra in (
                ("proxy", ["--upstream", upstream]),
                ("proxy + record", ["--upstream", upstream, "--record", str(Path(tmp) / "rec")]),
            ):
                proc, ready, _ = start([*SERVE, *extra])
                try:
                    results[name] = round_trips(ready["port"], args.seconds)
                finally:
                    stop(proc)
        finally:
            stop(up)
        proc, ready, _ = start([*SERVE, "--stubs", str(Path(tmp) / "rec")])
        try:
            results["stub replay"] = round_trips(ready["port"], args.seconds)
        finally:
            stop(proc)
    floor = results["echo floor"]["req_s"]
    for name, r in results.items():
        print(f"{name:>15}: {r['req_s']:>7} req/s  p50 {r['p50_us']:>6} µs  p99 {r['p99_us']:>6} µs  "
              f"({r['req_s'] / floor:.2f} × echo)")  # fmt: skip
    print(json.dumps({"bench": "proxy", "seconds": args.seconds, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
