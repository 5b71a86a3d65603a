"""The README's promises that code can check."""

from __future__ import annotations

import re

from conftest import ROOT

from mock_opend.errors import catalogue_markdown

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_error_catalogue_in_readme_is_the_code_s() -> None:
    block = re.search(r"<!-- errors:begin -->\n(.*?)\n<!-- errors:end -->", README, re.S)
    assert block, "README lacks the error catalogue markers"
    assert block.group(1) == catalogue_markdown(), "run: python -m mock_opend errors --markdown"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    command = (
        "python3 -m venv .venv && . .venv/bin/activate && pip install -q -e '.[test]' \\\n"
        "  && ruff check . && pytest -n auto"
    )
    assert command in README and command in ci


def test_every_setting_is_documented() -> None:
    import dataclasses

    from mock_opend.config import Config

    for f in dataclasses.fields(Config):
        assert f"`{f.name}`" in README, f.name


def test_doc_example_config_loads() -> None:
    from mock_opend.config import build_config

    cfg = build_config(ROOT / "fixtures" / "doc_example.toml")
    assert cfg.now == "2026-06-15" and cfg.fixtures[0].endswith("doc_example_us_security_volume.csv")
