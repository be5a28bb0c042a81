// Helpers and scenarios the Socket.IO interop tests share: socketio.test.mjs (the core's
// example server) and socketio_server.test.mjs (socketwire-tokio's server) run the same
// checks against servers with the same behaviour.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import io2 from 'socket.io-client-v2';

export const TIMEOUT = 10_000;
const sockets = [];
after(() => sockets.forEach((s) => s.close()));

export function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), TIMEOUT); }),
  ]);
}

/** A client factory with `defaults` under each call's options; every socket is closed at the end. */
export function clients(defaults) {
  return (url, options = {}, factory = io) => {
    const socket = factory(url, { forceNew: true, ...defaults, ...options });
    sockets.push(socket);
    return socket;
  };
}

/** Resolves with the args of the next `event` on `socket`. */
export function next(socket, event) {
  return withTimeout(new Promise((resolve) => socket.once(event, (...args) => resolve(args))), event);
}

/** Resolves with every `event` seen within `ms`. */
export function collect(socket, event, ms) {
  const seen = [];
  const handler = (...args) => seen.push(args);
  socket.on(event, handler);
  return new Promise((resolve) => setTimeout(() => { socket.off(event, handler); resolve(seen); }, ms));
}

/** `join` / `to-room` reach only the other members of the room; `channel` reaches all. */
export async function roomsAndBroadcast(client, url, options = {}) {
  const [a, b, c] = [client(url, options), client(url, options), client(url, options)];
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
}

/** socket.io-client 2.x (Socket.IO v4 / Engine.IO 3): connect, emit, ack, binary, namespaces. */
export async function socketIo2(client, url) {
  const socket = client(url, {}, io2);
  await next(socket, 'connect');
  socket.emit('message', 1, 'two', { three: 3 });
  assert.deepEqual(await next(socket, 'message-back'), [1, 'two', { three: 3 }]);
  const ack = await withTimeout(new Promise((resolve) => socket.emit('message-with-ack', 'x', 2, (...args) => resolve(args))), 'ack');
  assert.deepEqual(ack, ['x', 2]);
  socket.emit('message', Buffer.from([9, 8, 7]), { inner: Buffer.from('zz') });
  const [bin, obj] = await next(socket, 'message-back');
  assert.ok(Buffer.from(bin).equals(Buffer.from([9, 8, 7])));
  assert.equal(Buffer.from(obj.inner).toString(), 'zz');
  const custom = client(`${url}/custom`, {}, io2);
  await next(custom, 'auth');
  const refused = client(`${url}/nope`, {}, io2);
  const [err] = await next(refused, 'error');
  assert.deepEqual(err, 'Invalid namespace');
}
