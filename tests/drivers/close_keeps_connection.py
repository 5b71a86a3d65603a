"""Broken on purpose: "close" forgets to close the session, and a worker thread
(as a client library's often are) keeps the process, and so the socket, alive."""

import threading
import time

from conformance.drivers.raw_python import RawPythonDriver


class CloseKeepsConnection(RawPythonDriver):
    def close(self) -> None:
        threading.Thread(target=time.sleep, args=(600,), daemon=False).start()


CloseKeepsConnection().run()
