"""Recordings hold no secrets, in any encoding (issue: record/replay safely).

Each test here failed before ``mock_opend/redact.py``: a webKey was written, ids
hid as decimal text, fixed64, JSON keys and floats, a one-digit upstream id
redacted every 1 of a recording, and the journal named rules, not fields."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, admin_call, sdk_context, start_server_process, stop_all

from mock_opend.body import FMT_JSON, FMT_PROTOBUF
from mock_opend.dataset import varint
from mock_opend.proto_ids import message_types
from mock_opend.recorder import Recorder
from mock_opend.redact import Secrets, credential_like, scrub

UPSTREAM = ROOT / "tests" / "upstream_opend.py"
USER_ID = 987654321012
WEB_KEY = "wk-3f9a1c7e5b2d4f60"  # tests/upstream_opend.py
USER_REQ, USER_RSP = message_types(1005)  # type: ignore[misc]


# -- protobuf bodies of the subscription and snapshot tests ---------------------------------
SUB_REQ, SUB_RSP = message_types(3001)  # type: ignore[misc]
SNAP_REQ, SNAP_RSP = message_types(3203)  # type: ignore[misc]
_, PUSH_RSP = message_types(3005)  # type: ignore[misc]


def _ok(cls: Any) -> bytes:
    rsp: Any = cls()
    rsp.retType = 0
    rsp.s2c.SetInParent()
    return rsp.SerializePartialToString()


SUB_OK, SNAP_OK = _ok(SUB_RSP), _ok(SNAP_RSP)


def _sub(*codes: str, on: bool = True) -> bytes:
    req: Any = SUB_REQ()
    req.c2s.isSubOrUnSub, req.c2s.subTypeList[:] = on, [1]
    for code in codes:
        sec = req.c2s.securityList.add()
        sec.market, sec.code = 1, code
    return req.SerializePartialToString()


def _snapshot(code: str = "00700") -> bytes:
    req: Any = SNAP_REQ()
    sec = req.c2s.securityList.add()
    sec.market, sec.code = 1, code
    return req.SerializePartialToString()


def _push(code: str, price: float = 0.0) -> bytes:
    push: Any = PUSH_RSP()
    push.retType = 0
    q = push.s2c.basicQotList.add()
    q.security.market, q.security.code, q.curPrice = 1, code, price
    return push.SerializePartialToString()


KW: dict[str, Any] = {"server_ver": 1, "secrets": ()}


def _files(directory: Path) -> str:
    return "".join(p.read_text() for p in directory.rglob("*.json"))


def test_credential_like_names_are_denied_by_default() -> None:
    for name in ("webKey", "websocketKey", "connAESKey", "RSAPrivateKey", "token", "authToken", "signature",
                 "sessionCookie", "password", "pwdMD5", "api_key", "clientSecret"):  # fmt: skip
        assert credential_like(name), name
    for name in ("nextPageKey", "nextReqKey", "keyword", "market", "volume", "code", "userAttribution"):
        assert not credential_like(name), name


def test_web_key_of_get_user_info_never_reaches_the_file(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    req: Any = USER_REQ()
    req.c2s.flag = 2048
    rsp: Any = USER_RSP()
    rsp.retType = 0
    rsp.s2c.nickName, rsp.s2c.userID, rsp.s2c.webKey = "Alice", USER_ID, WEB_KEY
    said = rec.exchange(
        1, 1005, FMT_PROTOBUF, req.SerializeToString(), rsp.SerializeToString(), server_ver=1, secrets=(), now=0
    )
    text = _files(tmp_path)
    assert WEB_KEY not in text and "Alice" not in text and str(USER_ID) not in text
    # the journal says exactly what was redacted, field by field
    assert said.endswith("(redacted: reply s2c.nickName, reply s2c.userID, reply s2c.webKey)"), said


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [
        ("a varint", b"\x10" + varint(USER_ID)),
        ("a fixed64", b"\x19" + struct.pack("<Q", USER_ID)),
        ("decimal text", b"\x12\x0c" + str(USER_ID).encode()),
    ],
)
def test_an_id_in_bytes_kept_as_base64_is_refused_in_every_encoding(
    tmp_path: Path, encoding: str, payload: bytes
) -> None:
    """A quote protocol of unknown shape is kept as bytes: an id in any encoding keeps it off disk."""
    rec = Recorder(tmp_path)
    said = rec.exchange(
        1, 3210, FMT_PROTOBUF, b"\x0a\x00", b"\x08\x00" + payload, server_ver=1, secrets=(USER_ID,), now=0
    )
    assert f"its bytes hold an id or key ({encoding})" in said, said
    assert not list(tmp_path.rglob("*.json"))


def test_an_id_as_a_json_key_or_a_float_is_redacted(tmp_path: Path) -> None:
    """A JSON-format quote protocol of unknown shape: the id as an object key, a
    float, a string and inside a text, all replaced; other values kept."""
    rec = Recorder(tmp_path)
    reply = {
        "retType": 0,
        "s2c": {"byUser": {str(USER_ID): {"px": 1.5}}, "uid": float(USER_ID), "s": str(USER_ID), "t": f"u{USER_ID}"},
    }
    said = rec.exchange(
        1,
        3210,
        FMT_JSON,
        b'{"c2s": {"market": 1}}',
        json.dumps(reply).encode(),
        server_ver=1,
        secrets=(USER_ID,),
        now=0,
    )
    assert said.startswith("recorded as stub"), said
    text = _files(tmp_path)
    assert str(USER_ID) not in text and "9.87654321012e" not in text
    doc = json.loads(text)
    s2c = doc["reply"]["s2c"]
    assert (
        s2c["byUser"] == {"REDACTED": {"px": 1.5}} and s2c["uid"] == 0 and s2c["s"] == "0" and s2c["t"] == "uREDACTED"
    )
    assert doc["request"] == {"c2s": {"market": 1}}


def test_a_short_upstream_id_redacts_nothing_by_value_and_says_so(tmp_path: Path) -> None:
    """loginUserID = 1 used to turn every 1 into a placeholder (market, volume) and
    to drop 'market' from matching, so a US request got the HK stub's reply."""
    snap_req, snap_rsp = message_types(3203)  # type: ignore[misc]
    req: Any = snap_req()
    sec = req.c2s.securityList.add()
    sec.market, sec.code = 1, "00700"
    rsp: Any = snap_rsp()
    rsp.retType = 0
    basic = rsp.s2c.snapshotList.add().basic
    basic.security.market, basic.security.code, basic.volume = 1, "00700", 1
    rec = Recorder(tmp_path)
    said = rec.exchange(
        1,
        3203,
        FMT_PROTOBUF,
        req.SerializePartialToString(),
        rsp.SerializePartialToString(),
        server_ver=1,
        secrets=(1, 7),
        now=0,
    )
    assert "too short to redact by value" in said and "redacted:" not in said, said
    doc = json.loads(_files(tmp_path))
    assert "ignore" not in doc
    assert doc["request"]["c2s"]["securityList"][0]["market"] == 1
    assert doc["reply"]["s2c"]["snapshotList"][0]["basic"]["volume"] == "1"


