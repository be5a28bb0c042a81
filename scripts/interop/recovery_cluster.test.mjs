// Connection state recovery across the nodes of a Socket.IO cluster on the Redis streams adapter:
// two socketwire-tokio nodes (tokio/examples/socketio_server.rs with `--redis URL --adapter
// redis-streams --recovery`, the release build of `cargo build --release -p socketwire-tokio
// --features socketio-server,redis --example socketio_server`) and one Node.js socket.io 4.8.1
// node with @socket.io/redis-streams-adapter 0.3.1 and connectionStateRecovery (cluster-node.mjs
// `--recovery`), on a redis-server of their own on a free loopback port. A socket.io-client 4.8.1
// in room `r` loses its transport; events are emitted to `r` from the other nodes while it is
// away; it comes back on another node with its pid and last offset (every node hands out the
// same offsets, the stream entry ids) and gets every missed event once, in order, with
// `socket.recovered === true` and the same socket id. Cases: socketwire A → socketwire B,
// socketwire A → the Node.js node, the Node.js node → socketwire A. The same three cases run on
// two README example servers (`--redis URL --adapter redis-streams --recovery`, three namespaces
// on the one stream) with the example's `to-room` event (the other members of the room get
// `new messages`), the Node.js node answering it the same way. Every wait is bounded.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { createClient } from 'redis';
import { next, withTimeout } from './socketio-cases.mjs';
import { REDIS, start, startRedis } from './cluster-common.mjs';

