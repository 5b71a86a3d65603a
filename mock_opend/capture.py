"""``mock-opend record``: take real 3301 numbers offline.

Connects to an OpenD as a client (``UpstreamLink``: InitConnect, RSA when a key
is given, KeepAlive), asks 3301 for every market and type asked for over the
range, one year per query (the gateway refuses longer spans), follows every
page key, and writes the rows as the fixture file ``--fixtures`` loads
(``recorder.Recorder``).  It keeps under the gateway's limit on its own: at
most ``rate`` requests in any window, pages included; a reply that still says
"too frequent" waits a window and asks again.
"""

from __future__ import annotations

import collections
import socket
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError

from .crypto import RsaKey
from .frame import FMT_PROTOBUF
from .markets import DataType, OptionMarket
from .messages import OptionMarketStatisticRequest, OptionMarketStatisticResponse
from .rate_limit import RateSpec
from .recorder import FIXTURE_FILE, Recorder
from .statistics import add_years
from .upstream import Broken, Ready, Reply, UpstreamLink

PROTO = 3301
RATE_LIMITED_TEXT = ("频率", "frequen")  # the gateway's zh and en wording
MAX_PAGES = 100  # per query: a year is at most 260 rows
GATEWAY_RATE = RateSpec(60, 30.0)  # the documented 3301 limit
RETRIES = 4  # a query the gateway still calls too frequent is tried this often, a window apart


class CaptureError(RuntimeError):
    """The capture cannot go on; the message says why."""


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


class _Pacer:
    """At most ``limit`` requests in any ``window`` seconds, KeepAlive while waiting.

    A request counts from when its reply arrives (``answered``), not from when it
    was sent: the gateway counted it somewhere in between, so a window measured
    from the reply is never shorter than the gateway's."""

    def __init__(self, spec: RateSpec, keep_alive: Callable[[], None], period: float) -> None:
        self.spec = spec
        self.sent: collections.deque[float] = collections.deque()
        self.keep_alive = keep_alive
        self.period = period
        self.waited = 0.0

    def wait_turn(self, on_wait: Callable[[float], None]) -> None:
        while True:
            now = time.monotonic()
            while self.sent and now - self.sent[0] >= self.spec.window:
                self.sent.popleft()
            if len(self.sent) < self.spec.limit:
                self.sent.append(now)
                return
            pause = self.sent[0] + self.spec.window - now + 0.01
            on_wait(pause)
            self.sleep(pause)

    def answered(self) -> None:
        if self.sent:
            self.sent[-1] = time.monotonic()

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, self.period))
            self.keep_alive()
        self.waited += seconds


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
        self._sock: socket.socket | None = None
        self._link: UpstreamLink | None = None
        self._pending: list[Any] = []

    # -- the link --------------------------------------------------------------------------
    def connect(self) -> Ready:
        try:
            self._sock = socket.create_connection(self.address, timeout=self.timeout)
        except OSError as exc:
            raise CaptureError(f"cannot connect to OpenD at {self._where}: {exc.strerror or exc}") from None
        self._link = UpstreamLink(rsa=self.rsa, client_id="mock-opend-record")
        self._sock.sendall(self._link.init_connect())
        ready = self._next(Ready)
        assert isinstance(ready, Ready)
        return ready

    @property
    def _where(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def _next(self, kind: type, serial: int | None = None) -> Any:
        """The next event of ``kind`` (for a Reply: with ``serial``), within the timeout."""
        assert self._sock is not None and self._link is not None
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self._pending):
                if isinstance(event, Broken):
                    raise CaptureError(f"OpenD at {self._where}: {event.reason}")
                if isinstance(event, kind) and (serial is None or getattr(event, "serial", None) == serial):
                    del self._pending[i]
                    return event
            self._pending = [e for e in self._pending if isinstance(e, Reply)][-64:]  # pushes are not wanted
            left = deadline - time.monotonic()
            if left <= 0:
                raise CaptureError(f"OpenD at {self._where} did not answer within {self.timeout:g} s")
            self._sock.settimeout(left)
            try:
                data = self._sock.recv(1 << 16)
            except TimeoutError:
                continue
            except OSError as exc:
                raise CaptureError(f"OpenD at {self._where}: {exc.strerror or exc}") from None
            if not data:
                raise CaptureError(f"OpenD at {self._where} closed the connection")
            self._pending.extend(self._link.feed(data))

    def _keep_alive(self) -> None:
        if self._sock is not None and self._link is not None and self._link.ready is not None:
            self._sock.sendall(self._link.keep_alive(int(time.time())))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # -- the capture -----------------------------------------------------------------------
    def _ask(self, c2s: Any, pacer: _Pacer, on_wait: Callable[[float], None]) -> Any:
        assert self._sock is not None and self._link is not None
        req: Any = OptionMarketStatisticRequest()
        req.c2s.CopyFrom(c2s)
        for _attempt in range(RETRIES):
            pacer.wait_turn(on_wait)
            serial, frame = self._link.request(PROTO, FMT_PROTOBUF, req.SerializeToString())
            self._sock.sendall(frame)
            self.result.requests += 1
            reply = self._next(Reply, serial)
            pacer.answered()
            try:
                rsp: Any = OptionMarketStatisticResponse.FromString(reply.body)
            except DecodeError as exc:
                raise CaptureError(f"OpenD at {self._where} sent a 3301 reply that does not decode: {exc}") from None
            if rsp.retType == 0:
                self.recorder.statistics(FMT_PROTOBUF, reply.body)
                return rsp
            if not any(t in rsp.retMsg for t in RATE_LIMITED_TEXT):
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
        period = max(1.0, 0.8 * ready.keep_alive_interval) if ready.keep_alive_interval > 0 else 8.0
        pacer = _Pacer(self.rate, self._keep_alive, period)
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