def test_scrub_reports_paths_and_leaves_paging_keys() -> None:
    out = scrub({"s2c": {"nextPageKey": "abc", "webKey": "k", "list": [{"userID": "5"}]}}, ["userID"], Secrets.of([]))
    assert out.doc == {"s2c": {"nextPageKey": "abc", "webKey": "REDACTED", "list": [{"userID": "0"}]}}
    assert out.redacted == ["s2c.webKey", "s2c.list.userID"]


@pytest.mark.sdk
def test_the_sdks_get_user_info_through_the_recording_proxy_writes_no_web_key(tmp_path: Path) -> None:
    """The real SDK's get_user_info([UserInfoField.WEBKEY]) through `--record`."""
    import futu

    started = []
    try:
        up = start_server_process(script=UPSTREAM)
        started.append(up)
        proxy = start_server_process(
            "--admin-port", "0", "--upstream", f"127.0.0.1:{up.port}", "--record", str(tmp_path)
        )
        started.append(proxy)
        with sdk_context("futu", "127.0.0.1", proxy.port) as ctx:
            ret, data = ctx.get_user_info([futu.UserInfoField.WEBKEY, futu.UserInfoField.BASIC])
            assert ret == 0, data
        _, journal = admin_call(proxy.ready["admin_port"], "GET", "/journal?proto_id=1005")
    finally:
        stop_all(started)
    assert WEB_KEY in json.dumps(data if isinstance(data, dict) else str(data))  # the caller got it…
    text = _files(tmp_path)
    assert text, "nothing recorded"
    assert WEB_KEY not in text and str(USER_ID) not in text and "Alice Example" not in text  # …the file did not
    (entry,) = [e for e in journal["entries"] if e["proto_id"] == 1005]
    assert "reply s2c.webKey" in entry["record"], entry["record"]


