"""The documentation: the site builds (strict), the README is the front door,
the generated tables are the code's, and what the docs say a command prints is
what it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, start_server_process, stop_all

DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_site_builds_strict_without_a_warning(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING" not in done.stderr, done.stderr[-3000:]
    site = tmp_path / "site"
    assert (site / "search" / "search_index.json").exists()  # search works offline
    api = (site / "pytest-plugin.html").read_text()
    assert "start_background" in api and "opend_server_factory" in api  # the API reference from docstrings
    driver = (site / "driver.html").read_text()
    assert "JSON lines" in driver and driver.count("<h1") == 1  # one title
    toc = re.search(r'<nav class="md-nav md-nav--secondary".*?</nav>', driver, re.S)
    assert toc and 'href="#what-the-kit-checks-in-what-your-client-sends"' in toc.group(0)  # a table of contents
    api = (site / "driver-api.html").read_text()
    for name in ("Driver", "Query", "Page", "ClientError", "page_req_key", "raw bytes"):
        assert name in api, name  # the driver API reference, from the docstrings


def test_the_driver_page_reads_whole_on_the_repository_host_too() -> None:
    """docs/driver.md is the shipped conformance/DRIVER.md itself, not an include
    line that only the site expands; its contents list is its sections."""
    shipped = (ROOT / "conformance" / "DRIVER.md").read_text(encoding="utf-8")
    assert (DOCS / "driver.md").read_text(encoding="utf-8") == shipped, "cp conformance/DRIVER.md docs/driver.md"
    assert "--8<--" not in shipped and len(re.findall(r"(?m)^# ", shipped)) == 1
    sections = re.findall(r"(?m)^## (.+)$", shipped)
    listed = re.findall(r"(?m)^- \[(.+?)\]\(#[\w-]+\)$", shipped)
    assert listed == sections


def test_install_lines_work_without_a_package_index_release(tmp_path: Path) -> None:
    """mock-opend is on no package index: no page may tell a user to `pip install
    mock-opend`; the git form the pages give builds."""
    for page in [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]:
        for line in page.read_text(encoding="utf-8").splitlines():
            assert not re.search(r"pip install\s+['\"]?mock-opend\b(?!\s*@)", line), (page.name, line)
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            f"mock-opend @ git+file://localhost{ROOT}",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(tmp_path.glob("mock_opend-*.whl"))


def test_the_readme_is_the_front_door() -> None:
    assert len(README.encode()) < 10 * 1024
    nav = re.findall(r":\s*([\w-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M)
    assert len(nav) >= 17
    for page in nav:
        assert (DOCS / page).exists(), page
        if page != "index.md":
            assert f"(docs/{page})" in README, f"the README does not link {page}"


def _block(text: str, begin: str, end: str) -> str:
    found = re.search(rf"<!-- {begin} -->\n(.*?)\n<!-- {end} -->", text, re.S)
    assert found, begin
    return found.group(1)


def test_generated_tables_are_the_code_s() -> None:
    from mock_opend.config_docs import markdown as settings_markdown
    from mock_opend.errors import catalogue_markdown

    errors = (DOCS / "errors.md").read_text(encoding="utf-8")
    assert _block(errors, "errors:begin", "errors:end") == catalogue_markdown(), (
        "python -m mock_opend errors --markdown"
    )
    config = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert _block(config, "settings:begin", "settings:end") == settings_markdown(), "mock-opend config --markdown"


def _console_blocks() -> list[tuple[str, str, str]]:
    """(page, command, the output the page claims) for every console block."""
    out = []
    for page in sorted(DOCS.glob("*.md")):
        for block in re.findall(r"```console\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            for chunk in re.split(r"(?m)^\$ ", block)[1:]:
                command, _, output = chunk.partition("\n")
                out.append((page.name, command, output))
    return out


@pytest.mark.parametrize(("page", "command", "claimed"), _console_blocks(), ids=lambda v: str(v)[:40])
def test_what_the_docs_say_a_command_prints(page: str, command: str, claimed: str) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == claimed, f"{page}: {command}"


def test_the_ten_lines_print_the_table_the_readme_shows(tmp_path: Path) -> None:
    """The README's Python, run as written (the port aside), against the shipped fixture."""
    code = re.search(r"## Ten lines with the real SDK.*?```python\n(.*?)```", README, re.S)
    table = re.search(r"```\n( +time +timestamp.*?)```", README, re.S)
    assert code and table
    started = [start_server_process("--config", "fixtures/doc_example.toml")]
    try:
        script = tmp_path / "ten_lines.py"
        body = code.group(1).replace("port=11111", f"port={started[0].port}")
        script.write_text("import futu\nfutu.SysConfig.set_all_thread_daemon(True)\n" + body)
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    finally:
        stop_all(started)
    printed = [line.rstrip() for line in done.stdout.splitlines() if line.strip()]
    claimed = [line.rstrip() for line in table.group(1).splitlines() if line.strip() and line.strip() != "…"]
    assert claimed[0] in printed, done.stdout[-2000:] + done.stderr[-2000:]
    start = printed.index(claimed[0])
    shown = printed[start : start + 11]
    assert claimed == [shown[0], shown[1], shown[2], shown[-1]]


