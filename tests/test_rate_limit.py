"""The 60-per-30-s limit on 3301 first pages, against a movable clock."""

from __future__ import annotations

import pytest
from test_connection import init_body, stat_body

from mock_opend.config import Config
from mock_opend.connection import Connection
from mock_opend.errors import ServerError
from mock_opend.frame import FrameDecoder, encode_frame
from mock_opend.gateway import Gateway
from mock_opend.messages import OptionMarketStatisticResponse
from mock_opend.rate_limit import RateLimiter, RateSpec, parse_rate


def test_parse_rate() -> None:
    assert parse_rate("60/30s") == RateSpec(60, 30.0)
    assert parse_rate("5/1.5") == RateSpec(5, 1.5)
    assert parse_rate("off") is None
    for bad in ("60", "0/30s", "60/0s", "x/30s", "60/30m"):
        with pytest.raises(ValueError):
            parse_rate(bad)


def test_limiter_window_rolls() -> None:
    lim = RateLimiter(RateSpec(60, 30.0))
    assert all(lim.acquire(1, 1000.0 + i * 0.1) for i in range(60))
    assert not lim.acquire(1, 1010.0)
    assert not lim.acquire(2, 1029.99)  # server scope: another connection shares the budget
    assert lim.acquire(1, 1030.0)  # the first hit (t=1000.0) left the window
    assert not lim.acquire(1, 1030.05)


def test_rejected_requests_do_not_count() -> None:
    lim = RateLimiter(RateSpec(2, 10.0))
    assert lim.acquire(1, 0.0) and lim.acquire(1, 1.0)
    for t in range(2, 10):
        assert not lim.acquire(1, float(t))
    assert lim.acquire(1, 10.0)  # only t=0 expired; the 8 rejections left no trace
    assert not lim.acquire(1, 10.5)
    assert lim.acquire(1, 11.0)


def test_per_connection_scope() -> None:
    lim = RateLimiter(RateSpec(1, 30.0), scope="per-connection")
    assert lim.acquire(1, 0.0) and lim.acquire(2, 0.0)
    assert not lim.acquire(1, 1.0)
    lim.forget(1)
    assert lim.acquire(1, 1.0)


def _gateway(**settings) -> Gateway:
    return Gateway(Config(now="2026-06-15", page_size=3, **settings).validate())


def served(reply) -> bool:
    """A successful 3301 reply (it comes pre-encoded)."""
    return OptionMarketStatisticResponse.FromString(reply.body).retType == 0


def _q(gw: Gateway, conn: int = 1, key: bytes | None = None):
    from mock_opend.gateway import Session, handle_option_market_statistic
    from mock_opend.messages import OptionMarketStatisticRequest

    req = OptionMarketStatisticRequest()
    c = req.c2s
    c.optionMarket, c.dataType, c.beginTime, c.endTime = 1, 0, "2026-06-01", "2026-06-12"
    if key is not None:
        c.nextPageKey = key
    return handle_option_market_statistic(gw, Session(conn), req)


def test_sixty_pass_the_sixty_first_is_refused_continuations_are_free() -> None:
    gw = _gateway()
    keys = [_q(gw).next_key for _ in range(60)]
    with pytest.raises(ServerError) as exc:
        _q(gw)
    assert exc.value.spec.name == "RATE_LIMITED"
    assert exc.value.message("zh") == "获取期权市场统计频率太高，请求失败，每30秒最多60次。"
    assert "at most 60 requests every 30 seconds" in exc.value.message("en")
    for key in keys[:20]:  # continuations are served while the limit is reached
        assert served(_q(gw, key=key))
    gw.clock.advance(29.999)
    with pytest.raises(ServerError):
        _q(gw)
    gw.clock.advance(0.001)
    assert served(_q(gw))


def test_per_connection_scope_through_the_gateway() -> None:
    gw = _gateway(rate_limit="2/30s", rate_limit_scope="per-connection")
    _q(gw, 1), _q(gw, 1)
    with pytest.raises(ServerError):
        _q(gw, 1)
    assert served(_q(gw, 2))


def test_off_never_limits() -> None:
    gw = _gateway(rate_limit="off")
    for _ in range(200):
        _q(gw)


def test_custom_limit_in_the_message() -> None:
    gw = _gateway(rate_limit="3/10s", lang="en")
    for _ in range(3):
        _q(gw)
    with pytest.raises(ServerError) as exc:
        _q(gw)
    assert "at most 3 requests every 10 seconds" in exc.value.message("en")
    assert exc.value.message("zh").endswith("每10秒最多3次。")


def test_over_the_wire_and_reset() -> None:
    gw = _gateway(rate_limit="1/30s")
    conn = Connection(gw)
    dec = FrameDecoder()
    conn.receive_data(encode_frame(1001, 1, init_body()))
    out = conn.receive_data(encode_frame(3301, 2, stat_body()) + encode_frame(3301, 3, stat_body()))
    a, b = (f for act in out for f in dec.feed(act.data))
    assert OptionMarketStatisticResponse.FromString(a.body).retType == 0
    assert OptionMarketStatisticResponse.FromString(b.body).retType == -1
    assert gw.journal.entries()[-1].error == "RATE_LIMITED"
    gw.reset()
    assert gw.journal.entries() == []
    (c,) = (f for act in conn.receive_data(encode_frame(3301, 4, stat_body())) for f in dec.feed(act.data))
    assert OptionMarketStatisticResponse.FromString(c.body).retType == 0
