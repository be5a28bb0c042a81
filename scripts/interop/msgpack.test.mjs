// Interop of the socket.io-msgpack-parser format (socket.io-msgpack-parser 3.0.2), both ways:
// - the npm socket.io-client 4.8.1 with `parser: msgpackParser` against socketwire-tokio's
//   Socket.IO server, tokio/examples/socketio_server.rs started here with `--parser msgpack`
//   on a free loopback port: events, acks both ways, binary both ways (Buffers, nested),
//   namespaces, rooms and broadcasts, on every transport;
// - socketwire-tokio's Socket.IO client, tokio/examples/socketio_client.rs with
//   `--parser msgpack`, against the npm socket.io 4.8.1 server with the same parser.
// The binaries are found through SOCKETIO_SERVER_BIN / SOCKETIO_CLIENT_BIN, else next to
// CLIENT_BIN (what scripts/interop.sh exports), else in target/release/examples.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Server } from 'socket.io';
import msgpackParser from 'socket.io-msgpack-parser';
import { clients, next, roomsAndBroadcast, withTimeout } from './socketio-cases.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const EXAMPLES = process.env.CLIENT_BIN
  ? dirname(process.env.CLIENT_BIN)
  : resolve(HERE, '../../target/release/examples');
const SERVER_BIN = process.env.SOCKETIO_SERVER_BIN ?? join(EXAMPLES, 'socketio_server');
const CLIENT_BIN = process.env.SOCKETIO_CLIENT_BIN ?? join(EXAMPLES, 'socketio_client');

/** Starts the example server with `--parser msgpack` on a port the OS picks; resolves with its URL. */
async function startRustServer() {
  const child = spawn(SERVER_BIN, ['--addr', '127.0.0.1:0', '--parser', 'msgpack'], { stdio: ['ignore', 'pipe', 'inherit'] });
  after(() => child.kill());
  const lines = createInterface({ input: child.stdout });
  const [line] = await withTimeout(once(lines, 'line'), 'socketio_server listening');
  const addr = /listening on (\S+)/.exec(line)?.[1];
  assert.ok(addr, `unexpected first line ${line}`);
  return `http://${addr}`;
}

const serverUrl = existsSync(SERVER_BIN) ? startRustServer() : null;
const client = clients({ reconnection: false, parser: msgpackParser });

const TRANSPORTS = [
  ['polling then websocket', {}],
  ['websocket only', { transports: ['websocket'] }],
  ['polling only', { transports: ['polling'] }],
];

for (const [name, options] of TRANSPORTS) {
  test(`msgpack server: ${name}: namespaces with auth; refusals`, { skip: !serverUrl }, async () => {
    const url = await serverUrl;
    const main = client(url, { ...options, auth: { token: '123', n: 1.5 } });
    assert.deepEqual(await next(main, 'auth'), [{ token: '123', n: 1.5 }]);
    assert.ok(main.connected && main.id);
    const custom = client(`${url}/custom`, { ...options, auth: { token: 'abc' } });
    assert.deepEqual(await next(custom, 'auth'), [{ token: 'abc' }]);
    // No auth at all: socket.io-msgpack-parser sends `data: undefined` (d4 00 00).
    assert.deepEqual(await next(client(url, options), 'auth'), [{}]);
    const [invalid] = await next(client(`${url}/random`, options), 'connect_error');
    assert.equal(invalid.message, 'Invalid namespace');
    const [refused] = await next(client(url, { ...options, auth: { refuse: true } }), 'connect_error');
    assert.equal(refused.message, 'not allowed');
  });

  test(`msgpack server: ${name}: events, acks both ways, binary both ways`, { skip: !serverUrl }, async () => {
    const socket = client(await serverUrl, options);
    await next(socket, 'connect');
    const data = [1, -2, 2 ** 40, 0.25, '2', 'κόσμε 😀', { 3: [true, null] }, [], {}];
    socket.emit('message', ...data);
    assert.deepEqual(await next(socket, 'message-back'), data);
    const both = await withTimeout(new Promise((resolve) => socket.emit('message-with-ack', 'x', { y: [Buffer.from([5])] }, (...args) => resolve(args))), 'ack args');
    assert.equal(both[0], 'x');
    assert.ok(Buffer.isBuffer(both[1].y[0]) && both[1].y[0].equals(Buffer.from([5])));
    socket.once('ack-request', (value, callback) => callback(value * 2, Buffer.from('ok')));
    socket.emit('request-ack', 21);
    const [doubled, ok] = await next(socket, 'ack-received');
    assert.equal(doubled, 42);
    assert.ok(Buffer.from(ok).equals(Buffer.from('ok')));
    const a = Buffer.from([1, 2, 3]);
    const c = Buffer.alloc(70_000, 7);
    socket.emit('message', a, { nested: [{ deep: c }] }, new Uint8Array([9, 8]), 'text');
    const [ra, rest, typed, text] = await next(socket, 'message-back');
    assert.ok(Buffer.isBuffer(ra) && ra.equals(a));
    assert.ok(Buffer.from(rest.nested[0].deep).equals(c));
    assert.ok(Buffer.from(typed).equals(Buffer.from([9, 8])));
    assert.equal(text, 'text');
  });

  test(`msgpack server: ${name}: rooms reach only the other members; broadcast reaches all`, { skip: !serverUrl }, async () =>
    roomsAndBroadcast(client, await serverUrl, options));
}

