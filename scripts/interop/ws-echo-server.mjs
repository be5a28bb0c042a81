// The Node `ws` echo server of scripts/e2e-bench.sh (no permessage-deflate, as the others).
//   node scripts/interop/ws-echo-server.mjs --addr 127.0.0.1:PORT
import { WebSocketServer } from "ws";

const addr = process.argv[process.argv.indexOf("--addr") + 1] ?? "127.0.0.1:9005";
const [host, port] = addr.split(":");
const wss = new WebSocketServer({ host, port: Number(port), perMessageDeflate: false, maxPayload: 64 << 20 });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on("listening", () => console.log(`ws echo on ws://${addr}/`));
