/*
 * Redis CPU per store call of RedisTokenStore, for this build and others side by side:
 *
 *   npm run bench:scripts
 *   BENCH_COMPARE="before=/path/to/other/dist" npm run bench:scripts
 *
 * What Redis spends running each script, from INFO commandstats (`usec` over `calls` of EVALSHA),
 * not what a client waits: a script's Lua runs on Redis's one thread, so its time limits every
 * client of the server. The builds run one after another in each round on one redis-server (its
 * own, on a free port), the order turned each round, against keys of their own. Each round:
 * 10 chains of logins, each rotated 300 times with a sealed successor (the grace retry on, as the
 * README recommends), then the revocation check of each session 300 times.
 *
 * Writes bench/results/scripts.json and scripts.md. Environment: BENCH_ROUNDS (default 7),
 * BENCH_COMPARE (name=dir,...), BENCH_LIB (the build named "this", default ../dist).
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { distDir, loadLibrary, repoRoot } from './lib/library.mjs';
import { machineFacts } from './lib/machine.mjs';
import { placement, stopAll } from './lib/procs.mjs';
import { startRedis } from './lib/redis.mjs';
import { fmt, fmtRatio, median, table } from './lib/stats.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS) > 0 ? Number(process.env.BENCH_ROUNDS) : 7;
const CHAINS = 10;
const ROTATIONS = 300;
const CALLS = ['createFamily', 'rotate', 'isAccessTokenRevoked'];
const HOUR = 3_600_000;

const builds = [
  { name: 'this', dir: distDir() },
  ...(process.env.BENCH_COMPARE ?? '')
    .split(',')
    .filter(Boolean)
    .map((entry) => {
      const [name, ...dir] = entry.split('=');
      return { name: name.trim(), dir: distDir(dir.join('=').trim()) };
    }),
];

const hash = (value) => createHash('sha256').update(value).digest('base64url');
const token = () => randomBytes(32).toString('base64url');

/** Calls and µs of EVALSHA and EVAL so far (a script's first call on a connection is an EVAL). */
async function scriptStats(admin) {
  const text = await admin.info('commandstats');
  let calls = 0;
  let usec = 0;
  for (const [, c, u] of text.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+),usec=(\d+)/gm)) {
    calls += Number(c);
    usec += Number(u);
  }
  return { calls, usec };
}

/** µs of Redis CPU per call of `fn`'s script calls. */
async function measure(admin, fn) {
  const before = await scriptStats(admin);
  await fn();
  const after = await scriptStats(admin);
  return (after.usec - before.usec) / (after.calls - before.calls);
}

/** One round of one build: its logins, then rotations, then revocation checks, each measured apart. */
async function round(admin, { store, shardKeyOf }, label) {
  const now = Date.now();
  const sessions = Array.from({ length: CHAINS }, (_, i) => {
    const userId = `${label}-${i}`;
    const first = token();
    return {
      userId,
      familyId: shardKeyOf(userId) + randomBytes(16).toString('base64url'),
      proofHash: hash(`proof-${label}-${i}`),
      current: first,
      tokenHash: hash(first),
    };
  });
  const userRecord = (userId) => JSON.stringify({ id: userId, roles: ['user'], amr: ['pwd'], authTime: now });
  const createFamily = await measure(admin, () =>
    Promise.all(
      sessions.map(({ userId, familyId, proofHash, tokenHash }) =>
        store.createFamily(
          {
            familyId,
            userId,
            createdAt: now,
            lastUsedAt: now,
            expiresAt: now + HOUR,
            absoluteExpiresAt: now + 24 * HOUR,
            // A browser's User-Agent: longer than a 64-byte piece, as most are.
            userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
            ip: '203.0.113.7',
            tokenHash,
            proofHash,
            userRecord: userRecord(userId),
            // The same under its name before the store interface renamed it: a build from before reads this.
            subject: userRecord(userId),
          },
          { maxSessionsPerUser: 10, now },
        ),
      ),
    ),
  );
  const rotate = await measure(admin, () =>
    Promise.all(
      sessions.map(async (session) => {
        for (let i = 0; i < ROTATIONS; i++) {
          const successor = token();
          const result = await store.rotate({
            familyId: session.familyId,
            presentedHash: hash(session.current),
            proofHash: session.proofHash,
            successorHash: hash(successor),
            sealedSuccessor: randomBytes(90).toString('base64url'),
            now: Date.now(),
            idleTtlMs: HOUR,
            graceMs: 10_000,
          });
          if (result.outcome !== 'rotated') throw new Error(`rotate answered ${result.outcome}`);
          session.current = successor;
        }
      }),
    ),
  );
  const isAccessTokenRevoked = await measure(admin, () =>
    Promise.all(
      sessions.map(async ({ userId, familyId }) => {
        for (let i = 0; i < ROTATIONS; i++) {
          if (await store.isAccessTokenRevoked({ familyId, jti: `jti-${i}`, userId, now: Date.now() }))
            throw new Error('a live session was revoked');
        }
      }),
    ),
  );
  return { createFamily, rotate, isAccessTokenRevoked };
}

