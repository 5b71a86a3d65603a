// A from-scratch OpenD TCP client, in the way the C#, Java and C++ SDKs talk to
// OpenD: 44-byte little-endian frame headers with a SHA-1 of the body,
// InitConnect first, KeepAlive at 0.8 x keepAliveInterval, replies matched on
// (proto id, serial).  Used by client.mjs (a command line) and driver.mjs (the
// conformance kit's driver protocol).
import crypto from "node:crypto";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const HEADER = 44;
// protobufjs puts defaults (0) on the prototype: an optional field is present
// only as an own property — `item.ratio ?? null` would turn "no ratio" into 0.
const has = (msg, field) => Object.prototype.hasOwnProperty.call(msg, field);
const here = path.dirname(fileURLToPath(import.meta.url));

export async function loadProtos(protoDir = path.resolve(here, "../../proto")) {
  const root = await protobuf.load(
    ["common", "init_connect", "keep_alive", "option_market_statistic"].map((n) => path.join(protoDir, "mockopend", `${n}.proto`)),
  );
  const T = (name) => root.lookupType(name);
  return {
    InitReq: T("mockopend.init_connect.Request"), InitRsp: T("mockopend.init_connect.Response"),
    KaReq: T("mockopend.keep_alive.Request"), KaRsp: T("mockopend.keep_alive.Response"),
    StatReq: T("mockopend.option_market_statistic.Request"), StatRsp: T("mockopend.option_market_statistic.Response"),
  };
}

export class OpenDClient {
  constructor(types, { host = "127.0.0.1", port = 11111, timeoutMs = 12000 } = {}) {
    Object.assign(this, { types, host, port, timeoutMs });
    this.serial = crypto.randomInt(1, 10000);
    this.pending = new Map();
    this.buf = Buffer.alloc(0);
    this.sock = null;
    this.keepAlive = null;
  }

  async connect() {
    this.close();
    const sock = net.connect({ host: this.host, port: this.port });
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    sock.on("data", (chunk) => this.#onData(chunk));
    // only the current socket's end fails what is pending (an old one closes after a reconnect)
    sock.on("close", () => { if (this.sock === sock || this.sock === null) this.#failAll(new Error("connection closed")); });
    sock.on("error", (e) => { if (this.sock === sock) this.#failAll(e); });
    await new Promise((resolve, reject) => { sock.once("connect", resolve); sock.once("error", reject); });
    const { InitReq, InitRsp, KaReq, KaRsp } = this.types;
    const init = await this.request(1001, InitReq, InitRsp, {
      c2s: { clientVer: 100, clientID: "node-raw-client", recvNotify: false, packetEncAlgo: -1, pushProtoFmt: 0, programmingLanguage: "JavaScript" },
    });
    if (init.retType !== 0) throw new Error(`InitConnect: ${init.retMsg}`);
    this.connId = init.s2c.connID.toString();
    this.keepAliveInterval = init.s2c.keepAliveInterval;
    this.keepAlive = setInterval(() => {
      this.request(1004, KaReq, KaRsp, { c2s: { time: Math.floor(Date.now() / 1000) } }).catch(() => {});
    }, Math.max(1, this.keepAliveInterval) * 800);
    return init;
  }

  close() {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
    if (this.sock) this.sock.destroy();
    this.sock = null;
  }

  #frame(protoId, body) {
    const h = Buffer.alloc(HEADER);
    h.write("FT", 0, "ascii");
    h.writeUInt32LE(protoId, 2);
    h.writeUInt8(0, 6); // protobuf body
    h.writeUInt8(0, 7);
    this.serial = (this.serial % 0xfffffffe) + 1;
    h.writeUInt32LE(this.serial, 8);
    h.writeUInt32LE(body.length, 12);
    crypto.createHash("sha1").update(body).digest().copy(h, 16);
    return { serial: this.serial, bytes: Buffer.concat([h, body]) };
  }

  #onData(chunk) {
    this.buf = Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= HEADER) {
      const len = this.buf.readUInt32LE(12);
      if (this.buf.length < HEADER + len) break;
      const protoId = this.buf.readUInt32LE(2), sn = this.buf.readUInt32LE(8);
      const sha = this.buf.subarray(16, 36), body = this.buf.subarray(HEADER, HEADER + len);
      this.buf = this.buf.subarray(HEADER + len);
      const waiter = this.pending.get(`${protoId}:${sn}`);
      if (!waiter) continue; // a push, or a reply nobody waits for
      this.pending.delete(`${protoId}:${sn}`);
      clearTimeout(waiter.timer);
      if (!crypto.createHash("sha1").update(body).digest().equals(sha)) waiter.reject(new Error(`SHA-1 mismatch on proto ${protoId}`));
      else waiter.resolve(Buffer.from(body));
    }
  }

  #failAll(err) {
    for (const [k, w] of this.pending) { clearTimeout(w.timer); w.reject(err); this.pending.delete(k); }
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
    this.sock = null;
  }

  request(protoId, ReqType, RspType, payload) {
    if (!this.sock) return Promise.reject(new Error("not connected"));
    const { serial, bytes } = this.#frame(protoId, Buffer.from(ReqType.encode(ReqType.create(payload)).finish()));
    const reply = new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(`${protoId}:${serial}`); reject(new Error(`timeout on proto ${protoId}`)); }, this.timeoutMs);
      this.pending.set(`${protoId}:${serial}`, { resolve, reject, timer });
    });
    this.sock.write(bytes);
    return reply.then((body) => RspType.decode(body));
  }

  // One page of 3301: {rows, key}; rows carry int64 as decimal strings.
  async getOptionMarketStatistic(c2s) {
    if (!this.sock) await this.connect(); // recover from a dropped connection on the next call
    const { StatReq, StatRsp } = this.types;
    const rsp = await this.request(3301, StatReq, StatRsp, { c2s });
    if (rsp.retType !== 0) throw new Error(rsp.retMsg || `retType ${rsp.retType}`);
    const rows = rsp.s2c.statisticList.map((i) => ({
      time: i.time,
      timestamp: has(i, "timestamp") ? i.timestamp : null,
      call_value: i.callValue.toString(),
      put_value: i.putValue.toString(),
      total_value: has(i, "totalValue") ? i.totalValue.toString() : null,
      ratio: has(i, "ratio") ? i.ratio : null,
    }));
    const key = rsp.s2c.nextPageKey && rsp.s2c.nextPageKey.length ? Buffer.from(rsp.s2c.nextPageKey) : null;
    return { rows, key };
  }

  async fetchAll(c2s) {
    const rows = [];
    let key = null, pages = 0;
    do {
      const page = await this.getOptionMarketStatistic(key ? { ...c2s, nextPageKey: key } : c2s);
      rows.push(...page.rows);
      key = page.key;
      pages += 1;
    } while (key);
    return { rows, pages };
  }
}