test('msgpack server: a JSON-parser client is refused', { skip: !serverUrl }, async () => {
  const socket = clients({ reconnection: false })(await serverUrl, { transports: ['websocket'] });
  // Its text CONNECT is a protocol error under msgpack: the server closes the connection.
  const ended = (event) => new Promise((done) => socket.once(event, () => done(event)));
  const how = await withTimeout(Promise.race([ended('disconnect'), ended('connect_error'), ended('connect')]), 'refusal');
  assert.notEqual(how, 'connect');
  assert.ok(!socket.connected);
});

/** A socket.io 4.8.1 server with the msgpack parser on a free port. */
async function startNodeServer() {
  const http = createServer();
  const io = new Server(http, { parser: msgpackParser });
  io.on('connection', (socket) => {
    socket.emit('welcome', socket.handshake.auth, socket.id);
    socket.on('hello', (...args) => socket.emit('hello-back', ...args));
    socket.on('sum', (a, b, ack) => ack(a + b));
    socket.on('bin', (buf, ack) => {
      const ok = Buffer.isBuffer(buf);
      const reversed = Buffer.from([...buf].reverse());
      if (typeof ack === 'function') ack(reversed, { file: buf, ok });
      else socket.emit('bin-back', reversed, { file: buf, ok });
    });
    socket.on('ask', (question) => {
      socket.timeout(5000).emit('question', question, Buffer.from([7]), (err, ...answers) => {
        socket.emit('answered', err ? String(err) : answers, answers.map((a) => Buffer.isBuffer(a)));
      });
    });
  });
  io.of('/custom').on('connection', (socket) => {
    socket.emit('welcome', socket.handshake.auth);
    socket.on('hello', (...args) => socket.emit('echo', ...args));
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return {
    url: `http://127.0.0.1:${http.address().port}`,
    close: () => new Promise((done) => { io.close(() => done()); http.closeAllConnections(); }),
  };
}

/** The example client: one JSON object per stdout line; `expect(fields)` waits for the next match. */
function startRustClient(url, args) {
  const child = spawn(CLIENT_BIN, [url, '--parser', 'msgpack', '--no-reconnect', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const seen = [];
  let wake = () => {};
  createInterface({ input: child.stdout }).on('line', (line) => { seen.push(JSON.parse(line)); wake(); });
  const has = (line, fields) => Object.entries(fields).every(([k, v]) => {
    try { assert.deepStrictEqual(line[k], v); return true; } catch { return false; }
  });
  let from = 0;
  return {
    send: (line) => child.stdin.write(`${line}\n`),
    async expect(fields) {
      return withTimeout((async () => {
        for (;;) {
          const i = seen.findIndex((line, j) => j >= from && has(line, fields));
          if (i >= 0) { from = i + 1; return seen[i]; }
          await new Promise((woken) => { wake = woken; });
        }
      })(), `${JSON.stringify(fields)} in ${JSON.stringify(seen)}`);
    },
    async finish() {
      child.stdin.end();
      const [code] = await withTimeout(once(child, 'close'), 'client exit');
      assert.equal(code, 0);
    },
    kill: () => child.kill(),
  };
}

for (const [transport, flags] of [['websocket', []], ['polling', ['--polling']], ['upgrade', ['--upgrade']]]) {
  test(`msgpack client: ${transport}: events, acks both ways, binary both ways, namespaces`, { skip: !existsSync(CLIENT_BIN) }, async () => {
    const server = await startNodeServer();
    const rust = startRustClient(server.url, [...flags, '--auth', '{"token":"abc"}']);
    try {
      const connect = await rust.expect({ type: 'connect', namespace: '/' });
      await rust.expect({ type: 'event', name: 'welcome', args: [{ token: 'abc' }, connect.sid] });
      const args = ['world', 1, -7, 0.5, { a: [true, null], b: 'κόσμε 😀' }];
      rust.send(`emit / hello ${JSON.stringify(args)}`);
      await rust.expect({ type: 'event', name: 'hello-back', args });
      rust.send('emitack t1 / sum [2,3]');
      await rust.expect({ type: 'ack', tag: 't1', args: [5] });
      rust.send('emit / ask ["are you there?"]');
      const question = await rust.expect({ type: 'event', name: 'question', args: ['are you there?', { $bin: '07' }] });
      rust.send(`ack ${question.ack} ["yes",{"$bin":"0102"}]`);
      await rust.expect({ type: 'event', name: 'answered', args: [['yes', { $bin: '0102' }], [false, true]] });
      rust.send('emit / bin [{"$bin":"000102ff"}]');
      await rust.expect({ type: 'event', name: 'bin-back', args: [{ $bin: 'ff020100' }, { file: { $bin: '000102ff' }, ok: true }] });
      rust.send('emitack b1 / bin [{"$bin":"0a0b"}]');
      await rust.expect({ type: 'ack', tag: 'b1', args: [{ $bin: '0b0a' }, { file: { $bin: '0a0b' }, ok: true }] });
      rust.send('connect /custom {"token":"c"}');
      await rust.expect({ type: 'connect', namespace: '/custom' });
      await rust.expect({ type: 'event', namespace: '/custom', name: 'welcome', args: [{ token: 'c' }] });
      rust.send('emit /custom hello [{"$bin":"ab"},"x"]');
      await rust.expect({ type: 'event', namespace: '/custom', name: 'echo', args: [{ $bin: 'ab' }, 'x'] });
      await rust.finish();
    } finally {
      rust.kill();
      await server.close();
    }
  });
}
