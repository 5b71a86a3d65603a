"""Every error reply the server can send, with its zh and en text.

One table is the single source for the server, the docs' error catalogue (docs/errors.md)
(``python -m mock_opend errors --markdown``) and the tests.  ``errCode`` values
are mock-opend's own (the real gateway's are undocumented); SDKs ignore them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

RET_FAILED: Final = -1
RET_INVALID: Final = -500


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    name: str
    ret_type: int
    err_code: int
    zh: str
    en: str
    when: str

    def render(self, lang: str, **params: Any) -> str:
        template = self.zh if lang == "zh" else self.en
        return template.format(**{k: clip(v) for k, v in params.items()})


MAX_ECHO = 80  # characters of a client's value repeated in an error message


def clip(value: Any) -> Any:
    """A client's value as an error message may repeat it: at most MAX_ECHO
    characters (a 1 MB beginTime is not sent back, nor journaled, in full)."""
    if isinstance(value, str) and len(value) > MAX_ECHO:
        return f"{value[:MAX_ECHO]!r}…({len(value)} chars)"
    if isinstance(value, bytes | bytearray) and len(value) > MAX_ECHO:
        return f"{bytes(value[:MAX_ECHO])!r}…({len(value)} bytes)"
    return value


CATALOGUE: Final[dict[str, ErrorSpec]] = {}


def _spec(name: str, ret_type: int, err_code: int, zh: str, en: str, when: str) -> ErrorSpec:
    spec = ErrorSpec(name, ret_type, err_code, zh, en, when)
    CATALOGUE[name] = spec
    return spec


# --- framing and session -------------------------------------------------
SHA1_MISMATCH = _spec(
    "SHA1_MISMATCH",
    RET_INVALID,
    1001,
    "包体 SHA1 校验失败（协议 {proto_id}，序列号 {serial}）",
    "body SHA-1 mismatch (proto {proto_id}, serial {serial})",
    "the header's SHA-1 is not the SHA-1 of the (decrypted) body",
)
BAD_MAGIC = _spec(
    "BAD_MAGIC",
    RET_INVALID,
    1002,
    "包头标识错误：应为 'FT'，收到 {magic}；连接将关闭",
    "bad frame magic: expected 'FT', got {magic}; closing the connection",
    "a header does not start with the bytes 'FT' (the stream cannot be resynchronised)",
)
BODY_TOO_LARGE = _spec(
    "BODY_TOO_LARGE",
    RET_INVALID,
    1003,
    "包体长度 {body_len} 超过上限 {limit} 字节；连接将关闭",
    "body length {body_len} exceeds the limit of {limit} bytes; closing the connection",
    "a header announces a body longer than max_body_len",
)
BAD_FORMAT = _spec(
    "BAD_FORMAT",
    RET_INVALID,
    1004,
    "不支持的包体格式 {fmt}：应为 0（Protobuf）或 1（JSON）",
    "unsupported body format {fmt}: expected 0 (protobuf) or 1 (JSON)",
    "the header's fmt byte is neither 0 nor 1 (the reply is sent as protobuf)",
)
BAD_BODY = _spec(
    "BAD_BODY",
    RET_INVALID,
    1005,
    "协议 {proto_id} 的请求包体无法解析：{detail}",
    "cannot decode the request body of proto {proto_id}: {detail}",
    "the body is not a valid protobuf / JSON encoding of the request message",
)
MISSING_FIELD = _spec(
    "MISSING_FIELD",
    RET_FAILED,
    1006,
    "协议 {proto_id} 缺少必填字段 {field}",
    "proto {proto_id}: required field {field} is missing",
    "a required request field is absent",
)
UNKNOWN_PROTO = _spec(
    "UNKNOWN_PROTO",
    RET_FAILED,
    1007,
    "不支持的协议 ID {proto_id}（{name}）：mock-opend 自身只提供 {supported}；"
    "用 --stubs 回放录制的存根，或用 --upstream 转发到真实 OpenD",
    "unsupported proto id {proto_id} ({name}): mock-opend itself serves {supported}; "
    "replay recorded stubs with --stubs, or relay to a real OpenD with --upstream",
    "a proto id mock-opend does not serve, with no stub loaded for it and no upstream",
)
NOT_INITIALIZED = _spec(
    "NOT_INITIALIZED",
    RET_FAILED,
    1008,
    "连接尚未初始化：请先发送 InitConnect（1001），再请求协议 {proto_id}",
    "connection not initialised: send InitConnect (1001) before proto {proto_id}",
    "a request other than InitConnect arrives before a successful InitConnect",
)
ALREADY_INITIALIZED = _spec(
    "ALREADY_INITIALIZED",
    RET_FAILED,
    1009,
    "连接已初始化（connID {conn_id}），不能重复发送 InitConnect",
    "connection already initialised (connID {conn_id}); InitConnect may be sent once",
    "a second InitConnect on the same connection",
)
INTERNAL = _spec(
    "INTERNAL",
    RET_FAILED,
    1099,
    "mock-opend 内部错误：{detail}",
    "mock-opend internal error: {detail}",
    "a bug in mock-opend; the connection stays open (please report it)",
)

# --- proto 3301 ------------------------------------------------------------
BAD_MARKET = _spec(
    "BAD_MARKET",
    RET_FAILED,
    3301001,
    "未知的期权市场 optionMarket={value}（可选 1=US_SECURITY、2=US_INDEX、3=HK_SECURITY、4=HK_INDEX）",
    "unknown optionMarket={value} (expected 1=US_SECURITY, 2=US_INDEX, 3=HK_SECURITY, 4=HK_INDEX)",
    "optionMarket is not one of the four markets (0 = Unknown included)",
)
BAD_DATA_TYPE = _spec(
    "BAD_DATA_TYPE",
    RET_FAILED,
    3301002,
    "未知的统计数据类型 dataType={value}（可选 0=VOLUME、1=OPEN_INTEREST）",
    "unknown dataType={value} (expected 0=VOLUME, 1=OPEN_INTEREST)",
    "dataType is neither 0 nor 1 (-1 = Unknown included)",
)
BAD_TIME = _spec(
    "BAD_TIME",
    RET_FAILED,
    3301003,
    "{field} 格式错误：{value!r}，应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM:SS",
    "{field} has a bad format: {value!r}; expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS",
    "beginTime or endTime is not a valid date in either accepted form",
)
BEGIN_AFTER_END = _spec(
    "BEGIN_AFTER_END",
    RET_FAILED,
    3301004,
    "开始时间 {begin} 晚于结束时间 {end}",
    "beginTime {begin} is after endTime {end}",
    "the requested begin date is later than the end date",
)


def catalogue_markdown() -> str:
    """The error table of docs/errors.md."""
    lines = [
        "| name | retType | errCode | zh | en | when |",
        "|---|---|---|---|---|---|",
    ]
    for s in CATALOGUE.values():
        lines.append(f"| {s.name} | {s.ret_type} | {s.err_code} | {s.zh} | {s.en} | {s.when} |")
    return "\n".join(lines)


class ServerError(Exception):
    """Raised by a handler to answer with an error reply."""

    def __init__(self, spec: ErrorSpec, **params: Any) -> None:
        super().__init__(spec.name)
        self.spec = spec
        self.params = params

    def message(self, lang: str) -> str:
        return self.spec.render(lang, **self.params)


SPAN_TOO_LONG = _spec(
    "SPAN_TOO_LONG",
    RET_FAILED,
    3301005,
    "时间跨度不能超过一年：{begin} 至 {end}；开始日期为 {begin} 时结束日期最晚为 {limit}",
    "the time span must not exceed one year: {begin} to {end}; with beginTime {begin} the latest endTime is {limit}",
    "span policy 'reject' (default) and endTime is after beginTime plus one calendar year",
)
BAD_PAGE_KEY = _spec(
    "BAD_PAGE_KEY",
    RET_FAILED,
    3301006,
    "nextPageKey 无效：{detail}",
    "invalid nextPageKey: {detail}",
    "a garbage, truncated or tampered key, or one signed by another server process "
    "(keys are signed with a random secret per process unless page_key_secret is set)",
)
PAGE_KEY_QUERY_MISMATCH = _spec(
    "PAGE_KEY_QUERY_MISMATCH",
    RET_FAILED,
    3301007,
    "nextPageKey 属于另一个查询（{key_query}），与本次请求（{request_query}）不一致",
    "nextPageKey belongs to another query ({key_query}), not to this request ({request_query})",
    "a valid key sent with a different market, data type, beginTime or endTime",
)
RATE_LIMITED = _spec(
    "RATE_LIMITED",
    RET_FAILED,
    3301008,
    "获取期权市场统计频率太高，请求失败，每{window}秒最多{limit}次。",
    "Option market statistics requested too frequently, request failed: "
    "at most {limit} requests every {window} seconds.",
    "more than rate_limit first-page requests (no nextPageKey) in the rolling window; continuations are never limited",
)

# --- encryption and the WebSocket endpoint --------------------------------------
ENCRYPTION_REQUIRED = _spec(
    "ENCRYPTION_REQUIRED",
    RET_FAILED,
    1010,
    "本网关已启用加密：InitConnect 必须用 RSA 公钥加密（请在客户端配置同一 RSA 密钥）",
    "this gateway is encrypted: InitConnect must be RSA-encrypted (give the client the same RSA key)",
    "rsa_key is set and an InitConnect arrives in clear text",
)
DECRYPT_FAILED = _spec(
    "DECRYPT_FAILED",
    RET_INVALID,
    1011,
    "无法解密协议 {proto_id} 的包体：{detail}",
    "cannot decrypt the body of proto {proto_id}: {detail}",
    "an encrypted connection sends a body that does not decrypt (wrong RSA key, clear text, bad AES padding)",
)
WS_BAD_FRAME = _spec(
    "WS_BAD_FRAME",
    RET_INVALID,
    1012,
    "WebSocket 消息无效：{detail}",
    "invalid WebSocket message: {detail}",
    "a text message, or a binary one shorter than the 20-byte header or without the 'ft-v1.0' sign",
)
WS_KEY_MISMATCH = _spec(
    "WS_KEY_MISMATCH",
    RET_FAILED,
    1013,
    "WebSocket 密钥错误：websocketKey 与网关配置的密钥不符；连接将关闭",
    "wrong WebSocket key: websocketKey does not match the gateway's key; closing the connection",
    "ws_key is set and the Init command carries another (or no) key MD5",
)
TOO_MANY_CONNECTIONS = _spec(
    "TOO_MANY_CONNECTIONS",
    RET_FAILED,
    1014,
    "连接数已达上限（{limit}），拒绝本连接；连接将关闭",
    "too many connections (limit {limit}); this one is refused and will be closed",
    "a connection beyond max_connections: its first request gets this reply, then it is closed",
)


# --- stubs and the upstream (record and replay) ------------------------------------------------
NO_STUB_MATCH = _spec(
    "NO_STUB_MATCH",
    RET_FAILED,
    1015,
    "没有与请求匹配的存根：{proto}；最接近的是 {stub}（共 {count} 个），"
    "第一个不同的字段 {path}：存根为 {want}，请求为 {got}",
    "no stub matches this {proto} request; the nearest is {stub} (of {count}): "
    "first difference at {path}: stub has {want}, request has {got}",
    "stubs are loaded for the protocol, none matches the request, and there is no upstream",
)
NO_STUB = _spec(
    "NO_STUB",
    RET_FAILED,
    1016,
    "没有 {proto} 的存根（已加载 {count} 个其他协议的存根），也没有配置上游 OpenD",
    "no stub for {proto} ({count} stubs are loaded for other protocols) and no upstream OpenD is configured",
    "stubs are loaded, none for this protocol, and there is no upstream",
)
UPSTREAM_UNREACHABLE = _spec(
    "UPSTREAM_UNREACHABLE",
    -200,
    1020,
    "无法连接上游 OpenD {upstream}：{detail}；{proto} 未转发",
    "cannot reach the upstream OpenD at {upstream}: {detail}; {proto} was not relayed",
    "the upstream refuses the connection, does not accept it within upstream_timeout, or refuses InitConnect",
)
UPSTREAM_TIMEOUT = _spec(
    "UPSTREAM_TIMEOUT",
    -100,
    1021,
    "上游 OpenD {upstream} 在 {timeout} 秒内没有回复 {proto}",
    "the upstream OpenD at {upstream} did not answer {proto} within {timeout} s",
    "a relayed request gets no reply within upstream_timeout (the late reply, if any, is dropped)",
)
UPSTREAM_BAD_REPLY = _spec(
    "UPSTREAM_BAD_REPLY",
    -200,
    1023,
    "上游 OpenD {upstream} 对 {proto} 的回复无法解读（{detail}）",
    "the upstream OpenD at {upstream} answered {proto} with a reply that does not decode ({detail})",
    "the upstream's reply is neither protobuf nor JSON of a Response (its fmt byte says which it claims to be)",
)
UPSTREAM_LOST = _spec(
    "UPSTREAM_LOST",
    -200,
    1022,
    "与上游 OpenD {upstream} 的连接已断开（{detail}），{proto} 没有得到回复",
    "the link to the upstream OpenD at {upstream} dropped ({detail}) before it answered {proto}",
    "the upstream closes the link, or sends bytes that are not OpenD frames, while requests are relayed",
)