def test_pushes_go_to_their_subscription_and_a_repeat_keeps_them(tmp_path: Path) -> None:
    """Subscribe to HK.00700, take a snapshot, pushes for HK.00700 arrive, take the
    snapshot again: the pushes are the subscription's (they used to go to the
    snapshot, which came last), and what /record counts is what is on disk."""
    rec = Recorder(tmp_path)
    assert rec.exchange(1, 3001, FMT_PROTOBUF, _sub("00700"), SUB_OK, now=0, **KW)
    assert rec.exchange(1, 3203, FMT_PROTOBUF, _snapshot(), SNAP_OK, now=1, **KW)
    for i in range(3):
        said = rec.push(1, 3005, 0, FMT_PROTOBUF, _push("00700", 10.0 + i), secrets=(), now=8.0 * i)
        assert said.startswith("recorded after stub 3001-"), said
    again = rec.exchange(1, 3203, FMT_PROTOBUF, _snapshot(), SNAP_OK, now=20, **KW)
    assert again.endswith("(again)"), again
    files = {
        json.loads(p.read_text())["proto_id"]: json.loads(p.read_text()) for p in (tmp_path / "stubs").glob("*.json")
    }
    assert [p["after_ms"] for p in files[3001]["pushes"]] == [0, 8000, 16000]
    assert not files[3203].get("pushes")
    assert rec.summary()["pushes"] == sum(len(f.get("pushes", [])) for f in files.values()) == 3


