#!/usr/bin/env node
/*
 * `npm run bench:reliability` (repository root): builds the library, installs bench/'s own
 * dependencies, and shows the guarantees in the README ("How rotation and reuse detection work") holding under a crash, a race and many
 * sessions, with one table per part:
 *
 *   outage    HTTP load on an app whose Redis is killed (SIGKILL) and restarted: status codes,
 *             wrongful revocations, time to the first 503 and back to the first 200
 *   rotation  1,000 trials of 50 parallel refreshes of one token: exactly one success each, and
 *             the family revoked
 *   memory    Redis bytes per live session, keys without a TTL, Redis memory and the memory
 *             store's heap once every session has expired, against the baseline before
 *
 * The app (bench/lib/server.mjs) and the memory worker run on one CPU, the virtual clients
 * (bench/lib/clients.mjs) and redis-server on the other (`taskset`, when it exists). Every
 * redis-server is a private one on a free 127.0.0.1 port (never 6379), in a temp dir; nothing
 * leaves loopback. Everything started is stopped at the end, on failure, on Ctrl-C, and when the
 * run passes its time limit (9 minutes). It takes about 3 to 4 minutes on 2 cores.
 *
 * Environment: RELIABILITY_ONLY, a comma-separated subset of the parts (default: all three).
 *
 * Writes bench/results/reliability.json (summary, guarantees, tables) and reliability.md (what it
 * printed). Exits 1 when a guarantee is not met.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLibrary, loadRedisStore } from './lib/library.mjs';
import { machineFacts } from './lib/machine.mjs';
import { placement, shutdownHandler, startNode } from './lib/procs.mjs';
import { startRedis } from './lib/redis.mjs';
import { fmt, fmtInt, fmtRatio, max, min, percentile, table } from './lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const PARTS = ['outage', 'rotation', 'memory'];
const ONLY = process.env.RELIABILITY_ONLY ? process.env.RELIABILITY_ONLY.split(',').map((name) => name.trim()) : PARTS;
const TIME_LIMIT_MS = 9 * 60_000;

const log = (...args) => console.error('[reliability]', ...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const started = Date.now();
const { cleanups, cleanup, interrupted } = shutdownHandler(log);

/** A temp dir deleted at the end, also on failure and Ctrl-C (a Redis server's data and log). */
function tempDir(name) {
  const dir = mkdtempSync(join(tmpdir(), `ert-reliability-${name}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startApp(place, config) {
  const app = await startNode(place.server, join(here, 'lib', 'server.mjs'), {
    args: ['reliability'],
    env: { BENCH_CONFIG: JSON.stringify(config) },
  });
  return { ...app, baseUrl: `http://127.0.0.1:${app.ready.port}` };
}

// ---------------------------------------------------------------------------------------------
// Part 1, outage under load. README guarantee: "a store error is never mistaken for reuse: a timeout or a
// lost connection gives 503 and revokes nothing; a rotation that the store ran but whose answer
// was lost, retried, is recognised as the same rotation". The app is set up as the README
// recommends on Redis (recommendedRedisOptions; reuseGraceSeconds: 10 for clients on unreliable
// links) against a redis-server with AOF and fsync on every write, so that sessions survive the
// crash. 50 clients, each with its own session, send GET /me (revocation checks on, so every
// request needs Redis) and every 10th request a refresh; a client retries a refresh that got 503
// with the same token, as a client on a bad link does. Redis is killed with SIGKILL mid-load and
// restarted on the same port and data. Since no client ever replays a token, any 401 is a
// family revoked by the outage: there must be none, and no 5xx but 503.

const OUTAGE = { clients: 50, refreshEvery: 10, backoffMs: 100, healthyS: 10, downS: 5, recoveryS: 10, reuseGraceSeconds: 10 };

async function outagePart(ctx) {
  const { place, secret } = ctx;
  const dir = tempDir('aof');
  const persistence = ['--appendonly', 'yes', '--appendfsync', 'always'];
  let redis = await startRedis(place.redis, { dir, args: persistence });
  const app = await startApp(place, { secret, redisPort: redis.port, reuseGraceSeconds: OUTAGE.reuseGraceSeconds });
  const clients = await startNode(place.loader, join(here, 'lib', 'clients.mjs'));
  try {
    await clients.request({ type: 'outage-login', baseUrl: app.baseUrl, clients: OUTAGE.clients });
    log(
      `outage: ${OUTAGE.clients} clients, ${OUTAGE.healthyS} s healthy, Redis killed for ${OUTAGE.downS} s, ${OUTAGE.recoveryS} s after its restart`,
    );
    const loadStarted = Date.now();
    const run = clients.request({ type: 'outage-run', refreshEvery: OUTAGE.refreshEvery, backoffMs: OUTAGE.backoffMs }, 120_000);
    run.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
    await sleep(OUTAGE.healthyS * 1000);
    const killedAt = Date.now();
    await redis.kill();
    await sleep(OUTAGE.downS * 1000);
    const restartedAt = Date.now();
    redis = await startRedis(place.redis, { dir, port: redis.port, args: persistence });
    const redisBackAt = Date.now();
    await sleep(restartedAt + OUTAGE.recoveryS * 1000 - Date.now());
    await clients.request({ type: 'outage-stop' });
    const { records, final, wrongful } = await run;
    const { counters } = await app.request({ type: 'stats' });
    return outageResults({ records, final, wrongful, counters, loadStarted, killedAt, restartedAt, redisBackAt });
  } finally {
    await Promise.all([app.stop(), clients.stop()]);
    await redis.stop();
  }
}

function outageResults({ records, final, wrongful, counters, loadStarted, killedAt, restartedAt, redisBackAt }) {
  const lastAnswer = records.time.reduce((last, time) => Math.max(last, time), 0);
  const phase = (label, from, to) => {
    const counts = { requests: 0, ok: 0, unauthorized: 0, unavailable: 0, other5xx: 0, noAnswer: 0, otherStatus: 0 };
    const latencies = [];
    for (let i = 0; i < records.time.length; i++) {
      if (records.time[i] < from || records.time[i] >= to) continue;
      const status = records.status[i];
      counts.requests++;
      latencies.push(records.ms[i]);
      if (status === 200) counts.ok++;
      else if (status === 401) counts.unauthorized++;
      else if (status === 503) counts.unavailable++;
      else if (status >= 500) counts.other5xx++;
      else if (status === 0) counts.noAnswer++;
      else counts.otherStatus++;
    }
    return {
      label,
      seconds: (Math.min(to, lastAnswer) - from) / 1000,
      ...counts,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  };
  const firstAfter = (at, status) => {
    let first = Infinity;
    for (let i = 0; i < records.time.length; i++)
      if (records.status[i] === status && records.time[i] >= at && records.time[i] < first) first = records.time[i];
    return first === Infinity ? null : (first - at) / 1000;
  };
  const phases = [
    phase('healthy', loadStarted, killedAt),
    phase('Redis down (killed, not yet restarted)', killedAt, restartedAt),
    phase('after the restart', restartedAt, Infinity),
    phase('all', loadStarted, Infinity),
  ];
  const revokedClients = new Set(wrongful.map((event) => event.client));
  final.forEach((status, i) => status !== 200 && revokedClients.add(`outage-${i}`));
  const perSecond = [];
  for (let i = 0; i < records.time.length; i++) {
    const second = Math.floor((records.time[i] - loadStarted) / 1000);
    perSecond[second] ??= { second, requests: 0, ok: 0, unauthorized: 0, unavailable: 0, other: 0 };
    const bucket = perSecond[second];
    const status = records.status[i];
    bucket.requests++;
    bucket[status === 200 ? 'ok' : status === 401 ? 'unauthorized' : status === 503 ? 'unavailable' : 'other']++;
  }
  return {
    settings: OUTAGE,
    phases,
    killedAtS: (killedAt - loadStarted) / 1000,
    restartedAtS: (restartedAt - loadStarted) / 1000,
    secondsToFirst503: firstAfter(killedAt, 503),
    secondsToRedisPing: (redisBackAt - restartedAt) / 1000,
    secondsToRecovery: firstAfter(restartedAt, 200),
    wrongfulRevocations: revokedClients.size,
    wrongful401s: wrongful,
    finalRefreshes: { ok: final.filter((status) => status === 200).length, of: final.length },
    appCounters: counters,
    perSecond: perSecond.filter(Boolean),
  };
}

// ---------------------------------------------------------------------------------------------
// Part 2, rotation atomicity. README guarantee: "N parallel /refresh calls with one token produce exactly
// one success (with reuseGraceSeconds: 0); all others get 401, and the family is revoked".
// 1,000 trials, each a fresh login and then 50 concurrent POST /auth/refresh with its token over
// 50 keep-alive connections, so that they reach Redis together; then GET /me with the login's
// access token (revocation checks on) tells whether the family was revoked.

const ROTATION = { trials: 1000, parallel: 50 };

async function rotationPart(ctx) {
  const { place, secret } = ctx;
  const redis = await startRedis(place.redis, { dir: tempDir('redis') });
  const app = await startApp(place, { secret, redisPort: redis.port, reuseGraceSeconds: 0 });
  const clients = await startNode(place.loader, join(here, 'lib', 'clients.mjs'));
  try {
    log(`rotation: ${ROTATION.trials} trials of ${ROTATION.parallel} parallel refreshes of one token`);
    const result = await clients.request({ type: 'rotation-trials', baseUrl: app.baseUrl, ...ROTATION }, 240_000);
    const { counters } = await app.request({ type: 'stats' });
    const histogram = {};
    for (const count of result.successes) histogram[count] = (histogram[count] ?? 0) + 1;
    return {
      settings: ROTATION,
      requests: ROTATION.trials * (ROTATION.parallel + 2),
      seconds: result.seconds,
      minSuccesses: min(result.successes),
      maxSuccesses: max(result.successes),
      successesHistogram: histogram,
      refreshStatuses: result.refreshStatuses,
      familyNotRevoked: ROTATION.trials - (result.meStatuses[401] ?? 0),
      meStatuses: result.meStatuses,
      appCounters: counters,
    };
  } finally {
    await Promise.all([app.stop(), clients.stop(), redis.stop()]);
  }
}

// ---------------------------------------------------------------------------------------------
// Part 3, memory. README guarantee: "every record the store writes expires by itself (Redis keys all carry
// a TTL); memory and Redis usage are bounded by the number of live sessions". Sessions are
// written through the store API as a login and one refresh write them (bench/lib/memory.mjs),
// with a browser's 111-byte User-Agent and a 30 s idle TTL (longer than a fill takes on a busy
// machine). Redis: used_memory per live session, then SCAN for keys without a TTL, then
// used_memory and DBSIZE once the TTLs have removed every key, against the baseline taken
// before; once with Redis's defaults and once with hash-max-listpack-value 256, the server
// setting that keeps a hash with values up to 256 bytes in the compact listpack encoding. The
// memory store: the V8 heap of 1,000,000 sessions, then after they expired and one sweep,
// against the heap before the store existed.

const MEMORY = { redisSessions: 100_000, memorySessions: 1_000_000, idleMs: 30_000, expiryTimeoutMs: 60_000 };

async function memoryPart(ctx) {
  const { place } = ctx;
  const worker = await startNode(place.server, join(here, 'lib', 'memory.mjs'), { nodeArgs: ['--expose-gc', '--max-old-space-size=4096'] });
  const rows = [];
  try {
    for (const [name, label, args] of [
      ['redis-default', 'RedisTokenStore, Redis defaults', []],
      ['redis-listpack-256', 'RedisTokenStore, hash-max-listpack-value 256', ['--hash-max-listpack-value', '256']],
    ]) {
      const redis = await startRedis(place.redis, { dir: tempDir('redis'), args });
      try {
        log(`memory: ${fmtInt(MEMORY.redisSessions)} sessions in Redis (${label}), then waiting for them to expire`);
        const { result } = await worker.request(
          {
            type: 'redis-expiry',
            redisPort: redis.port,
            sessions: MEMORY.redisSessions,
            users: MEMORY.redisSessions / 2,
            idleMs: MEMORY.idleMs,
            timeoutMs: MEMORY.expiryTimeoutMs,
          },
          180_000,
        );
        rows.push({ name, label, ...result });
      } finally {
        await redis.stop();
      }
    }
    log(`memory: ${fmtInt(MEMORY.memorySessions)} sessions in a MemoryTokenStore, then a sweep after they expired`);
    const { result } = await worker.request(
      { type: 'memory-store-expiry', sessions: MEMORY.memorySessions, users: MEMORY.memorySessions / 2, idleMs: MEMORY.idleMs },
      300_000,
    );
    rows.push({ name: 'memory-store', label: 'MemoryTokenStore, V8 heap after GC', ...result });
    return { settings: MEMORY, rows };
  } finally {
    await worker.stop();
  }
}

// ---------------------------------------------------------------------------------------------

const PART_RUNNERS = { outage: outagePart, rotation: rotationPart, memory: memoryPart };
const seconds = (value, digits = 2) => (value === null || value === undefined ? 'none' : `${fmt(value, digits)} s`);

function render({ outage, rotation, memory }) {
  const out = [];
  if (outage) {
    const { settings } = outage;
    out.push(
      `### Outage under load: Redis killed (SIGKILL) at ${fmt(outage.killedAtS, 1)} s and restarted ${settings.downS} s later, ${settings.clients} clients, \`reuseGraceSeconds: ${settings.reuseGraceSeconds}\` (the README's setting for clients on unreliable links)`,
      '',
      `App: the router on \`RedisTokenStore\` with \`recommendedRedisOptions\`, \`requireAccessToken({ store })\` on GET /me, refresh tokens in the body; redis-server with \`--appendonly yes --appendfsync always\`. Each client: GET /me, every ${settings.refreshEvery}th request a refresh with its latest token; after a 503 it waits ${settings.backoffMs} ms and retries (a refresh with the same token).`,
      '',
      table(
        ['phase', 'seconds', 'requests', '200', '401', '503', 'other 5xx', 'other or no answer', 'p50 ms', 'p99 ms'],
        outage.phases.map((row) => [
          row.label,
          fmt(row.seconds, 1),
          fmtInt(row.requests),
          fmtInt(row.ok),
          fmtInt(row.unauthorized),
          fmtInt(row.unavailable),
          fmtInt(row.other5xx),
          fmtInt(row.noAnswer + row.otherStatus),
          fmt(row.p50Ms),
          fmt(row.p99Ms),
        ]),
      ),
      '',
      table(
        ['figure', 'value', 'must be'],
        [
          [
            'families revoked without a replay (clients that got a 401, or whose latest token failed at the end)',
            fmtInt(outage.wrongfulRevocations),
            '0',
          ],
          ['clients whose latest token refreshed after the run', `${outage.finalRefreshes.ok} of ${outage.finalRefreshes.of}`, 'all'],
          ['other 5xx', fmtInt(outage.phases.at(-1).other5xx), '0'],
          ['time to the first 503 after the kill', seconds(outage.secondsToFirst503, 3), ''],
          ['time to the first 200 after the restart', seconds(outage.secondsToRecovery), ''],
          ['  of which Redis starting (until it answered PING)', seconds(outage.secondsToRedisPing), ''],
          ['p99 latency while Redis was down', `${fmt(outage.phases[1].p99Ms)} ms`, ''],
          [
            'rotations / grace retries / reuse detected (app hooks)',
            `${fmtInt(outage.appCounters.rotated)} / ${fmtInt(outage.appCounters.retried)} / ${fmtInt(outage.appCounters.reuseDetected)}`,
            'reuse 0',
          ],
        ],
      ),
      '',
    );
  }
  if (rotation) {
    const { settings } = rotation;
    const list = (counts) =>
      Object.entries(counts)
        .map(([key, count]) => `${key}: ${fmtInt(count)}`)
        .join(', ');
    out.push(
      `### Rotation atomicity: ${fmtInt(settings.trials)} trials, each a login and ${settings.parallel} parallel refreshes of its one token, \`reuseGraceSeconds: 0\`, Redis`,
      '',
      table(
        ['figure', 'value', 'must be'],
        [
          ['successes per trial, min', fmtInt(rotation.minSuccesses), '1'],
          ['successes per trial, max', fmtInt(rotation.maxSuccesses), '1'],
          [
            'trials whose family was not revoked (GET /me with its access token did not answer 401)',
            fmtInt(rotation.familyNotRevoked),
            '0',
          ],
          ['refresh answers by status', list(rotation.refreshStatuses), '200 and 401 only'],
          ['reuse detected (app hook), one per trial', fmtInt(rotation.appCounters.reuseDetected), fmtInt(settings.trials)],
          ['time, requests per second', `${fmt(rotation.seconds, 1)} s, ${fmtInt(rotation.requests / rotation.seconds)} req/s`, ''],
        ],
      ),
      '',
    );
  }
  if (memory) {
    const { settings, rows } = memory;
    const mib = (bytes) => `${fmt(bytes / 2 ** 20, 1)} MiB`;
    out.push(
      `### Memory: sessions written through the store API (login + one refresh, 111-byte User-Agent, ${settings.idleMs / 1000} s idle TTL), then left to expire`,
      '',
      table(
        [
          'store',
          'sessions',
          'bytes / live session',
          'family hash',
          'keys without TTL',
          'keys: baseline / live / after expiry',
          'memory: baseline / after expiry',
          'after / baseline',
          'gone after',
        ],
        rows.map((row) =>
          row.name === 'memory-store'
            ? [
                row.label,
                fmtInt(row.sessions),
                fmtInt(row.bytesPerSession),
                '',
                '',
                `families: 0 / ${fmtInt(row.held)} / ${fmtInt(row.left)}`,
                `${mib(row.baseline)} / ${mib(row.after)}`,
                fmtRatio(row.heapAfterVsBaseline),
                `sweep ${fmtInt(row.sweepMs)} ms`,
              ]
            : [
                row.label,
                fmtInt(row.sessions),
                fmtInt(row.bytesPerSession),
                row.encoding,
                fmtInt(row.keysWithoutTtl),
                `${fmtInt(row.baseline.keys)} / ${fmtInt(row.live.keys)} / ${fmtInt(row.after.keys)}`,
                `${mib(row.baseline.bytes)} / ${mib(row.after.bytes)}`,
                fmtRatio(row.memoryAfterVsBaseline),
                seconds(row.expiredSeconds, 1),
              ],
        ),
      ),
      '',
      encodingNote(rows),
      '',
    );
  }
  return out.join('\n');
}

/** What the encoding column means for this build. */
function encodingNote(rows) {
  const defaults = rows.find((row) => row.name === 'redis-default');
  const wide = rows.find((row) => row.name === 'redis-listpack-256');
  if (!defaults || !wide) return '';
  const saving = `${fmtInt(defaults.bytesPerSession)} bytes per session with Redis's defaults, ${fmtInt(wide.bytesPerSession)} with \`hash-max-listpack-value 256\``;
  return defaults.encoding === 'hashtable'
    ? `Note: the family hash holds values over Redis's default 64-byte \`hash-max-listpack-value\` (the 111-byte User-Agent), so Redis stores it as a full hash table instead of the compact listpack: ${saving}.`
    : `Note: every value of the family hash fits Redis's default 64-byte \`hash-max-listpack-value\`, so it stays a compact ${defaults.encoding} without any server setting: ${saving}.`;
}

function summarize({ outage, rotation, memory }) {
  const redisDefault = memory?.rows.find((row) => row.name === 'redis-default');
  const redisWide = memory?.rows.find((row) => row.name === 'redis-listpack-256');
  const memoryStore = memory?.rows.find((row) => row.name === 'memory-store');
  const redisRows = memory?.rows.filter((row) => row.name !== 'memory-store') ?? [];
  const summary = {
    other5xx: outage ? outage.phases.at(-1).other5xx : null,
    wrongfulRevocations: outage?.wrongfulRevocations ?? null,
    minSuccessesPerTrial: rotation?.minSuccesses ?? null,
    maxSuccessesPerTrial: rotation?.maxSuccesses ?? null,
    secondsToFirst503: outage?.secondsToFirst503 ?? null,
    secondsToRecovery: outage?.secondsToRecovery ?? null,
    keysWithoutTtl: memory ? redisRows.reduce((sum, row) => sum + row.keysWithoutTtl, 0) : null,
    redisBytesPerSession: redisDefault?.bytesPerSession ?? null,
    redisMemoryAfterExpiryVsBaseline: redisDefault?.memoryAfterVsBaseline ?? null,
    memoryStoreHeapAfterExpiryVsBaseline: memoryStore?.heapAfterVsBaseline ?? null,
    outageP99Ms: outage?.phases[1].p99Ms ?? null,
    trialsWithFamilyNotRevoked: rotation?.familyNotRevoked ?? null,
    redisBytesPerSessionListpack256: redisWide?.bytesPerSession ?? null,
    memoryStoreBytesPerSession: memoryStore?.bytesPerSession ?? null,
  };
  const near = (ratio) => Math.abs(ratio - 1) <= 0.05;
  const guarantees = [];
  if (outage) {
    guarantees.push(
      ['outage: no 5xx but 503', summary.other5xx === 0, fmtInt(summary.other5xx)],
      [
        'outage: no family revoked without a replay; every latest token refreshes afterwards',
        summary.wrongfulRevocations === 0 && outage.finalRefreshes.ok === outage.finalRefreshes.of,
        `${summary.wrongfulRevocations} revoked, ${outage.finalRefreshes.ok} of ${outage.finalRefreshes.of} refreshed`,
      ],
      [
        'outage: the app answers 503 while Redis is down and 200 again after its restart, without a restart of its own',
        summary.secondsToFirst503 !== null && summary.secondsToRecovery !== null,
        `first 503 after ${seconds(summary.secondsToFirst503, 3)}, first 200 after ${seconds(summary.secondsToRecovery)}`,
      ],
    );
  }
  if (rotation) {
    guarantees.push(
      [
        'rotation: exactly one success per trial',
        summary.minSuccessesPerTrial === 1 && summary.maxSuccessesPerTrial === 1,
        `${summary.minSuccessesPerTrial}..${summary.maxSuccessesPerTrial}`,
      ],
      [
        'rotation: the family revoked after every trial',
        summary.trialsWithFamilyNotRevoked === 0,
        `${summary.trialsWithFamilyNotRevoked} not revoked`,
      ],
      [
        'rotation: no answer but 200 and 401',
        Object.keys(rotation.refreshStatuses).every((status) => status === '200' || status === '401'),
        Object.keys(rotation.refreshStatuses).join(', '),
      ],
    );
  }
  if (memory) {
    guarantees.push(
      ['memory: every Redis key has a TTL', summary.keysWithoutTtl === 0, `${summary.keysWithoutTtl} without`],
      [
        'memory: Redis keys back to the baseline and used_memory within 5 % of it after expiry',
        redisRows.every((row) => row.after.keys === row.baseline.keys && near(row.memoryAfterVsBaseline)),
        redisRows.map((row) => fmtRatio(row.memoryAfterVsBaseline)).join(', '),
      ],
      [
        'memory: memory-store heap within 5 % of the baseline after expiry and a sweep',
        memoryStore.left === 0 && near(summary.memoryStoreHeapAfterExpiryVsBaseline),
        fmtRatio(summary.memoryStoreHeapAfterExpiryVsBaseline),
      ],
    );
  }
  return { summary, guarantees: guarantees.map(([guarantee, met, value]) => ({ guarantee, met, value })) };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const facts = machineFacts();
  const place = placement();
  log(`${facts.nproc} CPUs (${facts.cpuModel}), Node ${facts.node}, Redis ${facts.redis ?? 'not found'}`);
  if (!facts.redis) throw new Error('redis-server and redis-cli must be on PATH');
  await loadLibrary(); // fails early when the build is missing
  if (!(await loadRedisStore())) throw new Error('this build has no RedisTokenStore');
  setTimeout(() => {
    log(`time limit of ${TIME_LIMIT_MS / 60_000} minutes passed: stopping`);
    cleanup().finally(() => process.exit(1));
  }, TIME_LIMIT_MS).unref();

  const ctx = { place, secret: randomBytes(32).toString('base64url') };
  const results = {};
  for (const part of PARTS.filter((name) => ONLY.includes(name))) results[part] = await PART_RUNNERS[part](ctx);

  const { summary, guarantees } = summarize(results);
  const runSeconds = Math.round((Date.now() - started) / 1000);
  const command = [process.env.RELIABILITY_ONLY ? `RELIABILITY_ONLY=${process.env.RELIABILITY_ONLY}` : '', 'npm run bench:reliability']
    .filter(Boolean)
    .join(' ');
  const meta = {
    date: new Date().toISOString(),
    command,
    seconds: runSeconds,
    parts: Object.keys(results),
    pinned: place.pinned ? { app: place.server, clients: place.loader, redis: place.redis } : false,
  };
  const header = [
    `Run ${meta.date}, ${runSeconds} s (without the build), commit ${facts.commit ?? 'n/a'} (working tree), library ${facts.library}`,
    `Command: ${command}`,
    `Machine: ${facts.nproc} CPUs (${facts.cpuModel}), ${facts.memoryGiB} GiB, Node ${facts.node}, Redis ${facts.redis}, ioredis ${facts.ioredis}`,
    `Pinning: ${place.pinned ? `app and memory worker on CPU ${place.server}; clients and redis-server on CPU ${place.loader}` : 'none (taskset not found or one CPU)'}`,
  ].join('\n');
  const guaranteesTable = table(
    ['guarantee', 'measured', 'met'],
    guarantees.map(({ guarantee, value, met }) => [guarantee, value, met ? 'yes' : '**no**']),
  );
  const report = `${header}\n\n${render(results)}\n### Guarantees\n\n${guaranteesTable}\n`;
  console.log(`\n${report}`);

  const resultsDir = join(here, 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, 'reliability.json'),
    `${JSON.stringify({ summary, guarantees, meta, machine: facts, tables: results }, null, 2)}\n`,
  );
  writeFileSync(join(resultsDir, 'reliability.md'), report);
  log(`wrote bench/results/reliability.json and bench/results/reliability.md (${runSeconds} s)`);
  if (guarantees.some(({ met }) => !met)) {
    log('a guarantee was not met (see the table above)');
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (error) {
  if (!interrupted()) log('failed:', error?.stack ?? error);
  process.exitCode = 1;
} finally {
  await cleanup();
}