def test_benchmark_tables_are_those_of_the_committed_run() -> None:
    """README.md and docs/performance.md show what bench/render.py makes of docs/bench.json."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("bench_render", Path(__file__).parent.parent / "bench" / "render.py")
    assert spec is not None and spec.loader is not None
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    block = render.render(json.loads(render.JSON_FILE.read_text()))
    for page in render.PAGES:
        text = page.read_text()
        shown = render.BLOCK.search(text)
        assert shown is not None and len(render.BLOCK.findall(text)) == 1, page.name
        assert shown.group(0) == "<!-- bench:begin -->\n" + block + "<!-- bench:end -->", page.name
    targets = json.loads(render.JSON_FILE.read_text())["targets"]
    assert len(targets) == 7 and all({"target", "measured", "echo", "met"} <= set(t) for t in targets)


def test_the_raw_client_section_is_what_the_server_says(tmp_path: Path) -> None:
    """docs/clients.md's JSON exchange, sent as written over a raw socket: the
    replies have the fields, and the first row, the page shows."""
    import hashlib
    import json
    import socket
    import struct

    from mock_opend.server import MockOpenD

    page = (DOCS / "clients.md").read_text(encoding="utf-8")
    block = re.search(r"```text\n(→ 1001.*?)```", page, re.S)
    assert block, "the exchange block in clients.md"
    sent = [json.loads(m) for m in re.findall(r"^→ \d+ (.*)$", block.group(1), re.M)]
    header = struct.Struct("<2sIBBII20s8s")
    fixture = str(ROOT / "fixtures" / "doc_example_us_security_volume.csv")
    with MockOpenD(port=0, ws_port="off", now="2026-06-15", fixtures=[fixture]) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        replies = []
        for serial, (proto, doc) in enumerate(zip((1001, 3301), sent, strict=True), start=1):
            body = json.dumps(doc).encode()
            sock.sendall(
                header.pack(b"FT", proto, 1, 0, serial, len(body), hashlib.sha1(body).digest(), bytes(8)) + body
            )
            head = sock.recv(44, socket.MSG_WAITALL)
            magic, proto_id, fmt, _, got_serial, length, sha1, _ = header.unpack(head)
            data = sock.recv(length, socket.MSG_WAITALL)
            assert (magic, proto_id, fmt, got_serial) == (b"FT", proto, 1, serial)
            assert hashlib.sha1(data).digest() == sha1
            replies.append(json.loads(data))
        sock.close()
    init, stats = replies
    assert init["retType"] == 0
    assert set(init["s2c"]) == {
        "serverVer",
        "loginUserID",
        "connID",
        "connAESKey",
        "keepAliveInterval",
        "userAttribution",
    }
    assert isinstance(init["s2c"]["connID"], str)  # int64 as a JSON string, as the page says
    shown = re.search(r'\{"time": "2026-06-12".*?\}', block.group(1), re.S)
    assert shown and stats["s2c"]["statisticList"][0] == json.loads(" ".join(shown.group(0).split()))
