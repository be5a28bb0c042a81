// Interop with the real npm socket.io-client 4.x (Socket.IO v5 / Engine.IO 4) against
// socketwire-tokio's Socket.IO server: tokio/examples/socketio_server.rs (axum, the
// service at /socket.io/). Needs SOCKETIO_SERVER_URL (e.g. http://127.0.0.1:3000).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clients, next, roomsAndBroadcast, socketIo2, withTimeout } from './socketio-cases.mjs';

const URL = process.env.SOCKETIO_SERVER_URL;
const URL_EIO3 = process.env.SOCKETIO_SERVER_URL_EIO3;
const client = clients({ reconnection: false });

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

  test(`${name}: rooms reach only the other members; broadcast reaches all`, () =>
    roomsAndBroadcast(client, URL, options));
}

test('socket.io-client 2 (SIO v4 / EIO 3): connect, emit, ack and binary', { skip: !URL_EIO3 }, () =>
  socketIo2(client, URL_EIO3));
