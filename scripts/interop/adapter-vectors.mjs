// Captures the Redis messages of the real Socket.IO adapters, for socketwire's adapter codec
// tests (tests/adapter.rs). Regenerate from the repository root with:
//
//   (cd scripts/interop && npm ci && node adapter-vectors.mjs ../../tests/vectors/adapter/captured.json)
//
// It starts `redis-server` (on PATH) on a free 127.0.0.1 port, runs two socket.io 4.8.1 servers per
// adapter (the classic and the sharded adapter of @socket.io/redis-adapter 8.3.0, the streams
// adapter of @socket.io/redis-streams-adapter 0.3.1, and socket.io-adapter's
// ClusterAdapterWithHeartbeat published over plain pub/sub), connects one socket.io-client to
// each server, makes the first server do every operation, and records what a raw Redis client
// sees: PSUBSCRIBE '*', SSUBSCRIBE on the sharded channels, XRANGE on the streams. Each record
// is {adapter, op, kind, channel, payload_hex} (streams entries: fields instead of payload_hex).
// Every wait is bounded; redis-server is killed at the end.
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import net from 'node:net';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);
const { Server } = require('socket.io');
const { io: ioClient } = require('socket.io-client');
const { createAdapter: createClassic, createShardedAdapter } = require('@socket.io/redis-adapter');
const { createAdapter: createStreams } = require('@socket.io/redis-streams-adapter');
const { ClusterAdapterWithHeartbeat } = require('socket.io-adapter');
const notepack = require('notepack.io');
const { createClient } = require('redis');

const OUT = process.argv[2] ?? '../../tests/vectors/adapter/captured.json';
// With `--recovery OUT` only the recovery vectors are captured (tests/adapter_recovery.rs):
//   (cd scripts/interop && node adapter-vectors.mjs --recovery ../../tests/vectors/adapter/recovery.json)
const SETTLE_MS = 250;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const bounded = (promise, what, ms = 3000) =>
  Promise.race([promise, sleep(ms).then(() => { throw new Error(`timeout: ${what}`); })]);

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const records = [];
let current = { adapter: 'none', op: 'none' };
const record = (kind, channel, payload, extra = {}) =>
  records.push({ ...current, kind, channel: channel.toString(), ...extra,
    ...(payload === undefined ? {} : { payload_hex: Buffer.from(payload).toString('hex') }) });

async function op(name, fn) {
  current = { ...current, op: name };
  // The sharded spy's SSUBSCRIBE counts as one more node (SHARDNUMSUB), so requests there
  // end by their timeout; what was published is captured all the same.
  await Promise.resolve().then(fn).catch((e) => console.error(`${current.adapter} ${name}: ${e.message}`));
  await sleep(SETTLE_MS);
}

// A ClusterAdapterWithHeartbeat whose transport is plain pub/sub on `socket.io-heartbeat#<nsp>#`
// (JSON, notepack when binary), answers on `...#<uid>#`: the messages are the library's own.
function heartbeatAdapter(pub, sub) {
  // socket.io calls the factory with `new`, so a plain function, as the published adapters do.
  return function (nsp) {
    const adapter = new (class extends ClusterAdapterWithHeartbeat {
      doPublish(message) {
        const payload = JSON.stringify(message);
        return pub.publish(`socket.io-heartbeat#${nsp.name}#`, payload).then(() => '');
      }
      doPublishResponse(uid, message) {
        return pub.publish(`socket.io-heartbeat#${nsp.name}#${uid}#`, JSON.stringify(message)).then(() => {});
      }
    })(nsp, { heartbeatInterval: 200, heartbeatTimeout: 600 });
    const onRaw = (raw) => {
      const message = raw[0] === 0x7b ? JSON.parse(raw.toString()) : notepack.decode(raw);
      adapter.onMessage(message);
    };
    sub.subscribe(`socket.io-heartbeat#${nsp.name}#`, onRaw, true);
    sub.subscribe(`socket.io-heartbeat#${nsp.name}#${adapter.uid}#`, onRaw, true);
    adapter.init(); // the initial heartbeat (socket.io 4.8.1 itself does not call init())
    return adapter;
  };
}

async function cluster(port, adapterName, makeAdapter) {
  current = { adapter: adapterName, op: 'setup' };
  const redis = [];
  const connect = async () => {
    const c = createClient({ socket: { host: '127.0.0.1', port } });
    c.on('error', () => {});
    await c.connect();
    redis.push(c);
    return c;
  };
  const nodes = [];
  for (const name of ['a', 'b']) {
    const http = createServer();
    const io = new Server(http);
    io.adapter(await makeAdapter(connect));
    await new Promise((r) => http.listen(0, '127.0.0.1', r));
    io.on('connection', (socket) => {
      socket.join(name === 'a' ? 'room2' : 'room1');
      socket.on('disconnect', () => {});
    });
    io.on('hello-ack', (arg, cb) => cb(`pong-${name}`));
    io.on('hello', () => {});
    nodes.push({ name, io, http, url: `http://127.0.0.1:${http.address().port}` });
  }
  const clients = [];
  for (const node of nodes) {
    const client = ioClient(node.url, { transports: ['websocket'], reconnection: false });
    client.on('ack-me', (arg, cb) => cb(`ok-${node.name}`));
    await bounded(new Promise((r) => client.once('connect', r)), 'client connect');
    clients.push(client);
  }
  await sleep(SETTLE_MS);
  return { nodes, clients, redis };
}