const BIN = fileURLToPath(new URL('../../target/release/examples/socketio_server', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../target/release/examples/server', import.meta.url));
const NODE = fileURLToPath(new URL('./cluster-node.mjs', import.meta.url));
/** Events each other node emits to the absent client. */
const N = 10;
/** Tries of a check that waits for the stream or the cluster, each after a pause. */
const TRIES = 50;
const PAUSE_MS = 100;

const children = [];
const sockets = [];
const redisClients = [];
function stopAll() {
  sockets.splice(0).forEach((s) => s.close());
  redisClients.splice(0).forEach((c) => c.disconnect().catch(() => {}));
  children.splice(0).forEach((c) => c.kill('SIGKILL'));
}
after(stopAll);
process.on('exit', stopAll);

const LISTENING = /listening on (127\.0\.0\.1:\d+)/;
const startRust = (redis, bin = BIN) =>
  start(children, bin, ['--addr', '127.0.0.1:0', '--redis', redis, '--adapter', 'redis-streams', '--recovery'],
    LISTENING, 'socketwire node').then((addr) => `http://${addr}`);
const startNode = (redis) =>
  start(children, process.execPath, [NODE, redis, 'redis-streams', '--recovery'], LISTENING, 'Node.js node')
    .then((addr) => `http://${addr}`);

async function cluster(bin = BIN) {
  const redis = await startRedis(children);
  const spy = createClient({ url: redis });
  spy.on('error', () => {});
  await spy.connect();
  redisClients.push(spy);
  return { redis, spy, a: await startRust(redis, bin), b: await startRust(redis, bin), j: await startNode(redis) };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client that never reconnects by itself: the test moves it to another node. */
async function connect(url) {
  const socket = io(url, { forceNew: true, transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  await next(socket, 'connect');
  return socket;
}

/** Broadcast entries of the stream whose data mentions `event`. */
async function entriesOf(spy, event) {
  const entries = await spy.xRange('socket.io', '-', '+');
  return entries.filter((e) => e.message.type === '3' && e.message.data?.includes(`"${event}"`)).length;
}

/** Waits until the stream holds `count` broadcasts of `event` (what the nodes XADDed). */
async function untilInStream(spy, event, count) {
  for (let i = 0; i < TRIES; i++) {
    if ((await entriesOf(spy, event)) >= count) return;
    await sleep(PAUSE_MS);
  }
  assert.fail(`${count} ${event} entries never reached the stream`);
}

/**
 * How a test emits `name` (args) to room `r` through a node and listens for it: socketio_server's
 * `cluster-emit` (the event arrives as `name`), or the example server's `to-room` (the other
 * members get `new messages` (name, args)).
 */
const CLUSTER_EMIT = {
  send: (emitter, name, ...args) => emitter.emit('cluster-emit', 'r', name, ...args),
  on: (client, name, handler) => client.on(name, (...args) => handler(args)),
};
const TO_ROOM = {
  send: (emitter, name, ...args) => emitter.emit('to-room', 'r', name, ...args),
  on: (client, name, handler) => client.on('new messages', (first, ...args) => { if (first === name) handler(args); }),
};
const once = (dialect, client, name) =>
  withTimeout(new Promise((resolve) => dialect.on(client, name, resolve)), name);

/**
 * `client` (on `from`) joins `r` and gets one event there (so it has an offset); its transport
 * drops; each of `emitters` emits N events to `r`; it comes back on `to`. Every missed event
 * arrives once, in order, before a live one.
 */
async function dropAndRecover(spy, from, to, emitters, live, dialect = CLUSTER_EMIT) {
  const client = await connect(from);
  const id = client.id;
  await withTimeout(client.emitWithAck('join', 'r'), 'join');
  const hello = once(dialect, client, 'hello');
  dialect.send(emitters[0], 'hello');
  await hello;
  assert.match(client._lastOffset, /^[0-9]+-[0-9]+$/, 'the offset is a stream id');

  const gone = next(client, 'disconnect');
  client.io.engine.close();
  const [reason] = await gone;
  assert.equal(reason, 'forced close'); // the client's own word; the server sees its transport close
  await sleep(300); // the node keeps the session (SET sio:session:<pid>)

  const before = await entriesOf(spy, 'missed');
  let sent = 0;
  for (const emitter of emitters) {
    for (let i = 0; i < N; i++) dialect.send(emitter, 'missed', sent++);
    // One emitter at a time, so the stream order is the emit order.
    await untilInStream(spy, 'missed', before + sent);
  }

  const got = [];
  const offsets = [];
  dialect.on(client, 'missed', (args) => { got.push(args[0]); offsets.push(args.at(-1)); });
  client.io.uri = to; // the manager opens its next connection there
  const back = next(client, 'connect');
  client.connect();
  await back;
  assert.equal(client.recovered, true, 'recovered');
  assert.equal(client.id, id, 'the same socket id');
  const liveEvent = once(dialect, client, 'live');
  dialect.send(live, 'live');
  await liveEvent;
  assert.deepEqual(got, [...Array(sent).keys()], 'every missed event, once, in order');
  assert.ok(offsets.every((o) => /^[0-9]+-[0-9]+$/.test(o)), 'stream ids');
  client.close();
}

const skip = (!existsSync(BIN) && `build ${BIN} first (with --features socketio-server,redis)`)
  || (!existsSync(REDIS) && `${REDIS} is missing (Debian package redis-server)`);

test('recovery across nodes: socketwire A → socketwire B, socketwire A → Node.js, Node.js → socketwire A', { skip }, async () => {
  const { spy, a, b, j } = await cluster();
  const [onB, onJ, onA] = [await connect(b), await connect(j), await connect(a)];
  // Let the nodes hear of each other (heartbeats) before the first drop.
  await sleep(500);

  await test('a client of socketwire node A recovers on socketwire node B', () =>
    dropAndRecover(spy, a, b, [onB, onJ], onJ));
  await test('a client of socketwire node A recovers on the Node.js node', () =>
    dropAndRecover(spy, a, j, [onB, onJ], onB));
  await test('a client of the Node.js node recovers on socketwire node A', () =>
    dropAndRecover(spy, j, a, [onA, onB], onB));
  stopAll();
});

const skipExample = (!existsSync(EXAMPLE) && `build ${EXAMPLE} first`)
  || (!existsSync(REDIS) && `${REDIS} is missing (Debian package redis-server)`);

test('recovery across nodes with the example server: example A → example B, example A → Node.js, Node.js → example A', { skip: skipExample }, async () => {
  const { spy, a, b, j } = await cluster(EXAMPLE);
  const [onB, onJ, onA] = [await connect(b), await connect(j), await connect(a)];
  await sleep(500);
  await test('a client of example server A recovers on example server B', () =>
    dropAndRecover(spy, a, b, [onB, onJ], onJ, TO_ROOM));
  await test('a client of example server A recovers on the Node.js node', () =>
    dropAndRecover(spy, a, j, [onB, onJ], onB, TO_ROOM));
  await test('a client of the Node.js node recovers on example server A', () =>
    dropAndRecover(spy, j, a, [onA, onB], onB, TO_ROOM));
  stopAll();
});
