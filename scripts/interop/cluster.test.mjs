// A Socket.IO cluster over a real Redis: two socketwire-tokio nodes
// (tokio/examples/socketio_server.rs with `--redis --adapter`, the release build of
// `cargo build --release -p socketwire-tokio --features socketio-server,redis --example socketio_server`)
// and one Node.js socket.io 4.8.1 node with the matching npm adapter (cluster-node.mjs), for each
// of the three adapter modes: `@socket.io/redis-adapter` createAdapter and createShardedAdapter,
// `@socket.io/redis-streams-adapter`. Each mode starts its own redis-server on a free loopback
// port. Checks: a client on node A in room `r` gets broadcasts to `r` emitted on the Node.js node
// and on node B, and a client of the Node.js node in `r` gets node B's (binary included); fetchSockets and serverSideEmit on the Node.js node (and on node B) see and
// reach every node's sockets; broadcasts with acks on either collect every client's ack;
// socketsJoin and disconnectSockets on the Node.js node act on node A's socket.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { next, withTimeout } from './socketio-cases.mjs';
import { REDIS, nodeAdapter, start, startRedis } from './cluster-common.mjs';

const BIN = fileURLToPath(new URL('../../target/release/examples/socketio_server', import.meta.url));
const NODE = fileURLToPath(new URL('./cluster-node.mjs', import.meta.url));
/** Tries of a check that waits for the cluster to settle (subscriptions, heartbeats). */
const TRIES = 30;
const PAUSE_MS = 400;

const children = [];
const sockets = [];
function stopAll() {
  sockets.splice(0).forEach((s) => s.close());
  children.splice(0).forEach((c) => c.kill('SIGKILL'));
}
after(stopAll);
process.on('exit', stopAll);


const LISTENING = /listening on (127\.0\.0\.1:\d+)/;
const startRust = (redis, mode) =>
  start(children, BIN, ['--addr', '127.0.0.1:0', '--redis', redis, '--adapter', mode], LISTENING, 'socketwire node')
    .then((addr) => `http://${addr}`);
const startNode = (redis, mode) =>
  start(children, process.execPath, [NODE, redis, mode], LISTENING, 'Node.js node').then((addr) => `http://${addr}`);

async function connect(url) {
  const socket = io(url, { forceNew: true, transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  // Every client answers a broadcast `question` with its id.
  socket.on('question', (ack) => ack(socket.id));
  await next(socket, 'connect');
  return socket;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `trigger` until `socket` gets `event` (at most TRIES times); resolves with its args. */
async function receivedAfter(socket, event, trigger) {
  let got;
  const handler = (...args) => { got = args; };
  socket.on(event, handler);
  try {
    for (let i = 0; i < TRIES && got === undefined; i++) {
      trigger();
      await sleep(PAUSE_MS);
    }
  } finally {
    socket.off(event, handler);
  }
  assert.notEqual(got, undefined, `${event} never arrived`);
  return got;
}

/** Asks `ask()` until `done(answer)` holds (at most TRIES times); the last answer. */
async function answerUntil(ask, done) {
  let answer;
  for (let i = 0; i < TRIES; i++) {
    answer = await withTimeout(ask(), 'an answer');
    if (done(answer)) return answer;
    await sleep(PAUSE_MS);
  }
  return answer;
}

const sorted = (list) => (Array.isArray(list) ? [...list].sort() : list);

const skip = (!existsSync(BIN) && `build ${BIN} first (with --features socketio-server,redis)`)
  || (!existsSync(REDIS) && `${REDIS} is missing (Debian package redis-server)`);

for (const mode of ['redis', 'redis-sharded', 'redis-streams']) {
  test(`${mode}: two socketwire nodes and a Node.js node share rooms, broadcasts, fetchSockets, serverSideEmit and acks`, { skip }, async () => {
    const redis = await startRedis(children);
    const a = await startRust(redis, mode);
    const b = await startRust(redis, mode);
    const j = await startNode(redis, mode);
    const [ca, cb, cj] = [await connect(a), await connect(b), await connect(j)];
    const everyone = [ca.id, cb.id, cj.id].sort();
    await withTimeout(ca.emitWithAck('join', 'r'), 'join');

    // A broadcast to `r` from the Node.js node, and from node B, reaches the client on A.
    const fromJ = await receivedAfter(ca, 'from-j', () => cj.emit('cluster-emit', 'r', 'from-j', 1, { x: 'y' }));
    assert.deepEqual(fromJ, [1, { x: 'y' }]);
    const fromB = await receivedAfter(ca, 'from-b', () => cb.emit('cluster-emit', 'r', 'from-b', 2));
    assert.deepEqual(fromB, [2]);
    // And a broadcast to `r` from node B reaches a member on the Node.js node.
    await withTimeout(cj.emitWithAck('join', 'r'), 'join');
    const onJ = await receivedAfter(cj, 'from-b', () => cb.emit('cluster-emit', 'r', 'from-b', 3, Buffer.from([1, 2])));
    assert.equal(onJ[0], 3);
    assert.deepEqual([...onJ[1]], [1, 2]);

    // fetchSockets on the Node.js node sees the socketwire nodes' sockets; and on node B.
    const fetched = await answerUntil(() => cj.emitWithAck('cluster-fetch'), (ids) => sorted(ids).join() === everyone.join());
    assert.deepEqual(sorted(fetched), everyone);
    const fetchedB = await answerUntil(() => cb.emitWithAck('cluster-fetch'), (ids) => sorted(ids).join() === everyone.join());
    assert.deepEqual(sorted(fetchedB), everyone);

    // serverSideEmit from the Node.js node reaches both socketwire nodes (their answers, and
    // their sockets through `relay`); from node B, the two others answer.
    const answers = await answerUntil(() => cj.emitWithAck('cluster-server-side-emit'), (x) => Array.isArray(x) && x.length === 2);
    assert.deepEqual(answers, ['pong', 'pong']);
    const answersB = await answerUntil(() => cb.emitWithAck('cluster-server-side-emit'), (x) => Array.isArray(x) && x.length === 2);
    assert.deepEqual(answersB, ['pong', 'pong']);
    const relayedA = await receivedAfter(ca, 'relayed', () => cj.emit('cluster-relay', 'hi'));
    assert.deepEqual(relayedA, ['hi']);
    const relayedB = await receivedAfter(cb, 'relayed', () => cj.emit('cluster-relay', 'hi'));
    assert.deepEqual(relayedB, ['hi']);

    // A broadcast with acks from the Node.js node, and from node B, collects every client's ack.
    const acksJ = await answerUntil(() => cj.emitWithAck('cluster-ack-broadcast'), (x) => sorted(x)?.join?.() === everyone.join());
    assert.deepEqual(sorted(acksJ), everyone);
    const acksB = await answerUntil(() => cb.emitWithAck('cluster-ack-broadcast'), (x) => sorted(x)?.join?.() === everyone.join());
    assert.deepEqual(sorted(acksB), everyone);

    // socketsJoin and disconnectSockets from the Node.js node act on node A's socket.
    cj.emit('cluster-sockets-join', ca.id, 's');
    const inS = await answerUntil(() => cj.emitWithAck('cluster-fetch-room', 's'), (ids) => Array.isArray(ids) && ids.includes(ca.id));
    assert.deepEqual(inS, [ca.id]);
    const gone = next(ca, 'disconnect');
    cj.emit('cluster-disconnect', 's');
    const [reason] = await gone;
    assert.equal(reason, 'io server disconnect');
    stopAll();
  });
}