async function teardown({ nodes, clients, redis }) {
  for (const c of clients) c.disconnect();
  for (const n of nodes) {
    n.io.of('/').adapter.close?.();
    await new Promise((r) => n.io.close(() => r()));
  }
  await sleep(SETTLE_MS);
  for (const c of redis) await c.quit().catch(() => {});
}

async function operations(cluster, { allRooms }) {
  const io = cluster.nodes[0].io;
  await op('broadcast', () => io.emit('ev', 1, 'two', { three: [3, null, true] }));
  await op('broadcast_room', () => io.to('room1').emit('ev', 'r'));
  await op('broadcast_except', () => io.except('room2').emit('ev', 'x'));
  await op('broadcast_rooms_except', () => io.to(['room1', 'room2']).except('room3').emit('ev', 'y'));
  await op('broadcast_binary', () => io.emit('bin', Buffer.from([1, 2, 3]), { nested: Buffer.from('abc') }));
  await op('broadcast_volatile', () => io.volatile.compress(false).emit('ev', 'v'));
  await op('broadcast_chat', () => io.of('/chat').emit('ev', 'chat'));
  await op('broadcast_ack', () => bounded(new Promise((resolve) =>
    io.timeout(1000).emit('ack-me', 'q', (err, responses) => resolve(responses))), 'broadcast ack', 3000));
  await op('fetch_sockets', () => bounded(io.timeout(1000).fetchSockets(), 'fetchSockets'));
  if (allRooms) await op('all_rooms', () => bounded(io.of('/').adapter.allRooms(), 'allRooms'));
  await op('sockets_join', () => io.socketsJoin('room3'));
  await op('sockets_leave', () => io.in('room1').socketsLeave('room3'));
  await op('disconnect_sockets', () => io.in('nobody').disconnectSockets(true));
  await op('server_side_emit', () => io.serverSideEmit('hello', 'world', 1));
  await op('server_side_emit_ack', () => bounded(new Promise((resolve) =>
    io.serverSideEmit('hello-ack', 1, (err, responses) => resolve(responses))), 'serverSideEmit ack', 6000));
}

// Connection state recovery over the streams adapter: one socket.io server with
// connectionStateRecovery, a client in room1 whose transport the server closes; the session
// record at sio:session:<pid> is read with GET before the client comes back, the events emitted
// meanwhile are the stream entries after its offset, and the client's received events are what
// restoreSession handed out. Written with `--recovery OUT`.
async function recoveryVectors(port, probe) {
  const http = createServer();
  const io = new Server(http, { connectionStateRecovery: { maxDisconnectionDuration: 60000 } });
  const redis = createClient({ socket: { host: '127.0.0.1', port } }).on('error', () => {});
  await redis.connect();
  io.adapter(createStreams(redis));
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  const sockets = [];
  io.on('connection', (socket) => {
    if (!socket.recovered) socket.join('room1');
    sockets.push(socket);
  });
  const client = ioClient(`http://127.0.0.1:${http.address().port}`, { transports: ['websocket'] });
  const received = [];
  client.onAny((...args) => received.push(args));
  await bounded(new Promise((r) => client.once('connect', r)), 'recovery client connect');
  await sleep(SETTLE_MS);
  io.to('room1').emit('ev', 'before');
  await bounded((async () => { while (received.length < 1) await sleep(20); })(), 'first event');
  const before = { sid: client.id, pid: client._pid, offset: client._lastOffset };
  const reconnected = new Promise((r) => client.io.once('reconnect', r));
  sockets[0].conn.close();
  await sleep(SETTLE_MS);
  const record = await probe.get(`sio:session:${before.pid}`);
  io.to('room1').emit('ev', 1, 'two', { three: [3, null, true] });
  io.emit('all', 'x');
  io.except('room1').emit('ev', 'not for it');
  io.to('room2').emit('ev', 'not for it either');
  io.to(['room1', 'room2']).except('room3').emit('ev', 'y');
  io.volatile.emit('ev', 'volatile');
  io.to('room1').emit('bin', Buffer.from([1, 2, 3]));
  await sleep(SETTLE_MS);
  const entries = (await probe.xRange('socket.io', '-', '+')).map((e) => ({ id: e.id, fields: e.message }));
  received.length = 0;
  await bounded(reconnected, 'recovery reconnect', 5000);
  await bounded((async () => { while (!client.recovered || received.length < 5) await sleep(20); })(), 'missed events', 5000);
  await sleep(SETTLE_MS);
  const after = { sid: client.id, recovered: client.recovered, offset: client._lastOffset };
  client.disconnect();
  await new Promise((r) => io.close(() => r()));
  await redis.quit().catch(() => {});
  const json = (v) => JSON.parse(JSON.stringify(v, (k, x) =>
    x && x.type === 'Buffer' ? { bytes_hex: Buffer.from(x.data).toString('hex') } : x));
  return { before, session_record: record, entries, received: json(received), after };
}

