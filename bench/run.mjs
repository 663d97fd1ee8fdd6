#!/usr/bin/env node
/*
 * `npm run bench` (repository root): builds the library, installs bench/'s own dependencies, and
 * runs every benchmark in one run:
 *
 *   middleware   GET /me through each auth middleware, 10 connections (reference: no auth); with
 *                revocation checks per request and from memory (revocation: 'cached'), and a
 *                realistic load of 2,000 distinct tokens in turn for the stateless, per-request
 *                and cached modes; then how fast a revocation reaches another process
 *   connections  the same at 1, 10 and 100 connections, for bare, ours, ours + Redis, ours +
 *                Redis cached, ours + PostgreSQL and the floor
 *   guards       the stateless guards of the middleware table (ours, the peers, the floor) timed
 *                in process, without HTTP: ns per request for 1, 2,000 and 20,000 tokens in turn
 *   refresh      POST /auth/refresh on the memory store, Redis, a 3-master Cluster and PostgreSQL,
 *                with Redis round trips and PostgreSQL statements per refresh (reference: a bare
 *                EVALSHA)
 *   login        POST /auth/login at bcrypt cost 10 and 12, 20 connections, event-loop delay p99
 *   throttle     POST /auth/login without bcrypt (a wrong password answered 401, or a throttled
 *                login answered 429), with and without the login throttle, on each store, with
 *                Redis round trips and PostgreSQL statements per login
 *   memory       Redis bytes and memory-store heap per live session, over 100,000 sessions
 *   postgres     round trips and statements per call of each PostgresTokenStore method
 *
 * Each server variant runs in its own process, the load generator (autocannon) in another, and
 * they are pinned to different cores with `taskset` when it exists. Redis servers are private
 * ones on free loopback ports. Rounds are interleaved (round 1 of every variant, then round 2 ...)
 * so that drift on a shared machine spreads over all rows. The PostgreSQL server is a private one
 * too (initdb in a temp folder, a free port; as the postgres user when run as root), with
 * pg_stat_statements to count statements. Everything started is stopped at the end, on failure,
 * and on Ctrl-C.
 *
 * Environment (all optional):
 *   BENCH_ROUNDS     rounds per variant (default 5)
 *   BENCH_SECONDS    seconds per round and variant (default 2; /login rounds take at least 3)
 *   BENCH_ONLY       comma-separated tables to run (default: all eight)
 *   BENCH_VARIANTS   comma-separated middleware and guards rows to keep besides bare and ours (while developing)
 *   BENCH_COMPARE    name=dir,...: other builds of the library, each an extra "ours, HS256" row
 *                    of the middleware and guards tables (the build before a change, say)
 *   BENCH_LIB        the build to measure (default: ../dist)
 *   BENCH_SESSIONS   sessions in the memory table (default 100000)
 *   BENCH_RESULTS    name of the result files (default latest), so a partial run need not
 *                    replace the last complete one
 *
 * Writes bench/results/latest.json (summary, targets, every table) and bench/results/latest.md.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tamperedToken } from './lib/guards.mjs';
import { distDir, loadLibrary, loadPostgresStore, loadRedisStore, rotateScriptSource } from './lib/library.mjs';
import { machineFacts } from './lib/machine.mjs';
import { placement, shutdownHandler, startNode } from './lib/procs.mjs';
import { countStatements, startPostgres, statementsPerOperation } from './lib/postgres.mjs';
import { Redis } from 'ioredis';
import { callsDelta, commandCalls, countRoundTrips, startCluster, startRedis } from './lib/redis.mjs';
import { fmt, fmtInt, fmtRange, fmtRatio, median, ratio, summary, table } from './lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  // The comment at the top of this file is the help.
  const source = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  console.log(
    source
      .slice(source.indexOf('/*') + 2, source.indexOf('*/'))
      .replace(/^ \* ?/gm, '')
      .trim(),
  );
  process.exit(0);
}
const ROUNDS = positiveInt(process.env.BENCH_ROUNDS, 5);
const SECONDS = positiveInt(process.env.BENCH_SECONDS, 2);
const WARMUP_SECONDS = 1;
const LOGIN_SECONDS = Math.max(3, SECONDS);
const SESSIONS = positiveInt(process.env.BENCH_SESSIONS, 100_000);
const TABLES = ['middleware', 'connections', 'guards', 'refresh', 'login', 'throttle', 'memory', 'postgres'];
const ONLY = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((name) => name.trim()) : TABLES;
/** BENCH_COMPARE="before=/path/to/dist,other=/path": other builds, as extra rows of the middleware and guards tables. */
const COMPARE = (process.env.BENCH_COMPARE ?? '')
  .split(',')
  .filter(Boolean)
  .map((entry) => {
    const [name, ...dir] = entry.split('=');
    return { name: name.trim(), dir: dir.join('=').trim() };
  });
const VARIANTS = process.env.BENCH_VARIANTS?.split(',').map((name) => name.trim());
const CONNECTIONS = 10;
/** More tokens than the verified-token cache holds (1,000), sent in turn: about half the requests miss it. */
const MANY_TOKENS = 2000;
/** Far more, sent in turn: no token is still in any cache when it comes again (the guards table). */
const FRESH_TOKENS = 20_000;
/** The loads of the guards table: how many distinct tokens are sent in turn. */
const GUARD_LOADS = [1, MANY_TOKENS, FRESH_TOKENS];
const PASSWORD = 'correct horse battery staple';
/** Milliseconds of calls per guard, load and round in the guards table. */
const GUARD_MS = 250;

function positiveInt(value, fallback) {
  const number = Number(value);
  return Number.isInteger(number) && number > 0 ? number : fallback;
}

const log = (...args) => console.error('[bench]', ...args);
const started = Date.now();
const { cleanups, cleanup, interrupted } = shutdownHandler(log);

// ---------------------------------------------------------------------------------------------

function keyMaterial() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = ({ privateKey, publicKey }) => ({
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }),
  });
  return { secret: randomBytes(32).toString('base64url'), rsa: pem(rsa), ec: pem(ec), password: PASSWORD };
}

// ---------------------------------------------------------------------------------------------

/** The rows of the middleware table: [variant, label, kind]. */
const MIDDLEWARE = [
  ['bare', 'bare route, no auth (reference)', 'reference'],
  ['ours-hs256', 'ours, HS256, stateless', 'ours'],
  ['ours-hs256-many', `ours, HS256, stateless, ${MANY_TOKENS.toLocaleString('en-US')} tokens in turn`, 'ours-many'],
  ['ours-hs256-redis', 'ours, HS256 + revocation checks on Redis', 'ours-redis'],
  ['ours-hs256-cached', "ours, HS256 + revocation: 'cached' on Redis", 'ours-cached'],
  ['ours-hs256-redis-many', `ours, HS256 + revocation checks on Redis, ${MANY_TOKENS.toLocaleString('en-US')} tokens in turn`, 'ours-many'],
  [
    'ours-hs256-cached-many',
    `ours, HS256 + revocation: 'cached' on Redis, ${MANY_TOKENS.toLocaleString('en-US')} tokens in turn`,
    'ours-many',
  ],
  ['ours-hs256-postgres', 'ours, HS256 + revocation checks on PostgreSQL', 'ours-postgres'],
  ['ours-rs256', 'ours, RS256', 'ours-asymmetric'],
  ['ours-es256', 'ours, ES256', 'ours-asymmetric'],
  ['ours-hs256-keyset', 'ours, HS256, a key set of two, by kid', 'ours-keys'],
  ['ours-es256-keyset', 'ours, ES256, a key set of two, by kid', 'ours-keys'],
  ['ours-es256-verifier', 'ours, ES256, createAccessTokenVerifier on the JWKS', 'ours-keys'],
  ['express-jwt-string', 'express-jwt, string secret', 'peer'],
  ['express-jwt-keyobject', 'express-jwt, KeyObject', 'peer'],
  ['passport-jwt-string', 'passport-jwt, string secret', 'peer'],
  ['passport-jwt-keyobject', 'passport-jwt, KeyObject', 'peer'],
  ['fast-jwt-cache', 'fast-jwt with its cache', 'peer'],
  ['fast-jwt', 'fast-jwt, no cache', 'peer'],
  ['jose', 'jose jwtVerify, KeyObject', 'peer'],
  ['jsonwebtoken-keyobject', 'jsonwebtoken.verify + KeyObject, hand-written', 'peer'],
  ['hmac-floor', 'raw HMAC-SHA256 check (the floor)', 'floor'],
];

/** Revocations timed across processes in the propagation table. */
const PROPAGATION_SAMPLES = 200;
const REDIS_ROWS = ['ours-hs256-redis', 'ours-hs256-cached', 'ours-hs256-redis-many', 'ours-hs256-cached-many'];

