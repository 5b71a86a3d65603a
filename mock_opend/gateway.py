"""What one mock OpenD knows and how it answers each proto id.

The gateway is shared by all connections of a server: configuration, clock,
dataset, page keys, journal and connection ids.  Handlers are plain functions
from a decoded request to a reply message; they raise ``ServerError`` for bad
input.  Nothing here does I/O.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from google.protobuf.message import Message

from . import errors as E
from . import market_state
from . import messages as M
from .clock import Clock, parse_instant
from .config import Config
from .crypto import AesSession, RsaKey, random_token
from .dataset import Dataset
from .errors import ServerError
from .faults import FaultPlan
from .fixtures import load_fixtures
from .journal import Journal
from .paging import PageKeys
from .proto_ids import PROTO_GET_GLOBAL_STATE, PROTO_INIT_CONNECT, PROTO_KEEP_ALIVE, SESSION_PROTOS
from .push_budget import PushBudget
from .rate_limit import RateLimiter, parse_rate
from .reply_cache import ReplyCache
from .request_log import RequestLog
from .statistics import StatisticService, encode_page
from .stubs import PushStub, StubStore

PROTO_OPTION_MARKET_STATISTIC: Final = 3301
log = logging.getLogger("mock_opend")

# Process-wide: the SDK keys a process-wide table by connID, so two mock servers
# in one test process must never hand out the same id.
_CONN_IDS: Final = itertools.count(secrets.randbelow(1 << 40) + (1 << 40))


@dataclass(slots=True)
class Session:
    """Per-connection protocol state that handlers may read and set."""

    conn_id: int
    transport: str = "tcp"
    initialized: bool = False
    client_id: str = ""
    client_ver: int = 0
    language: str = ""
    push_fmt: int = 0
    enc_algo: int = -1
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's answer plus what the journal should remember of it.

    A successful reply may come already encoded (``body``, the protobuf bytes
    of a Response with retType 0): the message is then only parsed when needed
    (a JSON request, an injected error, a journal read).
    """

    message: Message | None
    rows: list[Any] | None = None
    next_key: bytes | None = None
    body: bytes | None = None
    pushes: tuple[PushStub, ...] = ()  # sent after the reply (a stub's recorded pushes)
    # mock-clock seconds until which the same request gets the same bytes (None: never reuse);
    # see reply_cache.py
    cache_until: float | None = None
    counted: bool = False  # took a rate-limit slot: a cached repeat takes one too


Handler = Callable[["Gateway", Session, Any], Reply]


@dataclass(frozen=True, slots=True)
class ProtoSpec:
    proto_id: int
    name: str
    request: type[Message]
    response: type[Message]
    handler: Handler
    needs_init: bool = True


def recorded_fixtures(config: Config) -> list[str]:
    """The 3301 rows a recording wrote beside its stubs: ``--stubs DIR`` serves them
    too (files given with ``--fixtures`` come after, so they win)."""
    from .recorder import FIXTURE_FILE

    found = [Path(d) / FIXTURE_FILE for d in config.stubs]
    return [str(p) for p in found if p.is_file()]


