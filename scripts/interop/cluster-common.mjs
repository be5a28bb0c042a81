// What the cluster tests share: free loopback ports, child processes started and waited for
// on a line of their stdout, a redis-server of their own, and the npm adapter of each mode.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import { withTimeout } from './socketio-cases.mjs';

export const REDIS = '/usr/bin/redis-server';

/** A port free on 127.0.0.1 now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `command` (remembered in `children`, for the test's cleanup; its stdin a pipe, so a
 * child that watches it ends with the test); resolves with the first
 * group of the first match of `pattern` on its stdout, within the cases' timeout.
 */
export function start(children, command, args, pattern, what) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return withTimeout(new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const found = pattern.exec(out);
      if (found) resolve(found[1]);
    });
    child.on('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  }), what);
}

/** A redis-server on a free loopback port, nothing saved; its URL. */
export async function startRedis(children) {
  const port = await freePort();
  await start(children, REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    /(Ready to accept connections)/, 'redis-server');
  return `redis://127.0.0.1:${port}`;
}

/**
 * The npm adapter of `mode` (`redis`, `redis-sharded`, `redis-streams`) on the connected
 * client `pub`; a subscriber it needs is connected and handed to `opened` (to quit after).
 */
export async function nodeAdapter(pub, mode, opened = () => {}) {
  if (mode === 'redis-streams') return createStreamsAdapter(pub);
  const sub = pub.duplicate();
  await sub.connect();
  opened(sub);
  return mode === 'redis-sharded' ? createShardedAdapter(pub, sub) : createAdapter(pub, sub);
}
