/*
 * Private redis-server processes for the benchmark (the approach of test/redis/servers.ts): each on
 * a free 127.0.0.1 port (never 6379), no persistence unless asked, in a temp dir deleted at the
 * end, started by this run and stopped only by it. Also the Redis numbers the tables need: INFO
 * commandstats (round trips), INFO memory and the keys' TTLs.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { kill, spawnPinned, stop } from './procs.mjs';

/** `redis-server --version`, or undefined when redis-server or redis-cli is not on PATH. */
export function redisVersion() {
  const server = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  const cli = spawnSync('redis-cli', ['--version'], { encoding: 'utf8' });
  if (server.error || cli.error) return undefined;
  return /v=(\S+)/.exec(server.stdout)?.[1] ?? server.stdout.trim();
}

function bindAndRelease(port) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address();
      server.close(() => resolve(bound));
    });
  });
}

/** A free port on 127.0.0.1 other than 6379; with `busPortFree`, port + 10000 is free too (Cluster bus). */
async function freePort({ busPortFree = false } = {}) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bindAndRelease(0);
    if (port === 6379) continue;
    if (!busPortFree) return port;
    if (port + 10_000 <= 65_535 && (await bindAndRelease(port + 10_000).catch(() => 0)) !== 0) return port;
  }
  throw new Error('no free port on 127.0.0.1');
}

/** A one-shot connection that neither retries nor logs: its errors reach the caller's promise. */
function quietClient(port) {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  return client;
}

async function waitForPing(port, child, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited (${child.exitCode})`);
    const client = quietClient(port);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not yet
    } finally {
      client.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts one redis-server pinned to `cpu`; `{ port, stop(), kill() }`. `args` come after the
 * defaults and override them (`--appendonly yes`). `port` reuses a port, with `dir` the same
 * data: a restart after `kill()` (SIGKILL, a crash). A given `dir` is the caller's to delete.
 */
export async function startRedis(cpu, { dir, port: fixedPort, args = [], busPortFree = false } = {}) {
  if (fixedPort === 6379) throw new Error('port 6379 is never used: it may be a real Redis');
  const port = fixedPort ?? (await freePort({ busPortFree }));
  const ownDir = dir ?? mkdtempSync(join(tmpdir(), 'ert-bench-redis-'));
  const child = spawnPinned(
    cpu,
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      ownDir,
      '--logfile',
      join(ownDir, `redis-${port}.log`),
      ...args,
    ],
    { stdio: 'ignore' },
  );
  try {
    await waitForPing(port, child);
  } catch (error) {
    await stop(child);
    throw error;
  }
  return {
    port,
    async stop() {
      await stop(child);
      if (!dir) rmSync(ownDir, { recursive: true, force: true });
    },
    kill: () => kill(child),
  };
}

/** A 3-master Redis Cluster (no replicas): `{ ports, stop() }`. */
export async function startCluster(cpu, masters = 3) {
  const dir = mkdtempSync(join(tmpdir(), 'ert-bench-cluster-'));
  const servers = [];
  const stopAll = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      servers.push(
        await startRedis(cpu, {
          dir,
          busPortFree: true,
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${i}.conf`), '--cluster-node-timeout', '2000'],
        }),
      );
    }
    const ports = servers.map((server) => server.port);
    await new Promise((resolve, reject) =>
      execFile(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'],
        { timeout: 30_000 },
        (error, stdout, stderr) =>
          error ? reject(new Error(`redis-cli --cluster create failed: ${error.message}\n${stdout}${stderr}`)) : resolve(),
      ),
    );
    const deadline = Date.now() + 15_000;
    for (;;) {
      const states = await Promise.all(ports.map((port) => info(port, 'CLUSTER', 'INFO')));
      if (
        states.every(
          (text) =>
            text.includes('cluster_state:ok') && text.includes(`cluster_known_nodes:${masters}`) && text.includes('cluster_slots_ok:16384'),
        )
      )
        break;
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { ports, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** One command on a short-lived connection (INFO, CLUSTER INFO, FLUSHALL ...), as text. */
export async function info(port, ...command) {
  const client = quietClient(port);
  try {
    await client.connect();
    const [name, ...args] = command.length ? command : ['INFO'];
    return String(await client.call(name, ...args));
  } finally {
    client.disconnect();
  }
}

/** `{ command: calls }` from INFO commandstats, summed over `ports`. */
export async function commandCalls(ports) {
  const calls = {};
  for (const port of ports) {
    const text = await info(port, 'INFO', 'commandstats');
    for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]] = (calls[match[1]] ?? 0) + Number(match[2]);
  }
  return calls;
}

