// The example Engine.IO client (examples/engineio_client.rs) against:
//  - the example server: polling only, WebSocket only, polling upgraded to WebSocket,
//    binary messages, EIO 3, heartbeats with short intervals, and reconnection after
//    the server restarts;
//  - the reference npm `engine.io` server (v6), EIO 4 and EIO 3.
// Needs HTTP_URL (default flags), HTTP_URL_FAST (--ping-interval 300 --ping-timeout 200),
// HTTP_URL_EIO3 (--allow-eio3, same short heartbeat) and CLIENT_BIN (the example client;
// engineio_client and server are built next to it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { Server as EngineServer } from 'engine.io';

const TIMEOUT = 10_000;
const EXAMPLES = process.env.CLIENT_BIN ? dirname(process.env.CLIENT_BIN) : null;
const CLIENT = EXAMPLES && join(EXAMPLES, 'engineio_client');
const SERVER = EXAMPLES && join(EXAMPLES, 'server');
const TEXTS = ['hello', 'κόσμε 😀', ''];

function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), TIMEOUT); }),
  ]);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the example client; `expect(re)` waits for a stdout line matching `re`. */
function startClient(url, args = []) {
  const child = spawn(CLIENT, [url, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = [];
  let stderr = '';
  let partial = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    partial += chunk;
    let newline;
    while ((newline = partial.indexOf('\n')) >= 0) {
      lines.push(partial.slice(0, newline));
      partial = partial.slice(newline + 1);
      for (const w of waiters.splice(0)) w();
    }
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => {
    for (const w of waiters.splice(0)) w();
    resolve(code);
  }));
  let seen = 0; // lines already matched by `expect`
  return {
    lines,
    exited,
    get stderr() { return stderr; },
    send(line) { child.stdin.write(`${line}\n`); },
    /** Waits for the next line (after those already matched) that matches `re`. */
    expect(re, what = String(re)) {
      return withTimeout(new Promise((resolve, reject) => {
        const check = () => {
          for (let i = seen; i < lines.length; i += 1) {
            const m = lines[i].match(re);
            if (m) { seen = i + 1; resolve(m); return; }
          }
          if (child.exitCode !== null) {
            reject(new Error(`client exited (${child.exitCode}) before ${what}; stdout: ${JSON.stringify(lines)}; stderr: ${stderr}`));
            return;
          }
          waiters.push(check);
        };
        check();
      }), `${what}; stdout so far: ${JSON.stringify(lines)}; stderr: ${stderr}`);
    },
    /** Waits for any line so far or to come (matched or not) that matches `re`. */
    saw(re, what = String(re)) {
      return withTimeout(new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find((l) => re.test(l));
          if (line !== undefined) { resolve(line); return; }
          if (child.exitCode !== null) {
            reject(new Error(`client exited (${child.exitCode}) before ${what}; stdout: ${JSON.stringify(lines)}`));
            return;
          }
          waiters.push(check);
        };
        check();
      }), `${what}; stdout so far: ${JSON.stringify(lines)}; stderr: ${stderr}`);
    },
    /** Ends stdin and expects a clean exit. */
    async finish() {
      child.stdin.end();
      const code = await withTimeout(exited, 'client exit');
      assert.equal(code, 0, `client exit code ${code}; stderr: ${stderr}`);
    },
    kill() { if (child.exitCode === null) child.kill(); },
  };
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function echoes(client, texts = TEXTS) {
  for (const text of texts) {
    client.send(text);
    await client.expect(new RegExp(`^< ${escape(text)}$`), `echo ${JSON.stringify(text)}`);
  }
}

/** Opens a session in `mode` ('polling' | 'websocket' | 'upgrade') and checks the transport. */
async function opened(client, mode) {
  const transport = mode === 'websocket' ? 'websocket' : 'polling';
  await client.expect(new RegExp(`^open sid=\\S+ transport=${transport}$`), 'open');
  if (mode === 'upgrade') await client.expect(/^upgraded to websocket$/, 'upgrade');
}

const MODES = [['polling', ['--polling-only']], ['websocket', ['--websocket-only']], ['upgrade', []]];

for (const [mode, args] of MODES) {
  test(`engineio_client: ${mode}: text echo`, { skip: !EXAMPLES }, async () => {
    const client = startClient(`${process.env.HTTP_URL}/engine.io/`, args);
    try {
      await opened(client, mode);
      await echoes(client);
      await client.finish();
      if (mode !== 'upgrade') assert.ok(!client.lines.includes('upgraded to websocket'));
    } finally { client.kill(); }
  });

  test(`engineio_client: ${mode}: binary echo`, { skip: !EXAMPLES }, async () => {
    const client = startClient(`${process.env.HTTP_URL}/engine.io/`, [...args, '--binary']);
    try {
      await opened(client, mode);
      for (const [line, bytes] of [['abc', 3], ['κόσμε 😀', 15]]) {
        client.send(line);
        await client.expect(new RegExp(`^< \\[${bytes} bytes\\]$`), `binary echo of ${bytes} bytes`);
      }
      await client.finish();
    } finally { client.kill(); }
  });

  test(`engineio_client: ${mode}: heartbeats keep the session alive`, { skip: !EXAMPLES }, async () => {
    const client = startClient(`${process.env.HTTP_URL_FAST}/engine.io/`, args);
    try {
      await opened(client, mode);
      await sleep(1600); // > 3 × (300 ms interval)
      assert.equal(client.lines.filter((l) => l.startsWith('open ')).length, 1);
      assert.equal(client.stderr, '');
      await echoes(client, ['still here']);
      await client.finish();
    } finally { client.kill(); }
  });

  test(`engineio_client: EIO 3: ${mode}: echo and heartbeat`, { skip: !EXAMPLES }, async () => {
    const client = startClient(`${process.env.HTTP_URL_EIO3}/engine.io/`, [...args, '--eio', '3']);
    try {
      await opened(client, mode);
      await echoes(client);
      await sleep(1500); // several client pings
      assert.equal(client.stderr, '');
      await echoes(client, ['still here']);
      await client.finish();
    } finally { client.kill(); }
  });
}

