/*
 * The memory table, in a process of its own (`node --expose-gc`): what one live session costs in
 * each store. Sessions are written through the store API exactly as the token service writes
 * them at login (createFamily), then rotated once (rotate, no grace window), so every family
 * holds a current and a previous token hash, as a session that is in use does.
 *
 * Every session has a 111-character Chrome User-Agent, as a browser login stores, unless
 * `withUserAgent: false` (a native app that sends none, or a shorter one).
 *
 * Messages: `memory-store { sessions, users }`, `redis-store { redisPort, sessions, users, withUserAgent }`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadLibrary, loadRedisStore } from './library.mjs';
import { usedMemory } from './redis.mjs';
import { serveIpc } from './procs.mjs';

const { MemoryTokenStore, shardKeyOf } = await loadLibrary();

const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const IDLE_MS = 14 * 86400e3;
const ABSOLUTE_MS = 90 * 86400e3;
const b64 = (bytes) => randomBytes(bytes).toString('base64url');
const hash = (value) => createHash('sha256').update(value).digest('base64url');

/** Logs in and refreshes once, `sessions` times over `users` users, `inFlight` calls at a time. */
async function fill(store, { sessions, users, inFlight = 256, withUserAgent = true }) {
  const now = Date.now();
  let next = 0;
  const one = async (i) => {
    const userId = `user-${String(i % users).padStart(6, '0')}`;
    const familyId = shardKeyOf(userId) + b64(16);
    const proofHash = hash(b64(16));
    const first = hash(b64(32));
    await store.createFamily(
      {
        familyId,
        userId,
        createdAt: now,
        lastUsedAt: now,
        expiresAt: now + IDLE_MS,
        absoluteExpiresAt: now + ABSOLUTE_MS,
        userAgent: withUserAgent ? USER_AGENT : undefined,
        ip: `198.51.100.${i % 250}`,
        tokenHash: first,
        proofHash,
        subject: JSON.stringify({ id: userId, roles: ['user'] }),
      },
      { maxSessionsPerUser: 100, now },
    );
    const result = await store.rotate({ familyId, presentedHash: first, proofHash, successorHash: hash(b64(32)), now: now + 1, idleTtlMs: IDLE_MS, graceMs: 0 });
    if (result.outcome !== 'rotated') throw new Error(`rotate answered ${result.outcome}`);
  };
  const worker = async () => {
    while (next < sessions) await one(next++);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

function heapUsed() {
  for (let i = 0; i < 4; i++) globalThis.gc();
  return process.memoryUsage().heapUsed;
}

serveIpc({
  async 'memory-store'({ sessions, users }) {
    if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
    const before = heapUsed();
    const store = new MemoryTokenStore();
    await fill(store, { sessions, users, inFlight: 1 });
    const after = heapUsed();
    const result = { sessions, users, heapBytes: after - before, bytesPerSession: (after - before) / sessions };
    await store.close?.();
    return { result };
  },

  async 'redis-store'({ redisPort, sessions, users, withUserAgent = true }) {
    const loaded = await loadRedisStore();
    if (!loaded) throw new Error('the Redis store is not available in this build');
    const client = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true });
    await client.connect();
    try {
      await client.flushall();
      const store = new loaded.RedisTokenStore({ client });
      // Load the scripts and create the first keys before the baseline is read.
      await fill(store, { sessions: 10, users: 10 });
      await client.flushall();
      const before = await usedMemory(redisPort);
      const started = Date.now();
      await fill(store, { sessions, users, withUserAgent });
      const seconds = (Date.now() - started) / 1000;
      const after = await usedMemory(redisPort);
      const keys = await client.dbsize();
      return { result: { sessions, users, keys, usedMemoryBytes: after - before, bytesPerSession: (after - before) / sessions, fillSeconds: seconds } };
    } finally {
      client.disconnect();
    }
  },
});

process.send({ type: 'ready' });
