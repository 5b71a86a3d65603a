"""A picture to judge realism at a glance: volume bars (call and put) with the
put/call ratio, and open-interest lines with theirs, for one market or several
side by side (docs/data-model.md shows US equity beside US index options)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .config import Config
from .dataset import Row
from .export import Query, served_rows
from .markets import DataType, OptionMarket

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _rolling_mean(values: list[float], n: int) -> list[float]:
    out: list[float] = []
    window: list[float] = []
    for v in values:
        window.append(v)
        if len(window) > n:
            window.pop(0)
        good = [x for x in window if x == x]
        out.append(sum(good) / len(good) if good else float("nan"))
    return out


def plot_markets(config: Config, markets: list[OptionMarket], begin: str, end: str, out: str | Path) -> Path:
    """One column per market, side by side: volume above, open interest below."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plotting needs matplotlib: pip install 'mock-opend[plot]'") from None

    fig, axes = plt.subplots(
        2, len(markets), figsize=(12 if len(markets) == 1 else 8 * len(markets), 7), squeeze=False, layout="constrained"
    )
    for column, market in enumerate(markets):
        _draw(config, market, begin, end, axes[0][column], axes[1][column])
    path = Path(out)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _draw(config: Config, market: OptionMarket, begin: str, end: str, ax_v: Axes, ax_o: Axes) -> None:
    import matplotlib.dates as mdates

    vol = list(reversed(served_rows(config, Query(market, DataType.VOLUME, begin, end))))
    oi = list(reversed(served_rows(config, Query(market, DataType.OPEN_INTEREST, begin, end))))
    ax_o.sharex(ax_v)

    def days(rows: list[Row]) -> list:
        return [r.day for r in rows]

    scale_v = 1e6 if vol and max(r.total for r in vol) > 5e6 else 1e3
    unit_v = "M" if scale_v == 1e6 else "k"
    ax_v.bar(days(vol), [r.call / scale_v for r in vol], width=1.0, color="#2a9d8f", label="call")
    ax_v.bar(
        days(vol),
        [r.put / scale_v for r in vol],
        width=1.0,
        bottom=[r.call / scale_v for r in vol],
        color="#e76f51",
        label="put",
    )
    ax_v.set_ylabel(f"volume ({unit_v} contracts)")
    ax_v.set_title(f"{market.name} — seed {config.seed}, {config.data_profile} profile")
    pc = ax_v.twinx()
    ratios = [r.ratio if r.ratio is not None else float("nan") for r in vol]
    pc.plot(days(vol), ratios, color="#264653", lw=0.5, alpha=0.6)
    pc.plot(days(vol), _rolling_mean(ratios, 20), color="#264653", lw=1.6, label="put/call, 20-session mean")
    pc.set_ylabel("put/call (volume)")
    pc.legend(loc="upper right")
    ax_v.legend(loc="upper left")

    scale_o = 1e6
    ax_o.plot(days(oi), [r.call / scale_o for r in oi], color="#2a9d8f", label="call OI")
    ax_o.plot(days(oi), [r.put / scale_o for r in oi], color="#e76f51", label="put OI")
    ax_o.plot(days(oi), [r.total / scale_o for r in oi], color="#6d597a", label="total OI")
    ax_o.set_ylabel("open interest (M contracts)")
    pc2 = ax_o.twinx()
    pc2.plot(days(oi), [r.ratio if r.ratio is not None else float("nan") for r in oi], color="#264653", lw=0.8, ls="--")
    pc2.set_ylabel("put/call (OI)")
    ax_o.legend(loc="upper left")
    ax_o.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
