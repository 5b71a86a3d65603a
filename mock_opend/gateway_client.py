"""A blocking client session with an OpenD, and a pacer under its 3301 limit.

``mock-opend record`` (capture.py) and ``mock-opend parity`` (parity.py) both
talk to a user's real gateway as a client: connect, InitConnect (RSA when a key
is given), requests matched to their replies by serial, KeepAlive while they
wait, and no more 3301 requests in a window than the gateway allows.  This is
that client, once: the sans-I/O ``upstream.UpstreamLink`` over one blocking
socket, with a deadline on every wait.
"""

from __future__ import annotations

import collections
import socket
import time
from collections.abc import Callable
from typing import Any, Final

from .crypto import RsaKey
from .frame import FMT_PROTOBUF
from .rate_limit import RateSpec
from .upstream import Broken, Ready, Reply, UpstreamLink

GATEWAY_RATE: Final = RateSpec(60, 30.0)  # the documented 3301 limit
RATE_LIMITED_TEXT: Final = ("频率", "频繁", "frequen", "rate limit", "too many")  # a gateway's zh and en wording


def rate_limited(ret_msg: str) -> bool:
    """Does an error text say the request rate was too high?"""
    text = ret_msg.lower()
    return any(w in text for w in RATE_LIMITED_TEXT)


class GatewayError(RuntimeError):
    """The session cannot go on; the message names the gateway and says why."""


class GatewaySession:
    """One blocking session.  ``name`` is how errors call the other side
    (``OpenD at 127.0.0.1:11111``, ``the mock (127.0.0.1:40001)``)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        name: str,
        client_id: str,
        rsa: RsaKey | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.name = name
        self.timeout = timeout
        self._pending: list[Any] = []
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise GatewayError(f"cannot connect to {name}: {exc.strerror or exc}") from None
        self.link = UpstreamLink(rsa=rsa, client_id=client_id)
        self.sock.sendall(self.link.init_connect())
        ready = self._next(Ready)
        assert isinstance(ready, Ready)
        self.ready = ready

    def request(self, proto_id: int, body: bytes, fmt: int = FMT_PROTOBUF) -> Reply:
        """Send one request and wait for its reply (pushes are dropped)."""
        serial, frame = self.link.request(proto_id, fmt, body)
        self.sock.sendall(frame)
        reply = self._next(Reply, serial)
        assert isinstance(reply, Reply)
        return reply

    def keep_alive(self) -> None:
        if self.link.ready is not None:
            self.sock.sendall(self.link.keep_alive(int(time.time())))

    def close(self) -> None:
        self.sock.close()

    def _next(self, kind: type, serial: int | None = None) -> Any:
        """The next event of ``kind`` (for a Reply: with ``serial``), within the timeout."""
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self._pending):
                if isinstance(event, Broken):
                    raise GatewayError(f"{self.name}: {event.reason}")
                if isinstance(event, kind) and (serial is None or getattr(event, "serial", None) == serial):
                    del self._pending[i]
                    return event
            self._pending = [e for e in self._pending if isinstance(e, Reply)][-64:]  # pushes are not wanted
            left = deadline - time.monotonic()
            if left <= 0:
                raise GatewayError(f"{self.name} did not answer within {self.timeout:g} s")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 16)
            except TimeoutError:
                continue
            except OSError as exc:
                raise GatewayError(f"{self.name}: {exc.strerror or exc}") from None
            if not data:
                raise GatewayError(f"{self.name} closed the connection")
            self._pending.extend(self.link.feed(data))


class Pacer:
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


def keep_alive_period(ready: Ready) -> float:
    """Seconds between KeepAlives: 0.8 × the interval the gateway advertised, as the SDK does."""
    return max(1.0, 0.8 * ready.keep_alive_interval) if ready.keep_alive_interval > 0 else 8.0
