// Interop with the real npm socket.io-client: 4.x (Socket.IO v5 / Engine.IO 4) against
// the example server's /socket.io/, and 2.x (Socket.IO v4 / Engine.IO 3) against a
// server started with --allow-eio3. Needs HTTP_URL and HTTP_URL_EIO3.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import io2 from 'socket.io-client-v2';

const TIMEOUT = 10_000;
const sockets = [];
after(() => sockets.forEach((s) => s.close()));

function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), TIMEOUT); }),
  ]);
}

function client(url, options = {}, factory = io) {
  const socket = factory(url, { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 200, ...options });
  sockets.push(socket);
  return socket;
}

/** Resolves with the args of the next `event` on `socket`. */
function next(socket, event) {
  return withTimeout(new Promise((resolve) => socket.once(event, (...args) => resolve(args))), event);
}

/** Resolves with every `event` seen within `ms`. */
function collect(socket, event, ms) {
  const seen = [];
  const handler = (...args) => seen.push(args);
  socket.on(event, handler);
  return new Promise((resolve) => setTimeout(() => { socket.off(event, handler); resolve(seen); }, ms));
}

const V4 = process.env.HTTP_URL;
const V2 = process.env.HTTP_URL_EIO3;

test('socket.io-client 4: connect to / and /custom with auth', async () => {
  const main = client(V4, { auth: { token: '123' } });
  assert.deepEqual(await next(main, 'auth'), [{ token: '123' }]);
  assert.ok(main.connected && main.id);
  const custom = client(`${V4}/custom`, { auth: { token: 'abc' } });
  assert.deepEqual(await next(custom, 'auth'), [{ token: 'abc' }]);
});

test('socket.io-client 4: a refused namespace gets connect_error', async () => {
  const socket = client(`${V4}/random`);
  const [err] = await next(socket, 'connect_error');
  assert.equal(err.message, 'Invalid namespace');
  assert.equal(socket.connected, false);
});

test('socket.io-client 4: emit and echo, acks both ways', async () => {
  const socket = client(V4);
  await next(socket, 'connect');
  socket.emit('message', 1, '2', { 3: [true, null] });
  assert.deepEqual(await next(socket, 'message-back'), [1, '2', { 3: [true, null] }]);
  const ack = await withTimeout(socket.timeout(5000).emitWithAck('message-with-ack', 'a', { b: 2 }), 'ack');
  assert.deepEqual(ack, 'a'); // emitWithAck resolves with the first ack argument
  const both = await withTimeout(new Promise((resolve) => socket.emit('message-with-ack', 'x', 'y', (...args) => resolve(args))), 'ack args');
  assert.deepEqual(both, ['x', 'y']);
  // Server → client ack: the server asks, the client answers, the server reports it.
  socket.once('ack-request', (value, callback) => callback(value * 2, 'ok'));
  socket.emit('request-ack', 21);
  assert.deepEqual(await next(socket, 'ack-received'), [42, 'ok']);
});

test('socket.io-client 4: binary with several attachments', async () => {
  const socket = client(V4);
  await next(socket, 'connect');
  const a = Buffer.from([1, 2, 3]);
  const b = Buffer.from([]);
  const c = Buffer.alloc(70_000, 7);
  socket.emit('message', a, { nested: [b, { deep: c }] }, 'text');
  const [ra, rest, text] = await next(socket, 'message-back');
  assert.ok(Buffer.from(ra).equals(a));
  assert.ok(Buffer.from(rest.nested[0]).equals(b));
  assert.ok(Buffer.from(rest.nested[1].deep).equals(c));
  assert.equal(text, 'text');
  const ack = await withTimeout(new Promise((resolve) => socket.emit('message-with-ack', Buffer.from('bin'), (...args) => resolve(args))), 'binary ack');
  assert.equal(Buffer.from(ack[0]).toString(), 'bin');
});