async function main() {
  const started = Date.now();
  const place = placement();
  const redis = await startRedis(place.redis);
  const admin = new Redis({ port: redis.port, lazyConnect: true });
  await admin.connect();
  const clients = [];
  try {
    const stores = [];
    for (const build of builds) {
      const { RedisTokenStore, shardKeyOf } = await loadLibrary(build.dir);
      const client = new Redis({ port: redis.port });
      clients.push(client);
      stores.push({ ...build, store: new RedisTokenStore({ client, keyPrefix: `${build.name}:` }), shardKeyOf });
    }
    const results = Object.fromEntries(builds.map(({ name }) => [name, Object.fromEntries(CALLS.map((call) => [call, []]))]));
    // Round -1 warms up every build (and loads its scripts); it is not counted.
    for (let r = -1; r < ROUNDS; r++) {
      const order = stores.map((_, i) => stores[(i + Math.max(r, 0)) % stores.length]);
      for (const build of order) {
        const measured = await round(admin, build, `${build.name}-r${r}`);
        if (r >= 0) for (const call of CALLS) results[build.name][call].push(measured[call]);
      }
      console.log(`[bench:scripts] round ${r + 1} of ${ROUNDS} (the first is a warm-up)`);
    }
    report(results, started);
  } finally {
    for (const client of clients) client.disconnect();
    admin.disconnect();
    await redis.stop();
    await stopAll();
  }
}

function report(results, started) {
  const facts = machineFacts();
  const reference = builds[0].name;
  const rows = builds.map(({ name }) => {
    const row = [name === 'this' ? 'this build' : name];
    for (const call of CALLS) {
      const micros = median(results[name][call]);
      row.push(fmt(micros), fmtRatio(micros / median(results[reference][call])));
    }
    return row;
  });
  const headers = ['build', ...CALLS.flatMap((call) => [`${call} µs`, 'vs this'])];
  const settings = ['BENCH_ROUNDS', 'BENCH_COMPARE', 'BENCH_LIB']
    .filter((name) => process.env[name])
    .map((name) => `${name}="${process.env[name]}" `)
    .join('');
  const md = [
    `Run ${new Date(started).toISOString()}, ${Math.round((Date.now() - started) / 1000)} s in all, library ${facts.library}`,
    `Command: ${settings}npm run bench:scripts`,
    `Machine: ${facts.nproc} CPUs (${facts.cpuModel}), Node ${facts.node}, Redis ${facts.redis}, ioredis ${facts.ioredis}`,
    `Builds: ${builds.map(({ name, dir }) => `${name} = ${dir}`).join(', ')}`,
    '',
    `### Redis CPU per script call (µs, median of ${ROUNDS} rounds; INFO commandstats of EVALSHA)`,
    '',
    table(headers, rows),
    '',
    `Per round and build: ${CHAINS} logins (createFamily), ${CHAINS * ROTATIONS} rotations with a sealed successor (rotate), ${CHAINS * ROTATIONS} revocation checks (isAccessTokenRevoked).`,
    '',
  ].join('\n');
  const out = join(repoRoot, 'bench', 'results');
  writeFileSync(
    join(out, 'scripts.json'),
    JSON.stringify({ started: new Date(started).toISOString(), builds, rounds: ROUNDS, results }, null, 2) + '\n',
  );
  writeFileSync(join(out, 'scripts.md'), md);
  console.log(md);
}

main().catch(async (error) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
