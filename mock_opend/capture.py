"""``mock-opend record``: take real 3301 numbers offline.

Connects to an OpenD as a client (``gateway_client``: InitConnect, RSA when a
key is given, KeepAlive), asks 3301 for every market and type asked for over the
range, one year per query (the gateway refuses longer spans), follows every
page key, and writes the rows as the fixture file ``--fixtures`` loads
(``recorder.Recorder``).  It keeps under the gateway's limit on its own: at
most ``rate`` requests in any window, pages included; a reply that still says
"too frequent" waits a window and asks again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError

from .crypto import RsaKey
from .frame import FMT_PROTOBUF
from .gateway_client import GATEWAY_RATE, GatewayError, GatewaySession, Pacer, keep_alive_period, rate_limited
from .markets import DataType, OptionMarket
from .messages import OptionMarketStatisticRequest, OptionMarketStatisticResponse
from .rate_limit import RateSpec
from .recorder import FIXTURE_FILE, Recorder
from .statistics import add_years
from .upstream import Ready

PROTO = 3301
MAX_PAGES = 100  # per query: a year is at most 260 rows
RETRIES = 4  # a query the gateway still calls too frequent is tried this often, a window apart


CaptureError = GatewayError  # the capture cannot go on; the message says why


class QueryError(Exception):
    """OpenD refused one query; the capture goes on with the next."""


def windows(begin: date, end: date) -> list[tuple[date, date]]:
    """[begin, end] cut into spans the gateway accepts (at most one year), newest first."""
    out = []
    start = begin
    while start <= end:
        stop = min(add_years(start, 1) - timedelta(days=1), end)
        out.append((start, stop))
        start = stop + timedelta(days=1)
    return out[::-1]


@dataclass(slots=True)
class CaptureResult:
    queries: int = 0
    requests: int = 0
    rows: int = 0
    waited: float = 0.0
    failures: list[str] = field(default_factory=list)


class Capture:
    def __init__(
        self,
        host: str,
        port: int,
        out: str | Path,
        *,
        rsa: RsaKey | None = None,
        timeout: float = 15.0,
        rate: RateSpec = GATEWAY_RATE,
        progress: bool | None = None,
    ) -> None:
        self.address = (host, port)
        self.recorder = Recorder(out)
        self.rsa = rsa
        self.timeout = timeout
        self.rate = rate
        self.progress = progress
        self.result = CaptureResult()
        self._session: GatewaySession | None = None

    # -- the link --------------------------------------------------------------------------
    def connect(self) -> Ready:
        host, port = self.address
        self._session = GatewaySession(
            host, port, name=f"OpenD at {host}:{port}", client_id="mock-opend-record", rsa=self.rsa,
            timeout=self.timeout,
        )  # fmt: skip
        return self._session.ready

    @property
    def _where(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def _keep_alive(self) -> None:
        if self._session is not None:
            self._session.keep_alive()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- the capture -----------------------------------------------------------------------
    def _ask(self, c2s: Any, pacer: Pacer, on_wait: Callable[[float], None]) -> Any:
        assert self._session is not None
        req: Any = OptionMarketStatisticRequest()
        req.c2s.CopyFrom(c2s)
        for _attempt in range(RETRIES):
            pacer.wait_turn(on_wait)
            self.result.requests += 1
            reply = self._session.request(PROTO, req.SerializeToString())
            pacer.answered()
            try:
                rsp: Any = OptionMarketStatisticResponse.FromString(reply.body)
            except DecodeError as exc:
                raise CaptureError(f"OpenD at {self._where} sent a 3301 reply that does not decode: {exc}") from None
            if rsp.retType == 0:
                self.recorder.statistics(FMT_PROTOBUF, reply.body)
                return rsp
            if not rate_limited(rsp.retMsg):
                raise QueryError(rsp.retMsg or f"retType {rsp.retType}")
            on_wait(self.rate.window)
            pacer.sleep(self.rate.window)
        raise CaptureError(
            f"OpenD at {self._where} still says too frequent after {RETRIES} tries a full window apart; "
            "is its clock running? (a mock-opend started with --now and no --clock-tick never frees its "
            "rate-limit window: give it --clock-tick or --rate-limit off)"
        )

    def run(self, markets: Iterable[OptionMarket], types: Iterable[DataType], begin: date, end: date) -> CaptureResult:
        from tqdm import tqdm

        ready = self.connect()
        pacer = Pacer(self.rate, self._keep_alive, keep_alive_period(ready))
        jobs = [(m, t, b, e) for m in markets for t in types for b, e in windows(begin, end)]
        # None: a bar on a terminal only (tqdm's own rule)
        bar = tqdm(total=len(jobs), unit="query", disable=None if self.progress is None else not self.progress)

        def on_wait(seconds: float) -> None:
            bar.set_postfix_str(f"rate limit: waiting {seconds:.0f} s")
            if bar.disable and seconds >= 5:  # no bar (not a terminal): still say why nothing happens
                print(f"mock-opend record: waiting {seconds:.0f} s for the rate limit", file=sys.stderr, flush=True)

        try:
            for market, dtype, b, e in jobs:
                bar.set_description(f"{market.name} {dtype.name} {b}..{e}")
                c2s: Any = OptionMarketStatisticRequest().c2s
                c2s.optionMarket, c2s.dataType = int(market), int(dtype)
                c2s.beginTime, c2s.endTime = f"{b} 00:00:00", f"{e} 00:00:00"
                try:
                    for _page in range(MAX_PAGES):
                        rsp = self._ask(c2s, pacer, on_wait)
                        self.result.rows += len(rsp.s2c.statisticList)
                        if not rsp.s2c.HasField("nextPageKey"):
                            break
                        c2s.nextPageKey = rsp.s2c.nextPageKey
                except QueryError as exc:
                    self.result.failures.append(f"{market.name} {dtype.name} {b}..{e}: {exc}")
                self.result.queries += 1
                bar.set_postfix_str(f"{self.result.rows} rows")
                bar.update()
        finally:
            bar.close()
            self.close()
        self.result.waited = pacer.waited
        return self.result

    @property
    def fixture_path(self) -> Path:
        return self.recorder.dir / FIXTURE_FILE