async function main() {
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' });
  try {
    let probe;
    for (let i = 0; i < 50 && !probe; i++) {
      await sleep(100);
      probe = await createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } })
        .on('error', () => {}).connect().catch(() => undefined);
    }
    if (!probe) throw new Error('redis-server did not start');
    const spy = probe.duplicate();
    await spy.connect();
    await spy.pSubscribe('*', (message, channel) => record('publish', channel, message), true);
    const shardSpy = probe.duplicate();
    await shardSpy.connect();
    const uids = {};

    if (process.argv.includes('--recovery')) {
      const out = process.argv[process.argv.indexOf('--recovery') + 1];
      const vectors = await recoveryVectors(port, probe);
      await spy.quit();
      await shardSpy.quit();
      await probe.quit();
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, JSON.stringify({
        generated_by: 'scripts/interop/adapter-vectors.mjs --recovery',
        versions: { 'socket.io': '4.8.1', '@socket.io/redis-streams-adapter': '0.3.1', redis: '4.7.1' },
        ...vectors }, null, 1) + '\n');
      console.log(`recovery vectors written to ${out}`);
      return;
    }

    // Classic adapter.
    let c = await cluster(port, 'classic', async (connect) => createClassic(await connect(), await connect()));
    uids.classic = c.nodes.map((n) => n.io.of('/').adapter.uid);
    await operations(c, { allRooms: true });
    await teardown(c);

    // Sharded adapter (dynamic subscription mode, the default).
    c = await cluster(port, 'sharded', async (connect) => createShardedAdapter(await connect(), await connect()));
    uids.sharded = c.nodes.map((n) => n.io.of('/').adapter.uid);
    const chatUids = c.nodes.map((n) => n.io.of('/chat').adapter.uid);
    for (const ch of ['socket.io#/#', 'socket.io#/chat#', 'socket.io#/#room1#', 'socket.io#/#room2#',
      ...uids.sharded.map((u) => `socket.io#/#${u}#`), ...chatUids.map((u) => `socket.io#/chat#${u}#`)]) {
      await shardSpy.sSubscribe(ch, (message, channel) => record('spublish', channel ?? ch, message), true);
    }
    await sleep(SETTLE_MS);
    await operations(c, { allRooms: false });
    await teardown(c);

    // Streams adapter.
    c = await cluster(port, 'streams', async (connect) => createStreams(await connect()));
    uids.streams = c.nodes.map((n) => n.io.of('/').adapter.uid);
    await operations(c, { allRooms: false });
    await teardown(c);
    current = { adapter: 'streams', op: 'xrange' };
    for (const entry of await probe.xRange('socket.io', '-', '+')) {
      record('xadd', 'socket.io', undefined, { id: entry.id, fields: entry.message });
    }

    // ClusterAdapterWithHeartbeat: initial heartbeat, heartbeats, close.
    c = await cluster(port, 'heartbeat', async (connect) => heartbeatAdapter(await connect(), await connect()));
    uids.heartbeat = c.nodes.map((n) => n.io.of('/').adapter.uid);
    await op('heartbeats', () => sleep(500));
    await op('fetch_sockets', () => bounded(c.nodes[0].io.fetchSockets(), 'fetchSockets'));
    await op('adapter_close', () => teardown(c));

    await spy.quit();
    await shardSpy.quit();
    await probe.quit();
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, JSON.stringify({
      generated_by: 'scripts/interop/adapter-vectors.mjs',
      versions: { 'socket.io': '4.8.1', '@socket.io/redis-adapter': '8.3.0',
        '@socket.io/redis-streams-adapter': '0.3.1', redis: '4.7.1' },
      uids, records }, null, 1) + '\n');
    console.log(`${records.length} records written to ${OUT}`);
  } finally {
    server.kill('SIGTERM');
  }
}

const deadline = setTimeout(() => { console.error('adapter-vectors: overall timeout'); process.exit(1); }, 120000);
main().then(() => { clearTimeout(deadline); process.exit(0); }, (e) => { console.error(e); process.exit(1); });