class Gateway:
    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        if clock is None:
            start = parse_instant(config.now) if config.now else None
            clock = Clock(start, tick=config.clock_tick if start else None)
        self.clock = clock
        self.dataset = Dataset(
            config.seed,
            load_fixtures(recorded_fixtures(config) + config.fixtures),
            config.history_start_date,
            config.data_profile,
        )
        self.page_keys = PageKeys(config.page_key_secret or secrets.token_bytes(32))
        self.statistics = StatisticService(self.dataset, self.page_keys, config.effective_page_size, config.span_policy)
        self.journal = Journal(config.journal_size, config.journal_max_bytes)
        self.rate_limiter = RateLimiter(parse_rate(config.rate_limit), config.rate_limit_scope)
        self.faults = FaultPlan()
        # the connections open now (ids), for a test or the kit asking whether a client kept its session
        self.open_conn_ids: set[int] = set()
        # stub pushes waiting for their offset, on either port (push_budget.py)
        self.push_budget = PushBudget(config.write_buffer_limit)
        self.replies = ReplyCache()
        self.warm_up_state = "not run"  # running | done | failed: serve warms up after its ready line
        self.request_log = RequestLog()
        self.rsa: RsaKey | None = RsaKey.load(config.rsa_key) if config.rsa_key else None
        # the handlers of this gateway: the four served protocols, plus any an embedder adds
        self.protocols: dict[int, ProtoSpec] = dict(PROTOCOLS)
        self.stubs = StubStore(config.stub_ignore)
        for directory in config.stubs:
            if not self.stubs.load_dir(directory):
                log.warning("no stub files in the directory", extra={"stubs": directory})
        self.upstream: Any = None  # relay.UpstreamSettings when proxying
        self.recorder: Any = None  # recorder.Recorder with --record
        if config.upstream is not None:
            from .config import parse_address
            from .relay import UpstreamSettings

            address = parse_address(config.upstream)
            assert address is not None
            rsa = RsaKey.load(config.upstream_rsa_key) if config.upstream_rsa_key else None
            self.upstream = UpstreamSettings(address[0], address[1], rsa, config.upstream_timeout)
        if config.record is not None:
            from .recorder import Recorder

            live = self.stubs if config.stubs else None  # spy mode: what is recorded is answered from next time
            self.recorder = Recorder(config.record, config.record_redact, config.stub_ignore, live)

    @property
    def lang(self) -> str:
        return self.config.lang

    def set_lang(self, lang: str) -> None:
        """Switch the language of error messages at run time (zh or en)."""
        from .config import LANGS

        if lang not in LANGS:
            raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
        self.config.lang = lang

    def new_session(self, transport: str = "tcp") -> Session:
        session = Session(next(_CONN_IDS), transport)
        self.open_conn_ids.add(session.conn_id)
        return session

    def now(self) -> datetime:
        return self.clock.now_datetime()

    def set_data_profile(self, profile: str) -> None:
        """Switch the synthetic values (realistic/edge) at run time; fixtures still win."""
        from .model import SyntheticModel

        if self.dataset.model.profile != profile:
            self.dataset.set_model(SyntheticModel(self.config.seed, profile))

    def warm_up(self) -> None:
        """Import the data model and build what the first requests are likely to ask
        for — every market and type, the year up to its last completed session —
        so that they find it ready (``serve`` runs this after its ready line)."""
        from .markets import DataType, OptionMarket

        self.warm_up_state = "running"
        try:
            now = self.now()
            for market in OptionMarket:
                last = self.dataset.calendar(market).last_completed_session(now)
                self.dataset.warm_up([(market, dtype) for dtype in DataType], last)
        except BaseException:
            self.warm_up_state = "failed"
            raise
        self.warm_up_state = "done"

    def reply_state(self) -> tuple[Any, ...]:
        """Everything besides the request and the instant that a reply is built from:
        a cached reply is reused only while this is unchanged (reply_cache.py)."""
        stats = self.statistics
        return (
            self.clock.version,
            self.dataset.version,
            id(self.dataset),
            self.dataset.history_start,
            id(stats),
            stats.page_size,
            stats.span_policy,
            stats.empty_first_page,
            id(stats.keys),
        )

    def relays(self, proto_id: int) -> bool:
        """Whether a request of ``proto_id`` that no stub answers goes upstream."""
        if self.upstream is None or proto_id in SESSION_PROTOS:
            return False
        return proto_id != PROTO_OPTION_MARKET_STATISTIC or self.config.upstream_3301

    def served_elsewhere(self, proto_id: int) -> bool:
        """True when a stub or the upstream may answer ``proto_id`` instead of a handler here."""
        return proto_id not in SESSION_PROTOS and (self.stubs.has(proto_id) or self.relays(proto_id))

    def connection_closed(self, session: Session) -> None:
        self.open_conn_ids.discard(session.conn_id)
        self.rate_limiter.forget(session.conn_id)
        if self.recorder is not None:
            self.recorder.connection_closed(session.conn_id)

    def reset(self) -> None:
        """Back to a clean state: rate-limit windows, journal and faults (not the clock)."""
        self.rate_limiter.reset()
        self.replies.clear()
        self.journal.clear()
        self.faults.remove()


