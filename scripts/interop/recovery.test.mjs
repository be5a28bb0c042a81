// Connection state recovery: the real npm socket.io-client 4.x with `connectionStateRecovery`
// against socketwire-tokio's Socket.IO server (tokio/examples/socketio_server.rs) and against
// the README's example server (examples/server), each with `--recovery`. Starts its own
// servers on free loopback ports from the release builds (`cargo build --release --example
// server`, `cargo build --release -p socketwire-tokio --features socketio-server --example
// socketio_server`).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { next, withTimeout } from './socketio-cases.mjs';

const SERVERS = [
  ['socketio_server', fileURLToPath(new URL('../../target/release/examples/socketio_server', import.meta.url))],
  ['example server', fileURLToPath(new URL('../../target/release/examples/server', import.meta.url))],
];
/** Events emitted to the absent socket, per target (its room, its id). */
const N = 25;

const children = [];
const sockets = [];
after(() => {
  sockets.forEach((s) => s.close());
  children.forEach((c) => c.kill());
});

/** Starts the example server on 127.0.0.1:0; resolves with its URL once it listens. */
function startServer(bin, args) {
  const child = spawn(bin, ['--addr', '127.0.0.1:0', '--recovery', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return withTimeout(new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const found = /listening on (127\.0\.0\.1:\d+)/.exec(out);
      if (found) resolve(`http://${found[1]}`);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  }), 'the server listens');
}

function client(url, options) {
  const socket = io(url, { forceNew: true, ...options });
  sockets.push(socket);
  return socket;
}

const sync = (socket) => withTimeout(socket.emitWithAck('message-with-ack', 'sync'), 'sync');

/** Offsets are decimal strings here; compare them as integers. */
const increasing = (offsets) => offsets.every((o, i) => i === 0 || BigInt(offsets[i - 1]) < BigInt(o));

const TRANSPORTS = [
  ['websocket only', { transports: ['websocket'] }],
  ['polling only', { transports: ['polling'] }],
  ['polling then websocket', {}],
];

for (const [label, BIN] of SERVERS) {
  const skip = !existsSync(BIN) && `build ${BIN} first`;

  for (const [name, options] of TRANSPORTS) {
    test(`${label}: ${name}: after a forced transport drop the client recovers its id, rooms and every missed event, in order`, { skip }, async () => {
      const url = await startServer(BIN, []);
      const a = client(url, { ...options, reconnectionDelay: 500, randomizationFactor: 0 });
      const [auth] = await next(a, 'auth');
      assert.deepEqual(auth, {});
      assert.equal(a.recovered, false);
      const id = a.id;
      a.emit('join', 'r');
      await sync(a);
      // Only for the `polling then websocket` case: wait for the upgrade, so the drop hits it.
      if (!options.transports) {
        await withTimeout(new Promise((resolve) => {
          if (a.io.engine.transport.name === 'websocket') resolve();
          else a.io.engine.once('upgrade', resolve);
        }), 'upgrade');
      }
      const got = [];
      a.on('new messages', (...args) => got.push(args));

      const gone = next(a, 'disconnect');
      const back = next(a, 'recovered');
      a.io.engine.close(); // the transport drops; the manager reconnects
      const [reason] = await gone;
      assert.equal(reason, 'forced close');

      const b = client(url, { ...options, reconnection: false });
      await next(b, 'auth');
      for (let i = 0; i < N; i++) {
        b.emit('to-room', 'r', i);
        b.emit('to-room', id, 1000 + i);
      }
      await sync(b);

      const [recoveredId] = await back;
      assert.equal(a.recovered, true);
      assert.equal(a.id, id);
      assert.equal(recoveredId, id);
      await sync(a); // everything replayed came before the ack
      const expected = [];
      for (let i = 0; i < N; i++) expected.push(i, 1000 + i);
      assert.deepEqual(got.map(([value]) => value), expected, 'every missed event, in order, once');
      // socket.io-client hands the offset to the handler as the last argument.
      assert.ok(got.every((args) => args.length === 2 && typeof args[1] === 'string'));
      assert.ok(increasing(got.map(([, offset]) => offset)));

      // Still in its room.
      const later = next(a, 'new messages');
      b.emit('to-room', 'r', 'after');
      assert.equal((await later)[0], 'after');
    });

    test(`${label}: ${name}: past maxDisconnectionDuration the reconnection is a new session`, { skip }, async () => {
      const url = await startServer(BIN, ['--max-disconnection-ms', '200']);
      const a = client(url, { ...options, reconnection: false });
      await next(a, 'auth');
      const id = a.id;
      const gone = next(a, 'disconnect');
      a.io.engine.close();
      await gone;
      // Well past the window (a wait, not a timed assertion).
      await new Promise((resolve) => setTimeout(resolve, 800));
      a.connect();
      // The CONNECT carried the old pid and offset (the server echoes its auth).
      const [auth] = await next(a, 'auth');
      assert.equal(typeof auth.pid, 'string');
      assert.equal(typeof auth.offset, 'string');
      assert.equal(a.recovered, false);
      assert.notEqual(a.id, id);
    });
  }

  test(`${label}: websocket only: the TCP connection is cut (no close frame); the client recovers`, { skip }, async () => {
    const url = await startServer(BIN, []);
    const a = client(url, { transports: ['websocket'], reconnectionDelay: 300, randomizationFactor: 0 });
    await next(a, 'auth');
    const id = a.id;
    a.emit('join', 'r');
    await sync(a);
    const got = [];
    a.on('new messages', (value) => got.push(value));
    const back = next(a, 'recovered');
    const b = client(url, { transports: ['websocket'], reconnection: false });
    await next(b, 'auth');
    a.io.engine.transport.ws._socket.destroy(); // node's `ws`: its net.Socket
    for (let i = 0; i < N; i++) b.emit('to-room', 'r', i);
    await sync(b);
    await back;
    assert.equal(a.recovered, true);
    assert.equal(a.id, id);
    await sync(a);
    assert.deepEqual(got, [...Array(N).keys()]);
  });
}
