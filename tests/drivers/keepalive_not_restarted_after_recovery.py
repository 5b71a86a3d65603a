"""Broken on purpose: the KeepAlive timer belongs to the socket that connect()
opened, and the automatic reconnect after a broken connection does not start a
new one: after any fault the session goes silent, and the real gateway drops it."""

import threading

from conformance.driver import ClientError, Page, Query
from conformance.drivers.raw_python import RawPythonDriver
from mock_opend.messages import KeepAliveRequest


class KeepAliveNotRestarted(RawPythonDriver):
    def __init__(self) -> None:
        super().__init__()
        self.recovering = False

    def sends_keepalive(self) -> bool:
        if not self.recovering:
            threading.Thread(target=self._beat, args=(self.sock,), daemon=True).start()
        return False

    def _beat(self, sock: object) -> None:
        while not self._stop.wait(max(1, self.keep_alive_interval) * 0.8) and self.sock is sock:
            req = KeepAliveRequest()
            req.c2s.time = 0
            try:
                self.request(1004, req.SerializeToString())
            except ClientError:
                return

    def get_option_market_statistic(self, query: Query) -> Page:
        if self.sock is None:
            self.recovering = True
            try:
                self.connect()
            finally:
                self.recovering = False
        return super().get_option_market_statistic(query)


KeepAliveNotRestarted().run()
