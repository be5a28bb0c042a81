// The example Socket.IO client (tokio/examples/socketio_client.rs, on socketwire-tokio's
// socketio::Client, over WebSocket and over HTTP long-polling) against the npm `socket.io`
// 4.8.1 server, run in-process on 127.0.0.1:0: connect with auth, events both ways, acks both ways, binary
// both ways, rooms, a second namespace (and refused ones), emits buffered before the
// connection opens, and reconnection after the server drops the engine connection or
// restarts. Needs CLIENT_BIN (socketio_client is built next to it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Server } from 'socket.io';

const TIMEOUT = 10_000;
const EXAMPLES = process.env.CLIENT_BIN ? dirname(process.env.CLIENT_BIN) : null;
const CLIENT = EXAMPLES && join(EXAMPLES, 'socketio_client');

function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), TIMEOUT); }),
  ]);
}

/** `actual` has every field of `expected` (deeply equal). */
function matches(actual, expected) {
  return Object.entries(expected).every(([key, value]) => {
    try { assert.deepStrictEqual(actual[key], value); return true; } catch { return false; }
  });
}

/**
 * Starts the example client; its stdout is one JSON object per line.
 * `expect(fields)` waits for the next line (after those already matched) with those fields.
 */
function startClient(url, args = []) {
  const child = spawn(CLIENT, [url, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  const changed = new EventEmitter(); // 'change' on each line and once stdout is closed
  let closed = false;
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(JSON.parse(line));
    changed.emit('change');
  });
  // 'close': the process has exited and every line of its stdout has been read.
  const exited = new Promise((resolve) => child.once('close', (code) => {
    closed = true;
    changed.emit('change');
    resolve(code);
  }));
  let cursor = 0; // lines before it were matched by an earlier `expect`
  const describe = () => `stdout so far: ${JSON.stringify(lines)}; stderr: ${stderr}`;
  /** Index of the first unmatched line with `fields`, or -1. */
  const find = (fields) => lines.findIndex((line, i) => i >= cursor && matches(line, fields));
  return {
    lines,
    send(line) { child.stdin.write(`${line}\n`); },
    async expect(fields) {
      const what = `${JSON.stringify(fields)}; ${describe()}`;
      let found = find(fields);
      while (found < 0) {
        if (closed) throw new Error(`client exited (${child.exitCode}) before ${what}`);
        await withTimeout(once(changed, 'change'), what);
        found = find(fields);
      }
      cursor = found + 1;
      return lines[found];
    },
    /** Ends stdin: the client leaves its namespaces, closes and exits 0. */
    async finish() {
      child.stdin.end();
      const code = await withTimeout(exited, 'client exit');
      assert.equal(code, 0, `client exit code ${code}; stderr: ${stderr}`);
      assert.ok(matches(lines.at(-1), { type: 'closed', gave_up: false }), describe());
    },
    kill() { if (!closed) child.kill(); },
  };
}

/** A socket.io server on `port` (0: a free one) with the handlers the tests drive. */
async function startServer(port = 0, options = {}) {
  const http = createServer();
  const io = new Server(http, options);
  const received = []; // [namespace, event, args] in arrival order
  const record = (nsp, event) => (...args) => {
    received.push([nsp, event, args.filter((a) => typeof a !== 'function')]);
  };
  const waiters = [];
  const notify = () => { for (const w of waiters.splice(0)) w(); };
  io.on('connection', (socket) => {
    socket.emit('welcome', socket.handshake.auth, socket.id);
    socket.onAny((event, ...args) => { record('/', event)(...args); notify(); });
    socket.on('hello', (...args) => socket.emit('hello-back', ...args));
    socket.on('sum', (a, b, ack) => ack(a + b));
    socket.on('bin', (buf) => socket.emit('bin-back', Buffer.from([...buf].reverse()), { file: buf }));
    socket.on('bin-ack', (buf, ack) => ack(buf, 'ok'));
    socket.on('join', (room) => { socket.join(room); io.to(room).emit('room', room); });
    socket.on('ask', async (question) => {
      const answer = await socket.timeout(5000).emitWithAck('question', question);
      socket.emit('answered', answer);
    });
    socket.on('kick', () => socket.conn.close());
    socket.on('bye', () => socket.disconnect());
  });
  const custom = io.of('/custom');
  custom.use((socket, next) => (socket.handshake.auth.token === 'c' ? next() : next(new Error('bad token'))));
  custom.on('connection', (socket) => {
    socket.emit('welcome', socket.handshake.auth, socket.id);
    socket.on('hello', (...args) => socket.emit('echo', ...args));
  });
  http.listen(port, '127.0.0.1');
  await once(http, 'listening');
  return {
    io,
    received,
    url: `http://127.0.0.1:${http.address().port}`,
    port: http.address().port,
    /** Waits until the server received `event` on `nsp`; returns its args. */
    got(nsp, event) {
      return withTimeout(new Promise((resolve) => {
        const check = () => {
          const hit = received.find(([n, e]) => n === nsp && e === event);
          if (hit) resolve(hit[2]); else waiters.push(check);
        };
        check();
      }), `server receives ${event} on ${nsp}; got ${JSON.stringify(received)}`);
    },
    async close() {
      await new Promise((resolve) => { io.close(() => resolve()); http.closeAllConnections(); });
    },
  };
}

