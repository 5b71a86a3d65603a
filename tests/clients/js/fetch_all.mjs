// Every page of one 3301 query through the JS SDK's own API, printed as JSON.
//   node --import ./harness.mjs fetch_all.mjs PORT MARKET TYPE BEGIN END [KEY]
import ftWebsocket from "futu-api";

const [port, market, dataType, beginTime, endTime, key] = process.argv.slice(2);
const ws = new ftWebsocket();
const out = { login: false, pages: [], error: null };
const done = (code) => { console.log(JSON.stringify(out)); ws.stop(); process.exit(code); };
setTimeout(() => { out.error = "watchdog: no answer in 15 s"; done(3); }, 15000);

ws.onlogin = async (ok, msg) => {
  out.login = ok;
  if (!ok) { out.error = String(msg); done(0); return; }
  out.conn_id = String(ws.getConnID());
  let nextPageKey;
  try {
    do {
      const c2s = { optionMarket: Number(market), dataType: Number(dataType), beginTime, endTime };
      if (nextPageKey) c2s.nextPageKey = nextPageKey;
      const res = await ws.GetOptionMarketStatistic({ c2s });
      const rows = (res.s2c.statisticList || []).map((i) => ({
        time: i.time,
        timestamp: i.timestamp,
        call_value: String(i.callValue),
        put_value: String(i.putValue),
        total_value: i.totalValue == null ? null : String(i.totalValue),
        ratio: i.ratio == null ? null : i.ratio,
      }));
      nextPageKey = res.s2c.nextPageKey && res.s2c.nextPageKey.length ? res.s2c.nextPageKey : undefined;
      out.pages.push({ rows, key: nextPageKey ? Buffer.from(nextPageKey).toString("base64") : null });
    } while (nextPageKey);
  } catch (err) {
    out.error = typeof err === "string" ? err : { retType: err.retType, retMsg: err.retMsg, errCode: err.errCode };
  }
  done(0);
};
ws.start("127.0.0.1", Number(port), false, key || "");