/** Commands the benchmark itself sends, or ioredis sends for housekeeping: not round trips of a request. */
const HOUSEKEEPING = new Set([
  'info',
  'cluster',
  'command',
  'ping',
  'client',
  'hello',
  'select',
  'readonly',
  'script',
  'flushall',
  'memory',
  'dbsize',
  'monitor',
]);

/** The difference between two `commandCalls` (commands that scripts run are counted too). */
export function callsDelta(before, after) {
  const delta = {};
  for (const [command, calls] of Object.entries(after)) {
    const added = calls - (before[command] ?? 0);
    if (added > 0) delta[command] = added;
  }
  return delta;
}

/**
 * Counts the commands that clients send to the servers on `ports` while `fn` runs, with MONITOR:
 * each is one round trip (the store does not pipeline). Commands that a Lua script runs show up
 * in MONITOR as `lua` and are counted apart. Returns `{ roundTrips, commands, scriptCommands, housekeeping }`.
 */
export async function countRoundTrips(ports, fn) {
  const commands = {};
  const scriptCommands = {};
  const housekeeping = {};
  let roundTrips = 0;
  let lastEvent = Date.now();
  const monitors = [];
  try {
    for (const port of ports) {
      // A client in monitor mode from the start, with its error listener attached first: with
      // steady traffic (the heartbeat PINGs of revocation: 'cached') a MONITOR line can arrive in
      // the same read as MONITOR's OK, before ioredis has switched to monitoring, and
      // `client.monitor()` rejects with "Command queue state error". Such a line is lost.
      const monitor = new Redis({
        port,
        host: '127.0.0.1',
        monitor: true,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      monitor.on('error', () => {});
      const monitoring = new Promise((resolve) => monitor.once('monitoring', resolve));
      await monitor.connect();
      await monitoring;
      monitor.on('monitor', (_time, args, source) => {
        const name = String(args[0]).toLowerCase();
        if (source === 'lua') {
          scriptCommands[name] = (scriptCommands[name] ?? 0) + 1;
        } else if (!HOUSEKEEPING.has(name)) {
          commands[name] = (commands[name] ?? 0) + 1;
          roundTrips++;
        } else {
          // Not a sign that the load's commands are still arriving: the heartbeat PINGs of
          // revocation: 'cached' never stop, so waiting for them to go quiet would wait for ever.
          housekeeping[name] = (housekeeping[name] ?? 0) + 1;
          return;
        }
        lastEvent = Date.now();
      });
      monitors.push(monitor);
    }
    // MONITOR has no acknowledgement of its own: make sure every stream is flowing first.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const value = await fn();
    // Let the MONITOR streams catch up with what was sent.
    while (Date.now() - lastEvent < 300) await new Promise((resolve) => setTimeout(resolve, 100));
    return { value, roundTrips, commands, scriptCommands, housekeeping };
  } finally {
    for (const monitor of monitors) monitor.disconnect();
  }
}

/** `used_memory` in bytes. */
export async function usedMemory(port) {
  const text = await info(port, 'INFO', 'memory');
  return Number(/^used_memory:(\d+)/m.exec(text)[1]);
}

/** SCANs every key and asks each its PTTL: `{ keys, withoutTtl }` (PTTL -1: no expiry set). */
export async function scanTtls(port) {
  const client = quietClient(port);
  const keys = new Set();
  let withoutTtl = 0;
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
      cursor = next;
      const fresh = batch.filter((key) => !keys.has(key)); // SCAN may return a key twice
      if (fresh.length === 0) continue;
      const pipeline = client.pipeline();
      for (const key of fresh) pipeline.pttl(key);
      for (const [error, ttl] of await pipeline.exec()) {
        if (error) throw error;
        if (ttl === -1) withoutTtl++;
      }
      for (const key of fresh) keys.add(key);
    } while (cursor !== '0');
    return { keys: keys.size, withoutTtl };
  } finally {
    client.disconnect();
  }
}
