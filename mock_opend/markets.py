"""The four option markets and two statistic types of proto 3301.

Names are the Python SDK's (``US_SECURITY``, ``VOLUME``…); numbers are the wire
enum values.  Each market belongs to an exchange calendar and a time zone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, time
from typing import Final
from zoneinfo import ZoneInfo


class OptionMarket(enum.IntEnum):
    US_SECURITY = 1
    US_INDEX = 2
    HK_SECURITY = 3
    HK_INDEX = 4


class DataType(enum.IntEnum):
    VOLUME = 0
    OPEN_INTEREST = 1


@dataclass(frozen=True, slots=True)
class Exchange:
    mic: str  # ISO 10383 code, as the holidays library names it
    tz: ZoneInfo
    close: time  # regular close, local time
    early_close: time  # close on a half day


HK_CALENDAR_START: Final = date(2014, 1, 1)  # the holidays library's HKEX data starts here
HORIZON: Final = date(2100, 12, 31)  # the last day any series reaches

NYSE: Final = Exchange("XNYS", ZoneInfo("America/New_York"), time(16, 0), time(13, 0))
HKEX: Final = Exchange("XHKG", ZoneInfo("Asia/Hong_Kong"), time(16, 10), time(12, 10))

EXCHANGE_OF: Final[dict[OptionMarket, Exchange]] = {
    OptionMarket.US_SECURITY: NYSE,
    OptionMarket.US_INDEX: NYSE,
    OptionMarket.HK_SECURITY: HKEX,
    OptionMarket.HK_INDEX: HKEX,
}


def parse_market(value: str | int) -> OptionMarket:
    """``'US_SECURITY'`` (any case), ``'us_security'`` or ``1`` → the market."""
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return OptionMarket(int(value))
    return OptionMarket[value.strip().upper()]


def parse_data_type(value: str | int) -> DataType:
    """``'VOLUME'``, ``'open_interest'`` or ``0``/``1`` → the statistic type."""
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return DataType(int(value))
    return DataType[value.strip().upper()]