def test_pushes_past_a_full_stub_file_are_dropped_without_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a stub file is past the push budget (1 MiB), a further push is refused
    before it is decoded or serialised (each used to cost ~29 ms of event loop)."""
    import mock_opend.recorder as recorder_module

    rec = Recorder(tmp_path)
    rec.exchange(1, 3203, FMT_PROTOBUF, _snapshot(), SNAP_OK, now=0, **KW)
    (sid,) = rec._on_disk
    rec._on_disk[sid] = recorder_module.PUSH_FILE_BUDGET + 1  # as if the file had grown past the budget
    decoded = []
    real = recorder_module.body_of
    monkeypatch.setattr(recorder_module, "body_of", lambda *a: decoded.append(a) or real(*a))
    said = rec.push(1, 3005, 0, FMT_PROTOBUF, b"\x08\x00", secrets=(), now=1)
    assert said.startswith("not recorded:") and "takes no more pushes" in said, said
    assert decoded == []


# -- the second attack round (new techniques on the fixed code) --------------------------------


def test_lower_case_and_plural_credential_names_are_redacted_and_data_names_are_not(tmp_path: Path) -> None:
    reply = {
        "retType": 0,
        "s2c": {
            k: "s3cr3t-value"
            for k in ("apikey", "authorization", "accesstoken", "sessionid", "webkeys", "passphrase", "privkey")
        }
        | {"typeSign": 3, "session": 1, "price": "not-a-secret-value"},
    }
    rec = Recorder(tmp_path)
    said = rec.exchange(1, 3206, FMT_JSON, b'{"c2s": {}}', json.dumps(reply).encode(), server_ver=1, secrets=(), now=0)
    assert said.startswith("recorded as stub"), said
    s2c = json.loads(_files(tmp_path))["reply"]["s2c"]
    assert {k for k, v in s2c.items() if v == "REDACTED"} == {
        "apikey", "authorization", "accesstoken", "sessionid", "webkeys", "passphrase", "privkey"
    }  # fmt: skip
    assert s2c["typeSign"] == 3 and s2c["session"] == 1 and s2c["price"] == "not-a-secret-value"


def test_a_paging_cursor_that_carries_the_session_id_is_redacted(tmp_path: Path) -> None:
    """A known shape's bytes field (3103's nextReqKey) holding the login id."""
    req_cls, rsp_cls = message_types(3103)  # type: ignore[misc]
    req: Any = req_cls()
    req.c2s.rehabType, req.c2s.klType = 1, 2
    req.c2s.security.market, req.c2s.security.code = 1, "00700"
    req.c2s.beginTime, req.c2s.endTime = "2024-01-01", "2024-06-01"
    rsp: Any = rsp_cls()
    rsp.retType = 0
    rsp.s2c.security.market, rsp.s2c.security.code = 1, "00700"
    rsp.s2c.nextReqKey = b"cursor:" + str(USER_ID).encode() + b":" + varint(USER_ID)
    rec = Recorder(tmp_path)
    said = rec.exchange(
        1, 3103, FMT_PROTOBUF, req.SerializePartialToString(), rsp.SerializePartialToString(),
        server_ver=1, secrets=(USER_ID,), now=0,
    )  # fmt: skip
    assert "reply s2c.nextReqKey" in said, said
    doc = json.loads(_files(tmp_path))
    assert doc["reply"]["s2c"]["nextReqKey"] == ""


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [
        ("a zigzag varint", b"\x18" + varint(USER_ID << 1)),
        ("a double", b"\x21" + struct.pack("<d", float(USER_ID))),
        ("a fixed64", b"\x19" + struct.pack(">Q", USER_ID)),
        ("hex text", b"\x12\x0a" + f"{USER_ID:x}".encode()),
    ],
)
def test_more_encodings_of_an_id_in_raw_bytes_are_refused(tmp_path: Path, encoding: str, payload: bytes) -> None:
    rec = Recorder(tmp_path)
    said = rec.exchange(
        1, 3210, FMT_PROTOBUF, b"\x0a\x00", b"\x08\x00" + payload, server_ver=1, secrets=(USER_ID,), now=0
    )
    assert "its bytes hold an id or key" in said, (encoding, said)


def test_an_aes_key_in_base64_in_raw_bytes_is_refused(tmp_path: Path) -> None:
    import base64

    key = "0123456789abcdef"
    rec = Recorder(tmp_path)
    body = b"\x08\x00\x12\x18" + base64.b64encode(key.encode())
    said = rec.exchange(1, 3210, FMT_PROTOBUF, b"\x0a\x00", body, server_ver=1, secrets=(key,), now=0)
    assert "its bytes hold an id or key (base64 text)" in said, said


def test_an_unsubscribe_takes_no_pushes_and_overlapping_subscriptions_keep_their_own(tmp_path: Path) -> None:
    """Subscribe {00700}, then {00700, 09988}: a 00700 push belongs to the first (it
    started them), a 09988 push to the second; after unsubscribing both, pushes
    belong to no stub (the unsubscribe used to collect them, and replay them)."""
    rec = Recorder(tmp_path)
    first = rec.exchange(1, 3001, FMT_PROTOBUF, _sub("00700"), SUB_OK, now=0, **KW)
    second = rec.exchange(1, 3001, FMT_PROTOBUF, _sub("00700", "09988"), SUB_OK, now=1, **KW)
    first_id, second_id = first.split()[3], second.split()[3]
    assert rec.push(1, 3005, 0, FMT_PROTOBUF, _push("00700"), secrets=(), now=2).endswith(first_id)
    assert rec.push(1, 3005, 0, FMT_PROTOBUF, _push("09988"), secrets=(), now=2).endswith(second_id)
    rec.exchange(1, 3001, FMT_PROTOBUF, _sub("00700", "09988", on=False), SUB_OK, now=3, **KW)
    said = rec.push(1, 3005, 0, FMT_PROTOBUF, _push("00700"), secrets=(), now=4)
    assert said.startswith("not recorded"), said
    files = [json.loads(p.read_text()) for p in (tmp_path / "stubs").glob("*.json")]
    assert sorted(len(f.get("pushes", [])) for f in files) == [0, 1, 1]


def test_json_requests_hide_pins_bearers_and_hex_or_upper_case_ids(tmp_path: Path) -> None:
    """From the third round: tradePin, bearer and passcode names; an id in hex and a
    key in upper case inside JSON texts; a field named x-api-key (its ignore rule
    used to make the stub unloadable, so nothing was recorded)."""
    key = "0123456789abcdef"
    request = {
        "c2s": {"tradePin": "1234", "bearer": "tok", "passcode": "9", "x-api-key": "k", "market": 1},
    }
    reply = {"retType": 0, "s2c": {"note": f"id {USER_ID:x} key {key.upper()}", "px": 1.5}}
    rec = Recorder(tmp_path)
    said = rec.exchange(
        1, 3206, FMT_JSON, json.dumps(request).encode(), json.dumps(reply).encode(),
        server_ver=1, secrets=(USER_ID, key), now=0,
    )  # fmt: skip
    assert said.startswith("recorded as stub"), said
    text = _files(tmp_path)
    doc = json.loads(text)
    c2s = doc["request"]["c2s"]
    assert {k for k, v in c2s.items() if v in ("REDACTED", "0")} == {"tradePin", "bearer", "passcode", "x-api-key"}
    assert f"{USER_ID:x}" not in text.lower() and key not in text.lower()
    assert "x-api-key" in doc["ignore"]


def test_the_event_loop_records_at_most_50_ms_a_second_itself(tmp_path: Path) -> None:
    """Small exchanges were recorded on the event loop whatever they cost: a flood of
    3.8 KB replies held every client 138-303 ms.  Past 50 ms of inline work in a
    second, even a small one goes to the recording thread."""
    import time

    rec = Recorder(tmp_path)
    done: list[str] = []
    inline = [rec.submit(lambda: time.sleep(0.012) or "x", 100, done.append) for _ in range(8)]
    assert inline[:4] == ["x"] * 4  # 48 ms of work, on the loop
    assert None in inline[4:6]  # then the thread
    assert rec.flush(10)


def test_pushes_of_an_unsubscribed_security_go_nowhere(tmp_path: Path) -> None:
    """From the third round: sub A, sub B, unsub A, a late A push went to B's stub;
    sub A, unsub A, a snapshot, a late A push went to the snapshot's."""
    rec = Recorder(tmp_path)
    rec.exchange(1, 3001, FMT_PROTOBUF, _sub("00700"), SUB_OK, now=0, **KW)
    rec.exchange(1, 3001, FMT_PROTOBUF, _sub("09988"), SUB_OK, now=1, **KW)
    rec.exchange(1, 3001, FMT_PROTOBUF, _sub("00700", on=False), SUB_OK, now=2, **KW)
    assert rec.push(1, 3005, 0, FMT_PROTOBUF, _push("00700"), secrets=(), now=3).startswith("not recorded")
    rec.exchange(2, 3001, FMT_PROTOBUF, _sub("00005"), SUB_OK, now=0, **KW)
    rec.exchange(2, 3001, FMT_PROTOBUF, _sub("00005", on=False), SUB_OK, now=1, **KW)
    rec.exchange(2, 3203, FMT_PROTOBUF, _snapshot(), SNAP_OK, now=2, **KW)
    assert rec.push(2, 3005, 0, FMT_PROTOBUF, _push("00005"), secrets=(), now=3).startswith("not recorded")
    files = [json.loads(p.read_text()) for p in (tmp_path / "stubs").glob("*.json")]
    assert all(not f.get("pushes") for f in files)
