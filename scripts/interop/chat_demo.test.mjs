// The chat demo page in a real browser: headless Chromium (Debian's `chromium`, through
// playwright-core) against the example server (the page at its `/`) and against
// socketwire-tokio's `chat_demo` example, each of which this test starts and stops itself (on a
// free 127.0.0.1 port), since it kills and restarts the server (CHAT_DEMO_BIN=path runs it
// against that one binary only):
//  - two pages pick nicknames and a room; the online list shows both;
//  - A types → B shows "Alice is typing…"; A sends → B shows the message under A's name;
//  - A's packet panel shows the Engine.IO open packet, the upgrade probe and Socket.IO events;
//  - A switches room → B shows "Alice left" and only itself online;
//  - the server is killed → both pages show "reconnecting (attempt n)"; restarted on the same
//    port → both show "connected" again and A is back in its room.
// Needs the release builds (`cargo build --release --example server` and
//   cargo build --release -p socketwire-tokio --features socketio-server --example chat_demo)
// and /usr/bin/chromium (CHROMIUM_PATH overrides it); without them, the test is skipped with
// the reason.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const example = (name) => fileURLToPath(new URL(`../../target/release/examples/${name}`, import.meta.url));
const BINS = process.env.CHAT_DEMO_BIN ? [process.env.CHAT_DEMO_BIN] : [example('server'), example('chat_demo')];
// Per step (navigation, one wait); the reconnection waits get RECONNECT (the page's backoff
// tops out at 3 s ± 50 %); the whole test gets TEST_TIMEOUT.
const STEP = 5_000;
const RECONNECT = 15_000;
const TEST_TIMEOUT = 90_000;
const skipFor = (bin) => !existsSync(CHROMIUM)
  ? `${CHROMIUM} not found: chat demo test skipped (run scripts/install-chromium.sh)`
  : !existsSync(bin)
    ? `${bin} not found: chat demo test skipped (build it: see the top of this file)`
    : false;

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // Two pages at once: neither may have its timers (the reconnection backoff) throttled.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// Resolves once 127.0.0.1:port accepts a connection (tries every 100 ms, at most 50 times).
async function waitPort(port, exited) {
  for (let i = 0; i < 50; i++) {
    if (exited()) return false;
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

const servers = new Set();
// Starts the server on `port` (any binary taking `--addr HOST:PORT`: the example server once
// it serves the chat, too); resolves once the port accepts connections.
async function startServer(BIN, port) {
  const child = spawn(BIN, ['--addr', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  servers.add(child);
  let stderr = '';
  let exit = null;
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  child.once('error', (e) => { exit = String(e); });
  child.once('exit', (code, signal) => { exit = `exited (${code ?? signal})`; servers.delete(child); });
  if (await waitPort(port, () => exit !== null)) return child;
  child.kill('SIGKILL');
  throw new Error(`${BIN} did not listen on ${port}: ${exit ?? 'no answer in 5 s'} ${stderr}`);
}

async function killServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await withTimeout(exited, STEP, 'chat_demo exit');
}

after(async () => {
  for (const child of [...servers]) await killServer(child).catch(() => {});
});

const text = (page, selector) => page.evaluate((s) => document.querySelector(s).textContent, selector);

function statusMatches(page, pattern, timeout = STEP) {
  return page.waitForFunction(
    (source) => new RegExp(source).test(document.getElementById('status').textContent),
    pattern.source, { timeout });
}

async function openChat(context, errors) {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  return page;
}

async function login(page, http, nickname) {
  await page.goto(`${http}/`, { timeout: STEP });
  await statusMatches(page, /^connected$/);
  await page.fill('#nickname', nickname);
  await page.press('#nickname', 'Enter');
  await page.waitForFunction(() => !document.getElementById('chat').hidden, null, { timeout: STEP });
}

async function pickRoom(page, room) {
  await page.click(`#rooms button[data-room="${room}"]`);
  await page.waitForFunction((r) => document.getElementById('room-title').textContent === `#${r}`,
    room, { timeout: STEP });
}

function onlineIs(page, names) {
  return page.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll('#users li')].map((li) => li.textContent)) === want,
    JSON.stringify(names), { timeout: STEP });
}

function messageShows(page, username, body) {
  return page.waitForFunction(([u, b]) => [...document.querySelectorAll('#messages li.message')].some(
    (li) => li.querySelector('.username').textContent === u && li.querySelector('.body').textContent === b),
  [username, body], { timeout: STEP });
}

function logShows(page, pattern) {
  return page.waitForFunction((source) => [...document.querySelectorAll('#messages li.log')].some(
    (li) => new RegExp(source).test(li.textContent)), pattern.source, { timeout: STEP });
}

// The packet panel's rows, as [direction, transport, wire text, note].
const packets = (page) => page.evaluate(() => [...document.querySelectorAll('#packets li')].map(
  (li) => [li.dataset.dir, ...['.transport', '.wire', '.note'].map((s) => li.querySelector(s).textContent)]));

