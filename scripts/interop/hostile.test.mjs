// Hostile peers against the example server's glue, each bound stated and proved
// against a real server process: memory by the server's resident set size
// (/proc/PID/status), time by short configured deadlines and a generous upper bound.
// Each test starts its own server (the built example next to CLIENT_BIN).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import WebSocket from 'ws';

const EXAMPLES = process.env.CLIENT_BIN ? dirname(process.env.CLIENT_BIN) : null;
const SERVER = EXAMPLES && join(EXAMPLES, 'server');
const LINUX = process.platform === 'linux';
const PATIENCE = 15_000;
const MIB = 1 << 20;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout(promise, what, ms = PATIENCE) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms); }),
  ]);
}

/** Starts an example server on a free port; resolves to { child, port }. */
function startServer(args) {
  const child = spawn(SERVER, ['--addr', '127.0.0.1:0', '--no-deflate', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return withTimeout(new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  }), 'server start');
}

/** The server's resident set size in bytes. */
function rss(child) {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+) kB/)[1]) * 1024;
}

/** A raw TCP client that upgrades to a WebSocket on `path` and then never reads. */
function silentWebSocket(port, path) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    socket.on('error', () => {});
    socket.once('connect', () => socket.write(
      `GET ${path} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
      + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    ));
    const onData = (chunk) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        socket.off('data', onData);
        if (!head.startsWith('HTTP/1.1 101 ')) reject(new Error(head));
        socket.pause(); // never read again: the kernel buffers fill, then the server's writes stall
        resolve(socket);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed during the upgrade')));
  }), `upgrade ${path}`);
}

/** A masked binary frame (mask key 0) with `len` payload bytes. */
function binaryFrame(len) {
  const header = Buffer.from([0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  header.writeUInt32BE(len, 6);
  return Buffer.concat([header, Buffer.alloc(len, 7)]);
}

/** Samples the server's RSS every 50 ms until `done` settles; the peak seen. */
async function peakRss(child, done) {
  let peak = rss(child);
  let finished = false;
  done.finally(() => { finished = true; }).catch(() => {});
  while (!finished) {
    peak = Math.max(peak, rss(child));
    await sleep(50);
  }
  return Math.max(peak, rss(child));
}

const closed = (socket) => new Promise((resolve) => {
  if (socket.destroyed) resolve(); else socket.once('close', resolve);
});

test('hostile: /echo, a client that sends 64 MiB and reads nothing: server RSS grows < 8 MiB, dropped after --write-timeout',
  { skip: !EXAMPLES || !LINUX }, async (t) => {
    const { child, port } = await startServer(['--write-timeout', '1000']);
    try {
      const before = rss(child);
      const socket = await silentWebSocket(port, '/echo');
      const frame = binaryFrame(64 * 1024);
      for (let i = 0; i < 1024; i += 1) socket.write(frame); // 64 MiB, echoed to a peer that never reads
      const gone = withTimeout(closed(socket), 'the server drops the connection');
      const peak = await peakRss(child, gone);
      await gone;
      t.diagnostic(`server RSS grew by ${((peak - before) / MIB).toFixed(1)} MiB`);
      assert.ok(peak - before < 8 * MIB, `RSS grew by ${((peak - before) / MIB).toFixed(1)} MiB`);
    } finally { child.kill(); }
  });

test('hostile: /chat, a reader that never reads while another sends 64 MiB: reader closed, server RSS grows < 8 MiB',
  { skip: !EXAMPLES || !LINUX }, async (t) => {
    const { child, port } = await startServer(['--write-timeout', '1000']);
    try {
      const before = rss(child);
      const reader = await silentWebSocket(port, '/chat');
      // Pings now and then, so the reader notices when the server drops it.
      const pinger = setInterval(() => { if (!reader.destroyed) reader.write(Buffer.from([0x89, 0x80, 0, 0, 0, 0])); }, 100);
      reader.once('close', () => clearInterval(pinger));
      const writer = new WebSocket(`ws://127.0.0.1:${port}/chat`, { perMessageDeflate: false });
      await withTimeout(new Promise((resolve, reject) => { writer.once('open', resolve); writer.once('error', reject); }), 'open');
      writer.on('message', () => {}); // the writer reads: only the silent reader falls behind
      const gone = withTimeout(closed(reader), 'the silent reader is closed');
      let sent = 0;
      const sending = (async () => {
        const message = Buffer.alloc(32 * 1024, 7); // the /chat cap
        const going = () => writer.readyState === WebSocket.OPEN && !reader.destroyed;
        for (let i = 0; i < 2048 && going(); i += 1) {
          writer.send(message);
          sent += message.length;
          while (writer.bufferedAmount > 4 * MIB && going()) await sleep(5);
        }
      })();
      const peak = await peakRss(child, Promise.all([gone, sending]));
      await gone;
      assert.equal(writer.readyState, WebSocket.OPEN, 'the writer, which reads, is not closed');
      writer.close();
      t.diagnostic(`${(sent / MIB).toFixed(1)} MiB broadcast; server RSS grew by ${((peak - before) / MIB).toFixed(1)} MiB`);
      assert.ok(peak - before < 8 * MIB, `RSS grew by ${((peak - before) / MIB).toFixed(1)} MiB`);
    } finally { child.kill(); }
  });

test('hostile: a slow request head gets 408 within --head-timeout, a slow body within --body-timeout',
  { skip: !EXAMPLES }, async () => {
    const { child, port } = await startServer(['--head-timeout', '300', '--body-timeout', '300']);
    try {
      const reply = (bytes) => withTimeout(new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
        let text = '';
        socket.on('data', (chunk) => { text += chunk; });
        socket.on('error', () => {});
        socket.once('close', () => resolve(text));
      }), 'reply');
      assert.match(await reply('GET / HTTP/1.1\r\nHost: a\r\n'), /^HTTP\/1\.1 408 /);
      assert.match(await reply('POST /engine.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc'), /^HTTP\/1\.1 408 /);
      assert.equal(await reply(''), '');
    } finally { child.kill(); }
  });
