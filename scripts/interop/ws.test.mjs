// Interop with Node's `ws` package, both directions:
//  - `ws` as the client against the example server (/echo and /chat);
//  - the example client against a `ws` echo server.
// Needs: SERVER_URL (ws://127.0.0.1:PORT of a running example server) and
// CLIENT_BIN (path to the built example client).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import WebSocket, { WebSocketServer } from 'ws';

const SERVER = process.env.SERVER_URL;
const CLIENT_BIN = process.env.CLIENT_BIN;
// Each scenario runs without compression, with permessage-deflate, and with
// permessage-deflate without context takeover in either direction.
const MODES = {
  plain: false,
  deflate: { threshold: 0 },
  'deflate-no-takeover': { threshold: 0, clientNoContextTakeover: true, serverNoContextTakeover: true },
};
const TIMEOUT = 10_000;

function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), TIMEOUT); }),
  ]);
}

function open(path, deflate) {
  const ws = new WebSocket(SERVER + path, { perMessageDeflate: deflate });
  const inbox = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    const msg = { data: isBinary ? Buffer.from(data) : data.toString(), isBinary };
    const w = waiters.shift();
    if (w) w(msg); else inbox.push(msg);
  });
  ws.next = (what = 'message') => withTimeout(new Promise((resolve) => {
    const m = inbox.shift();
    if (m) resolve(m); else waiters.push(resolve);
  }), what);
  return withTimeout(new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  }), `open ${path}`);
}

function closed(ws) {
  return withTimeout(new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))), 'close');
}

for (const [mode, deflate] of Object.entries(MODES)) {
  test(`${mode}: echo: text, unicode, empty and large binary`, async () => {
    const ws = await open('/echo', deflate);
    if (deflate) assert.match(ws.extensions, /permessage-deflate/); else assert.equal(ws.extensions, '');
    for (const text of ['hello', 'κόσμε 😀 €', '']) {
      ws.send(text);
      assert.deepEqual(await ws.next(), { data: text, isBinary: false });
    }
    const big = randomBytes(300_000);
    ws.send(big);
    const got = await ws.next('large binary');
    assert.equal(got.isBinary, true);
    assert.ok(got.data.equals(big));
    const compressible = Buffer.from('{"event":"tick","value":12345}'.repeat(2000));
    ws.send(compressible, { binary: true });
    assert.ok((await ws.next('compressible')).data.equals(compressible));
    ws.close(1000, 'bye');
    assert.deepEqual(await closed(ws), { code: 1000, reason: 'bye' });
  });

  test(`${mode}: echo: fragmented message and ping/pong`, async () => {
    const ws = await open('/echo', deflate);
    ws.send('frag', { fin: false });
    ws.send('men', { fin: false });
    ws.send('ted', { fin: true });
    assert.deepEqual(await ws.next(), { data: 'fragmented', isBinary: false });
    const pong = withTimeout(new Promise((resolve) => ws.once('pong', (d) => resolve(d.toString()))), 'pong');
    ws.ping('are you there');
    assert.equal(await pong, 'are you there');
    ws.close(1000);
    assert.equal((await closed(ws)).code, 1000);
  });

  test(`${mode}: echo: invalid UTF-8 is refused with 1007`, async () => {
    const ws = await open('/echo', deflate);
    // Send raw bytes marked as text: ws does not validate outgoing text.
    ws.send(Buffer.from([0x61, 0xff, 0x62]), { binary: false });
    assert.equal((await closed(ws)).code, 1007);
  });

  test(`${mode}: chat: a message reaches every /chat client, the sender included`, async () => {
    const a = await open('/chat', deflate);
    const b = await open('/chat', deflate);
    const c = await open('/chat', deflate);
    a.send('hello room');
    for (const ws of [a, b, c]) {
      assert.deepEqual(await ws.next('chat'), { data: 'hello room', isBinary: false });
    }
    for (const ws of [a, b, c]) ws.close();
  });

  test(`${mode}: the example client talks to a ws echo server`, { skip: !CLIENT_BIN }, async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: deflate });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    const url = `ws://127.0.0.1:${wss.address().port}/`;
    const args = deflate ? [url, '--deflate'] : [url];
    const child = spawn(CLIENT_BIN, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const lines = ['first line', 'ünïcödé ✓', 'x'.repeat(5000)];
    const done = withTimeout(new Promise((resolve) => child.on('exit', (code) => resolve(code))), 'client exit');
    // Wait until connected, then send the lines and close stdin.
    await withTimeout(new Promise((resolve) => {
      const check = () => (out.includes('connected') ? resolve() : setTimeout(check, 20));
      check();
    }), 'client connected');
    child.stdin.write(lines.join('\n') + '\n');
    await withTimeout(new Promise((resolve) => {
      const check = () => (lines.every((l) => out.includes(l)) ? resolve() : setTimeout(check, 20));
      check();
    }), 'echoes printed');
    child.stdin.end();
    assert.equal(await done, 0);
    if (deflate) assert.match(out, /extensions: permessage-deflate/);
    if (deflate && deflate.serverNoContextTakeover) assert.match(out, /server_no_context_takeover/);
    await new Promise((resolve) => wss.close(resolve));
  });
}
