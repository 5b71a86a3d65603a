"""A stand-in for a real OpenD, for the record/replay tests: a second process.

It is a mock-opend with its own 3301 fixtures, a login user id and a
connection-id range no other server uses (so a test can look for them in
recorded files), plus two quote protocols the SDK uses that mock-opend itself
does not serve: ``GetUserInfo`` (1005) answers with an account's name, id and
web key, ``Qot_GetSecuritySnapshot`` (3203) answers with prices derived
from the code, and ``Qot_Sub`` (3001) answers, then pushes
``Qot_UpdateBasicQot`` (3005) for each subscribed security three times, 50 ms
apart (or at 0, N and 2N ms with ``UPSTREAM_PUSH_GAP_MS=N``).  Run:
``python tests/upstream_opend.py [mock-opend serve flags]``; it prints the same
ready line as ``mock-opend serve``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from typing import Any

from mock_opend.config import build_config
from mock_opend.gateway import Gateway, ProtoSpec, Reply, Session
from mock_opend.proto_ids import message_types
from mock_opend.server import MockOpenD
from mock_opend.stubs import Body, PushStub

LOGIN_USER_ID = 987654321012  # what a recording must never contain
WEB_KEY = "wk-3f9a1c7e5b2d4f60"  # GetUserInfo's webKey: a credential, never recorded
SNAPSHOT_REQ, SNAPSHOT_RSP = message_types(3203)  # type: ignore[misc]
SUB_REQ, SUB_RSP = message_types(3001)  # type: ignore[misc]
_, PUSH_RSP = message_types(3005)  # type: ignore[misc]
USER_REQ, USER_RSP = message_types(1005)  # type: ignore[misc]
# pushes after a subscription: at 0, gap and 2 x gap ms when set (a session spread over time), else 50 ms apart
PUSH_GAP_MS = int(os.environ.get("UPSTREAM_PUSH_GAP_MS", "0"))


def price_of(code: str) -> float:
    """A price in 10.00..510.00 that depends only on the code."""
    return round(10 + int(hashlib.sha1(code.encode()).hexdigest()[:6], 16) % 50000 / 100, 2)


def snapshot(gw: Gateway, session: Session, req: Any) -> Reply:
    rsp: Any = SNAPSHOT_RSP()
    rsp.retType = 0
    for sec in req.c2s.securityList:
        basic = rsp.s2c.snapshotList.add().basic
        p = price_of(sec.code)
        basic.security.market, basic.security.code = sec.market, sec.code
        basic.name = f"NAME-{sec.code}"
        basic.type, basic.isSuspend, basic.listTime, basic.lotSize = 3, False, "2004-06-16", 100
        basic.priceSpread, basic.updateTime = 0.2, "2024-06-03 16:08:00"
        basic.highPrice, basic.openPrice, basic.lowPrice = p * 1.02, p, p * 0.98
        basic.lastClosePrice, basic.curPrice = p * 0.99, p * 1.01
        basic.volume, basic.turnover, basic.turnoverRate = 1_234_567, 98_765_432.5, 0.12
    return Reply(rsp)


def subscribe(gw: Gateway, session: Session, req: Any) -> Reply:
    rsp: Any = SUB_RSP()
    rsp.retType = 0
    rsp.s2c.SetInParent()
    pushes = []
    if req.c2s.isSubOrUnSub:
        for i in range(3):
            for sec in req.c2s.securityList:
                push: Any = PUSH_RSP()
                push.retType = 0
                q = push.s2c.basicQotList.add()
                p = price_of(sec.code) + i
                q.security.market, q.security.code = sec.market, sec.code
                q.name = f"NAME-{sec.code}"
                q.isSuspended, q.listTime, q.priceSpread = False, "2004-06-16", 0.2
                q.updateTime = f"2024-06-03 10:00:0{i}"
                q.highPrice, q.openPrice, q.lowPrice, q.curPrice, q.lastClosePrice = p + 1, p, p - 1, p, p - 0.5
                q.volume, q.turnover, q.turnoverRate, q.amplitude = 1000 * (i + 1), 10000.0 * (i + 1), 0.01, 1.5
                wire = push.SerializeToString()
                after = PUSH_GAP_MS * i if PUSH_GAP_MS else 50 * (i + 1)
                pushes.append(PushStub(3005, after, Body(raw=wire), 0, wire))
    return Reply(rsp, pushes=tuple(pushes))


def user_info(gw: Gateway, session: Session, req: Any) -> Reply:
    """GetUserInfo (1005), with the account's name, id and web key."""
    rsp: Any = USER_RSP()
    rsp.retType = 0
    s2c = rsp.s2c
    s2c.nickName, s2c.avatarUrl, s2c.userID = "Alice Example", "https://example.invalid/a.png", LOGIN_USER_ID
    s2c.apiLevel, s2c.hkQotRight, s2c.usQotRight, s2c.cnQotRight = "2", 3, 3, 3
    s2c.isNeedAgreeDisclaimer, s2c.updateType = False, 0
    s2c.webKey = WEB_KEY
    return Reply(rsp)


def build(argv: list[str]) -> MockOpenD:
    from mock_opend.cli import build_parser

    args = build_parser().parse_args(["serve", *argv])
    settings = {k: v for k, v in vars(args).items() if k not in ("command", "config") and v is not None}
    settings.setdefault("login_user_id", LOGIN_USER_ID)
    server = MockOpenD(build_config(args.config, **settings))
    protocols = server.gateway.protocols
    protocols[3203] = ProtoSpec(3203, "Qot_GetSecuritySnapshot", SNAPSHOT_REQ, SNAPSHOT_RSP, snapshot)
    protocols[3001] = ProtoSpec(3001, "Qot_Sub", SUB_REQ, SUB_RSP, subscribe)
    protocols[1005] = ProtoSpec(1005, "GetUserInfo", USER_REQ, USER_RSP, user_info)
    return server


async def main(argv: list[str]) -> None:
    from mock_opend.cli import serve_until_signalled

    server = build(argv)
    await server.start()
    await serve_until_signalled(server)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
