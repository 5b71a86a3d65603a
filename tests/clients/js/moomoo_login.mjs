// npm's moomoo-api stops at 9.6.5608 (no 3301): show that it logs in.
//   node --import ./harness.mjs moomoo_login.mjs PORT [KEY]
import mmWebsocket from "moomoo-api";

const [port, key] = process.argv.slice(2);
const ws = new mmWebsocket();
setTimeout(() => { console.log(JSON.stringify({ login: false, error: "watchdog" })); process.exit(3); }, 15000);
ws.onlogin = (ok, msg) => {
  console.log(JSON.stringify({ login: ok, conn_id: ok ? String(ws.getConnID()) : null, error: ok ? null : String(msg) }));
  ws.stop();
  process.exit(0);
};
ws.start("127.0.0.1", Number(port), false, key || "");
