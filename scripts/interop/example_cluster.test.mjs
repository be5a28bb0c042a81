// The example server in a cluster over a real Redis: two example servers
// (`target/release/examples/server --redis URL --adapter MODE`, from `cargo build --release
// --examples`; SERVER_BIN overrides the path) and one Node.js socket.io 4.8.1 node with the
// matching npm adapter (in this process), for each of the three adapter modes. Each mode starts
// its own redis-server on a free loopback port. Checks: a socket.io-client on node A in the chat
// demo's `/chat` namespace gets a `new message` sent by a client on node B and one emitted to
// the chat's lobby from the Node.js node; a `ws` client on node A's plain-WebSocket `/chat` room
// gets a message sent by a `ws` client on node B's `/chat`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { withTimeout } from './socketio-cases.mjs';
import { REDIS, nodeAdapter, start, startRedis } from './cluster-common.mjs';

const BIN = process.env.SERVER_BIN
  || fileURLToPath(new URL('../../target/release/examples/server', import.meta.url));
/** Tries of a check that waits for the cluster to settle (subscriptions), each after a pause. */
const TRIES = 30;
const PAUSE_MS = 400;
/** The chat demo's lobby, as a Socket.IO room (examples/server/chat.rs `registry_room`). */
const LOBBY = 'chat:lobby';

const children = [];
const closers = [];
/** The Node.js node's Redis clients, closed by `shutdown` (or disconnected by `stopAll`). */
const redisClients = [];
function stopAll() {
  redisClients.splice(0).forEach((c) => c.disconnect().catch(() => {}));
  closers.splice(0).forEach((close) => {
    try { Promise.resolve(close()).catch(() => {}); } catch { /* already closed */ }
  });
  children.splice(0).reverse().forEach((c) => c.kill('SIGKILL'));
}
after(stopAll);
process.on('exit', stopAll);


/** An example server in the cluster; its address. */
const startExample = (redis, mode) =>
  start(children, BIN, ['--addr', '127.0.0.1:0', '--redis', redis, '--adapter', mode],
    /listening on (127\.0\.0\.1:\d+)/, 'example server');

/** A Node.js socket.io node in the cluster (this process), serving the chat's namespace. */
async function startNodeJs(url, mode) {
  const pub = createClient({ url });
  await pub.connect();
  redisClients.push(pub);
  const adapter = await nodeAdapter(pub, mode, (sub) => redisClients.push(sub));
  const http = createHttpServer();
  const server = new Server(http, { adapter });
  server.of('/chat');
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  closers.unshift(() => server.close());
  return server;
}

/**
 * Ends the Node.js node before Redis goes: its server (and adapters) first, then its Redis
 * clients once their pending commands are answered (a blocked `XREAD` within its block time);
 * then every other client and child.
 */
async function shutdown(server) {
  await new Promise((resolve) => server.close(resolve));
  const clients = redisClients.splice(0);
  await withTimeout(Promise.allSettled(clients.map((c) => c.quit())), 'redis quit');
  stopAll();
}

/** A chat demo user on `addr`'s `/chat` namespace, in the lobby. */
async function chatUser(addr, name) {
  const socket = io(`http://${addr}/chat`, { forceNew: true, transports: ['websocket'], reconnection: false });
  closers.push(() => socket.close());
  const reply = await withTimeout(socket.emitWithAck('add user', name), 'add user');
  assert.equal(reply.ok, true, JSON.stringify(reply));
  return socket;
}

/** A `ws` client of `addr`'s plain-WebSocket `/chat` room. */
async function wsChat(addr) {
  const ws = new WebSocket(`ws://${addr}/chat`);
  closers.push(() => ws.terminate());
  await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 'ws open');
  return ws;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `trigger` until `target` gives a message for which `wanted` holds (at most TRIES
 * times, PAUSE_MS apart): `on(handler)` / `off(handler)` attach to its messages. The match.
 */
async function receivedAfter(on, off, wanted, trigger, what) {
  let got;
  const handler = (...args) => { if (got === undefined && wanted(...args)) got = args; };
  on(handler);
  try {
    for (let i = 0; i < TRIES && got === undefined; i++) {
      trigger();
      await sleep(PAUSE_MS);
    }
  } finally {
    off(handler);
  }
  assert.notEqual(got, undefined, `${what} never arrived`);
  return got;
}

const skip = (!existsSync(BIN) && `build ${BIN} first (cargo build --release --examples)`)
  || (!existsSync(REDIS) && `${REDIS} is missing (Debian package redis-server)`);

for (const mode of ['redis', 'redis-sharded', 'redis-streams']) {
  test(`${mode}: two example servers and a Node.js node share the chat demo and the /chat room`, { skip }, async () => {
    const redis = await startRedis(children);
    const a = await startExample(redis, mode);
    const b = await startExample(redis, mode);
    const nodeJs = await startNodeJs(redis, mode);

    // Socket.IO, namespace /chat: node B's user and the Node.js node reach node A's user.
    const [alice, bob] = [await chatUser(a, 'alice'), await chatUser(b, 'bob')];
    const onAlice = [(h) => alice.on('new message', h), (h) => alice.off('new message', h)];
    const fromB = await receivedAfter(...onAlice, (m) => m.message === 'hello from B',
      () => bob.emit('new message', 'hello from B'), 'the message from node B');
    assert.deepEqual(fromB, [{ username: 'bob', message: 'hello from B' }]);
    const fromNode = await receivedAfter(...onAlice, (m) => m.message === 'hello from Node.js',
      () => nodeJs.of('/chat').to(LOBBY).emit('new message', { username: 'node', message: 'hello from Node.js' }),
      'the message from the Node.js node');
    assert.deepEqual(fromNode, [{ username: 'node', message: 'hello from Node.js' }]);

    // The plain-WebSocket /chat room: node B's client reaches node A's.
    const [wsA, wsB] = [await wsChat(a), await wsChat(b)];
    const [text] = await receivedAfter((h) => wsA.on('message', h), (h) => wsA.off('message', h),
      (data, binary) => !binary && data.toString() === 'hello over Redis',
      () => wsB.send('hello over Redis'), 'the ws message from node B');
    assert.equal(text.toString(), 'hello over Redis');
    await shutdown(nodeJs);
  });
}
