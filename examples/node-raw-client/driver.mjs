// opend.mjs as a conformance-kit driver (conformance/DRIVER.md): JSON lines on
// stdin/stdout, the server from OPEND_HOST / OPEND_PORT.
//   opend-conformance run --client-cmd "node driver.mjs"
import readline from "node:readline";
import { OpenDClient, loadProtos } from "./opend.mjs";

const protoArg = process.argv.indexOf("--proto");
const types = await loadProtos(protoArg > 0 ? process.argv[protoArg + 1] : undefined);
const client = new OpenDClient(types, { host: process.env.OPEND_HOST, port: Number(process.env.OPEND_PORT) });
const MARKETS = { US_SECURITY: 1, US_INDEX: 2, HK_SECURITY: 3, HK_INDEX: 4, "N/A": 0 };
const TYPES = { VOLUME: 0, OPEN_INTEREST: 1, "N/A": -1 };
let connected = false;

function c2sOf(req) {
  if (!(req.option_market in MARKETS) || !(req.data_type in TYPES)) throw new Error("unknown market or data type");
  return { optionMarket: MARKETS[req.option_market], dataType: TYPES[req.data_type], beginTime: req.begin_time ?? "", endTime: req.end_time ?? "" };
}

async function handle(req) {
  if (!connected && req.op !== "close") { await client.connect(); connected = true; }
  switch (req.op) {
    case "get_option_market_statistic": {
      const c2s = c2sOf(req);
      if (req.page_req_key) c2s.nextPageKey = Buffer.from(req.page_req_key, "base64");
      const { rows, key } = await client.getOptionMarketStatistic(c2s);
      return { ret: 0, rows, page_req_key: key ? key.toString("base64") : null };
    }
    case "fetch_all": return { ret: 0, rows: (await client.fetchAll(c2sOf(req))).rows };
    case "reconnect": await client.connect(); return { ret: 0 };
    case "close": client.close(); return { ret: 0 };
    default: return { unsupported: true };
  }
}

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const req = JSON.parse(line);
  let reply;
  try { reply = await handle(req); } catch (e) { reply = { ret: -1, error: String(e.message || e) }; }
  process.stdout.write(JSON.stringify({ id: req.id, ...reply }) + "\n");
  if (req.op === "close") process.exit(0);
}
