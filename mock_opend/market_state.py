"""Market states for proto 1002, derived from the mock clock and calendars.

Schedules are the exchanges' regular hours in local time; US continuous
trading is reported as ``Afternoon`` (5), as the real gateway does.  A-share
markets have no holiday calendar here and follow the weekday schedule.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Final
from zoneinfo import ZoneInfo

from .markets import HKEX, NYSE
from .messages import QOT_MARKET_STATE
from .trading_calendar import calendar_for

S: Final = {k.removeprefix("QotMarketState_"): v for k, v in QOT_MARKET_STATE.items()}
_SHANGHAI: Final = ZoneInfo("Asia/Shanghai")


def _in(t: time, start: tuple[int, int], end: tuple[int, int]) -> bool:
    return time(*start) <= t < time(*end)


def us_state(now: datetime) -> int:
    cal = calendar_for(NYSE)
    local = now.astimezone(NYSE.tz)
    if not cal.is_session(local.date()):
        return S["Closed"]
    t = local.time()
    close = cal.close_at(local.date()).time()
    if t < time(4, 0):
        return S["Closed"]
    if t < time(9, 30):
        return S["PreMarketBegin"]
    if t < close:
        return S["Afternoon"]
    if t < time(20, 0):
        return S["AfterHoursBegin"]
    return S["AfterHoursEnd"]


def hk_state(now: datetime) -> int:
    cal = calendar_for(HKEX)
    local = now.astimezone(HKEX.tz)
    day = local.date()
    if not cal.is_session(day):
        return S["Closed"]
    t = local.time()
    if _in(t, (9, 0), (9, 30)):
        return S["Auction"]
    if _in(t, (9, 30), (12, 0)):
        return S["Morning"]
    if cal.is_half_day(day):
        return S["HkCas"] if _in(t, (12, 0), (12, 10)) else S["Closed"]
    if _in(t, (12, 0), (13, 0)):
        return S["Rest"]
    if _in(t, (13, 0), (16, 0)):
        return S["Afternoon"]
    if _in(t, (16, 0), (16, 10)):
        return S["HkCas"]
    return S["Closed"]


def hk_future_state(now: datetime) -> int:
    cal = calendar_for(HKEX)
    local = now.astimezone(HKEX.tz)
    t = local.time()
    if cal.is_session(local.date()):
        if _in(t, (9, 15), (12, 0)) or _in(t, (13, 0), (16, 30)):
            return S["FutureDayOpen"]
        if _in(t, (12, 0), (13, 0)):
            return S["FutureDayBreak"]
        if _in(t, (16, 30), (17, 15)):
            return S["FutureDayClose"]
        if t >= time(17, 15):
            return S["NightOpen"]
        return S["FutureDayWaitForOpen"]
    return S["Closed"]


def a_share_state(now: datetime) -> int:
    local = now.astimezone(_SHANGHAI)
    if local.weekday() >= 5:
        return S["Closed"]
    t = local.time()
    if _in(t, (9, 15), (9, 25)):
        return S["Auction"]
    if _in(t, (9, 25), (9, 30)):
        return S["WaitingOpen"]
    if _in(t, (9, 30), (11, 30)):
        return S["Morning"]
    if _in(t, (11, 30), (13, 0)):
        return S["Rest"]
    if _in(t, (13, 0), (15, 0)):
        return S["Afternoon"]
    return S["Closed"]
