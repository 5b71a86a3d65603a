"""Trading sessions of NYSE and HKEX, from the ``holidays`` library.

``holidays.financial_holidays`` knows each exchange's full-day closures
(including HKEX's severe-weather closures of 2023–2024) and its half days; we
only remove weekends.  It is rule based, so any year works; HKEX data starts
in 2014 (see docs/design.md, "Calendars").
"""

from __future__ import annotations

import bisect
import threading
from datetime import date, datetime, timedelta
from functools import cache

from .markets import HK_CALENDAR_START, Exchange

__all__ = ["HK_CALENDAR_START", "TradingCalendar", "calendar_for"]


class TradingCalendar:
    """Sessions of one exchange, computed a year at a time and cached."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self._years: dict[int, tuple[list[date], frozenset[date]]] = {}
        self._midnights: dict[date, int] = {}
        self._lock = threading.Lock()

    def _year(self, year: int) -> tuple[list[date], frozenset[date]]:
        got = self._years.get(year)
        if got is not None:
            return got
        with self._lock:
            got = self._years.get(year)
            if got is None:
                import holidays  # here, not at start-up: importing it takes tens of ms

                mic = self.exchange.mic
                closed = holidays.financial_holidays(mic, years=year)
                half = holidays.financial_holidays(mic, years=year, categories=("half_day",))
                day = date(year, 1, 1)
                sessions: list[date] = []
                while day.year == year:
                    if day.weekday() < 5 and day not in closed:
                        sessions.append(day)
                    day += timedelta(days=1)
                got = (sessions, frozenset(d for d in half if d.year == year))
                self._years[year] = got
        return got

    def is_session(self, day: date) -> bool:
        sessions = self._year(day.year)[0]
        i = bisect.bisect_left(sessions, day)
        return i < len(sessions) and sessions[i] == day

    def is_half_day(self, day: date) -> bool:
        return day in self._year(day.year)[1]

    def sessions(self, first: date, last: date) -> list[date]:
        """Sessions in ``[first, last]``, ascending."""
        out: list[date] = []
        for year in range(first.year, last.year + 1):
            sessions = self._year(year)[0]
            lo = bisect.bisect_left(sessions, first) if year == first.year else 0
            hi = bisect.bisect_right(sessions, last) if year == last.year else len(sessions)
            out.extend(sessions[lo:hi])
        return out

    def previous_sessions(self, day: date, count: int) -> list[date]:
        """The ``count`` sessions strictly before ``day``, newest first."""
        out: list[date] = []
        year = day.year
        while len(out) < count:
            sessions = self._year(year)[0]
            hi = bisect.bisect_left(sessions, day) if year == day.year else len(sessions)
            out.extend(reversed(sessions[max(0, hi - (count - len(out))) : hi]))
            year -= 1
        return out

    def close_at(self, day: date) -> datetime:
        """When ``day``'s session ends (aware, exchange-local)."""
        ex = self.exchange
        t = ex.early_close if self.is_half_day(day) else ex.close
        return datetime.combine(day, t, tzinfo=ex.tz)

    def last_completed_session(self, now: datetime) -> date:
        """The newest session whose close is at or before ``now``."""
        local = now.astimezone(self.exchange.tz)
        day = local.date()
        if self.is_session(day) and local >= self.close_at(day):
            return day
        return self.previous_sessions(day, 1)[0]

    def stable_until(self, now: datetime) -> float:
        """Unix seconds of the first instant after ``now`` at which the local date or
        ``last_completed_session`` can change: the next local midnight, or today's
        close when a session is still open."""
        tz = self.exchange.tz
        local = now.astimezone(tz)
        day = local.date()
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        if self.is_session(day):
            close = self.close_at(day)
            if local < close:
                end = min(end, close)
        return end.timestamp()

    def midnight_timestamp(self, day: date) -> int:
        """Unix seconds of ``day``'s 00:00 in the exchange's time zone (cached)."""
        ts = self._midnights.get(day)
        if ts is None:
            ts = int(datetime.combine(day, datetime.min.time(), tzinfo=self.exchange.tz).timestamp())
            self._midnights[day] = ts
        return ts


@cache
def calendar_for(exchange: Exchange) -> TradingCalendar:
    """One shared calendar per exchange (they are immutable facts)."""
    return TradingCalendar(exchange)
