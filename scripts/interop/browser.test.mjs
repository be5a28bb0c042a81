// Interop with a real browser: headless Chromium (Debian's `chromium` package, driven
// through playwright-core) against the example server:
//  - the chat page at `/` (two pages chat through `/chat`; the page reconnects after a close);
//  - the browser's own WebSocket against `/echo` (permessage-deflate, text, 1 MiB binary);
//  - the socket.io-client browser bundle against `/socket.io/` (XHR polling, then the
//    WebSocket upgrade).
// Needs: HTTP_URL (http://127.0.0.1:PORT) and SERVER_URL (ws://127.0.0.1:PORT) of a running
// example server, and /usr/bin/chromium (scripts/install-chromium.sh installs it; CHROMIUM_PATH
// overrides the path); without it every test here is skipped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { withTimeout } from './socketio-cases.mjs';

const HTTP = process.env.HTTP_URL;
const SERVER = process.env.SERVER_URL;
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// The server may run with --no-deflate (SERVER_ARGS in scripts/interop.sh).
const DEFLATE = !/--no-deflate/.test(process.env.SERVER_ARGS ?? '');
// Per step (navigation, waiting for the page, one evaluate); a whole test gets TEST_TIMEOUT.
const STEP = 5_000;
const TEST_TIMEOUT = 30_000;
const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} not found: browser tests skipped (run scripts/install-chromium.sh)`;
if (skip) console.log(`# ${skip}`);

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  // Without these Chromium keeps trying to reach the network (updates, sync, field trials).
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let browser;
before(async () => {
  if (skip) return;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20_000 });
});
after(async () => {
  await browser?.close();
});

// A fresh browser context per test (no state shared between tests); closed at the end.
async function withContext(t, fn) {
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP);
  const errors = [];
  try {
    return await fn(async () => {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(String(e)));
      return page;
    });
  } finally {
    await context.close();
    if (errors.length) t.diagnostic(`page errors: ${errors.join('; ')}`);
  }
}

function statusIs(page, expected) {
  return page.waitForFunction(
    (s) => document.getElementById('status').textContent === s, expected, { timeout: STEP });
}

async function openChat(newPage) {
  const page = await newPage();
  await page.goto(`${HTTP}/ws-chat`, { timeout: STEP });
  await statusIs(page, 'connected');
  return page;
}

async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
  // The form clears the input once the message went out.
  await page.waitForFunction(() => document.getElementById('text').value === '', null, { timeout: STEP });
}

function logShows(page, text) {
  return page.waitForFunction(
    (t) => [...document.querySelectorAll('#log > div')].some((d) => d.textContent === t),
    text, { timeout: STEP });
}

const unique = (what) => `${what} ${Math.random().toString(36).slice(2)}`;

test('chat page: two pages connect and see each other\'s messages', { skip, timeout: TEST_TIMEOUT }, (t) =>
  withContext(t, async (newPage) => {
    const a = await openChat(newPage);
    const b = await openChat(newPage);
    assert.equal(await a.title(), 'socketwire chat');
    const fromA = unique('hello from A, κόσμε 😀');
    await say(a, fromA);
    await Promise.all([logShows(a, fromA), logShows(b, fromA)]);
    const fromB = unique('reply from B');
    await say(b, fromB);
    await Promise.all([logShows(a, fromB), logShows(b, fromB)]);
    // A binary message (the page itself only sends text) is shown by its size.
    await a.evaluate(() => ws.send(new Uint8Array([1, 2, 3])));
    await Promise.all([logShows(a, '[binary, 3 bytes]'), logShows(b, '[binary, 3 bytes]')]);
  }));

/**
 * Resolves once the page's status line says `disconnected…`, watched from before the close: the
 * page reconnects 500 ms later, and polling the status (by animation frame, which a page in the
 * background may not get) could miss that window.
 */
const showsDisconnected = (page) => page.evaluate(() => new Promise((resolve) => {
  const status = document.getElementById('status');
  new MutationObserver(() => {
    if (/^disconnected/.test(status.textContent)) resolve(true);
  }).observe(status, { childList: true, characterData: true, subtree: true });
}));

test('chat page: reconnects after its WebSocket closes, then chats again', { skip, timeout: TEST_TIMEOUT }, (t) =>
  withContext(t, async (newPage) => {
    const a = await openChat(newPage);
    const b = await openChat(newPage);
    // `ws` is a top-level `let` of the page script: reachable from evaluate.
    const firstDrop = showsDisconnected(a);
    await a.evaluate(() => { window.closedSocket = ws; ws.close(1000, 'test'); });
    await withTimeout(firstDrop, 'disconnected');
    await statusIs(a, 'connected');
    assert.equal(await a.evaluate(() => ws !== window.closedSocket && ws.readyState === WebSocket.OPEN), true);
    assert.equal(await a.evaluate(() => window.closedSocket.readyState), 3 /* CLOSED */);
    const fromA = unique('back again');
    await say(a, fromA);
    await Promise.all([logShows(a, fromA), logShows(b, fromA)]);
    const fromB = unique('welcome back');
    await say(b, fromB);
    await logShows(a, fromB);
    // A second close (the page's backoff starts again from its first delay once reconnected).
    const secondDrop = showsDisconnected(a);
    await a.evaluate(() => ws.close());
    await withTimeout(secondDrop, 'disconnected');
    await statusIs(a, 'connected');
    const again = unique('and again');
    await say(a, again);
    await Promise.all([logShows(a, again), logShows(b, again)]);
  }));

