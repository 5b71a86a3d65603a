// Command line around opend.mjs: one 3301 query, every page, printed as JSON.
//
//   npm install && node client.mjs --port 11111 --market 1 --type 0 \
//       --begin 2026-06-01 --end 2026-06-15 [--hold SECONDS] [--proto DIR]
//
// Prints {conn_id, keep_alive_interval, pages, rows: [...]}, or {error} and exits 1.
// int64 values are decimal strings (JSON numbers lose precision above 2^53).
import { OpenDClient, loadProtos } from "./opend.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, v, i, a) => (v.startsWith("--") ? [...acc, [v.slice(2), a[i + 1]]] : acc), []),
);
const client = new OpenDClient(await loadProtos(args.proto), { host: args.host, port: Number(args.port || 11111) });
try {
  await client.connect();
  if (args.hold) await new Promise((r) => setTimeout(r, Number(args.hold) * 1000)); // idle, KeepAlive ticking
  const c2s = { optionMarket: Number(args.market ?? 1), dataType: Number(args.type ?? 0), beginTime: args.begin ?? "", endTime: args.end ?? "" };
  const { rows, pages } = await client.fetchAll(c2s);
  console.log(JSON.stringify({ conn_id: client.connId, keep_alive_interval: client.keepAliveInterval, pages, rows }));
  client.close();
} catch (e) {
  console.log(JSON.stringify({ error: String(e.message || e) }));
  client.close();
  process.exit(1);
}