def handle_init_connect(gw: Gateway, session: Session, req: Any) -> Reply:
    if session.initialized:
        raise ServerError(E.ALREADY_INITIALIZED, conn_id=session.conn_id)
    if not req.HasField("c2s"):
        raise ServerError(E.MISSING_FIELD, proto_id=PROTO_INIT_CONNECT, field="c2s")
    c2s = req.c2s
    for name in ("clientVer", "clientID"):
        if not c2s.HasField(name):
            raise ServerError(E.MISSING_FIELD, proto_id=PROTO_INIT_CONNECT, field=f"c2s.{name}")
    session.initialized = True
    session.client_id = c2s.clientID
    session.client_ver = c2s.clientVer
    session.language = c2s.programmingLanguage
    session.push_fmt = c2s.pushProtoFmt
    session.enc_algo = c2s.packetEncAlgo if c2s.HasField("packetEncAlgo") else -1
    rsp = M.InitConnectResponse()
    rsp.retType = 0
    s2c = rsp.s2c
    cfg = gw.config
    s2c.serverVer = cfg.server_ver
    s2c.loginUserID = cfg.login_user_id
    s2c.connID = session.conn_id
    s2c.connAESKey = random_token(16)
    s2c.keepAliveInterval = cfg.keep_alive_interval
    s2c.userAttribution = cfg.user_attribution
    if gw.rsa is not None and session.enc_algo != -1 and session.transport == "tcp":
        # AES-CBC when asked for (2) unless configured otherwise; FTAES_ECB for 0 and 1
        cbc = cfg.aes_mode == "cbc" or (cfg.aes_mode == "request" and session.enc_algo == 2)
        iv = random_token(16) if cbc else None
        if iv is not None:
            s2c.aesCBCiv = iv
        session.notes["aes"] = AesSession(s2c.connAESKey.encode(), iv.encode() if iv else None)
    return Reply(rsp)


def handle_keep_alive(gw: Gateway, session: Session, req: Any) -> Reply:
    if not req.HasField("c2s"):
        raise ServerError(E.MISSING_FIELD, proto_id=PROTO_KEEP_ALIVE, field="c2s")
    rsp = M.KeepAliveResponse()
    rsp.retType = 0
    rsp.s2c.time = int(gw.clock.now())
    return Reply(rsp)


def handle_global_state(gw: Gateway, session: Session, req: Any) -> Reply:
    now = gw.now()
    rsp = M.GlobalStateResponse()
    rsp.retType = 0
    s2c = rsp.s2c
    s2c.marketHK = market_state.hk_state(now)
    s2c.marketUS = market_state.us_state(now)
    s2c.marketSH = s2c.marketSZ = market_state.a_share_state(now)
    s2c.marketHKFuture = market_state.hk_future_state(now)
    s2c.qotLogined = True
    s2c.trdLogined = False
    s2c.serverVer = gw.config.server_ver
    s2c.serverBuildNo = gw.config.server_build_no
    s2c.time = int(gw.clock.now())
    s2c.localTime = gw.clock.now()
    s2c.programStatus.type = 10  # ProgramStatusType_Ready
    s2c.connID = session.conn_id
    return Reply(rsp)


def handle_option_market_statistic(gw: Gateway, session: Session, req: Any) -> Reply:
    if not req.HasField("c2s"):
        raise ServerError(E.MISSING_FIELD, proto_id=PROTO_OPTION_MARKET_STATISTIC, field="c2s")
    # Only a valid first page counts against the limit: a request refused for its
    # input never reaches the data (docs/3301.md, "Rate limit").
    now = gw.now()
    plan = gw.statistics.plan(req.c2s, now, gw.lang)
    if plan.first_page and not gw.rate_limiter.acquire(session.conn_id, gw.clock.now()):
        spec = gw.rate_limiter.spec
        assert spec is not None
        raise ServerError(E.RATE_LIMITED, limit=spec.limit, window=spec.window_text)
    page = gw.statistics.page(plan)
    # a continuation's page is fixed by its key; a first page moves with the market's last session
    until = gw.statistics.stable_until(plan, now)
    return Reply(
        None, rows=page.rows, next_key=page.next_key, body=encode_page(page), cache_until=until, counted=plan.first_page
    )


PROTOCOLS: Final[dict[int, ProtoSpec]] = {
    spec.proto_id: spec
    for spec in (
        ProtoSpec(
            PROTO_INIT_CONNECT,
            "InitConnect",
            M.InitConnectRequest,
            M.InitConnectResponse,
            handle_init_connect,
            needs_init=False,
        ),
        ProtoSpec(
            PROTO_GET_GLOBAL_STATE, "GetGlobalState", M.GlobalStateRequest, M.GlobalStateResponse, handle_global_state
        ),
        ProtoSpec(PROTO_KEEP_ALIVE, "KeepAlive", M.KeepAliveRequest, M.KeepAliveResponse, handle_keep_alive),
        ProtoSpec(
            PROTO_OPTION_MARKET_STATISTIC,
            "Qot_GetOptionMarketStatistic",
            M.OptionMarketStatisticRequest,
            M.OptionMarketStatisticResponse,
            handle_option_market_statistic,
        ),
    )
}
SUPPORTED: Final = ", ".join(str(p) for p in PROTOCOLS)