async function startServer(place, variant, config, env = {}) {
  // A generous start-up deadline: on a machine shared with other runs a server can take 30 s.
  const server = await startNode(place.server, join(here, 'lib', 'server.mjs'), {
    args: [variant],
    env: { BENCH_CONFIG: JSON.stringify(config), ...env },
    timeoutMs: 120_000,
  });
  return { ...server, port: server.ready.port, baseUrl: `http://127.0.0.1:${server.ready.port}` };
}

/** Median over rounds of the server's CPU time per request, and its ratio to the reference's. */
function cpuStats(rounds, referenceRounds) {
  const micros = median(rounds.map((round) => round.cpuMicrosPerRequest));
  return { micros, ratio: ratio(micros, median(referenceRounds.map((round) => round.cpuMicrosPerRequest))) };
}

async function serverCount(server) {
  return (await server.request({ type: 'stats' })).ok2xx;
}

/** Checks that a variant answers 200 with its token and 401 with a tampered one. */
async function sanityCheck(name, server, token) {
  const get = (authorization) => fetch(`${server.baseUrl}/me`, { headers: authorization ? { authorization } : {} });
  const ok = await get(`Bearer ${token}`);
  const body = await ok.text();
  if (ok.status !== 200 || body !== '{"userId":"u_000001"}')
    throw new Error(`${name}: GET /me with a valid token answered ${ok.status} ${body}`);
  if (name === 'bare') return;
  const refused = await get(`Bearer ${tamperedToken(token)}`);
  if (refused.status !== 401) throw new Error(`${name}: GET /me with a tampered token answered ${refused.status}`);
}

/**
 * Runs `rounds` interleaved rounds of GET /me over `servers` ([name, server, token]) and returns
 * per-variant per-round results.
 */
async function getRounds(loader, servers, { connections, seconds, rounds }) {
  const results = Object.fromEntries(servers.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round, so no variant always runs first or last.
    const order = servers.map((_, i) => servers[(i + round) % servers.length]);
    for (const [name, server, token] of order) {
      const before = await server.request({ type: 'stats' });
      const many = Array.isArray(token);
      const { result } = await loader.request({
        type: 'get',
        url: `${server.baseUrl}/me`,
        connections,
        duration: seconds,
        headers: many ? {} : { authorization: `Bearer ${token}` },
        tokens: many ? token : undefined,
      });
      await server.request({ type: 'idle' });
      const after = await server.request({ type: 'stats' });
      // CPU time of the server process per answered request: steadier than req/s on a busy machine.
      result.cpuMicrosPerRequest = (after.cpuMicros - before.cpuMicros) / (after.ok2xx - before.ok2xx);
      results[name].push(result);
    }
  }
  return results;
}

/**
 * Redis round trips per answered request: one more short run of `load` with MONITOR on every
 * node (not timed: MONITOR slows Redis down), divided by the 2xx answers the server counted.
 * INFO commandstats over the same run is kept too (it also counts the commands scripts run).
 */
async function roundTripCheck(server, ports, load) {
  const statsBefore = await commandCalls(ports);
  const okBefore = await serverCount(server);
  const { roundTrips, commands, scriptCommands, housekeeping } = await countRoundTrips(ports, async () => {
    await load();
    await server.request({ type: 'idle' });
  });
  const served = (await serverCount(server)) - okBefore;
  return {
    served,
    roundTrips,
    perRequest: roundTrips / served,
    commands,
    scriptCommands,
    housekeeping,
    commandstats: callsDelta(statsBefore, await commandCalls(ports)),
  };
}

/**
 * PostgreSQL statements per answered request: one more short run of `load` with
 * pg_stat_statements reset first (not timed). Top-level statements are what the app sent, each
 * one round trip; nested ones ran inside the store's functions.
 */
async function statementCheck(server, port, load) {
  const okBefore = await serverCount(server);
  const counts = await countStatements(port, async () => {
    await load();
    await server.request({ type: 'idle' });
  });
  const served = (await serverCount(server)) - okBefore;
  return { served, topLevel: counts.topLevel, nested: counts.nested, byQuery: counts.byQuery, perRequest: counts.topLevel / served };
}

function rpsStats(rounds) {
  return summary(rounds.map((round) => round.rps));
}

/** Median over rounds of the per-round ratio to the reference (the rounds are paired). */
function pairedRatio(rounds, referenceRounds) {
  return median(rounds.map((round, i) => ratio(round.rps, referenceRounds[i]?.rps)));
}

function errorsOf(rounds) {
  return rounds.reduce((sum, round) => sum + round.non2xx + round.errors + round.timeouts, 0);
}

// ---------------------------------------------------------------------------------------------

/**
 * The access tokens of the middleware rows: one HS256 token for every HS256 row, a token of its own
 * for the rows whose server keeps its own keys or families, and 2,000 distinct ones for the
 * `-many` rows.
 */
async function issueTokens(loader, servers) {
  // One HS256 token for every HS256 row: from the Redis variant (its family lives in Redis, so
  // the revocation check finds it live) when there is one.
  const login = async (name) =>
    (await loader.request({ type: 'login', baseUrl: servers[name].baseUrl, usernames: ['u_000001'] })).tokens[0].accessToken;
  const hs256 = await login(['ours-hs256-redis', 'ours-hs256-cached', 'ours-hs256'].find((name) => servers[name]));
  const tokens = {};
  // PostgreSQL keeps its own families: its token must be one of them.
  for (const name of ['ours-rs256', 'ours-es256', 'ours-hs256-keyset', 'ours-es256-keyset', 'ours-es256-verifier', 'ours-hs256-postgres'])
    if (servers[name]) tokens[name] = await login(name);
  // Many distinct tokens: the memory store's for the stateless row, Redis families (one set,
  // for both Redis rows) for the per-request and cached rows.
  for (const [rows, from] of [
    [['ours-hs256-many'], 'ours-hs256-many'],
    [['ours-hs256-redis-many', 'ours-hs256-cached-many'], 'ours-hs256-redis-many'],
  ]) {
    if (!servers[from]) continue;
    const usernames = Array.from({ length: MANY_TOKENS }, (_, i) => `u_${String(i).padStart(6, '0')}`);
    usernames[0] = 'u_000001';
    const issued = [];
    for (let i = 0; i < usernames.length; i += 200) {
      issued.push(
        ...(await loader.request({ type: 'login', baseUrl: servers[from].baseUrl, usernames: usernames.slice(i, i + 200) })).tokens,
      );
    }
    for (const row of rows) if (servers[row]) tokens[row] = issued.map((issue) => issue.accessToken);
  }
  return { hs256, tokens };
}

/** What one checked request costs the store: Redis round trips (per request, and with 'cached') and PostgreSQL statements. */
async function revocationCosts(ctx, servers, entries) {
  const { loader, redis, postgres } = ctx;
  /** One second of GET /me with the token, at the table's connection count. */
  const getMe = (server, token) => () =>
    loader.request({
      type: 'get',
      url: `${server.baseUrl}/me`,
      connections: CONNECTIONS,
      duration: 1,
      headers: { authorization: `Bearer ${token}` },
    });
  let revocationTrips;
  if (servers['ours-hs256-redis']) {
    const [, server, token] = entries.find(([name]) => name === 'ours-hs256-redis');
    log('middleware: counting Redis round trips of the revocation check (MONITOR)');
    revocationTrips = await roundTripCheck(server, [redis.port], getMe(server, token));
  }

  let cachedTrips;
  if (servers['ours-hs256-cached']) {
    const [, server, token] = entries.find(([name]) => name === 'ours-hs256-cached');
    log("middleware: counting Redis round trips of revocation: 'cached' (MONITOR; the heartbeat PINGs count too)");
    cachedTrips = await roundTripCheck(server, [redis.port], getMe(server, token));
    // The subscribers' heartbeat PINGs are round trips too: MONITOR sees those of every cached
    // server running (each sends its own, 10 a second per master), so each is charged its share.
    const cachedServers = ['ours-hs256-cached', 'ours-hs256-cached-many'].filter((name) => servers[name]).length;
    cachedTrips.perRequest = (cachedTrips.roundTrips + (cachedTrips.housekeeping.ping ?? 0) / cachedServers) / cachedTrips.served;
  }

  let revocationStatements;
  if (servers['ours-hs256-postgres']) {
    const [, server, token] = entries.find(([name]) => name === 'ours-hs256-postgres');
    log('middleware: counting PostgreSQL statements of the revocation check (pg_stat_statements)');
    revocationStatements = await statementCheck(server, postgres.port, getMe(server, token));
  }
  return { revocationTrips, cachedTrips, revocationStatements };
}

