/*
 * A private PostgreSQL server for the benchmark (the approach of test/postgres/server.ts): initdb
 * in a temp folder, then `postgres` on a free 127.0.0.1 port with no Unix socket (never the
 * machine's own server on 5432), as the `postgres` user when this runs as root (PostgreSQL refuses
 * root), started by this run and stopped only by it. pg_stat_statements is loaded with
 * `track = all`, so the tables can count the statements a request sends (top level: round trips)
 * apart from those the store's functions run inside them (nested).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { spawnPinned } from './procs.mjs';

/** Settings besides the defaults. synchronous_commit=off: a commit does not wait for its WAL flush (see RESULTS.md). */
const SETTINGS = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track': 'all',
  'pg_stat_statements.max': '1000',
  synchronous_commit: 'off',
  max_connections: '100',
};

/** The folder of initdb and postgres (ERT_PG_BIN, the newest /usr/lib/postgresql/N/bin, or PATH), or undefined. */
export function postgresBinDir() {
  const has = (dir) => dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
  if (process.env.ERT_PG_BIN) return has(process.env.ERT_PG_BIN) ? process.env.ERT_PG_BIN : undefined;
  const debian = '/usr/lib/postgresql';
  const versions = existsSync(debian)
    ? readdirSync(debian)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return [...versions.map((v) => join(debian, v, 'bin')), ...(process.env.PATH ?? '').split(':')].find(has);
}

/** `postgres --version`'s number, or undefined without the binaries. */
export function postgresVersion() {
  const bin = postgresBinDir();
  if (!bin) return undefined;
  const out = spawnSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' });
  return /(\d+(\.\d+)*)/.exec(out.stdout ?? '')?.[1];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `{ uid, gid }` of the postgres user when we are root, else undefined (run as ourselves). */
function serverUser() {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export function connection(port) {
  return { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
}

/** Starts a server pinned to `cpu`: `{ port, stop() }`. */
export async function startPostgres(cpu) {
  const bin = postgresBinDir();
  if (!bin) throw new Error('initdb and postgres not found');
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'ert-bench-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
    encoding: 'utf8',
    ...user,
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.error?.message ?? init.stderr}`);
  }
  const port = await freePort();
  const log = openSync(join(dir, 'postgres.log'), 'a');
  const args = ['-D', data, '-c', `port=${port}`, ...Object.entries(SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
  const child = spawnPinned(cpu, join(bin, 'postgres'), args, { stdio: ['ignore', log, log], ...user });
  closeSync(log);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT'); // fast shutdown: closes the connections (SIGTERM would wait for them)
      const timer = setTimeout(() => child.kill('SIGQUIT'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}); see its log`);
      try {
        await query(port, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`postgres on port ${port} did not answer: ${error.message}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, stop };
}

/** One statement on a short-lived connection. */
export async function query(port, text, values) {
  const client = new pg.Client({ ...connection(port), connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.query(text, values)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The statements pg_stat_statements saw since its last reset, housekeeping left out. */
async function statementCalls(port) {
  const rows = await query(
    port,
    `SELECT toplevel, calls, query FROM pg_stat_statements
     WHERE query NOT ILIKE '%pg_stat_statements%' AND query NOT ILIKE 'DO $migrate$%' AND query <> 'SELECT $1'`,
  );
  const calls = { topLevel: 0, nested: 0, byQuery: [] };
  for (const row of rows) {
    calls[row.toplevel ? 'topLevel' : 'nested'] += Number(row.calls);
    calls.byQuery.push({ topLevel: row.toplevel, calls: Number(row.calls), query: row.query.replace(/\s+/g, ' ').slice(0, 80) });
  }
  return calls;
}

/**
 * Counts the statements run while `fn` runs: `{ value, topLevel, nested, byQuery }`. Top-level
 * statements are the ones clients sent (each one round trip); nested ones run inside functions.
 */
export async function countStatements(port, fn) {
  await query(port, 'SELECT pg_stat_statements_reset()');
  const value = await fn();
  return { value, ...(await statementCalls(port)) };
}

/**
 * Each store method called `calls` times on its own (through the built library, on a pool whose
 * `query` is counted too): round trips and statements per call, from the client's side and from
 * pg_stat_statements.
 */
export async function statementsPerOperation(port, { PostgresTokenStore, shardKeyOf }, calls = 200) {
  const pool = new pg.Pool({ ...connection(port), max: 4 });
  let sent = 0;
  const counted = { query: (text, values) => (sent++, pool.query(text, values)) };
  const store = new PostgresTokenStore({ pool: counted, tableName: 'bench_statements' });
  await store.migrate();
  const now = Date.now();
  const DAY = 86_400_000;
  const families = Array.from({ length: calls }, (_, i) => {
    const userId = `stmt-user-${i}`;
    const hash = (s) => `${s}-${i}`.padEnd(43, 'x');
    return {
      familyId: `${shardKeyOf(userId)}${String(i).padStart(22, '0')}`,
      userId,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now + DAY,
      absoluteExpiresAt: now + 30 * DAY,
      userAgent: 'bench',
      ip: '127.0.0.1',
      tokenHash: hash('t0'),
      proofHash: hash('p'),
      userRecord: JSON.stringify({ id: userId }),
      successor: hash('t1'),
    };
  });
  const operations = [
    ['createFamily', (f) => store.createFamily(f, { maxSessionsPerUser: 5, now })],
    [
      'rotate (the current token)',
      (f) =>
        store.rotate({
          familyId: f.familyId,
          presentedHash: f.tokenHash,
          proofHash: f.proofHash,
          successorHash: f.successor,
          sealedSuccessor: 'sealed',
          now,
          idleTtlMs: DAY,
          graceMs: 10_000,
        }),
    ],
    [
      'rotate (retry within the grace window)',
      (f) =>
        store.rotate({
          familyId: f.familyId,
          presentedHash: f.tokenHash,
          proofHash: f.proofHash,
          successorHash: `${f.successor}2`,
          now,
          idleTtlMs: DAY,
          graceMs: 10_000,
        }),
    ],
    ['isAccessTokenRevoked', (f) => store.isAccessTokenRevoked({ familyId: f.familyId, jti: `jti-${f.userId}`, userId: f.userId, now })],
    [
      'denylistAccessToken',
      (f) => store.denylistAccessToken({ familyId: f.familyId, jti: `jti-${f.userId}`, expiresAt: now + 60_000, now }),
    ],
    ['listFamilies', (f) => store.listFamilies(f.userId, now)],
    ['revokeFamily', (f) => store.revokeFamily(f.familyId, { userId: f.userId, now })],
    ['revokeUser', (f) => store.revokeUser(f.userId, now)],
  ];
  const rows = [];
  try {
    for (const [name, call] of operations) {
      sent = 0;
      const counts = await countStatements(port, async () => {
        for (const family of families) await call(family);
      });
      rows.push({ name, calls, roundTrips: sent / calls, topLevel: counts.topLevel / calls, nested: counts.nested / calls });
    }
  } finally {
    await pool.end();
  }
  return rows;
}
