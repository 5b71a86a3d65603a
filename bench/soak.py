"""Soak: mixed load against a server process for a set time, then its health.

    python -m bench.soak [--minutes 10] [--connections 40]

Load: many connections querying random markets, types and ranges and following
every page; bursts of first pages against the 60-per-30-s rate limit;
reconnects; and a fault injected through the admin API every 2 s (latency,
error replies, resets, truncated frames, corrupted SHA-1, dropped replies).
Report: requests served, errors by kind, RSS at start, after warm-up and at the
end, and open file descriptors before and after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from mock_opend.errors import CATALOGUE
from mock_opend.frame import HEADER_LEN, FrameHeader, encode_frame
from mock_opend.messages import InitConnectRequest, OptionMarketStatisticRequest, OptionMarketStatisticResponse

ROOT = Path(__file__).resolve().parent.parent
ERR_NAMES = {s.err_code: s.name for s in CATALOGUE.values()}
FAULTS = [
    {"kind": "latency", "latency_ms": 50, "count": 5},
    {"kind": "error", "ret_msg": "soak failure", "count": 3},
    {"kind": "reset"},
    {"kind": "truncate"},
    {"kind": "corrupt_sha1"},
    {"kind": "no_reply"},
]


def proc_stats(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    rss = next(int(ln.split()[1]) for ln in status if ln.startswith("VmRSS:"))
    return {"rss_kb": rss, "fds": len(list(Path(f"/proc/{pid}/fd").iterdir()))}


class Counters:
    def __init__(self) -> None:
        self.ok = 0
        self.rows = 0
        self.errors: collections.Counter[str] = collections.Counter()


async def read_frame(r: asyncio.StreamReader) -> tuple[FrameHeader, bytes]:
    head = await r.readexactly(HEADER_LEN)
    h = FrameHeader.unpack(head)
    return h, await r.readexactly(h.body_len)


async def client(port: int, stop_at: float, c: Counters, seed: int) -> None:
    rng = random.Random(seed)
    init = InitConnectRequest()
    init.c2s.clientVer, init.c2s.clientID, init.c2s.packetEncAlgo = 100, "soak", -1
    while time.monotonic() < stop_at:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            c.errors["connect"] += 1
            await asyncio.sleep(0.5)
            continue
        serial = 0
        try:
            serial += 1
            w.write(encode_frame(1001, serial, init.SerializeToString()))
            await asyncio.wait_for(read_frame(r), 2)
            for _ in range(rng.randint(5, 60)):  # then reconnect
                if time.monotonic() >= stop_at:
                    break
                burst = rng.random() < 0.05
                for _ in range(10 if burst else 1):
                    begin = date(2016, 1, 1) + timedelta(days=rng.randint(0, 3800))
                    req = OptionMarketStatisticRequest()
                    req.c2s.optionMarket, req.c2s.dataType = rng.randint(1, 4), rng.randint(0, 1)
                    req.c2s.beginTime = begin.isoformat()
                    req.c2s.endTime = (begin + timedelta(days=rng.randint(0, 365))).isoformat()
                    while True:
                        serial += 1
                        w.write(encode_frame(3301, serial, req.SerializeToString()))
                        _h, body = await asyncio.wait_for(read_frame(r), 2)
                        rsp = OptionMarketStatisticResponse.FromString(body)
                        if rsp.retType != 0:
                            name = ERR_NAMES.get(rsp.errCode, "injected error reply")
                            c.errors[name] += 1
                            if name == "RATE_LIMITED":
                                await asyncio.sleep(0.5)  # back off, as a client should
                            break
                        c.ok += 1
                        c.rows += len(rsp.s2c.statisticList)
                        if not rsp.s2c.HasField("nextPageKey"):
                            break
                        req.c2s.nextPageKey = rsp.s2c.nextPageKey
                await asyncio.sleep(rng.random() * 0.02)
        except TimeoutError:
            c.errors["timeout (dropped reply)"] += 1
        except asyncio.IncompleteReadError:
            c.errors["disconnected (reset/truncate)"] += 1
        except (ConnectionError, OSError):
            c.errors["connection error"] += 1
        except Exception as exc:
            c.errors[f"client: {exc.__class__.__name__}"] += 1
        finally:
            w.close()


async def injector(admin: int, stop_at: float, c: Counters) -> None:
    rng = random.Random(0)
    url = f"http://127.0.0.1:{admin}/__admin/faults"
    while time.monotonic() < stop_at:
        await asyncio.sleep(2)
        body = json.dumps({**rng.choice(FAULTS), "proto_id": 3301}).encode()
        await asyncio.to_thread(urllib.request.urlopen, urllib.request.Request(url, data=body, method="POST"), None, 5)
        c.errors["(faults injected)"] += 1


async def monitor(pid: int, stop_at: float, samples: list[dict[str, Any]]) -> None:
    t0 = time.monotonic()
    while time.monotonic() < stop_at:
        samples.append({"t": round(time.monotonic() - t0), **proc_stats(pid)})
        await asyncio.sleep(10)


async def load(port: int, admin: int, pid: int, seconds: float, conns: int) -> tuple[Counters, list[dict[str, Any]]]:
    c = Counters()
    samples: list[dict[str, Any]] = []
    stop_at = time.monotonic() + seconds
    await asyncio.gather(
        *(client(port, stop_at, c, i) for i in range(conns)),
        injector(admin, stop_at, c),
        monitor(pid, stop_at, samples),
    )
    return c, samples


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--connections", type=int, default=40)
    ap.add_argument("--warmup", type=float, default=60, help="seconds before the RSS baseline")
    ap.add_argument("--rate-limit", default="1500/10s", help="the server's limit (bursts of 10 still hit it)")
    args = ap.parse_args()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mock_opend",
            "serve",
            "--port",
            "0",
            "--ws-port",
            "off",
            "--admin-port",
            "0",
            "--log-level",
            "warning",
            "--rate-limit",
            args.rate_limit,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    time.sleep(0.5)
    start = proc_stats(proc.pid)
    t0 = time.monotonic()
    c, samples = asyncio.run(load(ready["port"], ready["admin_port"], proc.pid, args.minutes * 60, args.connections))
    elapsed = time.monotonic() - t0
    time.sleep(2)  # let closed connections go
    end = proc_stats(proc.pid)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    proc.wait(5)
    warm = next((s for s in samples if s["t"] >= args.warmup), samples[-1])
    print(
        json.dumps(
            {
                "soak_minutes": round(elapsed / 60, 2),
                "connections": args.connections,
                "requests_ok": c.ok,
                "rows_served": c.rows,
                "requests_per_s": round(c.ok / elapsed, 1),
                "errors_by_kind": dict(c.errors.most_common()),
                "rss_mb": {
                    "start": round(start["rss_kb"] / 1024, 1),
                    "after_warmup": round(warm["rss_kb"] / 1024, 1),
                    "end": round(end["rss_kb"] / 1024, 1),
                },
                "rss_growth_after_warmup_pct": round((end["rss_kb"] / warm["rss_kb"] - 1) * 100, 2),
                "fds": {"start": start["fds"], "end": end["fds"]},
                "server_alive_at_end": alive,
                "samples": samples,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
