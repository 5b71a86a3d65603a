// The npm futu-api SDK (WebSocket) as a conformance-kit driver: JSON lines on
// stdin/stdout (conformance/DRIVER.md), the server from OPEND_HOST / OPEND_WS_PORT.
//   node --import ./harness.mjs futu_sdk_driver.mjs
import readline from "node:readline";
import ftWebsocket from "futu-api";

const host = process.env.OPEND_HOST || "127.0.0.1";
const port = Number(process.env.OPEND_WS_PORT);
const MARKETS = { US_SECURITY: 1, US_INDEX: 2, HK_SECURITY: 3, HK_INDEX: 4, "N/A": 0 };
const TYPES = { VOLUME: 0, OPEN_INTEREST: 1, "N/A": -1 };
let ws = null;
// protobufjs puts defaults (0) on the prototype: an optional field is present
// only as an own property — `item.ratio ?? null` would turn "no ratio" into 0.
const has = (msg, field) => Object.prototype.hasOwnProperty.call(msg, field);

// The SDK's stop() only unregisters push callbacks: the WebSocket stays open (and
// the server keeps the session). Closing it takes the base object's close().
function shut() {
  if (!ws) return;
  ws.stop();
  if (ws.websock) ws.websock.close();
}

function login() {
  shut();
  ws = new ftWebsocket();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no login within 20 s")), 20000);
    ws.onlogin = (ok, msg) => { clearTimeout(timer); ok ? resolve() : reject(new Error(`login refused: ${msg}`)); };
    ws.start(host, port, false, "");
  });
}

function errorText(err) {
  if (typeof err === "string") return err;
  if (err && err.retMsg !== undefined) return `retType ${err.retType}: ${err.retMsg}`;
  return String((err && err.message) || err);
}

async function page(req, key) {
  if (!(req.option_market in MARKETS) || !(req.data_type in TYPES)) throw new Error("unknown market or data type");
  const c2s = { optionMarket: MARKETS[req.option_market], dataType: TYPES[req.data_type], beginTime: req.begin_time ?? "", endTime: req.end_time ?? "" };
  if (key) c2s.nextPageKey = key;
  const res = await ws.GetOptionMarketStatistic({ c2s });
  const rows = (res.s2c.statisticList || []).map((i) => ({
    time: i.time,
    timestamp: has(i, "timestamp") ? i.timestamp : null,
    call_value: String(i.callValue),
    put_value: String(i.putValue),
    total_value: has(i, "totalValue") ? String(i.totalValue) : null,
    ratio: has(i, "ratio") ? i.ratio : null,
  }));
  const next = res.s2c.nextPageKey && res.s2c.nextPageKey.length ? Buffer.from(res.s2c.nextPageKey) : null;
  return { rows, next };
}

async function handle(req) {
  if (!ws && req.op !== "close") await login();
  switch (req.op) {
    case "get_option_market_statistic": {
      const { rows, next } = await page(req, req.page_req_key ? Buffer.from(req.page_req_key, "base64") : null);
      return { ret: 0, rows, page_req_key: next ? next.toString("base64") : null };
    }
    case "fetch_all": {
      const all = [];
      let key = null;
      do { const p = await page(req, key); all.push(...p.rows); key = p.next; } while (key);
      return { ret: 0, rows: all };
    }
    case "reconnect": await login(); return { ret: 0 };
    case "close": shut(); return { ret: 0 };
    default: return { unsupported: true };
  }
}

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const req = JSON.parse(line);
  let reply;
  try { reply = await handle(req); } catch (e) { reply = { ret: -1, error: errorText(e) }; }
  process.stdout.write(JSON.stringify({ id: req.id, ...reply }) + "\n");
  if (req.op === "close") process.exit(0);
}
