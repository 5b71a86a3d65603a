"""Run queries through a real Python SDK (futu or moomoo) and print JSON.

Used by the tests as a separate process, so it can run in another virtual
environment (the SDK's JSON mode needs protobuf < 7).  It never hangs: the
connection is made asynchronously with a deadline, and every context is closed.

    python sdk_query.py --sdk futu --port 11111 [--fmt json] --queries '[{...}]'

A query is {"market": "US_SECURITY", "data_type": "VOLUME", "begin": ..., "end": ...,
"pages": "all" | 1}; the output is {"conn_id": .., "results": [{"pages": [...]}]}.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import signal
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sdk", default="futu", choices=["futu", "moomoo"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--fmt", default="protobuf", choices=["protobuf", "json"])
    ap.add_argument("--queries", default="[]")
    ap.add_argument("--connect-timeout", type=float, default=15.0)
    ap.add_argument("--global-state", action="store_true")
    ap.add_argument("--rsa-key", help="SysConfig.set_init_rsa_file(PATH)")
    ap.add_argument("--encrypt", action="store_true", help="SysConfig.enable_proto_encrypt(True)")
    ap.add_argument("--hold", type=float, default=0.0, help="seconds to stay connected before the queries")
    ap.add_argument("--out", help="write the JSON result here (the SDK's log lines share stdout)")
    args = ap.parse_args()

    sdk = importlib.import_module(args.sdk)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the SDK installs os._exit
    sdk.SysConfig.set_all_thread_daemon(True)
    if args.fmt == "json":
        sdk.SysConfig.set_proto_fmt(sdk.ProtoFMT.Json)
    if args.rsa_key:
        sdk.SysConfig.set_init_rsa_file(args.rsa_key)
    if args.encrypt:
        sdk.SysConfig.enable_proto_encrypt(True)

    ctx = sdk.OpenQuoteContext(host=args.host, port=args.port, is_async_connect=True)
    deadline = time.monotonic() + args.connect_timeout
    while ctx.status != "READY":
        if time.monotonic() > deadline:
            ctx.close()
            emit(args.out, {"error": f"not READY after {args.connect_timeout}s (status {ctx.status})"})
            return 3
        time.sleep(0.02)

    time.sleep(args.hold)
    out: dict = {"conn_id": ctx.get_sync_conn_id(), "results": []}
    if args.global_state:
        ret, data = ctx.get_global_state()
        out["global_state"] = {"ret": ret, "data": data}
    for q in json.loads(args.queries):
        pages = []
        key = None
        while True:
            ret, data, key = ctx.get_option_market_statistic(
                q["market"], q["data_type"], begin_time=q.get("begin"), end_time=q.get("end"), page_req_key=key
            )
            if ret != 0:
                pages.append({"ret": ret, "error": data, "key": None})
                break
            rows = json.loads(data.to_json(orient="records", double_precision=15))
            pages.append({"ret": ret, "rows": rows, "key": base64.b64encode(key).decode() if key is not None else None})
            if key is None or q.get("pages", "all") != "all" or len(pages) > 1000:
                break
        out["results"].append({"pages": pages})
    ctx.close()
    emit(args.out, out)
    return 0


def emit(path: str | None, doc: dict) -> None:
    text = json.dumps(doc)
    if path:
        with open(path, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
