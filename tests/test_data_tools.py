"""The data CLI, the plot and the Faker provider serve the server's own rows."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import ROOT, sdk_context
from faker import Faker

from mock_opend.config import Config
from mock_opend.dataset import Dataset
from mock_opend.export import Query, served_rows
from mock_opend.faker_provider import OptionStatisticsProvider
from mock_opend.markets import DataType, OptionMarket


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mock_opend", *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


@pytest.mark.sdk
def test_data_cli_prints_what_the_sdk_receives(opend_server_factory) -> None:
    server = opend_server_factory(seed=11, now="2026-06-20", page_size=37)
    with sdk_context("futu", server.host, server.port) as ctx:
        frames, key = [], None
        while True:
            ret, df, key = ctx.get_option_market_statistic(
                "HK_SECURITY", "OPEN_INTEREST", "2025-06-20", "2026-06-20", key
            )
            assert ret == 0
            frames.append(df)
            if key is None:
                break
    sdk_rows = [r for f in frames for r in f.to_dict("records")]
    done = cli(
        "data",
        "--market",
        "HK_SECURITY",
        "--type",
        "OPEN_INTEREST",
        "--begin",
        "2025-06-20",
        "--end",
        "2026-06-20",
        "--seed",
        "11",
        "--now",
        "2026-06-20",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == sdk_rows
    as_csv = cli(
        "data",
        "--market",
        "3",
        "--type",
        "1",
        "--begin",
        "2025-06-20",
        "--end",
        "2026-06-20",
        "--seed",
        "11",
        "--now",
        "2026-06-20",
    )
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["time"], int(r["call_value"]), float(r["ratio"])) for r in table] == [
        (r["time"], r["call_value"], r["ratio"]) for r in sdk_rows
    ]


def test_data_cli_errors_are_the_server_s(tmp_path: Path) -> None:
    done = cli(
        "data",
        "--market",
        "US_INDEX",
        "--type",
        "VOLUME",
        "--begin",
        "2024-01-01",
        "--end",
        "2026-01-01",
        "--lang",
        "en",
    )
    assert done.returncode == 2 and "must not exceed one year" in done.stderr
    assert cli("data", "--market", "EU", "--type", "VOLUME").returncode == 2
    done = cli("data", "--market", "US_INDEX", "--type", "VOLUME", "--format", "parquet")
    assert done.returncode == 2 and "--output" in done.stderr


def test_parquet_export(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "rows.parquet"
    done = cli(
        "data",
        "--market",
        "US_INDEX",
        "--type",
        "VOLUME",
        "--begin",
        "2026-01-01",
        "--end",
        "2026-03-31",
        "--now",
        "2026-07-01",
        "--data-profile",
        "edge",
        "--format",
        "parquet",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    table = pq.read_table(out).to_pylist()
    cfg = Config(now="2026-07-01", data_profile="edge").validate()
    rows = served_rows(cfg, Query(OptionMarket.US_INDEX, DataType.VOLUME, "2026-01-01", "2026-03-31"))
    assert table == [r.as_dict() for r in rows]
    assert any(r["ratio"] is None for r in table) and max(r["call_value"] for r in table) > 2**53


def test_plot_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "hk.png"
    done = cli(
        "plot",
        "--market",
        "HK_INDEX",
        "--begin",
        "2026-01-01",
        "--end",
        "2026-06-30",
        "--now",
        "2026-07-01",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_plot_draws_markets_side_by_side(tmp_path: Path) -> None:
    """Each --market is a column of its own: two markets, twice the width of one."""

    def width(png: Path) -> int:
        return int.from_bytes(png.read_bytes()[16:20], "big")  # the IHDR chunk

    one, two = tmp_path / "one.png", tmp_path / "two.png"
    common = ("--begin", "2026-01-01", "--end", "2026-03-31", "--now", "2026-07-01")
    assert cli("plot", "--market", "US_INDEX", *common, "-o", str(one)).returncode == 0
    done = cli("plot", "--market", "US_SECURITY", "--market", "US_INDEX", *common, "-o", str(two))
    assert done.returncode == 0, done.stderr
    assert width(two) == 2 * 8 * 110 and width(one) == 12 * 110


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("data", "--type", "VOLUME", "--market", "US_INDEX", "--market", "HK_INDEX"),
            "given twice (US_INDEX and HK_INDEX)",
        ),
        (("plot", "-o", "x.png", "--market", "US_INDEX", "--market", "US_INDEX"), "US_INDEX given twice"),
    ],
)
def test_a_market_given_twice_is_an_error_not_the_last_one(args: tuple[str, ...], said: str) -> None:
    done = cli(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert said in done.stderr and len(done.stderr.splitlines()) == 1


def test_faker_provider_is_seeded_by_faker_and_reuses_the_models() -> None:
    fake = Faker()
    fake.add_provider(OptionStatisticsProvider)
    Faker.seed(7)
    a = fake.option_statistic_series("HK_INDEX", "OPEN_INTEREST", "2026-01-01", "2026-03-31")
    b = fake.option_statistic_series("US_SECURITY")
    Faker.seed(7)
    assert fake.option_statistic_series("HK_INDEX", "OPEN_INTEREST", "2026-01-01", "2026-03-31") == a
    assert fake.option_statistic_series("US_SECURITY") == b
    assert a != fake.option_statistic_series("HK_INDEX", "OPEN_INTEREST", "2026-01-01", "2026-03-31")
    explicit = fake.option_statistic_series("HK_INDEX", "OPEN_INTEREST", "2026-01-01", "2026-03-31", seed=3)
    served = Dataset(3).rows(
        OptionMarket.HK_INDEX,
        DataType.OPEN_INTEREST,
        date(2026, 1, 1),
        date(2026, 3, 31),
    )
    assert explicit == [r.as_dict() for r in served]
    assert [r["time"] for r in a] == sorted((r["time"] for r in a), reverse=True)


def test_faker_row_and_names() -> None:
    fake = Faker()
    fake.add_provider(OptionStatisticsProvider)
    fake.seed_instance(1)
    assert fake.option_market() in {m.name for m in OptionMarket}
    row = fake.option_statistic_row("US_INDEX", "VOLUME", "2026-06-12", seed=1)
    assert row["time"] == "2026-06-12" and row["total_value"] == row["call_value"] + row["put_value"]
    with pytest.raises(ValueError, match="not a trading day"):
        fake.option_statistic_row("US_INDEX", "VOLUME", "2026-06-13", seed=1)
    edge = fake.option_statistic_series("US_INDEX", "VOLUME", "2026-01-01", "2026-06-30", profile="edge", seed=1)
    assert any(r["ratio"] is None for r in edge)


@pytest.mark.parametrize("command", [("data", "--type", "VOLUME"), ("plot",)])
def test_an_unwritable_output_is_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    out = tmp_path / "no-such-folder" / "out"
    done = cli(*command, "--market", "US_INDEX", "--now", "2026-07-01", "-o", str(out))
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"mock-opend: error: cannot write {out}: No such file or directory\n"