test('socket.io-client 4: rooms reach only the other members; broadcast reaches all', async () => {
  const [a, b, c] = [client(V4), client(V4), client(V4)];
  await Promise.all([a, b, c].map((s) => next(s, 'connect')));
  a.emit('join', 'room1');
  b.emit('join', 'room1');
  // A round trip on each socket makes sure the joins were processed.
  await Promise.all([a, b].map((s) => withTimeout(s.emitWithAck('message-with-ack', 'sync'), 'sync')));
  const seenA = collect(a, 'new messages', 500);
  const seenB = next(b, 'new messages');
  const seenC = collect(c, 'new messages', 500);
  a.emit('to-room', 'room1', { hello: 'room' });
  assert.deepEqual(await seenB, [{ hello: 'room' }]);
  assert.deepEqual(await seenA, [], 'the sender does not get its own room message');
  assert.deepEqual(await seenC, [], 'non-members do not get it');
  b.emit('leave', 'room1');
  await withTimeout(b.emitWithAck('message-with-ack', 'sync'), 'sync');
  const afterLeave = collect(b, 'new messages', 400);
  a.emit('to-room', 'room1', 'again');
  assert.deepEqual(await afterLeave, []);
  const all = [a, b, c].map((s) => next(s, 'broadcast'));
  c.emit('channel', 'to everyone');
  for (const got of await Promise.all(all)) assert.deepEqual(got, ['to everyone']);
});

test('socket.io-client 4: emits before connect are buffered and flushed in order', async () => {
  const socket = client(V4, { autoConnect: false });
  const got = collect(socket, 'message-back', 1500);
  socket.emit('message', 'first');
  socket.emit('message', 'second');
  socket.connect();
  await next(socket, 'connect');
  assert.deepEqual(await got, [['first'], ['second']]);
});

test('socket.io-client 4: reconnects after the server drops the transport', async () => {
  const socket = client(V4, { auth: { token: 'again' } });
  await next(socket, 'auth');
  const firstId = socket.id;
  // Drop the transport once the upgrade is done: engine.io-client cannot recover from a
  // session closed in the middle of its probe (a known client limitation).
  if (socket.io.engine.transport.name !== 'websocket') {
    await withTimeout(new Promise((resolve) => socket.io.engine.once('upgrade', resolve)), 'upgrade');
  }
  const disconnected = next(socket, 'disconnect');
  const reauth = withTimeout(new Promise((resolve) => socket.io.once('reconnect', resolve)), 'reconnect');
  socket.emit('drop-transport');
  const [reason] = await disconnected;
  assert.equal(reason, 'transport close');
  await reauth;
  if (!socket.connected) await next(socket, 'connect');
  assert.notEqual(socket.id, firstId);
  socket.emit('message', 'after reconnect');
  assert.deepEqual(await next(socket, 'message-back'), ['after reconnect']);
});

test('socket.io-client 2 (SIO v4 / EIO 3): connect, emit, ack and binary', async () => {
  const socket = client(V2, {}, io2);
  await next(socket, 'connect');
  socket.emit('message', 1, 'two', { three: 3 });
  assert.deepEqual(await next(socket, 'message-back'), [1, 'two', { three: 3 }]);
  const ack = await withTimeout(new Promise((resolve) => socket.emit('message-with-ack', 'x', 2, (...args) => resolve(args))), 'ack');
  assert.deepEqual(ack, ['x', 2]);
  socket.emit('message', Buffer.from([9, 8, 7]), { inner: Buffer.from('zz') });
  const [bin, obj] = await next(socket, 'message-back');
  assert.ok(Buffer.from(bin).equals(Buffer.from([9, 8, 7])));
  assert.equal(Buffer.from(obj.inner).toString(), 'zz');
  const custom = client(`${V2}/custom`, {}, io2);
  await next(custom, 'auth');
  const refused = client(`${V2}/nope`, {}, io2);
  const [err] = await next(refused, 'error');
  assert.deepEqual(err, 'Invalid namespace');
});
