// Interop with the real npm socket.io-client 4.x (Socket.IO v5 / Engine.IO 4) against
// socketwire-tokio's Socket.IO server: tokio/examples/socketio_server.rs (axum, the
// service at /socket.io/). Needs SOCKETIO_SERVER_URL (e.g. http://127.0.0.1:3000).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import io2 from 'socket.io-client-v2';

const TIMEOUT = 10_000;
const URL = process.env.SOCKETIO_SERVER_URL;
const URL_EIO3 = process.env.SOCKETIO_SERVER_URL_EIO3;
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
  const socket = factory(url, { forceNew: true, reconnection: false, ...options });
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

const TRANSPORTS = [
  ['polling then websocket', {}],
  ['websocket only', { transports: ['websocket'] }],
  ['polling only', { transports: ['polling'] }],
];

for (const [name, options] of TRANSPORTS) {
  test(`${name}: connect to / and /custom with auth; refusals`, async () => {
    const main = client(URL, { ...options, auth: { token: '123' } });
    assert.deepEqual(await next(main, 'auth'), [{ token: '123' }]);
    assert.ok(main.connected && main.id);
    const custom = client(`${URL}/custom`, { ...options, auth: { token: 'abc' } });
    assert.deepEqual(await next(custom, 'auth'), [{ token: 'abc' }]);
    const [invalid] = await next(client(`${URL}/random`, options), 'connect_error');
    assert.equal(invalid.message, 'Invalid namespace');
    const [refused] = await next(client(URL, { ...options, auth: { refuse: true } }), 'connect_error');
    assert.equal(refused.message, 'not allowed');
  });

  test(`${name}: emit and echo, acks both ways, binary`, async () => {
    const socket = client(URL, options);
    await next(socket, 'connect');
    socket.emit('message', 1, '2', { 3: [true, null] });
    assert.deepEqual(await next(socket, 'message-back'), [1, '2', { 3: [true, null] }]);
    const both = await withTimeout(new Promise((resolve) => socket.emit('message-with-ack', 'x', 'y', (...args) => resolve(args))), 'ack args');
    assert.deepEqual(both, ['x', 'y']);
    socket.once('ack-request', (value, callback) => callback(value * 2, 'ok'));
    socket.emit('request-ack', 21);
    assert.deepEqual(await next(socket, 'ack-received'), [42, 'ok']);
    const a = Buffer.from([1, 2, 3]);
    const c = Buffer.alloc(70_000, 7);
    socket.emit('message', a, { nested: [{ deep: c }] }, 'text');
    const [ra, rest, text] = await next(socket, 'message-back');
    assert.ok(Buffer.from(ra).equals(a));
    assert.ok(Buffer.from(rest.nested[0].deep).equals(c));
    assert.equal(text, 'text');
  });

  test(`${name}: rooms reach only the other members; broadcast reaches all`, async () => {
    const [a, b, c] = [client(URL, options), client(URL, options), client(URL, options)];
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
}

test('socket.io-client 2 (SIO v4 / EIO 3): connect, emit, ack and binary', { skip: !URL_EIO3 }, async () => {
  const socket = client(URL_EIO3, {}, io2);
  await next(socket, 'connect');
  socket.emit('message', 1, 'two', { three: 3 });
  assert.deepEqual(await next(socket, 'message-back'), [1, 'two', { three: 3 }]);
  const ack = await withTimeout(new Promise((resolve) => socket.emit('message-with-ack', 'x', 2, (...args) => resolve(args))), 'ack');
  assert.deepEqual(ack, ['x', 2]);
  socket.emit('message', Buffer.from([9, 8, 7]), { inner: Buffer.from('zz') });
  const [bin, obj] = await next(socket, 'message-back');
  assert.ok(Buffer.from(bin).equals(Buffer.from([9, 8, 7])));
  assert.equal(Buffer.from(obj.inner).toString(), 'zz');
  const custom = client(`${URL_EIO3}/custom`, {}, io2);
  await next(custom, 'auth');
  const refused = client(`${URL_EIO3}/nope`, {}, io2);
  const [err] = await next(refused, 'error');
  assert.deepEqual(err, 'Invalid namespace');
});
