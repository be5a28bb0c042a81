// A Node.js socket.io 4.8.1 node of a cluster over Redis, for cluster.test.mjs.
// `node cluster-node.mjs <redis url> <redis|redis-sharded|redis-streams>`: listens on
// 127.0.0.1 (a free port, printed as `listening on 127.0.0.1:PORT`), with the npm adapter of
// the mode, and the same cluster events as socketwire's example server
// (tokio/examples/socketio_server.rs): `join` (room, ack), `cluster-emit` (room, event,
// ...args), `cluster-fetch` (ack: every socket id), `cluster-server-side-emit` (ack: the other
// servers' answers to `ping`), `cluster-relay` (args: serverSideEmit `relay`),
// `cluster-ack-broadcast` (ack: every client's ack of `question`), `cluster-sockets-join` (from,
// room: socketsJoin), `cluster-fetch-room` (room, ack: the ids in it), `cluster-disconnect` (room:
// disconnectSockets). It answers `ping` with `pong`. A third argument `--recovery` turns on
// connectionStateRecovery (maxDisconnectionDuration 60 s; recovery_cluster.test.mjs).
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createClient } from 'redis';
import { nodeAdapter } from './cluster-common.mjs';

const [url, mode, ...flags] = process.argv.slice(2);
const pub = createClient({ url });
await pub.connect();
const adapter = await nodeAdapter(pub, mode);
const http = createServer();
const recovery = flags.includes('--recovery') ? { connectionStateRecovery: { maxDisconnectionDuration: 60000 } } : {};
const io = new Server(http, { adapter, ...recovery });
io.on('ping', (cb) => cb('pong'));
io.on('relay', (...args) => io.local.emit('relayed', ...args));
io.on('connection', (socket) => {
  socket.on('join', (room, ack) => { socket.join(room); if (typeof ack === 'function') ack(); });
  socket.on('cluster-emit', (room, event, ...args) => io.to(room).emit(event, ...args));
  // As the example server's `to-room`: the other members of the room get `new messages`.
  socket.on('to-room', (room, ...args) => socket.to(room).emit('new messages', ...args));
  socket.on('cluster-fetch', async (ack) => ack((await io.fetchSockets()).map((s) => s.id)));
  socket.on('cluster-server-side-emit', (ack) => {
    io.serverSideEmitWithAck('ping').then(ack, (err) => ack(`error: ${err.message}`));
  });
  socket.on('cluster-relay', (...args) => io.serverSideEmit('relay', ...args));
  socket.on('cluster-sockets-join', (from, room) => io.in(from).socketsJoin(room));
  socket.on('cluster-fetch-room', async (room, ack) => ack((await io.in(room).fetchSockets()).map((s) => s.id)));
  socket.on('cluster-disconnect', (room) => io.in(room).disconnectSockets());
  socket.on('cluster-ack-broadcast', (ack) => {
    io.timeout(3000).emit('question', (err, answers) => ack(err ? `error: ${err.message}` : answers));
  });
});
http.listen(0, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${http.address().port}`));
// The parent's pipe closing ends this node.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
