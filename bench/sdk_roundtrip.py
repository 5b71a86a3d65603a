"""SDK round trips per second: a plain loop of get_option_market_statistic
calls on one connection of the real futu-api SDK, against a server process.

    python -m bench.sdk_roundtrip [--calls 2000] [--rows 10]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

# 10 sessions end on 2026-06-12; 250 is a year
RANGES = {10: ("2026-06-01", "2026-06-12"), 250: ("2025-06-16", "2026-06-12")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=10, choices=sorted(RANGES))
    args = ap.parse_args()

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mock_opend",
            "serve",
            "--port",
            "0",
            "--now",
            "2026-06-15",
            "--page-size",
            "1000",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = json.loads(server.stdout.readline())["port"]
        import futu

        signal.signal(signal.SIGINT, signal.default_int_handler)
        futu.SysConfig.set_all_thread_daemon(True)
        ctx = futu.OpenQuoteContext(host="127.0.0.1", port=port, is_async_connect=True)
        deadline = time.monotonic() + 15
        while ctx.status != "READY" and time.monotonic() < deadline:
            time.sleep(0.01)
        begin, end = RANGES[args.rows]
        for _ in range(50):  # warm-up: imports, caches
            ctx.get_option_market_statistic("US_SECURITY", "VOLUME", begin, end)
        lat = []
        t0 = time.perf_counter()
        for _ in range(args.calls):
            t = time.perf_counter()
            ret, data, _ = ctx.get_option_market_statistic("US_SECURITY", "VOLUME", begin, end)
            lat.append(time.perf_counter() - t)
            assert ret == 0 and len(data) == args.rows, data
        wall = time.perf_counter() - t0
        ctx.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(5)
    lat.sort()
    print(
        json.dumps(
            {
                "bench": "sdk_roundtrip",
                "sdk": "futu-api " + futu.__version__ if hasattr(futu, "__version__") else "futu-api",
                "rows_per_reply": args.rows,
                "calls": args.calls,
                "calls_per_s": round(args.calls / wall, 1),
                "p50_ms": round(statistics.median(lat) * 1e3, 3),
                "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1e3, 3),
                "cpus": os.cpu_count(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