async function session(args, body, options = {}) {
  const server = await startServer(0, options);
  const client = startClient(server.url, args);
  try { await body(server, client); } finally {
    client.kill();
    await server.close();
  }
}

// Every test runs on both transports.
const TRANSPORTS = [['websocket', []], ['polling', ['--polling']], ['upgrade', ['--upgrade']]];

for (const [transport, flags] of TRANSPORTS) {
  test(`socketio_client: ${transport}: connects with auth, the server sees it`, { skip: !EXAMPLES }, () => session([...flags, '--auth', '{"token":"abc"}'], async (server, client) => {
    const connect = await client.expect({ type: 'connect', namespace: '/' });
    const [socket] = await server.io.fetchSockets();
    assert.equal(connect.sid, socket.id);
    assert.deepEqual(socket.handshake.auth, { token: 'abc' });
    if (transport === 'upgrade') {
      if (socket.conn.transport.name !== 'websocket') await withTimeout(once(socket.conn, 'upgrade'), 'upgrade');
      assert.equal(socket.conn.transport.name, 'websocket');
    } else {
      assert.equal(socket.conn.transport.name, transport);
    }
    await client.expect({ type: 'event', name: 'welcome', args: [{ token: 'abc' }, socket.id], ack: null });
    await client.finish();
  }));

  test(`socketio_client: ${transport}: events both ways; emits made before the connection opens are buffered, in order`, { skip: !EXAMPLES }, () => session(flags, async (server, client) => {
    // Sent before the client has even connected: buffered, then flushed in order.
    const args = ['world', 1, { a: [true, null], b: 'κόσμε 😀' }];
    client.send(`emit / hello ${JSON.stringify(args)}`);
    client.send('emit / hello [2]');
    await client.expect({ type: 'connect', namespace: '/' });
    await client.expect({ type: 'event', name: 'hello-back', args });
    await client.expect({ type: 'event', name: 'hello-back', args: [2] });
    assert.deepEqual(server.received.filter(([, e]) => e === 'hello').map(([, , a]) => a), [args, [2]]);
    await client.finish();
  }));

  test(`socketio_client: ${transport}: the server acks a client emit`, { skip: !EXAMPLES }, () => session(flags, async (server, client) => {
    await client.expect({ type: 'connect' });
    client.send('emitack t1 / sum [2,3]');
    await client.expect({ type: 'ack', tag: 't1', args: [5] });
    await client.finish();
  }));

  test(`socketio_client: ${transport}: the client acks a server emitWithAck`, { skip: !EXAMPLES }, () => session(flags, async (server, client) => {
    await client.expect({ type: 'connect' });
    client.send('emit / ask ["are you there?"]');
    const question = await client.expect({ type: 'event', name: 'question', args: ['are you there?'] });
    assert.equal(typeof question.ack, 'number');
    client.send(`ack ${question.ack} ["yes"]`);
    await client.expect({ type: 'event', name: 'answered', args: ['yes'] });
    await client.finish();
  }));

  test(`socketio_client: ${transport}: binary both ways, in events and acks`, { skip: !EXAMPLES }, () => session(flags, async (server, client) => {
    await client.expect({ type: 'connect' });
    client.send('emit / bin [{"$bin":"000102ff"}]');
    const [buf] = await server.got('/', 'bin');
    assert.ok(Buffer.isBuffer(buf));
    assert.deepEqual([...buf], [0, 1, 2, 255]);
    await client.expect({ type: 'event', name: 'bin-back', args: [{ $bin: 'ff020100' }, { file: { $bin: '000102ff' } }] });
    client.send('emitack b1 / bin-ack [{"$bin":"0a0b"}]');
    await client.expect({ type: 'ack', tag: 'b1', args: [{ $bin: '0a0b' }, 'ok'] });
    await client.finish();
  }));

  test(`socketio_client: ${transport}: a room broadcast reaches the joined socket`, { skip: !EXAMPLES }, () => session(flags, async (server, client) => {
    await client.expect({ type: 'connect' });
    client.send('emit / join ["r1"]');
    await client.expect({ type: 'event', name: 'room', args: ['r1'] });
    server.io.to('r1').emit('news', 'for r1');
    server.io.to('other').emit('news', 'not for us');
    server.io.emit('news', 'for everyone');
    await client.expect({ type: 'event', name: 'news', args: ['for r1'] });
    const next = await client.expect({ type: 'event', name: 'news' });
    assert.deepEqual(next.args, ['for everyone']);
    await client.finish();
  }));

  test(`socketio_client: ${transport}: a second namespace with its own auth; refused namespaces`, { skip: !EXAMPLES }, () => session(flags, async (server, client) => {
    await client.expect({ type: 'connect', namespace: '/' });
    client.send('connect /custom {"token":"c"}');
    const connect = await client.expect({ type: 'connect', namespace: '/custom' });
    await client.expect({ type: 'event', namespace: '/custom', name: 'welcome', args: [{ token: 'c' }, connect.sid] });
    client.send('emit /custom hello ["x"]');
    await client.expect({ type: 'event', namespace: '/custom', name: 'echo', args: ['x'] });
    client.send('emit / hello ["main"]');
    await client.expect({ type: 'event', namespace: '/', name: 'hello-back', args: ['main'] });
    client.send('connect /nope');
    const nope = await client.expect({ type: 'connect_error', namespace: '/nope' });
    assert.equal(nope.data.message, 'Invalid namespace');
    client.send('disconnect /custom');
    await client.expect({ type: 'disconnect', namespace: '/custom', reason: 'io client disconnect' });
    client.send('connect /custom {"token":"wrong"}');
    const refused = await client.expect({ type: 'connect_error', namespace: '/custom' });
    assert.equal(refused.data.message, 'bad token');
    await client.finish();
  }));

  test(`socketio_client: ${transport}: the server dropping the engine connection: the client reconnects every namespace`, { skip: !EXAMPLES }, () => session([...flags, '--reconnect-delay', '100'], async (server, client) => {
    const first = await client.expect({ type: 'connect', namespace: '/' });
    client.send('connect /custom {"token":"c"}');
    await client.expect({ type: 'connect', namespace: '/custom' });
    client.send('emit / kick []');
    await client.expect({ type: 'disconnect', namespace: '/', reason: 'transport close' });
    await client.expect({ type: 'reconnecting' });
    const again = await client.expect({ type: 'connect', namespace: '/' });
    assert.notEqual(again.sid, first.sid);
    await client.expect({ type: 'connect', namespace: '/custom' });
    client.send('emitack t / sum [40,2]');
    await client.expect({ type: 'ack', tag: 't', args: [42] });
    client.send('emit /custom hello ["after"]');
    await client.expect({ type: 'event', namespace: '/custom', name: 'echo', args: ['after'] });
    await client.finish();
  }));

  test(`socketio_client: ${transport}: the server restarting: the client reconnects and its buffered emits go out`, { skip: !EXAMPLES }, async () => {
    let server = await startServer();
    const { port } = server;
    const client = startClient(server.url, [...flags, '--reconnect-delay', '100']);
    try {
      await client.expect({ type: 'connect', namespace: '/' });
      await server.close();
      await client.expect({ type: 'disconnect', namespace: '/', reason: 'transport close' });
      await client.expect({ type: 'reconnecting' });
      client.send('emit / hello ["while away"]');
      server = await startServer(port);
      await client.expect({ type: 'connect', namespace: '/' });
      assert.deepEqual(await server.got('/', 'hello'), ['while away']);
      await client.expect({ type: 'event', name: 'hello-back', args: ['while away'] });
      await client.finish();
    } finally {
      client.kill();
      await server.close();
    }
  });

  test(`socketio_client: ${transport}: a server-side disconnect is not reconnected`, { skip: !EXAMPLES }, () => session([...flags, '--reconnect-delay', '100'], async (server, client) => {
    await client.expect({ type: 'connect', namespace: '/' });
    client.send('emit / bye []');
    await client.expect({ type: 'disconnect', namespace: '/', reason: 'io server disconnect' });
    client.send('emit / hello ["gone"]');
    await client.expect({ type: 'error' });
    assert.equal(client.lines.filter((l) => l.type === 'connect').length, 1);
    await client.finish();
  }));

  test(`socketio_client: ${transport}: heartbeats keep the session alive (20 pings answered on one connection)`, { skip: !EXAMPLES }, () => session(flags, async (server, client) => {
    await client.expect({ type: 'connect', namespace: '/' });
    const [socket] = await server.io.fetchSockets();
    const engine = socket.conn;
    let pongs = 0;
    await withTimeout(new Promise((resolve) => {
      engine.on('packet', (packet) => { if (packet.type === 'pong' && (pongs += 1) === 20) resolve(); });
    }), `20 pongs; got ${pongs}`);
    assert.equal(client.lines.filter((l) => l.type === 'connect').length, 1);
    client.send('emitack t / sum [1,1]');
    await client.expect({ type: 'ack', tag: 't', args: [2] });
    await client.finish();
  }, { pingInterval: 50, pingTimeout: 1000 }));

  test(`socketio_client: ${transport}: --eio 3 against the server with allowEIO3 (Socket.IO v4 on Engine.IO 3)`, { skip: !EXAMPLES }, () => session([...flags, '--eio', '3'], async (server, client) => {
    const connect = await client.expect({ type: 'connect', namespace: '/' });
    assert.equal(connect.sid, null);
    const [socket] = await server.io.fetchSockets();
    assert.equal(socket.conn.protocol, 3);
    client.send('emitack t / sum [20,22]');
    await client.expect({ type: 'ack', tag: 't', args: [42] });
    client.send('emit / bin [{"$bin":"0102"}]');
    await client.expect({ type: 'event', name: 'bin-back', args: [{ $bin: '0201' }, { file: { $bin: '0102' } }] });
    client.send('connect /custom {"token":"c"}');
    await client.expect({ type: 'connect', namespace: '/custom' });
    await client.finish();
  }, { allowEIO3: true }));
}

for (const [transport, flags] of TRANSPORTS) {
  test(`socketio_client: ${transport}: a burst of 90 emits from the start (through the upgrade, if any) arrives in order, once`, { skip: !EXAMPLES }, () => session(flags, async (server, client) => {
    const sent = Array.from({ length: 90 }, (_, i) => i);
    // Sent from the start: before the connection, on polling, during the probe, on WebSocket.
    for (const i of sent) client.send(`emit / hello [${i}]`);
    for (const i of sent) await client.expect({ type: 'event', name: 'hello-back', args: [i] });
    client.send('emitack last / sum [1,2]');
    await client.expect({ type: 'ack', tag: 'last', args: [3] });
    const [socket] = await server.io.fetchSockets();
    if (transport === 'upgrade' && socket.conn.transport.name !== 'websocket') await withTimeout(once(socket.conn, 'upgrade'), 'upgrade');
    assert.deepEqual(server.received.filter(([, e]) => e === 'hello').map(([, , [n]]) => n), sent);
    assert.equal(client.lines.filter((l) => l.type === 'event' && l.name === 'hello-back').length, sent.length);
    assert.equal(client.lines.filter((l) => l.type === 'connect').length, 1);
    await client.finish();
  }));
}
