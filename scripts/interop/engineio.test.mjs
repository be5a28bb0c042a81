// Interop with the real npm engine.io-client: v6 (EIO 4) over polling only, WebSocket
// only, and polling upgraded to WebSocket; text and binary echo; heartbeats with short
// intervals; and engine.io-client 3.x (EIO 3) against a server started with --allow-eio3.
// Needs HTTP_URL (default flags), HTTP_URL_FAST (--ping-interval 300 --ping-timeout 200)
// and HTTP_URL_EIO3 (--allow-eio3, same short heartbeat).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'engine.io-client';
import eio3 from 'engine.io-client-v3';

const TIMEOUT = 10_000;

function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), TIMEOUT); }),
  ]);
}

function track(socket) {
  const inbox = [];
  const waiters = [];
  socket.on('message', (data) => {
    const w = waiters.shift();
    if (w) w(data); else inbox.push(data);
  });
  socket.next = (what = 'message') => withTimeout(new Promise((resolve) => {
    const m = inbox.shift();
    if (m !== undefined) resolve(m); else waiters.push(resolve);
  }), what);
  socket.closeReasons = [];
  socket.on('close', (reason) => socket.closeReasons.push(reason));
  return socket;
}

function opened(socket) {
  return withTimeout(new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  }), 'open');
}

function asBytes(data) {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new Error(`not binary: ${typeof data} ${data}`);
}

async function echoes(socket) {
  for (const text of ['hello', 'κόσμε 😀', '']) {
    socket.send(text);
    // The JS parser hands an empty message packet ("4") out as `undefined`.
    assert.equal((await socket.next(`echo ${JSON.stringify(text)}`)) ?? '', text);
  }
  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  socket.send(bytes);
  assert.deepEqual(asBytes(await socket.next('binary echo')), bytes);
}

const cases = [
  ['v4 polling only', { transports: ['polling'] }, 'polling'],
  ['v4 websocket only', { transports: ['websocket'] }, 'websocket'],
  ['v4 polling upgraded to websocket', { transports: ['polling', 'websocket'] }, 'websocket'],
];

for (const [name, options, finalTransport] of cases) {
  test(`engine.io-client 6: ${name}: text and binary echo`, async () => {
    const socket = track(new Socket(process.env.HTTP_URL, options));
    await opened(socket);
    if (finalTransport === 'websocket' && socket.transport.name !== 'websocket') {
      await withTimeout(new Promise((resolve) => socket.once('upgrade', resolve)), 'upgrade');
    }
    await echoes(socket);
    assert.equal(socket.transport.name, finalTransport);
    socket.close();
  });
}

test('engine.io-client 6: heartbeats keep the session alive over several intervals', async () => {
  for (const transports of [['polling'], ['websocket']]) {
    const socket = track(new Socket(process.env.HTTP_URL_FAST, { transports }));
    let pings = 0;
    socket.on('ping', () => { pings += 1; });
    await opened(socket);
    await new Promise((resolve) => setTimeout(resolve, 1600)); // > 5 × 300 ms
    assert.ok(pings >= 3, `only ${pings} pings`);
    assert.deepEqual(socket.closeReasons, []);
    await echoes(socket);
    socket.close();
  }
});

test('engine.io-client 6: the server notices a dead client', async () => {
  // Open a polling session by hand and never poll again: the server closes it after
  // pingInterval + pingTimeout and the sid becomes unknown (code 1).
  const url = `${process.env.HTTP_URL_FAST}/engine.io/?EIO=4&transport=polling`;
  const open = await (await fetch(url)).text();
  const sid = JSON.parse(open.slice(1)).sid;
  await new Promise((resolve) => setTimeout(resolve, 900));
  const res = await fetch(`${url}&sid=${sid}`);
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { code: 1, message: 'Session ID unknown' });
});

for (const [name, transports] of [['polling', ['polling']], ['websocket', ['websocket']], ['upgrade', ['polling', 'websocket']]]) {
  test(`engine.io-client 3 (EIO 3): ${name}: echo and heartbeat`, async () => {
    const socket = track(eio3(process.env.HTTP_URL_EIO3, { transports }));
    await opened(socket);
    if (name === 'upgrade' && socket.transport.name !== 'websocket') {
      await withTimeout(new Promise((resolve) => socket.once('upgrade', resolve)), 'upgrade');
    }
    await echoes(socket);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // several client pings
    assert.deepEqual(socket.closeReasons, []);
    socket.send('still here');
    assert.equal(await socket.next(), 'still here');
    socket.close();
  });
}

test('EIO 3 is refused without --allow-eio3', async () => {
  const res = await fetch(`${process.env.HTTP_URL}/engine.io/?EIO=3&transport=polling`);
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { code: 5, message: 'Unsupported protocol version' });
});