async function middlewareTables(ctx) {
  const { place, loader, config, redis, postgres } = ctx;
  const rows = MIDDLEWARE.filter(
    ([name]) =>
      (!REDIS_ROWS.includes(name) || redis.available) &&
      (name !== 'ours-hs256-postgres' || postgres.available) &&
      (!VARIANTS || ['bare', 'ours-hs256'].includes(name) || VARIANTS.includes(name)),
  );
  for (const [i, { name }] of COMPARE.entries())
    rows.splice(2 + i, 0, [`ours-hs256@${name}`, `ours, HS256, stateless (${name} build)`, 'ours-other-build']);
  log(`middleware: starting ${rows.length} server processes`);
  const servers = {};
  try {
    for (const [name] of rows) {
      const other = COMPARE.find((build) => name === `ours-hs256@${build.name}`);
      const variant = other ? 'ours-hs256' : name.replace(/-many$/, '');
      const env = other ? { BENCH_LIB: other.dir } : {};
      servers[name] = await startServer(place, variant, { ...config, redisPort: redis.port, postgresPort: postgres.port }, env);
    }
    const { hs256, tokens } = await issueTokens(loader, servers);
    const entries = rows.map(([name]) => [name, servers[name], tokens[name] ?? hs256]);
    for (const [name, server, token] of entries) await sanityCheck(name, server, Array.isArray(token) ? token[0] : token);

    log(`middleware: warm-up, ${WARMUP_SECONDS} s per variant`);
    await getRounds(loader, entries, { connections: CONNECTIONS, seconds: WARMUP_SECONDS, rounds: 1 });
    log(`middleware: ${ROUNDS} rounds x ${SECONDS} s x ${entries.length} variants at ${CONNECTIONS} connections`);
    const at10 = await getRounds(loader, entries, { connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS });
    const { revocationTrips, cachedTrips, revocationStatements } = await revocationCosts(ctx, servers, entries);

    const middleware = rows.map(([name, label, kind]) => {
      const rounds = at10[name];
      return {
        name,
        label,
        kind,
        rps: rpsStats(rounds),
        ratio: pairedRatio(rounds, at10.bare),
        cpu: cpuStats(rounds, at10.bare),
        p50Ms: median(rounds.map((round) => round.latency.p50)),
        p99Ms: median(rounds.map((round) => round.latency.p99)),
        errors: errorsOf(rounds),
        roundTrips: name === 'ours-hs256-redis' ? revocationTrips : name === 'ours-hs256-cached' ? cachedTrips : undefined,
        statements: name === 'ours-hs256-postgres' ? revocationStatements : undefined,
        roundTripsPerRequest:
          name === 'ours-hs256-redis'
            ? revocationTrips?.perRequest
            : name === 'ours-hs256-cached'
              ? cachedTrips?.perRequest
              : name === 'ours-hs256-postgres'
                ? revocationStatements?.perRequest
                : undefined,
      };
    });
    if (redis.skipReason)
      middleware.splice(3, 0, {
        name: 'ours-hs256-redis',
        label: 'ours, HS256 + revocation checks on Redis',
        kind: 'ours-redis',
        skipped: redis.skipReason,
      });
    if (postgres.skipReason)
      middleware.splice(4, 0, {
        name: 'ours-hs256-postgres',
        label: 'ours, HS256 + revocation checks on PostgreSQL',
        kind: 'ours-postgres',
        skipped: postgres.skipReason,
      });

    let connections;
    if (ONLY.includes('connections')) {
      const subset = entries.filter(([name]) =>
        ['bare', 'ours-hs256', 'ours-hs256-redis', 'ours-hs256-cached', 'ours-hs256-postgres', 'hmac-floor'].includes(name),
      );
      const byConnections = { [CONNECTIONS]: at10 };
      for (const count of [1, 100]) {
        log(`connections: ${ROUNDS} rounds x ${SECONDS} s x ${subset.length} variants at ${count} connection(s)`);
        await getRounds(loader, subset, { connections: count, seconds: WARMUP_SECONDS, rounds: 1 });
        byConnections[count] = await getRounds(loader, subset, { connections: count, seconds: SECONDS, rounds: ROUNDS });
      }
      connections = subset.map(([name]) => {
        const row = { name, label: rows.find(([n]) => n === name)[1] };
        for (const count of [1, 10, 100]) {
          const rounds = byConnections[count][name];
          row[count] = {
            rps: rpsStats(rounds),
            ratio: pairedRatio(rounds, byConnections[count].bare),
            p99Ms: median(rounds.map((r) => r.latency.p99)),
            errors: errorsOf(rounds),
          };
        }
        return row;
      });
    }
    const propagation = servers['ours-hs256-cached'] ? await propagationTable(ctx, servers['ours-hs256-cached']) : undefined;
    return { middleware, connections, propagation };
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  }
}

/**
 * The guards table: the stateless guards of the middleware table, each called in one process
 * without HTTP (bench/lib/guard-timer.mjs), on the servers' CPU. Behind HTTP their differences
 * (1 to 10 µs) are smaller than the drift between rounds; here they are what is measured.
 */
async function guardsTable(ctx) {
  const kept = MIDDLEWARE.filter(
    ([name, , kind]) => ['ours', 'peer', 'floor'].includes(kind) && (!VARIANTS || name === 'ours-hs256' || VARIANTS.includes(name)),
  );
  for (const [i, { name }] of COMPARE.entries())
    kept.splice(1 + i, 0, [`ours-hs256@${name}`, `ours, HS256, stateless (${name} build)`, 'ours-other-build']);
  const variants = ['none', ...kept.map(([name]) => name)];
  const timer = await startNode(ctx.place.server, join(here, 'lib', 'guard-timer.mjs'), {
    env: { BENCH_CONFIG: JSON.stringify({ secret: ctx.config.secret, compare: COMPARE }) },
  });
  try {
    log(`guards: ${ROUNDS} rounds x ${GUARD_MS} ms x ${variants.length} guards x ${GUARD_LOADS.length} loads, in process`);
    const { results } = await timer.request({ type: 'run', variants, rounds: ROUNDS, ms: GUARD_MS, loads: GUARD_LOADS }, 900_000);
    const load = (name, count) => {
      const rounds = results[name][count];
      const ours = results['ours-hs256'][count];
      // Above 1: this guard takes longer per request than ours.
      return { tokens: count, nanos: summary(rounds), vsOurs: median(rounds.map((nanos, i) => ratio(nanos, ours[i]))) };
    };
    return [['none', 'the harness alone, no guard (reference)', 'reference'], ...kept].map(([name, label, kind]) => ({
      name,
      label,
      kind,
      loads: GUARD_LOADS.map((count) => load(name, count)),
    }));
  } finally {
    await timer.stop();
  }
}

/**
 * How long a revocation made through one process takes to be refused by others, two ways. For
 * each sample, a token the other process has accepted, a logout-all through server A, then:
 * - "direct": this (bench) process, with a createAuth of its own on its own Redis client, calls
 *   verifyAccessToken(token, { revocation: 'cached' }) in a loop (yielding to I/O between calls)
 *   until it is refused: the propagation itself, from A's 204 to the first refusal;
 * - "http": a second server process B is polled with GET /me until it answers 401: the same plus
 *   the latency of one HTTP request to B, which on a loaded machine is most of it.
 */
async function propagationTable(ctx, a) {
  const { place, config, redis } = ctx;
  const b = await startServer(place, 'ours-hs256-cached', { ...config, redisPort: redis.port });
  const lib = await loadLibrary();
  const client = new Redis({ ...lib.recommendedRedisOptions, host: '127.0.0.1', port: redis.port, lazyConnect: true });
  client.on('error', () => {});
  await client.connect();
  const store = new lib.RedisTokenStore({ client, keyPrefix: 'bench:' });
  const direct = lib.createAuth({ accessToken: { secret: config.secret, expiresIn: '30m' }, store });
  direct.requireAccessToken({ revocation: 'cached' }); // subscribes now
  const yieldToIo = () => new Promise((resolve) => setImmediate(resolve));
  try {
    const result = {};
    for (const way of ['direct', 'http'])
      result[way] = await propagationSamples(a, way === 'direct' ? directCheck(direct, yieldToIo) : httpCheck(b));
    return result;
  } finally {
    await b.stop();
    await store.close();
    client.disconnect();
  }
}

/** verifyAccessToken on this process: 200 or 401, as a route would answer. */
function directCheck(auth, yieldToIo) {
  return async (accessToken) => {
    await yieldToIo();
    return auth.verifyAccessToken(accessToken, { revocation: 'cached' }).then(
      () => 200,
      (error) => error.status,
    );
  };
}