/** Sends a burst right after `open`, while the upgrade runs: every echo must arrive, in order. */
async function burstDuringUpgrade(url, args = []) {
  const client = startClient(url, args);
  try {
    await client.expect(/^open sid=\S+ transport=polling$/, 'open');
    const texts = Array.from({ length: 30 }, (_, i) => `burst ${i}`);
    for (const text of texts) client.send(text);
    for (const text of texts) await client.expect(new RegExp(`^< ${text}$`), `echo ${text}`);
    // On a loaded machine the whole burst can be echoed over polling before the probe
    // completes; the upgrade must still happen, and nothing may be echoed twice.
    await client.saw(/^upgraded to websocket$/, 'upgrade');
    await client.finish();
    const echoed = client.lines.filter((l) => l.startsWith('< '));
    assert.deepEqual(echoed, texts.map((t) => `< ${t}`));
  } finally { client.kill(); }
}

test('engineio_client: messages sent during the upgrade are all echoed, in order', { skip: !EXAMPLES }, async () => {
  for (let round = 0; round < 5; round += 1) {
    await burstDuringUpgrade(`${process.env.HTTP_URL}/engine.io/`);
  }
});

/** Starts an example server on `port` and waits until it accepts connections. */
async function startExampleServer(port) {
  const server = spawn(SERVER, ['--addr', `127.0.0.1:${port}`, '--ping-interval', '300', '--ping-timeout', '200'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i += 1) {
    try {
      await fetch(`http://127.0.0.1:${port}/engine.io/?EIO=4&transport=polling`);
      return server;
    } catch { await sleep(50); }
  }
  server.kill();
  throw new Error('example server did not start');
}

async function freePort() {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  probe.close();
  await once(probe, 'close');
  return port;
}

test('engineio_client: --reconnect opens a new session after the server restarts', { skip: !EXAMPLES }, async () => {
  const port = await freePort();
  let server = await startExampleServer(port);
  const client = startClient(`http://127.0.0.1:${port}/engine.io/`, ['--reconnect']);
  try {
    await opened(client, 'upgrade');
    await echoes(client, ['before']);
    server.kill();
    await once(server, 'exit');
    const [, ms] = await client.expect(/^reconnecting in (\d+) ms$/, 'reconnecting');
    assert.ok(Number(ms) > 0 && Number(ms) <= 5000, `delay ${ms} ms`);
    server = await startExampleServer(port);
    await opened(client, 'upgrade');
    await echoes(client, ['after']);
    await client.finish();
  } finally {
    client.kill();
    server.kill();
  }
});

/** A reference engine.io echo server (text and binary) on a free port. */
async function startReferenceServer() {
  const http = createServer();
  const engine = new EngineServer({ pingInterval: 300, pingTimeout: 200, allowEIO3: true });
  engine.attach(http);
  engine.on('connection', (socket) => {
    socket.on('message', (data) => socket.send(data));
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return {
    url: `http://127.0.0.1:${http.address().port}/engine.io/`,
    async close() {
      engine.close();
      http.closeAllConnections();
      http.close();
    },
  };
}

test('engineio_client against the npm engine.io server: messages sent during the upgrade', { skip: !EXAMPLES }, async () => {
  for (let round = 0; round < 5; round += 1) {
    const server = await startReferenceServer();
    try { await burstDuringUpgrade(server.url); } finally { await server.close(); }
  }
});

for (const [version, eio] of [['EIO 4', []], ['EIO 3', ['--eio', '3']]]) {
  for (const [mode, args] of MODES) {
    test(`engineio_client against the npm engine.io server: ${version}: ${mode}`, { skip: !EXAMPLES }, async () => {
      const server = await startReferenceServer();
      const client = startClient(server.url, [...args, ...eio]);
      try {
        await opened(client, mode);
        await echoes(client);
        await sleep(1000); // several heartbeats (300 ms interval)
        assert.equal(client.stderr, '');
        await echoes(client, ['still here']);
        await client.finish();
      } finally {
        client.kill();
        await server.close();
      }
    });

    test(`engineio_client against the npm engine.io server: ${version}: ${mode}: binary`, { skip: !EXAMPLES }, async () => {
      const server = await startReferenceServer();
      const client = startClient(server.url, [...args, ...eio, '--binary']);
      try {
        await opened(client, mode);
        client.send('abc');
        await client.expect(/^< \[3 bytes\]$/, 'binary echo');
        await client.finish();
      } finally {
        client.kill();
        await server.close();
      }
    });
  }
}
