/*
 * The memory table, in a process of its own (`node --expose-gc`): what one live session costs in
 * each store. Sessions are written through the store API exactly as the token service writes
 * them at login (createFamily), then rotated once (rotate, no grace window), so every family
 * holds a current and a previous token hash, as a session that is in use does.
 *
 * Every session has a 111-character Chrome User-Agent, as a browser login stores, unless
 * `withUserAgent: false` (a native app that sends none, or a shorter one).
 *
 * Messages: `memory-store { sessions, users }`, `redis-store { redisPort, sessions, users, withUserAgent }`,
 * and for bench/reliability.mjs, sessions that live `idleMs` and then expire:
 * `redis-expiry { redisPort, sessions, users, idleMs, timeoutMs }` and
 * `memory-store-expiry { sessions, users, idleMs }` (see each).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadLibrary, loadRedisStore } from './library.mjs';
import { scanTtls, usedMemory } from './redis.mjs';
import { serveIpc } from './procs.mjs';

const { MemoryTokenStore, shardKeyOf } = await loadLibrary();

const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const IDLE_MS = 14 * 86400e3;
const ABSOLUTE_MS = 90 * 86400e3;
const b64 = (bytes) => randomBytes(bytes).toString('base64url');
const hash = (value) => createHash('sha256').update(value).digest('base64url');

/**
 * Logs in and refreshes once, `sessions` times over `users` users, `inFlight` calls at a time; each
 * session dies `idleMs` after its login unless used again.
 */
async function fill(store, { sessions, users, inFlight = 256, withUserAgent = true, idleMs = IDLE_MS }) {
  let next = 0;
  const one = async (i) => {
    const now = Date.now();
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
        expiresAt: now + idleMs,
        absoluteExpiresAt: now + ABSOLUTE_MS,
        userAgent: withUserAgent ? USER_AGENT : undefined,
        ip: `198.51.100.${i % 250}`,
        tokenHash: first,
        proofHash,
        userRecord: JSON.stringify({ id: userId, roles: ['user'] }),
      },
      { maxSessionsPerUser: 100, now },
    );
    const result = await store.rotate({
      familyId,
      presentedHash: first,
      proofHash,
      successorHash: hash(b64(32)),
      now: now + 1,
      idleTtlMs: idleMs,
      graceMs: 0,
    });
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

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A RedisTokenStore on an emptied server that has already run every command the measurements
 * send: the baseline then holds the scripts and the per-command statistics Redis allocates on a
 * command's first call (about 20 KB each, with Redis 7's latency tracking), not only the after.
 */
async function emptyRedisStore(redisPort) {
  const loaded = await loadRedisStore();
  if (!loaded) throw new Error('the Redis store is not available in this build');
  const client = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true });
  try {
    await client.connect();
    await client.flushall();
    const store = new loaded.RedisTokenStore({ client });
    await fill(store, { sessions: 10, users: 10 });
    await familyEncoding(client);
    await scanTtls(redisPort);
    await client.dbsize();
    await client.flushall();
    return { client, store };
  } catch (error) {
    client.disconnect();
    throw error;
  }
}

/** The encoding of the first family hash SCAN finds ('listpack' when compact, else 'hashtable'). */
async function familyEncoding(client) {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', '*:f:*', 'COUNT', 1000);
    if (keys.length) return client.object('ENCODING', keys[0]);
    cursor = next;
  } while (cursor !== '0');
  return undefined;
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
    const { client, store } = await emptyRedisStore(redisPort);
    try {
      const before = await usedMemory(redisPort);
      const started = Date.now();
      await fill(store, { sessions, users, withUserAgent });
      const seconds = (Date.now() - started) / 1000;
      const after = await usedMemory(redisPort);
      const keys = await client.dbsize();
      return {
        result: {
          sessions,
          users,
          keys,
          usedMemoryBytes: after - before,
          bytesPerSession: (after - before) / sessions,
          fillSeconds: seconds,
        },
      };
    } finally {
      client.disconnect();
    }
  },

  /**
   * Redis: used_memory and DBSIZE before and after `sessions` sessions, the family hash encoding,
   * keys without a TTL (SCAN), then, once they have all expired by their Redis TTLs (DBSIZE back
   * to the baseline, polled for at most `timeoutMs`), used_memory again.
   */
  async 'redis-expiry'({ redisPort, sessions, users, idleMs, timeoutMs }) {
    const { client, store } = await emptyRedisStore(redisPort);
    try {
      const baseline = { bytes: await usedMemory(redisPort), keys: await client.dbsize() };
      const started = Date.now();
      await fill(store, { sessions, users, idleMs });
      const fillSeconds = (Date.now() - started) / 1000;
      const live = { bytes: await usedMemory(redisPort), keys: await client.dbsize() };
      // A family hash per session and an index per user: none may have expired during the fill.
      if (live.keys !== baseline.keys + sessions + users)
        throw new Error(`${live.keys} keys after the fill (${fillSeconds} s), not ${sessions + users}: raise idleMs`);
      const encoding = await familyEncoding(client);
      const { withoutTtl } = await scanTtls(redisPort);
      const deadline = Date.now() + timeoutMs;
      let keys = await client.dbsize();
      while (keys > baseline.keys && Date.now() < deadline) {
        await sleep(250);
        keys = await client.dbsize();
      }
      const expiredSeconds = (Date.now() - started) / 1000;
      // Redis shrinks its emptied key tables in its periodic cron (10 times a second): give it time.
      await sleep(1000);
      const after = { bytes: await usedMemory(redisPort), keys };
      return {
        result: {
          sessions,
          users,
          idleSeconds: idleMs / 1000,
          fillSeconds,
          baseline,
          live,
          after,
          encoding,
          keysWithoutTtl: withoutTtl,
          bytesPerSession: (live.bytes - baseline.bytes) / sessions,
          expiredSeconds,
          memoryAfterVsBaseline: after.bytes / baseline.bytes,
        },
      };
    } finally {
      client.disconnect();
    }
  },

  /**
   * MemoryTokenStore: V8 heap after a full GC before the store exists, with `sessions` sessions
   * held, and after they have expired (by the clock) and `store.sweep(now)` has dropped them, the
   * store itself still alive. Its timer is set to an hour so that only this sweep runs.
   */
  async 'memory-store-expiry'({ sessions, users, idleMs }) {
    if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
    const baseline = heapUsed();
    const store = new MemoryTokenStore({ sweepIntervalMs: 3_600_000 });
    const started = Date.now();
    await fill(store, { sessions, users, inFlight: 1, idleMs });
    const filled = Date.now();
    const held = store.size.families;
    const live = heapUsed();
    // The last session was written at `filled`: wait until it has expired too.
    await sleep(Math.max(0, filled + idleMs + 10 - Date.now()));
    const sweepStarted = performance.now();
    store.sweep(Date.now());
    const sweepMs = performance.now() - sweepStarted;
    const after = heapUsed();
    const left = store.size.families; // read after the GC: the store is still referenced there
    await store.close();
    return {
      result: {
        sessions,
        users,
        idleSeconds: idleMs / 1000,
        fillSeconds: (filled - started) / 1000,
        held,
        left,
        sweepMs,
        baseline,
        live,
        after,
        bytesPerSession: (live - baseline) / sessions,
        heapAfterVsBaseline: after / baseline,
      },
    };
  },
});

process.send({ type: 'ready' });
