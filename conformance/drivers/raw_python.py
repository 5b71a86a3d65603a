"""A from-scratch OpenD client in Python (frames, InitConnect, KeepAlive, 3301)
as a driver: ``python -m conformance.drivers.raw_python``.

It is the kit's reference client and the base of the deliberately broken
drivers in the tests, so each step is a small method that a subclass can get
wrong on purpose.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from typing import Any

from conformance.driver import ClientError, Driver, Page, Query
from mock_opend.frame import HEADER_LEN, FrameHeader
from mock_opend.markets import parse_data_type, parse_market
from mock_opend.messages import (
    InitConnectRequest,
    InitConnectResponse,
    KeepAliveRequest,
    KeepAliveResponse,
    OptionMarketStatisticRequest,
    OptionMarketStatisticResponse,
)


class RawPythonDriver(Driver):
    timeout = 12.0

    def __init__(self) -> None:
        super().__init__()
        self.sock: socket.socket | None = None
        self.buf = b""
        self.serial = int(time.time()) % 10000
        self.lock = threading.Lock()
        self.keep_alive_interval = 10
        self._stop = threading.Event()

    # -- framing -----------------------------------------------------------------
    def sha1(self, body: bytes) -> bytes:
        return hashlib.sha1(body).digest()

    def frame(self, proto_id: int, body: bytes) -> tuple[int, bytes]:
        self.serial += 1
        header = FrameHeader(proto_id, self.serial, len(body), self.sha1(body))
        return self.serial, header.pack() + body

    def verify(self, header: FrameHeader, body: bytes) -> None:
        """A reply whose SHA-1 does not match its body is an error."""
        if hashlib.sha1(body).digest() != header.sha1:
            raise ClientError(f"reply to proto {header.proto_id}: SHA-1 mismatch")

    def _recv_frame(self) -> tuple[FrameHeader, bytes]:
        assert self.sock is not None
        while True:
            if len(self.buf) >= HEADER_LEN:
                h = FrameHeader.unpack(self.buf[:HEADER_LEN])
                if len(self.buf) >= HEADER_LEN + h.body_len:
                    body = self.buf[HEADER_LEN : HEADER_LEN + h.body_len]
                    self.buf = self.buf[HEADER_LEN + h.body_len :]
                    self.verify(h, body)
                    return h, body
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ClientError("connection closed by the server")
            self.buf += chunk

    def request(self, proto_id: int, body: bytes) -> bytes:
        with self.lock:
            if self.sock is None:
                raise ClientError("not connected")
            serial, data = self.frame(proto_id, body)
            try:
                self.sock.settimeout(self.timeout)
                self.sock.sendall(data)
                while True:
                    h, reply = self._recv_frame()
                    if (h.proto_id, h.serial) == (proto_id, serial):
                        return reply
            except TimeoutError:
                self._drop()
                raise ClientError(f"timeout after {self.timeout:g} s waiting for proto {proto_id}") from None
            except OSError as exc:
                self._drop()
                raise ClientError(f"connection error: {exc}") from None
            except ClientError:
                self._drop()
                raise

    def _drop(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, b""

    # -- session -----------------------------------------------------------------
    def connect(self) -> None:
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.buf = b""
        req = InitConnectRequest()
        req.c2s.clientVer, req.c2s.clientID, req.c2s.recvNotify = 100, "raw-python", False
        req.c2s.packetEncAlgo, req.c2s.programmingLanguage = -1, "Python"
        rsp = InitConnectResponse.FromString(self.request(1001, req.SerializeToString()))
        if rsp.retType != 0:
            raise ClientError(f"InitConnect: {rsp.retMsg}")
        self.keep_alive_interval = rsp.s2c.keepAliveInterval
        self._stop.clear()
        if self.sends_keepalive():
            threading.Thread(target=self._keepalive, daemon=True).start()

    def sends_keepalive(self) -> bool:
        return True

    def _keepalive(self) -> None:
        while not self._stop.wait(max(1, self.keep_alive_interval) * 0.8):
            req = KeepAliveRequest()
            req.c2s.time = int(time.time())
            try:
                KeepAliveResponse.FromString(self.request(1004, req.SerializeToString()))
            except ClientError:
                return

    def reconnect(self) -> None:
        self._stop.set()
        with self.lock:
            self._drop()
        self.connect()

    def close(self) -> None:
        self._stop.set()
        with self.lock:
            self._drop()

    # -- 3301 ----------------------------------------------------------------------
    def get_option_market_statistic(self, query: Query) -> Page:
        if self.sock is None:
            self.connect()  # recover from a dropped connection on the next call
        req = OptionMarketStatisticRequest()
        self.fill(req.c2s, query)
        rsp = OptionMarketStatisticResponse.FromString(self.request(3301, req.SerializeToString()))
        if rsp.retType != 0:
            raise ClientError(rsp.retMsg or f"retType {rsp.retType}")
        rows = [self.row(i) for i in rsp.s2c.statisticList]
        key = bytes(rsp.s2c.nextPageKey) if rsp.s2c.HasField("nextPageKey") else None
        return Page(rows, key)

    def fill(self, c: Any, query: Query) -> None:
        """The request's c2s for a query."""
        try:
            c.optionMarket = int(parse_market(query.option_market))
            c.dataType = int(parse_data_type(query.data_type))
        except (KeyError, ValueError):
            raise ClientError(f"bad market or type: {query.option_market} {query.data_type}") from None
        c.beginTime = query.begin_time or ""
        c.endTime = query.end_time or ""
        if query.page_req_key is not None:
            c.nextPageKey = query.page_req_key

    def row(self, item: Any) -> dict[str, Any]:
        return {
            "time": item.time,
            "timestamp": item.timestamp if item.HasField("timestamp") else None,
            "call_value": item.callValue,
            "put_value": item.putValue,
            "total_value": item.totalValue if item.HasField("totalValue") else None,
            "ratio": item.ratio if item.HasField("ratio") else None,
        }


if __name__ == "__main__":
    RawPythonDriver().run()
