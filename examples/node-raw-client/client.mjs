// A raw OpenD client in Node.js, written from the wire format alone — the way
// the C#, Java and C++ SDKs talk to OpenD over TCP: 44-byte little-endian
// frame headers with a SHA-1 of the body, InitConnect first, KeepAlive at
// 0.8 x keepAliveInterval, then proto 3301 following nextPageKey to the end.
//
//   npm install && node client.mjs --port 11111 --market 1 --type 0 \
//       --begin 2026-06-01 --end 2026-06-15 [--hold SECONDS] [--proto DIR]
//
// Prints one JSON object: {conn_id, pages, rows: [...]}, or {error} and exit 1.
// int64 values are printed as decimal strings (JSON numbers lose precision above 2^53).
import crypto from "node:crypto";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, v, i, a) => (v.startsWith("--") ? [...acc, [v.slice(2), a[i + 1]]] : acc), []),
);
const host = args.host || "127.0.0.1";
const port = Number(args.port || 11111);
const protoDir = args.proto || path.resolve(here, "../../proto");

const root = await protobuf.load(
  ["common", "init_connect", "keep_alive", "option_market_statistic"].map((n) => path.join(protoDir, "mockopend", `${n}.proto`)),
);
const T = (name) => root.lookupType(name);
const InitReq = T("mockopend.init_connect.Request"), InitRsp = T("mockopend.init_connect.Response");
const KaReq = T("mockopend.keep_alive.Request"), KaRsp = T("mockopend.keep_alive.Response");
const StatReq = T("mockopend.option_market_statistic.Request"), StatRsp = T("mockopend.option_market_statistic.Response");

// --- framing ------------------------------------------------------------------
const HEADER = 44;
let serial = crypto.randomInt(1, 10000);

function frame(protoId, body) {
  const h = Buffer.alloc(HEADER);
  h.write("FT", 0, "ascii");
  h.writeUInt32LE(protoId, 2);
  h.writeUInt8(0, 6); // protobuf body
  h.writeUInt8(0, 7);
  h.writeUInt32LE(++serial, 8);
  h.writeUInt32LE(body.length, 12);
  crypto.createHash("sha1").update(body).digest().copy(h, 16);
  return { serial, bytes: Buffer.concat([h, body]) };
}

const sock = net.connect({ host, port });
let buf = Buffer.alloc(0);
const pending = new Map(); // "proto:serial" -> {resolve, reject, timer}

sock.on("data", (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= HEADER) {
    const len = buf.readUInt32LE(12);
    if (buf.length < HEADER + len) break;
    const protoId = buf.readUInt32LE(2), sn = buf.readUInt32LE(8);
    const sha = buf.subarray(16, 36), body = buf.subarray(HEADER, HEADER + len);
    buf = buf.subarray(HEADER + len);
    const waiter = pending.get(`${protoId}:${sn}`);
    if (!waiter) continue; // a push, or a reply nobody waits for
    pending.delete(`${protoId}:${sn}`);
    clearTimeout(waiter.timer);
    if (!crypto.createHash("sha1").update(body).digest().equals(sha)) waiter.reject(new Error(`SHA-1 mismatch on proto ${protoId}`));
    else waiter.resolve(Buffer.from(body));
  }
});
const closed = new Promise((_, reject) => sock.on("close", () => reject(new Error("connection closed"))));
closed.catch(() => {});

function request(protoId, ReqType, RspType, payload, timeoutMs = 12000) {
  const { serial: sn, bytes } = frame(protoId, Buffer.from(ReqType.encode(ReqType.create(payload)).finish()));
  const reply = new Promise((resolve, reject) => {
    const timer = setTimeout(() => { pending.delete(`${protoId}:${sn}`); reject(new Error(`timeout on proto ${protoId}`)); }, timeoutMs);
    pending.set(`${protoId}:${sn}`, { resolve, reject, timer });
  });
  sock.write(bytes);
  return Promise.race([reply, closed]).then((body) => RspType.decode(body));
}

function fail(message) {
  console.log(JSON.stringify({ error: message }));
  process.exit(1);
}

// --- session ------------------------------------------------------------------
await new Promise((resolve, reject) => { sock.once("connect", resolve); sock.once("error", reject); }).catch((e) => fail(String(e)));
const init = await request(1001, InitReq, InitRsp, {
  c2s: { clientVer: 100, clientID: "node-raw-client", recvNotify: false, packetEncAlgo: -1, pushProtoFmt: 0, programmingLanguage: "JavaScript" },
});
if (init.retType !== 0) fail(`InitConnect: ${init.retMsg}`);
const keepAlive = setInterval(() => {
  request(1004, KaReq, KaRsp, { c2s: { time: Math.floor(Date.now() / 1000) } }).catch(() => {});
}, Math.max(1, init.s2c.keepAliveInterval) * 800);

if (args.hold) await new Promise((r) => setTimeout(r, Number(args.hold) * 1000)); // stay idle, KeepAlive ticking

const c2s = {
  optionMarket: Number(args.market ?? 1),
  dataType: Number(args.type ?? 0),
  beginTime: args.begin ?? "",
  endTime: args.end ?? "",
};
const rows = [];
let pages = 0;
let key;
try {
  do {
    const rsp = await request(3301, StatReq, StatRsp, { c2s: key ? { ...c2s, nextPageKey: key } : c2s });
    if (rsp.retType !== 0) fail(`3301: ${rsp.retMsg}`);
    pages += 1;
    for (const i of rsp.s2c.statisticList) {
      rows.push({
        time: i.time,
        timestamp: i.timestamp ?? null,
        call_value: i.callValue.toString(),
        put_value: i.putValue.toString(),
        total_value: i.totalValue == null ? null : i.totalValue.toString(),
        ratio: i.ratio ?? null,
      });
    }
    key = rsp.s2c.nextPageKey && rsp.s2c.nextPageKey.length ? rsp.s2c.nextPageKey : undefined;
  } while (key);
} catch (e) {
  fail(String(e));
}
clearInterval(keepAlive);
sock.end();
console.log(JSON.stringify({ conn_id: init.s2c.connID.toString(), keep_alive_interval: init.s2c.keepAliveInterval, pages, rows }));