test(`browser WebSocket: /echo ${DEFLATE ? 'with' : 'without'} permessage-deflate, text and 1 MiB binary`, { skip, timeout: TEST_TIMEOUT }, (t) =>
  withContext(t, async (newPage) => {
    const page = await newPage();
    await page.goto(`${HTTP}/ws-chat`, { timeout: STEP });
    const result = await page.evaluate(async ({ url, step }) => {
      const timeout = (what) => new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`timeout: ${what}`)), step));
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      const inbox = [];
      const waiters = [];
      ws.onmessage = (e) => { const w = waiters.shift(); if (w) w(e.data); else inbox.push(e.data); };
      const next = (what) => Promise.race([
        new Promise((resolve) => { if (inbox.length) resolve(inbox.shift()); else waiters.push(resolve); }),
        timeout(what)]);
      await Promise.race([new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('WebSocket error before open'));
      }), timeout('open')]);
      const out = { extensions: ws.extensions, texts: [], binaries: [] };
      for (const text of ['hello', 'κόσμε 😀 €', '', 'x'.repeat(200_000)]) {
        ws.send(text);
        const got = await next(`text of ${text.length}`);
        out.texts.push({ length: text.length, same: got === text, type: typeof got });
      }
      const random = new Uint8Array(1 << 20);
      for (let i = 0; i < random.length; i += 65536) crypto.getRandomValues(random.subarray(i, i + 65536));
      const repetitive = new Uint8Array(1 << 20).map((_, i) => i % 251);
      for (const [name, bytes] of [['random', random], ['repetitive', repetitive], ['empty', new Uint8Array(0)]]) {
        ws.send(bytes.buffer);
        const got = await next(`binary ${name}`);
        const view = got instanceof ArrayBuffer ? new Uint8Array(got) : null;
        const same = !!view && view.length === bytes.length && view.every((b, i) => b === bytes[i]);
        out.binaries.push({ name, length: bytes.length, gotLength: view?.length ?? -1, same });
      }
      const closed = await Promise.race([
        new Promise((resolve) => { ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean }); ws.close(1000, 'bye'); }),
        timeout('close')]);
      out.close = closed;
      return out;
    }, { url: `${SERVER}/echo`, step: STEP });
    t.diagnostic(`negotiated extensions: ${JSON.stringify(result.extensions)}`);
    if (DEFLATE) assert.match(result.extensions, /^permessage-deflate/);
    else assert.equal(result.extensions, '');
    for (const r of result.texts) assert.deepEqual(r, { length: r.length, same: true, type: 'string' });
    for (const r of result.binaries) assert.deepEqual(r, { name: r.name, length: r.length, gotLength: r.length, same: true });
    assert.deepEqual(result.close, { code: 1000, reason: 'bye', wasClean: true });
  }));

// Not in the package's "exports", so by path next to this file.
const SOCKET_IO_BUNDLE = fileURLToPath(new URL('node_modules/socket.io-client/dist/socket.io.min.js', import.meta.url));

for (const transports of [['polling', 'websocket'], ['polling']]) {
  test(`socket.io-client in the browser (${transports.join(' + ')}): emit and echo`, { skip, timeout: TEST_TIMEOUT }, (t) =>
    withContext(t, async (newPage) => {
      const page = await newPage();
      // Same origin as /socket.io/, so the XHR polling needs no CORS.
      await page.goto(`${HTTP}/ws-chat`, { timeout: STEP });
      await page.addScriptTag({ path: SOCKET_IO_BUNDLE });
      const result = await page.evaluate(async ({ url, transports, step }) => {
        const timeout = (what) => new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`timeout: ${what}`)), step));
        const socket = io(url, { transports, reconnection: false, forceNew: true });
        // The upgrade may finish before Socket.IO's own connect: watch from the start.
        const firstTransport = socket.io.engine.transport.name;
        const upgraded = new Promise((resolve) => socket.io.engine.once('upgrade', resolve));
        try {
          await Promise.race([new Promise((resolve, reject) => {
            socket.on('connect', resolve);
            socket.on('connect_error', (e) => reject(new Error(`connect_error: ${e.message}`)));
          }), timeout('connect')]);
          if (transports.includes('websocket')) await Promise.race([upgraded, timeout('upgrade')]);
          const echo = (...args) => Promise.race([
            new Promise((resolve) => { socket.once('message-back', (...back) => resolve(back)); socket.emit('message', ...args); }),
            timeout('message-back')]);
          const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) % 256);
          const [text, obj] = await echo('hello from the browser', { n: 1, s: 'κόσμε 😀', list: [1, null, true] });
          const [bin] = await echo(bytes.buffer);
          const view = new Uint8Array(bin);
          return {
            firstTransport,
            transport: socket.io.engine.transport.name,
            text, obj,
            binary: bin instanceof ArrayBuffer && view.length === bytes.length && view.every((b, i) => b === bytes[i]),
          };
        } finally {
          socket.disconnect();
        }
      }, { url: HTTP, transports, step: STEP });
      t.diagnostic(`transports: ${result.firstTransport} -> ${result.transport}`);
      assert.equal(result.firstTransport, 'polling');
      assert.equal(result.transport, transports.at(-1));
      assert.equal(result.text, 'hello from the browser');
      assert.deepEqual(result.obj, { n: 1, s: 'κόσμε 😀', list: [1, null, true] });
      assert.equal(result.binary, true);
    }));
}
