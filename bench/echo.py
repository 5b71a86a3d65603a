"""The floor: a minimal asyncio server that speaks the same framing and answers
each request with a canned reply of the same bytes the real server sends (its
serial patched in), doing nothing else.

    python -m bench.echo REPLIES.json   # {"<proto_id>:<request body hex>": "<reply frame hex>"}
"""

from __future__ import annotations

import asyncio
import json
import struct
import sys

HEADER = struct.Struct("<2sIBBII20s8s")


class Echo(asyncio.Protocol):
    def __init__(self, replies: dict[bytes, bytes]) -> None:
        self.replies = replies
        self.buf = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while len(buf) >= 44:
            _, proto, _, _, serial, length, _, _ = HEADER.unpack_from(buf)
            if len(buf) < 44 + length:
                break
            body = bytes(buf[44 : 44 + length])
            del buf[: 44 + length]
            reply = self.replies[proto.to_bytes(4, "little") + body]
            self.transport.write(reply[:8] + struct.pack("<I", serial) + reply[12:])  # type: ignore[attr-defined]


async def main(path: str) -> None:
    with open(path) as fh:
        raw = json.load(fh)
    replies = {bytes.fromhex(k): bytes.fromhex(v) for k, v in raw.items()}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Echo(replies), "127.0.0.1", 0, backlog=1024)
    print(json.dumps({"event": "ready", "port": server.sockets[0].getsockname()[1]}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
