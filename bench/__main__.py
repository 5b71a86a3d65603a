"""mock-opend's numbers, in one run on this machine:

    python -m bench [--seconds 3] [--skip-kit] [--json FILE]

- 3301 requests/s and p50/p99 latency, 10-row and 250-row replies, over one
  connection and over 100 concurrent ones, with a raw protocol client; the same
  client against bench/echo.py (a minimal asyncio server returning the same
  bytes: the floor for a Python server here); and the ratio server/echo;
- time from process start to the ready line; in-process fixture start time;
- server RSS with 1,000 idle connections;
- the conformance kit's ci profile wall time against the futu-api SDK.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mock_opend.frame import HEADER_LEN, FrameHeader, encode_frame
from mock_opend.messages import InitConnectRequest, OptionMarketStatisticRequest

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 6  # alternating server/echo slices per measurement
READY_RUNS = 9  # process starts timed to the ready line (the median is reported)
RANGES = {10: ("2026-06-01", "2026-06-12"), 250: ("2025-06-16", "2026-06-12")}
SERVER_ARGS = [
    "--port",
    "0",
    "--ws-port",
    "off",
    "--now",
    "2026-06-15",
    "--rate-limit",
    "off",
    "--page-size",
    "1000",
]  # everything else at its default: info logging included (the lines go to a file)


def request_body(rows: int) -> bytes:
    req = OptionMarketStatisticRequest()
    req.c2s.optionMarket, req.c2s.dataType = 1, 0
    req.c2s.beginTime, req.c2s.endTime = RANGES[rows]
    return req.SerializeToString()


INIT = InitConnectRequest()
INIT.c2s.clientVer, INIT.c2s.clientID, INIT.c2s.packetEncAlgo = 100, "bench", -1
INIT_BODY = INIT.SerializeToString()


def start(cmd: list[str], log: Any = None) -> tuple[subprocess.Popen[str], dict[str, Any], float]:
    """Start a server; (process, ready line, seconds from start to the ready line)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    return proc, ready, time.perf_counter() - t0


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def recv_frame(sock: socket.socket, buf: bytearray) -> bytes:
    while True:
        if len(buf) >= HEADER_LEN:
            n = HEADER_LEN + FrameHeader.unpack(buf[:HEADER_LEN]).body_len
            if len(buf) >= n:
                frame = bytes(buf[:n])
                del buf[:n]
                return frame
        chunk = sock.recv(262144)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk


def one_connection(port: int, rows: int, seconds: float) -> tuple[list[float], float]:
    """Latencies of back-to-back requests on one connection, and the wall time."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray()
    sock.sendall(encode_frame(1001, 1, INIT_BODY))
    recv_frame(sock, buf)
    frame = encode_frame(3301, 2, request_body(rows))
    for _ in range(200):  # warm-up
        sock.sendall(frame)
        recv_frame(sock, buf)
    lat = []
    t_end = time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < t_end:
        t = time.perf_counter()
        sock.sendall(frame)
        recv_frame(sock, buf)
        lat.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    sock.close()
    return lat, wall


def _stats(lat: list[float], wall: float) -> dict[str, float]:
    lat.sort()
    return {
        "req_s": round(len(lat) / wall, 1),
        "p50_ms": round(statistics.median(lat) * 1e3, 3),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1e3, 3),
        "requests": len(lat),
    }


async def _many(port: int, rows: int, seconds: float, conns: int) -> tuple[list[float], float]:
    frame = encode_frame(3301, 2, request_body(rows))
    lat: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(encode_frame(1001, 1, INIT_BODY))
        await _read_frame(r)
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            w.write(frame)
            await _read_frame(r)
            lat.append(time.perf_counter() - t)
        w.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    return lat, time.perf_counter() - t0


async def _read_frame(r: asyncio.StreamReader) -> bytes:
    head = await r.readexactly(HEADER_LEN)
    return head + await r.readexactly(FrameHeader.unpack(head).body_len)


def many_connections(port: int, rows: int, seconds: float, conns: int = 100) -> tuple[list[float], float]:
    """Latencies of requests on ``conns`` concurrent connections, and the wall time."""
    return asyncio.run(_many(port, rows, seconds, conns))


def compare(fn: Any, port: int, echo_port: int, rows: int, seconds: float, rounds: int = ROUNDS) -> dict[str, Any]:
    """Server and echo measured in alternating slices (a loaded machine's drift hits
    both alike); each gets ``seconds`` in all."""
    runs: dict[int, tuple[list[float], float]] = {port: ([], 0.0), echo_port: ([], 0.0)}
    for _ in range(rounds):
        for p in (port, echo_port):
            lat, wall = fn(p, rows, seconds / rounds)
            runs[p] = (runs[p][0] + lat, runs[p][1] + wall)
    s, e = _stats(*runs[port]), _stats(*runs[echo_port])
    return {"server": s, "echo": e, "ratio": round(s["req_s"] / e["req_s"], 2)}


def canned_replies(port: int) -> dict[str, str]:
    """The real server's reply bytes for each bench request (for the echo floor)."""
    sock = socket.create_connection(("127.0.0.1", port))
    buf = bytearray()
    out = {}
    for proto, body in [(1001, INIT_BODY), *[(3301, request_body(n)) for n in RANGES]]:
        sock.sendall(encode_frame(proto, 9, body))
        out[(proto.to_bytes(4, "little") + body).hex()] = recv_frame(sock, buf).hex()
    sock.close()
    return out


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def idle_connections_rss(n: int = 1000) -> dict[str, float]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * n)), hard))
    proc, ready, _ = start([sys.executable, "-m", "mock_opend", "serve", *SERVER_ARGS], subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        before = rss_kb(proc.pid)
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", ready["port"]))
            s.sendall(encode_frame(1001, 1, INIT_BODY))
            socks.append(s)
        for s in socks:
            recv_frame(s, bytearray())
        time.sleep(0.5)
        after = rss_kb(proc.pid)
        for s in socks:
            s.close()
    finally:
        stop(proc)
    return {"connections": n, "rss_before_mb": round(before / 1024, 1), "rss_mb": round(after / 1024, 1)}


def fixture_start_ms(n: int = 20) -> float:
    from mock_opend.server import MockOpenD

    times = []
    for _ in range(n):
        t = time.perf_counter()
        srv = MockOpenD(port=0, ws_port="off").start_background()
        times.append(time.perf_counter() - t)
        srv.stop_background()
    return round(statistics.median(times) * 1e3, 2)


def first_request_ms(log: Any, warm: bool = False) -> dict[str, float]:
    """Start a server, and the moment its ready line is read, connect, InitConnect and
    send one 3301 request: that request's latency (and the ready time) — what a CI
    job that starts the server and calls it at once sees.  With ``warm``, also a
    first request of another market 2 s later, once the data has warmed up."""
    proc, ready, seconds = start([sys.executable, "-m", "mock_opend", "serve", *SERVER_ARGS], log)
    out: dict[str, float] = {"ready_s": round(seconds, 3)}
    try:
        sock = socket.create_connection(("127.0.0.1", ready["port"]))
        buf = bytearray()
        sock.sendall(encode_frame(1001, 1, INIT_BODY))
        recv_frame(sock, buf)
        t = time.perf_counter()
        sock.sendall(encode_frame(3301, 2, request_body(10)))
        recv_frame(sock, buf)
        out["first_3301_ms"] = round((time.perf_counter() - t) * 1e3, 2)
        if warm:
            time.sleep(2)
            hk = OptionMarketStatisticRequest()
            hk.c2s.optionMarket, hk.c2s.dataType = 3, 1
            hk.c2s.beginTime, hk.c2s.endTime = RANGES[10]
            t = time.perf_counter()
            sock.sendall(encode_frame(3301, 3, hk.SerializeToString()))
            recv_frame(sock, buf)
            out["warm_3301_ms"] = round((time.perf_counter() - t) * 1e3, 2)
        sock.close()
    finally:
        stop(proc)
    return out


def targets(out: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(target, measured, echo floor, met) for each of issue 14's targets."""
    cell = {(t["rows"], t["clients"]): t for t in out["throughput"]}

    def ratio(rows: int, clients: str, floor: float) -> tuple[str, str, str, bool]:
        t = cell[(rows, clients)]
        return (
            f"{clients}, {rows}-row replies: server/echo >= {floor}",
            f"{t['ratio']} ({t['server']['req_s']:,.0f} req/s)",
            f"{t['echo']['req_s']:,.0f} req/s",
            t["ratio"] >= floor,
        )

    p99 = cell[(250, "1 connection")]
    rows = [
        ratio(10, "100 connections", 0.5),
        ratio(250, "100 connections", 0.4),
        ratio(10, "1 connection", 0.7),
        (
            "1 connection, 250-row replies: p99 < 0.5 ms",
            f"{p99['server']['p99_ms']} ms",
            f"{p99['echo']['p99_ms']} ms",
            p99["server"]["p99_ms"] < 0.5,
        ),
        (
            "process start to ready line < 0.25 s",
            f"{out['ready_line_s']} s (median of {READY_RUNS})",
            "-",
            out["ready_line_s"] < 0.25,
        ),
        (
            "first 3301 request right after the ready line < 5 ms",
            f"{out['first_request']['first_3301_ms']} ms (worst of 3)",
            "-",
            out["first_request"]["first_3301_ms"] < 5,
        ),
    ]
    if "kit_ci_futu_api_s" in out:
        rows.append(
            (
                "conformance kit, ci profile, futu-api: < 30 s",
                f"{out['kit_ci_futu_api_s']} s (exit {out['kit_exit_code']})",
                "-",
                out["kit_ci_futu_api_s"] < 30 and out["kit_exit_code"] == 0,
            )
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0, help="per throughput measurement")
    ap.add_argument("--skip-kit", action="store_true", help="skip the conformance-kit timing (about 30 s)")
    ap.add_argument("--json", help="also write the numbers here")
    ap.add_argument("--event-loop", default="asyncio", choices=["asyncio", "uvloop"], help="for the server")
    ap.add_argument("--write-docs", action="store_true", help="write docs/bench.json and the docs' tables (render.py)")
    args = ap.parse_args()
    with tempfile.TemporaryFile("w+") as log:  # the servers' request log lines (info is the default level)
        out = measure(args, log)
    print(json.dumps(out, indent=1))
    print("\nTargets (issue 14), this run:")
    for t in out["targets"]:
        echo = "" if t["echo"] == "-" else f" | echo {t['echo']}"
        print(f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['measured']}{echo}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    if args.write_docs:
        from bench import render

        render.JSON_FILE.write_text(json.dumps(out, indent=1) + "\n")
        render.write(out)
    return 0


def measure(args: argparse.Namespace, log: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    # as after `pip install`, which byte-compiles: without it (an editable install under
    # PYTHONDONTWRITEBYTECODE) every start compiles the modules again, about 60 ms
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mock_opend")], check=True)

    starts = []
    for _ in range(READY_RUNS):
        proc, _, seconds = start([sys.executable, "-m", "mock_opend", "serve", *SERVER_ARGS], log)
        starts.append(seconds)
        stop(proc)
    out["ready_line_s"] = round(statistics.median(starts), 3)
    firsts = [first_request_ms(log, warm=i == 0) for i in range(3)]
    out["first_request"] = {
        "first_3301_ms": max(f["first_3301_ms"] for f in firsts),
        "warm_3301_ms": firsts[0]["warm_3301_ms"],
    }
    ws_args = list(SERVER_ARGS)
    ws_args[ws_args.index("--ws-port") + 1] = "0"  # the WebSocket port on, as by default
    ws_starts = []
    for _ in range(3):
        proc, _, seconds = start([sys.executable, "-m", "mock_opend", "serve", *ws_args], log)
        ws_starts.append(seconds)
        stop(proc)
    out["ready_line_ws_s"] = round(statistics.median(ws_starts), 3)
    out["fixture_start_ms"] = fixture_start_ms()

    server, ready, _ = start(
        [sys.executable, "-m", "mock_opend", "serve", *SERVER_ARGS, "--event-loop", args.event_loop], log
    )
    out["event_loop"] = args.event_loop
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(canned_replies(ready["port"]), fh)
    echo, echo_ready, _ = start([sys.executable, "-m", "bench.echo", fh.name])
    try:
        table = []
        for rows in (10, 250):
            for label, fn in (("1 connection", one_connection), ("100 connections", many_connections)):
                cell = compare(fn, ready["port"], echo_ready["port"], rows, args.seconds)
                table.append({"rows": rows, "clients": label, **cell})
                s, e = cell["server"], cell["echo"]
                print(
                    f"{rows:>3} rows, {label:<15}: server {s['req_s']:>8} req/s p50 {s['p50_ms']} ms "
                    f"p99 {s['p99_ms']} ms | echo {e['req_s']:>8} req/s | ratio {table[-1]['ratio']}",
                    flush=True,
                )
        out["throughput"] = table
    finally:
        stop(server)
        stop(echo)
        os.unlink(fh.name)
    log.seek(0)
    out["request_log_lines"] = sum(1 for line in log if '"event": "request"' in line)

    out["idle_1000"] = idle_connections_rss()
    if not args.skip_kit:
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "conformance", "run", "--client", "futu-api", "--seed", "1"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        out["kit_ci_futu_api_s"] = round(time.perf_counter() - t, 1)
        out["kit_exit_code"] = done.returncode
    out["targets"] = [{"target": t, "measured": m, "echo": e, "met": ok} for t, m, e, ok in targets(out)]
    return out


if __name__ == "__main__":
    sys.exit(main())
