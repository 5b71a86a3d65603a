"""Driver for the Python SDKs (futu-api, moomoo-api):
``python -m conformance.drivers.python_sdk futu|moomoo``."""

from __future__ import annotations

import importlib
import signal
import sys
import time
from typing import Any

from conformance.driver import ClientError, Driver, Page, Query


class PythonSdkDriver(Driver):
    def __init__(self, package: str) -> None:
        super().__init__()
        self.sdk: Any = importlib.import_module(package)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the SDK installs os._exit
        self.sdk.SysConfig.set_all_thread_daemon(True)
        self.ctx: Any = None

    def connect(self) -> None:
        # the blocking constructor retries forever on failure: connect asynchronously, with a deadline
        self.ctx = self.sdk.OpenQuoteContext(host=self.host, port=self.port, is_async_connect=True)
        # a sync call on a context that is reconnecting waits for READY forever unless told otherwise
        self.ctx.set_sync_query_connect_timeout(10)
        deadline = time.monotonic() + 20
        while self.ctx.status != "READY":
            if time.monotonic() > deadline:
                raise ClientError(f"SDK not READY after 20 s (status {self.ctx.status})")
            time.sleep(0.01)

    def get_option_market_statistic(self, query: Query) -> Page:
        ret, data, key = self.ctx.get_option_market_statistic(
            query.option_market, query.data_type, query.begin_time, query.end_time, page_req_key=query.page_req_key
        )
        if ret != 0:
            raise ClientError(str(data))
        rows = []
        for r in data.to_dict("records"):
            rows.append(
                {
                    "time": r["time"],
                    "timestamp": None if r["timestamp"] == "N/A" else float(r["timestamp"]),
                    "call_value": int(r["call_value"]),
                    "put_value": int(r["put_value"]),
                    "total_value": None if r["total_value"] == "N/A" else int(r["total_value"]),
                    "ratio": None if r["ratio"] == "N/A" else float(r["ratio"]),
                }
            )
        return Page(rows, key)

    def reconnect(self) -> None:
        if self.ctx is not None:
            self.ctx.close()
        self.connect()

    def close(self) -> None:
        if self.ctx is not None:
            self.ctx.close()


if __name__ == "__main__":
    PythonSdkDriver(sys.argv[1] if len(sys.argv) > 1 else "futu").run()
