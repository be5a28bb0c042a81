// The npm socket.io server of scripts/broadcast-bench.sh, with socket.io's defaults (ping
// 25 s / 20 s, no perMessageDeflate). It answers the same two events as the example server's
// `/` namespace: `join` (room) adds the socket to the room, and `to-room` (room, data) emits
// `new messages` (data) to the room's members but the sender.
//   node scripts/interop/broadcast-server.mjs --addr 127.0.0.1:PORT
import { createServer } from "node:http";
import { Server } from "socket.io";

const addr = process.argv[process.argv.indexOf("--addr") + 1] ?? "127.0.0.1:9007";
const [host, port] = addr.split(":");
const http = createServer();
const io = new Server(http);
io.on("connection", (socket) => {
  socket.on("join", (room) => socket.join(room));
  socket.on("to-room", (room, data) => socket.to(room).emit("new messages", data));
});
http.listen(Number(port), host, () => console.log(`socket.io on http://${addr}/socket.io/`));
