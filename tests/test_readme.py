"""The README's promises that code can check (the docs site's are in test_docs.py)."""

from __future__ import annotations

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    command = (
        "python3 -m venv .venv && . .venv/bin/activate && pip install -q -e '.[test]' \\\n"
        "  && ruff check . && pytest -n auto"
    )
    assert command in README and command in ci


def test_every_setting_has_a_meaning() -> None:
    import dataclasses

    from mock_opend.config import Config
    from mock_opend.config_docs import MEANINGS

    assert set(MEANINGS) == {f.name for f in dataclasses.fields(Config)}


def test_doc_example_config_loads() -> None:
    from mock_opend.config import build_config

    cfg = build_config(ROOT / "fixtures" / "doc_example.toml")
    assert cfg.now == "2026-06-15" and cfg.fixtures[0].endswith("doc_example_us_security_volume.csv")


def test_a_missing_shared_folder_is_one_line(monkeypatch) -> None:
    """Without ../shared: skipped on a developer's machine, failed in CI, one line either way."""
    import pytest
    import seed_example

    monkeypatch.setattr(seed_example, "SEED_DIR", ROOT / "no-such-shared" / "seed")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        seed_example.seed_page()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as failed:
        seed_example.seed_page()
    for said in (str(skipped.value), str(failed.value)):
        assert "\n" not in said and "needs ../shared" in said and "no-such-shared" in said, said
