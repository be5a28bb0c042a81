// WebSockets over HTTP/2 (RFC 8441) from a real browser: headless Chromium (Debian's
// `chromium`, through playwright-core, `--ignore-certificate-errors` for the example's
// self-signed certificate) against `tokio/examples/h2_server.rs`, which serves `/echo` over
// both an HTTP/2 extended CONNECT and an HTTP/1.1 upgrade. The page first loads a resource
// from the server (Chromium sends a WebSocket over HTTP/2 only on an HTTP/2 connection it
// already has), then opens `wss://127.0.0.1:PORT/echo` and echoes text, binary and 1 MiB.
// The proof that the socket went over HTTP/2: the server's `/stats` counts an extended
// CONNECT and no upgrade, and its stdout says "over h2 extended CONNECT".
// Needs: the built example next to CLIENT_BIN (target/release/examples/h2_server; H2_SERVER_BIN
// overrides) and /usr/bin/chromium (CHROMIUM_PATH overrides); without either it is skipped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SERVER_BIN = process.env.H2_SERVER_BIN
  || (process.env.CLIENT_BIN ? join(dirname(process.env.CLIENT_BIN), 'h2_server') : null);
const STEP = 10_000;
const TEST_TIMEOUT = 60_000;
const skip = !existsSync(CHROMIUM)
  ? `${CHROMIUM} not found: HTTP/2 browser test skipped (run scripts/install-chromium.sh)`
  : !SERVER_BIN || !existsSync(SERVER_BIN)
    ? `h2_server example not found (set CLIENT_BIN or H2_SERVER_BIN): skipped`
    : false;
if (skip) console.log(`# ${skip}`);

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--ignore-certificate-errors',
];

function withTimeout(promise, what, ms = STEP) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms); }),
  ]);
}

let server;
let port;
let serverOut = '';
let browser;

before(async () => {
  if (skip) return;
  server = spawn(SERVER_BIN, ['--addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  server.stdout.on('data', (chunk) => { serverOut += chunk; });
  port = await withTimeout(new Promise((resolve, reject) => {
    const onData = () => {
      const m = serverOut.match(/listening on wss:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { server.stdout.off('data', onData); resolve(Number(m[1])); }
    };
    server.stdout.on('data', onData);
    server.once('exit', (code) => reject(new Error(`h2_server exited with ${code}`)));
  }), 'server start');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20_000 });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

test('Chromium opens wss:// over HTTP/2 (extended CONNECT) and echoes text, binary and 1 MiB', { skip, timeout: TEST_TIMEOUT }, async (t) => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  context.setDefaultTimeout(STEP);
  try {
    const page = await context.newPage();
    const origin = `https://127.0.0.1:${port}`;
    await page.goto(`${origin}/stats`, { timeout: STEP });
    const before = await page.evaluate(async () => (await fetch('/stats', { cache: 'no-store' })).json());
    const protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
    assert.equal(protocol, 'h2', 'the page came over HTTP/2');

    const result = await page.evaluate(async ({ url, step }) => {
      // Each step waits for one event of the socket, within `step` ms.
      const once = (ws, type, send) => new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} within ${step} ms`)), step);
        ws.addEventListener(type, (e) => { clearTimeout(timer); resolve(e); }, { once: true });
        ws.addEventListener('error', () => reject(new Error(`error waiting for ${type}`)), { once: true });
        send?.();
      });
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      await once(ws, 'open');
      const echoed = async (data) => (await once(ws, 'message', () => ws.send(data))).data;
      const texts = [];
      for (const text of ['hello', 'κόσμε 😀 €', '', 'x'.repeat(200_000)]) {
        texts.push({ length: text.length, same: (await echoed(text)) === text });
      }
      const mib = new Uint8Array(1 << 20);
      for (let i = 0; i < mib.length; i += 65536) crypto.getRandomValues(mib.subarray(i, i + 65536));
      const binaries = [];
      for (const [name, bytes] of Object.entries({ small: new Uint8Array([0, 1, 2, 255]), '1 MiB random': mib, empty: new Uint8Array(0) })) {
        const got = new Uint8Array(await echoed(bytes.buffer));
        binaries.push({ name, same: got.length === bytes.length && got.every((b, i) => b === bytes[i]) });
      }
      const closed = await once(ws, 'close', () => ws.close(1000, 'bye'));
      return { extensions: ws.extensions, texts, binaries, close: { code: closed.code, wasClean: closed.wasClean } };
    }, { url: `wss://127.0.0.1:${port}/echo`, step: STEP });

    t.diagnostic(`negotiated extensions: ${JSON.stringify(result.extensions)}`);
    for (const r of result.texts) assert.deepEqual(r, { length: r.length, same: true });
    for (const r of result.binaries) assert.equal(r.same, true, `binary ${r.name} echoed`);
    assert.deepEqual(result.close, { code: 1000, wasClean: true });

    // The proof it went over HTTP/2: one more extended CONNECT, no HTTP/1.1 upgrade.
    const stats = await page.evaluate(async () => (await fetch('/stats', { cache: 'no-store' })).json());
    t.diagnostic(`server stats before ${JSON.stringify(before)}, after ${JSON.stringify(stats)}`);
    assert.equal(stats.h2_extended_connect, before.h2_extended_connect + 1);
    assert.equal(stats.http1_upgrade, before.http1_upgrade);
    assert.match(serverOut, /websocket \/echo over h2 extended CONNECT/);
    assert.doesNotMatch(serverOut, /over http\/1\.1 upgrade/);
  } finally {
    await context.close();
  }
});
