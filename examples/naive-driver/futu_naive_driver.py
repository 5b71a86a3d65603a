"""A driver for the futu-api SDK written only from conformance/DRIVER.md, as a
third party would: a plain JSON-lines loop around the SDK, with none of the
workarounds the built-in driver carries (no asynchronous connect with a
deadline, no sync-query timeout, no daemon threads, no SIGINT fix).

    opend-conformance run --client-cmd "python examples/naive-driver/futu_naive_driver.py"
"""

import base64
import json
import os
import sys

from futu import OpenQuoteContext

ctx = None


def opt(value):
    return None if value == "N/A" else value


def rows_of(data):
    return [
        {
            "time": r["time"],
            "timestamp": opt(r["timestamp"]),
            "call_value": int(r["call_value"]),
            "put_value": int(r["put_value"]),
            "total_value": None if opt(r["total_value"]) is None else int(r["total_value"]),
            "ratio": opt(r["ratio"]),
        }
        for r in data.to_dict("records")
    ]


def connect():
    global ctx
    ctx = OpenQuoteContext(host=os.environ["OPEND_HOST"], port=int(os.environ["OPEND_PORT"]))


def page(req, key):
    ret, data, next_key = ctx.get_option_market_statistic(
        req["option_market"], req["data_type"], req.get("begin_time"), req.get("end_time"), page_req_key=key
    )
    return ret, data, next_key


def handle(req):
    op = req["op"]
    if op == "close":
        if ctx is not None:
            ctx.close()
        return {"ret": 0}
    if ctx is None:
        connect()
    if op == "reconnect":
        ctx.close()
        connect()
        return {"ret": 0}
    if op == "get_option_market_statistic":
        key = req.get("page_req_key")
        ret, data, next_key = page(req, base64.b64decode(key) if key else None)
        if ret != 0:
            return {"ret": ret, "error": str(data)}
        return {
            "ret": 0,
            "rows": rows_of(data),
            "page_req_key": None if next_key is None else base64.b64encode(next_key).decode(),
        }
    if op == "fetch_all":
        rows, key = [], None
        while True:
            ret, data, key = page(req, key)
            if ret != 0:
                return {"ret": ret, "error": str(data)}
            rows += rows_of(data)
            if key is None:
                return {"ret": 0, "rows": rows}
    return {"unsupported": True}


for line in sys.stdin:
    if not line.strip():
        continue
    req = json.loads(line)
    try:
        reply = handle(req)
    except Exception as exc:
        reply = {"ret": -1, "error": repr(exc)}
    sys.stdout.write(json.dumps({"id": req["id"], **reply}) + "\n")
    sys.stdout.flush()
    if req["op"] == "close":
        break