function packetShows(page, dir, pattern) {
  return page.waitForFunction(([d, source]) => [...document.querySelectorAll('#packets li')].some(
    (li) => li.dataset.dir === d && new RegExp(source).test(li.querySelector('.wire').textContent)),
  [dir, pattern.source], { timeout: STEP });
}

for (const BIN of BINS) {
const skip = skipFor(BIN);
if (skip) console.log(`# ${skip}`);
test(`chat demo (${BIN.split('/').pop()}): two pages chat, see typing and who is online, switch rooms, and reconnect to a restarted server`,
  { skip, timeout: TEST_TIMEOUT }, async (t) => {
    const port = await freePort();
    const http = `http://127.0.0.1:${port}`;
    let server = await startServer(BIN, port);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20_000 });
    const errors = [];
    try {
      const context = await browser.newContext();
      context.setDefaultTimeout(STEP);
      const a = await openChat(context, errors);
      const b = await openChat(context, errors);
      await login(a, http, 'Alice');
      await login(b, http, 'Bob');
      assert.equal(await a.title(), 'socketwire chat');
      await pickRoom(a, 'rust');
      await pickRoom(b, 'rust');
      await Promise.all([onlineIs(a, ['Alice', 'Bob']), onlineIs(b, ['Alice', 'Bob'])]);
      assert.equal(await text(b, '#count'), '2');
      await logShows(a, /^Bob joined \(2 here\)$/);

      // Typing, then the message under A's name (which also ends B's "typing…").
      await a.type('#message', 'hello, κόσμε');
      await b.waitForFunction(() => document.getElementById('typing').textContent === 'Alice is typing…',
        null, { timeout: STEP });
      await a.type('#message', ' 😀');
      await a.press('#message', 'Enter');
      await messageShows(b, 'Alice', 'hello, κόσμε 😀');
      await messageShows(a, 'Alice', 'hello, κόσμε 😀');
      await b.waitForFunction(() => document.getElementById('typing').textContent === '', null, { timeout: STEP });
      await b.fill('#message', 'hi Alice');
      await b.press('#message', 'Enter');
      await messageShows(a, 'Bob', 'hi Alice');

      // A's packet panel: the open packet, the upgrade to WebSocket, Socket.IO events.
      await packetShows(a, 'in', /^0\{"sid":/);
      await packetShows(a, 'out', /^2probe$/);
      await packetShows(a, 'in', /^3probe$/);
      await packetShows(a, 'out', /^5$/);
      await packetShows(a, 'out', /^42\/chat,\d*\["new message","hello, κόσμε 😀"\]$/);
      await packetShows(a, 'in', /^42\/chat,\["new message",\{"username":"Bob","message":"hi Alice"\}\]$/);
      const rows = await packets(a);
      // In wire order: the first packet is the server's open packet, before A's CONNECT.
      assert.deepEqual(rows[0].slice(0, 2), ['in', 'polling']);
      assert.match(rows[0][2], /^0\{"sid":"[^"]+","upgrades":\["websocket"\]/);
      assert.deepEqual(rows[1].slice(0, 3), ['out', 'polling', '40/chat,']);
      assert.ok(rows.some(([dir, transport, wire, note]) =>
        dir === 'in' && transport === 'polling' && wire.startsWith('0{') && note === 'open'), 'open packet on polling');
      assert.ok(rows.some(([, , , note]) => note === 'message · EVENT'), 'a Socket.IO EVENT');
      assert.equal(await text(a, '#transport'), 'websocket');
      t.diagnostic(`packets on A: ${rows.length}, e.g. ${JSON.stringify(rows.slice(0, 3))}`);

      // A moves to another room: B sees A leave, and is alone.
      await pickRoom(a, 'random');
      await logShows(b, /^Alice left \(1 here\)$/);
      await onlineIs(b, ['Bob']);
      await onlineIs(a, ['Alice']);

      // The server goes away: both pages reconnect with backoff, and come back to a new server.
      await killServer(server);
      await Promise.all([
        statusMatches(a, /^reconnecting \(attempt \d+\)$/, RECONNECT),
        statusMatches(b, /^reconnecting \(attempt \d+\)$/, RECONNECT),
      ]);
      server = await startServer(BIN, port);
      await Promise.all([
        statusMatches(a, /^connected$/, RECONNECT),
        statusMatches(b, /^connected$/, RECONNECT),
      ]);
      // The new server knows nothing: each page named itself again, in its room.
      await logShows(a, /^back in #random$/);
      await logShows(b, /^back in #rust$/);
      await onlineIs(a, ['Alice']);
      await pickRoom(b, 'random');
      await onlineIs(a, ['Alice', 'Bob']);
      await b.fill('#message', 'still here');
      await b.press('#message', 'Enter');
      await messageShows(a, 'Bob', 'still here');
      await context.close();
    } finally {
      await browser.close();
      await killServer(server).catch(() => {});
      if (errors.length) t.diagnostic(`page errors: ${errors.join('; ')}`);
    }
    assert.deepEqual(errors, []);
  });
}
