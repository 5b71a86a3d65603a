"""Fixture files: formats, overlay priority and precise error messages."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from conftest import ROOT

from mock_opend.config import Config
from mock_opend.fixtures import FixtureError, load_fixtures, read_fixture_file
from mock_opend.gateway import Gateway
from mock_opend.markets import DataType, OptionMarket


def test_shipped_doc_example_fixture_loads() -> None:
    rows = read_fixture_file(ROOT / "fixtures" / "doc_example_us_security_volume.csv")
    assert len(rows) == 10
    assert {(r.market, r.data_type) for r in rows} == {(OptionMarket.US_SECURITY, DataType.VOLUME)}


def test_json_list_and_rows_object_are_equivalent(tmp_path: Path) -> None:
    rows = [{"market": "hk_index", "data_type": 1, "date": "2026-06-12", "call": 5, "put": 7}]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(rows))
    b.write_text(json.dumps({"rows": rows}))
    assert (
        load_fixtures([a])
        == load_fixtures([b])
        == {(OptionMarket.HK_INDEX, DataType.OPEN_INTEREST, date(2026, 6, 12)): (5, 7)}
    )


def test_later_files_win(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("market,data_type,date,call,put\nUS_INDEX,VOLUME,2026-06-12,1,2\n")
    b.write_text("date,market,data_type,put,call\n2026-06-12,US_INDEX,VOLUME,4,3\n")
    assert load_fixtures([a, b])[(OptionMarket.US_INDEX, DataType.VOLUME, date(2026, 6, 12))] == (3, 4)


def test_fixture_overrides_the_model_only_where_it_has_rows(tmp_path: Path) -> None:
    fx = tmp_path / "one.csv"
    fx.write_text("market,data_type,date,call,put\nUS_SECURITY,VOLUME,2026-06-10,111,222\n")
    plain = Gateway(Config(now="2026-06-15").validate()).dataset
    over = Gateway(Config(now="2026-06-15", fixtures=[str(fx)]).validate()).dataset
    d10, d11 = date(2026, 6, 10), date(2026, 6, 11)
    assert (
        over.row(OptionMarket.US_SECURITY, DataType.VOLUME, d10).call,
        over.row(OptionMarket.US_SECURITY, DataType.VOLUME, d10).put,
    ) == (111, 222)
    assert over.row(OptionMarket.US_SECURITY, DataType.VOLUME, d11) == plain.row(
        OptionMarket.US_SECURITY, DataType.VOLUME, d11
    )
    assert over.row(OptionMarket.US_INDEX, DataType.VOLUME, d10) == plain.row(
        OptionMarket.US_INDEX, DataType.VOLUME, d10
    )


@pytest.mark.parametrize(
    ("content", "suffix", "needle"),
    [
        ("market,date,call,put\nUS_INDEX,2026-06-12,1,2\n", ".csv", "missing data_type"),
        (
            "market,data_type,date,call,put\nEU_INDEX,VOLUME,2026-06-12,1,2\n",
            ".csv",
            "line 2: unknown market 'EU_INDEX'",
        ),
        ("market,data_type,date,call,put\nUS_INDEX,PRICE,2026-06-12,1,2\n", ".csv", "unknown data_type 'PRICE'"),
        ("market,data_type,date,call,put\nUS_INDEX,VOLUME,12/06/2026,1,2\n", ".csv", "bad date"),
        (
            "market,data_type,date,call,put\nUS_INDEX,VOLUME,2026-06-13,1,2\n",
            ".csv",
            "2026-06-13 is not a XNYS trading day",
        ),
        (
            "market,data_type,date,call,put\nUS_INDEX,VOLUME,2026-06-12,-1,2\n",
            ".csv",
            "call must be a non-negative integer",
        ),
        (
            "market,data_type,date,call,put\nUS_INDEX,VOLUME,2026-06-12,1.5,2\n",
            ".csv",
            "call must be a non-negative integer",
        ),
        (f"market,data_type,date,call,put\nUS_INDEX,VOLUME,2026-06-12,{2**63},2\n", ".csv", "out of range"),
        (f"market,data_type,date,call,put\nUS_INDEX,VOLUME,2026-06-12,{2**62},{2**62}\n", ".csv", "overflows"),
        ("market,data_type,date,call,put\nHK_INDEX,VOLUME,2026-02-17,1,2\n", ".csv", "XHKG"),
        ("{not json", ".json", "invalid JSON"),
        ('{"a": 1}', ".json", "expected a JSON list"),
        ("[1]", ".json", "row 0: expected an object"),
        (
            '[{"market": "US_INDEX", "data_type": "VOLUME", "date": "2026-06-12", "call": true, "put": 1}]',
            ".json",
            "call must be",
        ),
    ],
)
def test_bad_fixture_files_are_reported_precisely(tmp_path: Path, content: str, suffix: str, needle: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    with pytest.raises(FixtureError) as exc:
        read_fixture_file(path)
    assert needle in str(exc.value) and str(path) in str(exc.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="cannot read fixture file"):
        read_fixture_file(tmp_path / "nope.csv")
