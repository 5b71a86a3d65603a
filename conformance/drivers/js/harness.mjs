// Preloaded with `node --import ./harness.mjs`: what the JS SDK expects of its
// runtime and Node 20 does not give it, without touching the SDK.
//  - a global WebSocket (browsers and Node >= 22 have one): the `ws` package;
//  - bundler-style resolution for the seed example's `import ... from "futu-api/proto"`
//    (a directory import of a CommonJS file with named exports): resolve-hook.mjs.
import { register } from "node:module";
import WebSocket from "ws";

globalThis.WebSocket = WebSocket;
register("./resolve-hook.mjs", import.meta.url);