function httpCheck(b) {
  return async (accessToken) => {
    const res = await fetch(`${b.baseUrl}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    await res.arrayBuffer();
    return res.status;
  };
}

async function propagationSamples(a, check) {
  log(`propagation: ${PROPAGATION_SAMPLES} revocations through one process, timed until another refuses them`);
  const samples = [];
  let leaked = 0;
  let skipped = 0;
  for (let i = 0; i < PROPAGATION_SAMPLES; i++) {
    const login = await fetch(`${a.baseUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `prop-${i}`, password: PASSWORD }),
    });
    const { accessToken } = await login.json();
    const auth = { authorization: `Bearer ${accessToken}` };
    const first = await check(accessToken);
    if (first !== 200) throw new Error(`propagation: the other process answered ${first} for a live token`);
    const revoked = await fetch(`${a.baseUrl}/auth/logout-all`, { method: 'POST', headers: auth });
    await revoked.arrayBuffer();
    // A 503 (the store slower than storeTimeoutMs on a loaded machine) leaves the moment of the
    // revocation unknown: the sample is left out, and counted.
    if (revoked.status !== 204) {
      skipped++;
      continue;
    }
    const start = performance.now();
    for (;;) {
      const status = await check(accessToken);
      if (status === 401) break;
      if (performance.now() - start > 5000) throw new Error(`propagation: still answered ${status} for a revoked token after 5 s`);
      if (status === 200) leaked++;
    }
    samples.push(performance.now() - start);
  }
  samples.sort((x, y) => x - y);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { samples: samples.length, skipped, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: samples.at(-1), acceptedAfterRevocation: leaked };
}

/** Logs in one family per connection, and as many spares; returns their refresh tokens. */
async function loginPool(loader, server, tag) {
  const usernames = Array.from({ length: 2 * CONNECTIONS }, (_, i) => `bench-${tag}-${i}`);
  const { tokens } = await loader.request({ type: 'login', baseUrl: server.baseUrl, usernames });
  return tokens.map((issued) => issued.refreshToken);
}

/** One timed refresh round on families of its own. */
async function refreshRun(loader, server, round, seconds) {
  const pool = await loginPool(loader, server, `r${round}`);
  const response = await loader.request({ type: 'refresh', baseUrl: server.baseUrl, connections: CONNECTIONS, duration: seconds, pool });
  await server.request({ type: 'idle' });
  return response;
}

async function refreshTable(ctx) {
  const { place, loader, config, redis, postgres } = ctx;
  const variants = [['refresh-memory', 'ours, memory store', undefined]];
  if (redis.available) {
    variants.push(['refresh-redis', 'ours, Redis (standalone)', [redis.port]]);
    if (redis.clusterPorts) variants.push(['refresh-cluster', 'ours, Redis Cluster (3 masters)', redis.clusterPorts]);
  }
  if (postgres.available) variants.push(['refresh-postgres', 'ours, PostgreSQL', undefined]);
  const servers = {};
  let evalsha;
  try {
    for (const [name] of variants)
      servers[name] = await startServer(place, name, {
        ...config,
        redisPort: redis.port,
        clusterPorts: redis.clusterPorts,
        postgresPort: postgres.port,
      });
    const scriptSource = redis.available ? await rotateScriptSource() : undefined;
    if (scriptSource) evalsha = await startNode(place.server, join(here, 'lib', 'evalsha.mjs'));

    const results = Object.fromEntries(variants.map(([name]) => [name, []]));
    results.evalsha = [];
    log(
      `refresh: warm-up, then ${ROUNDS} rounds x ${SECONDS} s x ${variants.length + (evalsha ? 1 : 0)} rows at ${CONNECTIONS} connections`,
    );
    for (let round = -1; round < ROUNDS; round++) {
      const seconds = round < 0 ? WARMUP_SECONDS : SECONDS;
      if (evalsha) {
        const { result } = await evalsha.request({
          type: 'run',
          redisPort: redis.port,
          duration: seconds,
          concurrency: CONNECTIONS,
          scriptLength: scriptSource.length,
        });
        if (round >= 0) results.evalsha.push(result);
      }
      for (const [name] of variants) {
        const server = servers[name];
        const { result } = await refreshRun(loader, server, round + 1, seconds);
        if (round >= 0) results[name].push(result);
      }
    }
    const trips = {};
    for (const [name, , ports] of variants.filter(([, , ports]) => ports)) {
      log(`refresh: counting Redis round trips of "${name}" (MONITOR)`);
      const pool = await loginPool(loader, servers[name], 'trips');
      trips[name] = await roundTripCheck(servers[name], ports, () =>
        loader.request({ type: 'refresh', baseUrl: servers[name].baseUrl, connections: CONNECTIONS, duration: 1, pool }),
      );
    }
    let statements;
    if (servers['refresh-postgres']) {
      log('refresh: counting PostgreSQL statements of "refresh-postgres" (pg_stat_statements)');
      const pool = await loginPool(loader, servers['refresh-postgres'], 'statements');
      statements = await statementCheck(servers['refresh-postgres'], postgres.port, () =>
        loader.request({ type: 'refresh', baseUrl: servers['refresh-postgres'].baseUrl, connections: CONNECTIONS, duration: 1, pool }),
      );
    }
    const rows = [];
    const reference = results.evalsha.length ? results.evalsha : undefined;
    if (reference) {
      rows.push({
        name: 'evalsha',
        label: `bare EVALSHA, ${scriptSource.length}-byte script (reference)`,
        kind: 'reference',
        rps: rpsStats(reference),
        ratio: 1,
        p50Ms: median(reference.map((r) => r.latency.p50)),
        p99Ms: median(reference.map((r) => r.latency.p99)),
        roundTripsPerRefresh: 1,
        errors: 0,
      });
    } else {
      rows.push({
        name: 'evalsha',
        label: 'bare EVALSHA (reference)',
        kind: 'reference',
        skipped: redis.skipReason ?? 'rotate script not built',
      });
    }
    for (const [name, label] of variants) {
      const rounds = results[name];
      rows.push({
        name,
        label,
        kind: 'ours',
        rps: rpsStats(rounds),
        ratio: reference ? pairedRatio(rounds, reference) : NaN,
        p50Ms: median(rounds.map((r) => r.latency.p50)),
        p99Ms: median(rounds.map((r) => r.latency.p99)),
        errors: errorsOf(rounds),
        brokenChains: rounds.reduce((sum, r) => sum + r.brokenChains, 0),
        roundTrips: trips[name],
        statements: name === 'refresh-postgres' ? statements : undefined,
        roundTripsPerRefresh: name === 'refresh-postgres' ? statements?.perRequest : trips[name]?.perRequest,
      });
    }
    if (redis.skipReason) {
      rows.push({ name: 'refresh-redis', label: 'ours, Redis (standalone)', skipped: redis.skipReason });
      rows.push({ name: 'refresh-cluster', label: 'ours, Redis Cluster (3 masters)', skipped: redis.skipReason });
    }
    if (postgres.skipReason) rows.push({ name: 'refresh-postgres', label: 'ours, PostgreSQL', skipped: postgres.skipReason });
    return rows;
  } finally {
    await Promise.all([...Object.values(servers).map((server) => server.stop()), evalsha?.stop()]);
  }
}

async function loginTable(ctx) {
  const { place, loader, config } = ctx;
  const costs = [10, 12];
  const servers = {};
  try {
    for (const cost of costs) servers[cost] = await startServer(place, 'login', { ...config, bcryptCost: cost });
    const body = JSON.stringify({ username: 'alice', password: PASSWORD });
    const results = Object.fromEntries(costs.map((cost) => [cost, []]));
    log(`login: ${ROUNDS} rounds x ${LOGIN_SECONDS} s x ${costs.length} costs at 20 connections`);
    for (let round = -1; round < ROUNDS; round++) {
      for (const cost of costs) {
        const server = servers[cost];
        await server.request({ type: 'stats:reset' });
        const { result } = await loader.request({
          type: 'post',
          url: `${server.baseUrl}/auth/login`,
          connections: 20,
          duration: round < 0 ? WARMUP_SECONDS : LOGIN_SECONDS,
          body,
          timeout: 60,
        });
        result.eventLoop = (await server.request({ type: 'stats' })).eventLoop;
        // Requests the loader abandoned at the end still hash: let them finish first.
        await server.request({ type: 'idle', timeoutMs: 120_000 }, 130_000);
        if (round >= 0) results[cost].push(result);
      }
    }
    return costs.map((cost) => {
      const rounds = results[cost];
      return {
        name: `login-cost-${cost}`,
        label: `ours /login, bcrypt cost ${cost}, 20 connections`,
        cost,
        rps: rpsStats(rounds),
        p50Ms: median(rounds.map((r) => r.latency.p50)),
        p99Ms: median(rounds.map((r) => r.latency.p99)),
        eventLoopP99Ms: summary(rounds.map((r) => r.eventLoop.p99Ms)),
        eventLoopMaxMs: median(rounds.map((r) => r.eventLoop.maxMs)),
        errors: errorsOf(rounds),
      };
    });
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  }
}

/**
 * The login throttle's cost: POST /auth/login on a path without bcrypt work (verifyCredentials
 * answers at once), so what is measured is the throttle (and its store), not the hash. Every
 * answer counts, 401 and 429 alike; the reference is the same app with `loginThrottle: false`.
 */
async function throttleTable(ctx) {
  const { place, loader, config, redis, postgres } = ctx;
  const variants = [
    ['throttle-off', 'memory store, loginThrottle: false (reference)', 'memory', 'off'],
    ['throttle-memory', 'memory store, wrong password counted (401)', 'memory', 'counting'],
    ['throttled-memory', 'memory store, throttled (429)', 'memory', 'throttled'],
  ];
  if (redis.available) {
    variants.push(
      ['throttle-redis', 'Redis, wrong password counted (401)', 'redis', 'counting'],
      ['throttled-redis', 'Redis, throttled (429)', 'redis', 'throttled'],
    );
    if (redis.clusterPorts)
      variants.push(['throttle-cluster', 'Redis Cluster (3 masters), wrong password counted (401)', 'cluster', 'counting']);
  }
  if (postgres.available)
    variants.push(
      ['throttle-postgres', 'PostgreSQL, wrong password counted (401)', 'postgres', 'counting'],
      ['throttled-postgres', 'PostgreSQL, throttled (429)', 'postgres', 'throttled'],
    );
  // A username per variant: the variants on one Redis (or PostgreSQL) share its counters.
  const wrongFor = (name) => JSON.stringify({ username: `alice-${name}`, password: 'wrong password' });
  const rightFor = (name) => JSON.stringify({ username: `alice-${name}`, password: PASSWORD });
  const servers = {};
  try {
    for (const [name, , store, mode] of variants) {
      servers[name] = await startServer(place, 'throttle', {
        ...config,
        password: PASSWORD,
        throttleStore: store,
        throttleMode: mode,
        redisPort: redis.port,
        clusterPorts: redis.clusterPorts,
        postgresPort: postgres.port,
      });
      // Reach the limit first where the variant is about the throttled answer; then check each answers as labelled.
      const post = (body) =>
        fetch(`${servers[name].baseUrl}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (mode === 'throttled') for (let i = 0; i < 5; i++) await post(wrongFor(name));
      const status = (await post(wrongFor(name))).status;
      if (status !== (mode === 'throttled' ? 429 : 401)) throw new Error(`throttle: ${name} answered ${status} to a wrong password`);
    }
    const results = Object.fromEntries(variants.map(([name]) => [name, []]));
    log(`throttle: warm-up, then ${ROUNDS} rounds x ${SECONDS} s x ${variants.length} rows at ${CONNECTIONS} connections`);
    for (let round = -1; round < ROUNDS; round++) {
      const order = variants.map((_, i) => variants[(i + Math.max(round, 0)) % variants.length]);
      for (const [name] of order) {
        const { result } = await loader.request({
          type: 'post',
          url: `${servers[name].baseUrl}/auth/login`,
          connections: CONNECTIONS,
          duration: round < 0 ? WARMUP_SECONDS : SECONDS,
          body: wrongFor(name),
        });
        await servers[name].request({ type: 'idle' });
        if (round >= 0) results[name].push(result);
      }
    }
    // Round trips per answered login, not timed: MONITOR on Redis, pg_stat_statements on PostgreSQL.
    const perLogin = {};
    const answered = async (server) => (await server.request({ type: 'stats' })).answered;
    const oneSecond = (name, body) => () =>
      loader.request({ type: 'post', url: `${servers[name].baseUrl}/auth/login`, connections: CONNECTIONS, duration: 1, body });
    const ports = { redis: redis.port ? [redis.port] : undefined, cluster: redis.clusterPorts };
    for (const [name, , store, mode] of variants) {
      const server = servers[name];
      const wrong = wrongFor(name);
      const bodies =
        mode === 'counting' && store !== 'memory'
          ? { failed: wrong, succeeded: rightFor(name) }
          : mode === 'throttled' && store !== 'memory'
            ? { throttled: wrong }
            : {};
      for (const [kind, body] of Object.entries(bodies)) {
        const before = await answered(server);
        let trips;
        if (store === 'postgres') {
          log(`throttle: counting PostgreSQL statements of "${name}" (${kind})`);
          trips = (
            await countStatements(postgres.port, async () => {
              await oneSecond(name, body)();
              await server.request({ type: 'idle' });
            })
          ).topLevel;
        } else {
          log(`throttle: counting Redis round trips of "${name}" (${kind}, MONITOR)`);
          trips = (
            await countRoundTrips(ports[store], async () => {
              await oneSecond(name, body)();
              await server.request({ type: 'idle' });
            })
          ).roundTrips;
        }
        (perLogin[name] ??= {})[kind] = trips / ((await answered(server)) - before);
      }
    }
    const reference = results['throttle-off'];
    return variants.map(([name, label, store, mode]) => {
      const rounds = results[name];
      const answeredRps = summary(rounds.map((r) => r.answeredRps));
      return {
        name,
        label,
        store,
        mode,
        answeredRps,
        ratio: median(rounds.map((r, i) => ratio(r.answeredRps, reference[i]?.answeredRps))),
        p50Ms: median(rounds.map((r) => r.latency.p50)),
        p99Ms: median(rounds.map((r) => r.latency.p99)),
        errors: rounds.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
        roundTripsPerLogin: perLogin[name],
      };
    });
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  }
}

async function memoryTable(ctx) {
  const { place, redis } = ctx;
  const users = Math.max(1, Math.floor(SESSIONS / 2));
  const worker = await startNode(place.server, join(here, 'lib', 'memory.mjs'), { nodeArgs: ['--expose-gc'] });
  let server;
  try {
    log(
      `memory: ${SESSIONS.toLocaleString('en-US')} sessions (${users.toLocaleString('en-US')} users x 2), each logged in and refreshed once`,
    );
    const rows = [];
    const { result: memory } = await worker.request({ type: 'memory-store', sessions: SESSIONS, users }, 300_000);
    rows.push({ name: 'memory-store', label: 'MemoryTokenStore, V8 heap', ...memory });
    if (redis.available) {
      server = await startRedis(place.redis);
      const { result } = await worker.request({ type: 'redis-store', redisPort: server.port, sessions: SESSIONS, users }, 300_000);
      rows.push({ name: 'redis-store', label: 'RedisTokenStore, INFO memory used_memory', ...result });
      // The same without a User-Agent: every field of the family hash then fits Redis's compact
      // encoding (hash-max-listpack-value, 64 bytes by default), which a 111-byte one does not.
      const { result: bare } = await worker.request(
        { type: 'redis-store', redisPort: server.port, sessions: SESSIONS, users, withUserAgent: false },
        300_000,
      );
      rows.push({ name: 'redis-store-no-user-agent', label: 'RedisTokenStore, sessions without a User-Agent', ...bare });
    } else {
      rows.push({ name: 'redis-store', label: 'RedisTokenStore, INFO memory used_memory', skipped: redis.skipReason });
    }
    return rows;
  } finally {
    await Promise.all([worker.stop(), server?.stop()]);
  }
}

async function postgresTable(ctx) {
  const { postgres } = ctx;
  if (!postgres.available) return [{ name: 'postgres-statements', skipped: postgres.skipReason }];
  log('postgres: statements per call of each store method');
  const lib = { ...(await loadPostgresStore()), shardKeyOf: (await loadLibrary()).shardKeyOf };
  return statementsPerOperation(postgres.port, lib);
}

// ---------------------------------------------------------------------------------------------

/** What pg_stat_statements saw in the statement check of a row. */
function statementsNote(row, what) {
  const { served, topLevel, nested, byQuery } = row.statements;
  const list = (topLevelOnly) =>
    byQuery
      .filter((entry) => entry.topLevel === topLevelOnly)
      .map((entry) => `\`${entry.query}\` ${fmt(entry.calls / served)}`)
      .join('; ') || 'none';
  return `Statements of "${row.label}" (pg_stat_statements over ${fmtInt(served)} answered requests): ${topLevel} sent by the app, ${fmt(topLevel / served, 3)} per ${what} (${list(true)}); inside the store's functions, ${fmt(nested / served)} per ${what}.`;
}

/** What MONITOR saw in the round-trip check of a row. */
function tripsNote(row, what) {
  const { served, roundTrips, commands, scriptCommands, housekeeping = {} } = row.roundTrips;
  const list = (counts) =>
    Object.entries(counts)
      .map(([name, count]) => `${name} ${fmt(count / served)}`)
      .join(', ') || 'none';
  const pings = housekeeping.ping
    ? `; PINGs (heartbeats), ${housekeeping.ping} in all, ${fmt(housekeeping.ping / served, 4)} per ${what}`
    : '';
  return `Round trips of "${row.label}" (MONITOR over ${fmtInt(served)} answered requests): ${roundTrips} commands from clients, ${fmt(roundTrips / served, 3)} per ${what} (${list(commands)})${pings}; inside the scripts, per ${what}: ${list(scriptCommands)}.`;
}

function skippedRow(label, reason, columns) {
  return [label, `(${reason})`, ...Array(columns - 2).fill('')];
}

/** The round-trip and statement notes under a table, for the rows that measured them. */
function costNotes(rows, what) {
  return [
    ...rows.filter((row) => row.roundTrips).flatMap((row) => [tripsNote(row, what), '']),
    ...rows.filter((row) => row.statements).flatMap((row) => [statementsNote(row, what), '']),
  ];
}

/** The middleware table, with its round-trip and statement notes. */
function renderMiddleware(middleware) {
  const out = [];
  out.push(`### Middleware: GET /me, ${CONNECTIONS} connections (req/s, median of ${ROUNDS} rounds x ${SECONDS} s)`, '');
  out.push(
    table(
      [
        'variant',
        'req/s',
        'min..max',
        'vs bare',
        'server CPU µs / req',
        'vs bare',
        'p50 ms',
        'p99 ms',
        'store round trips / request',
        'errors',
      ],
      middleware.map((row) =>
        row.skipped
          ? skippedRow(row.label, row.skipped, 10)
          : [
              row.label,
              fmtInt(row.rps.median),
              fmtRange(row.rps),
              fmtRatio(row.ratio),
              fmt(row.cpu.micros, 1),
              fmtRatio(row.cpu.ratio),
              fmt(row.p50Ms),
              fmt(row.p99Ms),
              row.roundTripsPerRequest === undefined ? '' : fmt(row.roundTripsPerRequest),
              row.errors,
            ],
      ),
    ),
    '',
  );
  out.push(...costNotes(middleware, 'request'));
  return out;
}

/** The table of GET /me at 1, 10 and 100 connections. */
function renderConnections(connections) {
  const out = [];
  out.push(
    `### Connections: GET /me at 1, 10 and 100 connections (req/s, median of ${ROUNDS} rounds x ${SECONDS} s; ratio to bare at the same count)`,
    '',
  );
  out.push(
    table(
      ['variant', '1 conn', 'vs bare', '10 conns', 'vs bare', '100 conns', 'vs bare', 'p99 ms @100', 'errors'],
      connections.map((row) => [
        row.label,
        fmtInt(row[1].rps.median),
        fmtRatio(row[1].ratio),
        fmtInt(row[10].rps.median),
        fmtRatio(row[10].ratio),
        fmtInt(row[100].rps.median),
        fmtRatio(row[100].ratio),
        fmt(row[100].p99Ms),
        row[1].errors + row[10].errors + row[100].errors,
      ]),
    ),
    '',
  );
  return out;
}

/** How long a revocation takes to reach another process. */
function renderPropagation(propagation) {
  const out = [];
  out.push(
    `### Revocation propagation: logout-all through one process, until another process (revocation: 'cached') refuses the token`,
    '',
  );
  const label = {
    direct: 'verifyAccessToken in another process, polled in a loop',
    http: 'GET /me on another server process, polled over HTTP',
  };
  out.push(
    table(
      ['measured by', 'samples', 'left out (logout-all got 503)', 'p50 ms', 'p99 ms', 'max ms', 'checks still accepted meanwhile'],
      ['direct', 'http'].map((way) => {
        const row = propagation[way];
        return [label[way], row.samples, row.skipped, fmt(row.p50Ms), fmt(row.p99Ms), fmt(row.maxMs), row.acceptedAfterRevocation];
      }),
    ),
    '',
    "Times run from logout-all's 204 to the first refusal; over HTTP they include one request's latency to the other process.",
    '',
  );
  return out;
}

/** The refresh table, with its round-trip and statement notes. */
function renderRefresh(refresh) {
  const out = [];
  out.push(
    `### Refresh: POST /auth/refresh, every request a real rotation, ${CONNECTIONS} connections (median of ${ROUNDS} rounds x ${SECONDS} s)`,
    '',
  );
  out.push(
    table(
      ['variant', 'ops/s', 'min..max', 'vs EVALSHA', 'p50 ms', 'p99 ms', 'store round trips / refresh', 'errors'],
      refresh.map((row) =>
        row.skipped
          ? skippedRow(row.label, row.skipped, 8)
          : [
              row.label,
              fmtInt(row.rps.median),
              fmtRange(row.rps),
              fmtRatio(row.ratio),
              fmt(row.p50Ms),
              fmt(row.p99Ms),
              row.roundTripsPerRefresh === undefined ? '' : fmt(row.roundTripsPerRefresh),
              row.errors,
            ],
      ),
    ),
    '',
  );
  out.push(...costNotes(refresh, 'refresh'));
  return out;
}

/** The login table (bcrypt). */
function renderLogin(login) {
  const out = [];
  out.push(`### Login: POST /auth/login with bcrypt, 20 connections (median of ${ROUNDS} rounds x ${LOGIN_SECONDS} s)`, '');
  out.push(
    table(
      ['variant', 'logins/s', 'min..max', 'p50 ms', 'p99 ms', 'event-loop delay p99 ms', 'min..max', 'errors'],
      login.map((row) => [
        row.label,
        fmt(row.rps.median, 1),
        fmtRange(row.rps, (v) => fmt(v, 1)),
        fmtInt(row.p50Ms),
        fmtInt(row.p99Ms),
        fmt(row.eventLoopP99Ms.median),
        fmtRange(row.eventLoopP99Ms, (v) => fmt(v)),
        row.errors,
      ]),
    ),
    '',
  );
  return out;
}

/** The login-throttle table. */
function renderThrottle(throttle) {
  const out = [];
  out.push(
    `### Login throttle: POST /auth/login without bcrypt, ${CONNECTIONS} connections (median of ${ROUNDS} rounds x ${SECONDS} s; every answer counts)`,
    '',
  );
  const trips = (row) =>
    Object.entries(row.roundTripsPerLogin ?? {})
      .map(([kind, value]) => `${fmt(value, 2)} ${kind}`)
      .join(', ');
  out.push(
    table(
      ['variant', 'answers/s', 'min..max', 'x reference', 'p50 ms', 'p99 ms', 'store round trips per login', 'errors'],
      throttle.map((row) => [
        row.label,
        fmtInt(row.answeredRps.median),
        fmtRange(row.answeredRps, fmtInt),
        fmtRatio(row.ratio),
        fmt(row.p50Ms, 1),
        fmt(row.p99Ms, 1),
        trips(row),
        row.errors,
      ]),
    ),
    '',
    "Round trips: Redis commands sent by the app (MONITOR) or PostgreSQL top-level statements (pg_stat_statements) per answered login. A failed or throttled login makes one (the throttle's check-and-count); a successful one adds the reset and the session write.",
    '',
  );
  return out;
}

/** Memory per live session, per store. */
function renderMemory(memory) {
  const out = [];
  out.push(
    `### Memory per live session (${SESSIONS.toLocaleString('en-US')} sessions, 2 per user, each logged in and refreshed once, with a 111-byte User-Agent unless said)`,
    '',
  );
  out.push(
    table(
      ['store', 'bytes / session', 'total', 'keys'],
      memory.map((row) =>
        row.skipped
          ? skippedRow(row.label, row.skipped, 4)
          : [
              row.label,
              fmtInt(row.bytesPerSession),
              `${fmt((row.usedMemoryBytes ?? row.heapBytes) / 2 ** 20, 1)} MiB`,
              row.keys === undefined ? '' : fmtInt(row.keys),
            ],
      ),
    ),
    '',
  );
  return out;
}

/** PostgreSQL statements per store call. */
function renderPostgres(postgres) {
  const out = [];
  out.push('### PostgreSQL: statements per store call (each method called 200 times, one after the other)', '');
  out.push(
    table(
      ['PostgresTokenStore method', 'query() calls (round trips)', 'top-level statements', 'statements inside functions'],
      postgres.map((row) =>
        row.skipped ? skippedRow('every method', row.skipped, 4) : [row.name, fmt(row.roundTrips), fmt(row.topLevel), fmt(row.nested)],
      ),
    ),
    '',
  );
  return out;
}

/** What a guards-table load is called. */
const loadName = (count) => (count === 1 ? 'one token' : `${count.toLocaleString('en-US')} tokens`);

/** The guards table: ns per request in process, for each load. */
function renderGuards(guards) {
  return [
    `### Guards in process: ns per request, with 1, ${MANY_TOKENS.toLocaleString('en-US')} and ${FRESH_TOKENS.toLocaleString('en-US')} distinct tokens sent in turn (median of ${ROUNDS} rounds x ${GUARD_MS} ms)`,
    '',
    table(
      ['guard', ...GUARD_LOADS.flatMap((count) => [`${loadName(count)} ns`, 'min..max', 'time vs ours'])],
      guards.map((row) => [
        row.label,
        ...row.loads.flatMap((load) => [fmtInt(load.nanos.median), fmtRange(load.nanos), fmtRatio(load.vsOurs)]),
      ]),
    ),
    '',
    `"time vs ours" is the median of per-round ratios of this guard's time to ours: above 1.00x it is slower. Each call builds a request and runs the guard's middleware to the route's \`next()\` (bench/lib/guard-timer.mjs); the harness row is that cost without a guard. With ${loadName(FRESH_TOKENS)} in turn no cache holds a token until it comes again: every request is a miss.`,
    '',
  ];
}

/** Each table's Markdown lines, in the order the results file shows them. */
const RENDER = {
  middleware: renderMiddleware,
  connections: renderConnections,
  propagation: renderPropagation,
  guards: renderGuards,
  refresh: renderRefresh,
  login: renderLogin,
  throttle: renderThrottle,
  memory: renderMemory,
  postgres: renderPostgres,
};

function render(results) {
  return Object.entries(RENDER)
    .filter(([name]) => results[name])
    .flatMap(([name, renderTable]) => renderTable(results[name]))
    .join('\n');
}

/** req/s of one middleware row over another's, both as ratios to the bare route of the same rounds. */
function ratioOfRows(row, reference) {
  return row && reference ? row.ratio / reference.ratio : null;
}

function summarize(results) {
  const rows = results.middleware ?? [];
  const find = (name) => rows.find((row) => row.name === name && !row.skipped);
  const ours = find('ours-hs256');
  const peers = rows.filter((row) => row.kind === 'peer' && !row.skipped);
  const bestPeer = peers.reduce((best, row) => (!best || row.ratio > best.ratio ? row : best), undefined);
  const revocation = find('ours-hs256-redis');
  const cachedRow = find('ours-hs256-cached');
  const floor = find('hmac-floor');
  const refreshRedis = results.refresh?.find((row) => row.name === 'refresh-redis' && !row.skipped);
  const refreshCluster = results.refresh?.find((row) => row.name === 'refresh-cluster' && !row.skipped);
  const refreshPostgres = results.refresh?.find((row) => row.name === 'refresh-postgres' && !row.skipped);
  const revocationPostgres = find('ours-hs256-postgres');
  const statementsPerCall = results.postgres?.filter((row) => !row.skipped) ?? [];
  const login12 = results.login?.find((row) => row.cost === 12);
  const redisMemory = results.memory?.find((row) => row.name === 'redis-store' && !row.skipped);
  // In process (the guards table), for each load, the peer whose time is the smallest share of ours.
  const guardPeers = results.guards?.filter((row) => row.kind === 'peer') ?? [];
  const fastestPeers = GUARD_LOADS.map((count, i) => {
    const best = guardPeers.reduce((found, row) => (!found || row.loads[i].vsOurs < found.loads[i].vsOurs ? row : found), undefined);
    return { tokens: count, peer: best?.label ?? null, timeVsOurs: best?.loads[i].vsOurs ?? null };
  });
  const summaryValues = {
    oursVsBare: ours?.ratio ?? null,
    oursVsBestPeer: ours && bestPeer ? ours.ratio / bestPeer.ratio : null,
    bestPeer: bestPeer?.label ?? null,
    fastestPeersInProcess: results.guards ? fastestPeers : null,
    oursVsHmacFloor: ours && floor ? ours.ratio / floor.ratio : null,
    revocationVsBare: revocation?.ratio ?? null,
    roundTripsPerRevocationCheck: revocation?.roundTripsPerRequest ?? null,
    cachedRevocationVsBare: cachedRow?.ratio ?? null,
    roundTripsPerCachedCheck: cachedRow?.roundTripsPerRequest ?? null,
    revocationPropagationP50Ms: results.propagation?.direct.p50Ms ?? null,
    revocationPropagationP99Ms: results.propagation?.direct.p99Ms ?? null,
    revocationPropagationOverHttpP99Ms: results.propagation?.http.p99Ms ?? null,
    statelessManyTokensVsBare: find('ours-hs256-many')?.ratio ?? null,
    revocationManyTokensVsBare: find('ours-hs256-redis-many')?.ratio ?? null,
    cachedRevocationManyTokensVsBare: find('ours-hs256-cached-many')?.ratio ?? null,
    roundTripsPerRefresh: refreshRedis?.roundTripsPerRefresh ?? null,
    roundTripsPerRefreshCluster: refreshCluster?.roundTripsPerRefresh ?? null,
    revocationPostgresVsBare: revocationPostgres?.ratio ?? null,
    statementsPerRevocationCheckPostgres: revocationPostgres?.roundTripsPerRequest ?? null,
    statementsPerRefreshPostgres: refreshPostgres?.roundTripsPerRefresh ?? null,
    refreshPostgresVsRedis: refreshPostgres && refreshRedis ? refreshPostgres.rps.median / refreshRedis.rps.median : null,
    maxStatementsPerStoreCallPostgres: statementsPerCall.length ? Math.max(...statementsPerCall.map((row) => row.topLevel)) : null,
    loginEventLoopP99Ms: login12?.eventLoopP99Ms.median ?? null,
    redisBytesPerSession: redisMemory?.bytesPerSession ?? null,
    redisBytesPerSessionWithoutUserAgent: results.memory?.find((row) => row.name === 'redis-store-no-user-agent')?.bytesPerSession ?? null,
    memoryStoreBytesPerSession: results.memory?.find((row) => row.name === 'memory-store')?.bytesPerSession ?? null,
    keySetVsOneKeyHs256: ratioOfRows(find('ours-hs256-keyset'), ours),
    keySetVsOneKeyEs256: ratioOfRows(find('ours-es256-keyset'), find('ours-es256')),
    verifierVsOneKeyEs256: ratioOfRows(find('ours-es256-verifier'), find('ours-es256')),
  };
  const check = (value, test) => (value === null || value === undefined || Number.isNaN(value) ? null : test(value));
  const nearOne = (value) => Math.abs(value - 1) < 0.01;
  const targets = [
    ['ours stateless HS256 >= 0.90x the bare route', check(summaryValues.oursVsBare, (v) => v >= 0.9), fmtRatio(summaryValues.oursVsBare)],
    [
      'ours stateless HS256 >= every peer row, behind HTTP',
      check(summaryValues.oursVsBestPeer, (v) => v >= 1),
      `${fmtRatio(summaryValues.oursVsBestPeer)} of the best peer (${summaryValues.bestPeer})`,
    ],
    ...fastestPeers.map(({ tokens, peer, timeVsOurs }) => [
      `ours stateless HS256 no slower than any peer in process, ${tokens === 1 ? 'one token' : `${loadName(tokens)} in turn`}`,
      check(timeVsOurs, (v) => v >= 1),
      `the fastest peer takes ${fmtRatio(timeVsOurs)} of our time (${peer})`,
    ]),
    [
      'ours stateless HS256 within 5 % of the raw HMAC floor, or above it',
      check(summaryValues.oursVsHmacFloor, (v) => v >= 0.95),
      `${fmtRatio(summaryValues.oursVsHmacFloor)} of the floor`,
    ],
    [
      'revocation checks on Redis: exactly one round trip per request',
      check(summaryValues.roundTripsPerRevocationCheck, nearOne),
      fmt(summaryValues.roundTripsPerRevocationCheck, 3),
    ],
    [
      'revocation checks on Redis >= 0.6x the bare route at 10 connections',
      check(summaryValues.revocationVsBare, (v) => v >= 0.6),
      fmtRatio(summaryValues.revocationVsBare),
    ],
    [
      "revocation: 'cached' >= 0.90x the bare route at 10 connections",
      check(summaryValues.cachedRevocationVsBare, (v) => v >= 0.9),
      fmtRatio(summaryValues.cachedRevocationVsBare),
    ],
    [
      "revocation: 'cached': < 0.01 store round trips per request",
      check(summaryValues.roundTripsPerCachedCheck, (v) => v < 0.01),
      fmt(summaryValues.roundTripsPerCachedCheck, 4),
    ],
    [
      'a revocation refused by another process: p99 < 100 ms',
      check(summaryValues.revocationPropagationP99Ms, (v) => v < 100),
      `${fmt(summaryValues.revocationPropagationP99Ms)} ms (p50 ${fmt(summaryValues.revocationPropagationP50Ms)} ms)`,
    ],
    [
      '/refresh on Redis: exactly one round trip per rotation',
      check(summaryValues.roundTripsPerRefresh, nearOne),
      `${fmt(summaryValues.roundTripsPerRefresh, 3)} (Cluster: ${fmt(summaryValues.roundTripsPerRefreshCluster, 3)})`,
    ],
    [
      'revocation checks on PostgreSQL: exactly one statement per request',
      check(summaryValues.statementsPerRevocationCheckPostgres, nearOne),
      fmt(summaryValues.statementsPerRevocationCheckPostgres, 3),
    ],
    [
      '/refresh on PostgreSQL: exactly one statement per rotation',
      check(summaryValues.statementsPerRefreshPostgres, nearOne),
      fmt(summaryValues.statementsPerRefreshPostgres, 3),
    ],
    [
      'PostgresTokenStore: one statement per store call, every method',
      check(summaryValues.maxStatementsPerStoreCallPostgres, nearOne),
      `at most ${fmt(summaryValues.maxStatementsPerStoreCallPostgres, 3)}`,
    ],
    [
      'login at cost 12, 20 concurrent: event-loop delay p99 < 20 ms',
      check(summaryValues.loginEventLoopP99Ms, (v) => v < 20),
      `${fmt(summaryValues.loginEventLoopP99Ms)} ms`,
    ],
    [
      'Redis memory per live session < 1 KB',
      check(summaryValues.redisBytesPerSession, (v) => v < 1024),
      `${fmtInt(summaryValues.redisBytesPerSession)} bytes`,
    ],
    [
      'a key set (by kid) within 5 % of one key, HS256 and ES256',
      check(Math.min(summaryValues.keySetVsOneKeyHs256 ?? NaN, summaryValues.keySetVsOneKeyEs256 ?? NaN), (v) => v >= 0.95),
      `${fmtRatio(summaryValues.keySetVsOneKeyHs256)} (HS256), ${fmtRatio(summaryValues.keySetVsOneKeyEs256)} (ES256)`,
    ],
    [
      'createAccessTokenVerifier on a JWKS within 5 % of one key (ES256)',
      check(summaryValues.verifierVsOneKeyEs256, (v) => v >= 0.95),
      fmtRatio(summaryValues.verifierVsOneKeyEs256),
    ],
  ].map(([target, met, value]) => ({ target, met, value }));
  return { summary: summaryValues, targets };
}

function renderTargets(targets) {
  return table(
    ['target', 'measured', 'met'],
    targets.map(({ target, met, value }) => [target, value, met === null ? 'not measured' : met ? 'yes' : '**no**']),
  );
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const facts = machineFacts();
  const place = placement();
  log(
    `${facts.nproc} CPUs (${facts.cpuModel}), Node ${facts.node}, Express ${facts.express}, Redis ${facts.redis ?? 'not found'}, PostgreSQL ${facts.postgres ?? 'not found'}`,
  );
  log(
    place.pinned
      ? `pinned: servers on CPU ${place.server}, load generator and redis-server on CPU ${place.loader}`
      : 'taskset not found or one CPU: processes are not pinned',
  );
  await loadLibrary(); // fails early when the build is missing
  for (const { dir } of COMPARE) await loadLibrary(distDir(dir));

  const redis = { available: false };
  const wantsRedis = ONLY.some((name) => ['middleware', 'connections', 'refresh', 'throttle', 'memory'].includes(name));
  const redisStore = await loadRedisStore();
  if (!facts.redis) redis.skipReason = 'redis-server not found';
  else if (!redisStore) redis.skipReason = 'Redis store not available';
  else if (wantsRedis) {
    const server = await startRedis(place.redis);
    cleanups.push(() => server.stop());
    redis.available = true;
    redis.port = server.port;
    redis.storeSource = redisStore.source;
    if (ONLY.includes('refresh') || ONLY.includes('throttle')) {
      const cluster = await startCluster(place.redis, 3);
      cleanups.push(() => cluster.stop());
      redis.clusterPorts = cluster.ports;
    }
    log(
      `redis-server on ${redis.port}${redis.clusterPorts ? `, Cluster on ${redis.clusterPorts.join(', ')}` : ''}; RedisTokenStore from ${redisStore.source}`,
    );
  }
  if (redis.skipReason) log(`Redis rows skipped: ${redis.skipReason}`);

  const postgres = { available: false };
  const wantsPostgres = ONLY.some((name) => ['middleware', 'connections', 'refresh', 'throttle', 'postgres'].includes(name));
  if (!facts.postgres) postgres.skipReason = 'initdb and postgres not found';
  else if (!(await loadPostgresStore())) postgres.skipReason = 'PostgreSQL store not available';
  else if (wantsPostgres) {
    const server = await startPostgres(place.redis);
    cleanups.push(() => server.stop());
    postgres.available = true;
    postgres.port = server.port;
    log(`PostgreSQL ${facts.postgres} on ${postgres.port}`);
  }
  if (postgres.skipReason) log(`PostgreSQL rows skipped: ${postgres.skipReason}`);

  const loader = await startNode(place.loader, join(here, 'lib', 'loader.mjs'));
  const ctx = { place, loader, redis, postgres, config: keyMaterial() };
  const results = {};
  if (ONLY.includes('middleware') || ONLY.includes('connections')) Object.assign(results, await middlewareTables(ctx));
  if (ONLY.includes('guards')) results.guards = await guardsTable(ctx);
  if (ONLY.includes('refresh')) results.refresh = await refreshTable(ctx);
  if (ONLY.includes('login')) results.login = await loginTable(ctx);
  if (ONLY.includes('throttle')) results.throttle = await throttleTable(ctx);
  if (ONLY.includes('memory')) results.memory = await memoryTable(ctx);
  if (ONLY.includes('postgres')) results.postgres = await postgresTable(ctx);
  if (!ONLY.includes('middleware')) delete results.middleware;

  const { summary: summaryValues, targets } = summarize(results);
  const seconds = Math.round((Date.now() - started) / 1000);
  const settings = Object.entries(process.env).filter(([name]) => name.startsWith('BENCH_'));
  const command = [...settings.map(([name, value]) => `${name}=${JSON.stringify(value)}`), 'npm run bench'].join(' ');
  const meta = {
    date: new Date().toISOString(),
    command,
    seconds,
    rounds: ROUNDS,
    secondsPerRound: SECONDS,
    loginSecondsPerRound: LOGIN_SECONDS,
    connections: CONNECTIONS,
    pinned: place.pinned ? { server: place.server, loader: place.loader, redis: place.redis, postgres: place.redis } : false,
    redisStore: redis.storeSource ?? redis.skipReason,
    tables: ONLY,
  };
  const text = render(results);
  const machine = `${facts.nproc} CPUs (${facts.cpuModel}), ${facts.memoryGiB} GiB, Node ${facts.node}, Express ${facts.express}, Redis ${facts.redis ?? 'n/a'}, ioredis ${facts.ioredis}, PostgreSQL ${facts.postgres ?? 'n/a'}, pg ${facts.pg}, autocannon ${facts.autocannon}`;
  const header = [
    `Run ${meta.date}, ${seconds} s in all, commit ${facts.commit ?? 'n/a'} (working tree), library ${facts.library}`,
    `Command: ${command}`,
    `Machine: ${machine}`,
    `Pinning: ${place.pinned ? `servers on CPU ${place.server}; load generator, redis-server, postgres and helpers on CPU ${place.loader}` : 'none (taskset not found or one CPU)'}`,
    `Ratios are medians of per-round ratios (rounds interleave the variants); req/s is 2xx answers per second.`,
  ].join('\n');
  const report = `${header}\n\n${text}\n### Targets\n\n${renderTargets(targets)}\n`;
  console.log(`\n${report}`);

  const resultsDir = join(here, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const name = /^[\w-]+$/.test(process.env.BENCH_RESULTS ?? '') ? process.env.BENCH_RESULTS : 'latest';
  writeFileSync(
    join(resultsDir, `${name}.json`),
    `${JSON.stringify({ summary: summaryValues, targets, meta, machine: facts, tables: results }, null, 2)}\n`,
  );
  writeFileSync(join(resultsDir, `${name}.md`), report);
  log(`wrote bench/results/${name}.json and bench/results/${name}.md (${seconds} s)`);
}

try {
  await main();
} catch (error) {
  if (!interrupted()) log('failed:', error?.stack ?? error);
  process.exitCode = 1;
} finally {
  await cleanup();
}
