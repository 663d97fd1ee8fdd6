/*
 * One server variant per process: `node server.mjs <variant>`, configured by BENCH_CONFIG (JSON:
 * secret, PEM keys, Redis and PostgreSQL ports, bcrypt cost). It listens on a free 127.0.0.1 port, sends
 * `{ type: 'ready', port }` over IPC, and answers `stats` / `stats:reset` / `idle` messages:
 * the event-loop delay while a round runs, and the requests still in flight.
 *
 * Every protected variant serves `GET /me` -> `{"userId":"<sub>"}`; the bare variant sends the
 * same body without auth. Variants that need a token to test with also mount our auth router
 * (after `/me`, so `/me` requests never reach it) and log in through it.
 *
 * `reliability` (bench/reliability.mjs) is the app as the README recommends it on Redis, with
 * `reuseGraceSeconds` from the config; its router hooks count rotations, grace retries and reuse
 * in `stats.counters`, as do Redis client errors (a killed server).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import express from 'express';
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';
import { statelessGuards } from './guards.mjs';
import { loadLibrary, loadPostgresStore, loadRedisStore } from './library.mjs';
import { serveIpc } from './procs.mjs';

const variant = process.argv[2];
const config = JSON.parse(process.env.BENCH_CONFIG ?? '{}');
const lib = await loadLibrary();
const { createAuthRouter, requireAccessToken, MemoryTokenStore, createCredentialsVerifier, hashPassword } = lib;

const ELD_RESOLUTION_MS = 1;
// Sampled only from `stats:reset` to the next `stats` (the login table's rounds): the histogram
// wakes its process every millisecond, and 22 idle servers doing so on the servers' one CPU took
// half of it from the server being measured.
const eventLoopDelay = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
let inflight = 0;
let ok2xx = 0;
let answeredAll = 0;
const redisClients = [];
const postgresPools = [];
const counters = { rotated: 0, retried: 0, reuseDetected: 0, redisErrors: 0 };

const secret = config.secret;
const expiresIn = '30m';
const ours = {
  hs256: { secret, expiresIn },
  rs256: { algorithm: 'RS256', privateKey: config.rsa?.privateKey, expiresIn },
  es256: { algorithm: 'ES256', privateKey: config.ec?.privateKey, expiresIn },
};
const verifyOnly = {
  hs256: ours.hs256,
  rs256: { algorithm: 'RS256', publicKey: config.rsa?.publicKey, expiresIn },
  es256: { algorithm: 'ES256', publicKey: config.ec?.publicKey, expiresIn },
};

/** Answers `{"userId": sub}`, the same body for every variant. */
const me = (userId) => (_req, res) => res.json({ userId });

/** `GET /me` behind one of the stateless guards that guard-timer.mjs also times (see guards.mjs). */
function guarded(app, name) {
  const { handlers, userId, onError } = statelessGuards(lib, { secret, expiresIn })[name]();
  app.get('/me', ...handlers, (req, res) => res.json({ userId: userId(req) }));
  if (onError) app.use(onError);
}

/**
 * Our router for logins and refreshes: no bcrypt, the username is the user id. It mints the
 * tokens the load uses, thousands of logins at once from one address, which the login throttle
 * would hold back (an attempt counts against the address until it succeeds): off here; the
 * "throttle" table measures it.
 */
function authRouter(accessToken, store, extra = {}) {
  return createAuthRouter({
    accessToken,
    store,
    verifyCredentials: async (username) => ({ id: username }),
    refreshToken: { transport: 'body' },
    loginThrottle: false,
    ...extra,
  });
}

/** The Redis clients are set up as the README recommends (`recommendedRedisOptions`), when the build has them. */
async function redisClient() {
  const { RedisTokenStore } = (await loadRedisStore()) ?? {};
  if (!RedisTokenStore) throw new Error('the Redis store is not available in this build');
  const client = new Redis({ ...lib.recommendedRedisOptions, host: '127.0.0.1', port: config.redisPort, lazyConnect: true });
  client.on('error', () => counters.redisErrors++); // reconnects by itself; requests answer 503 meanwhile
  await client.connect();
  redisClients.push(client);
  return new RedisTokenStore({ client, keyPrefix: 'bench:' });
}

async function clusterClient() {
  const { RedisTokenStore } = (await loadRedisStore()) ?? {};
  if (!RedisTokenStore) throw new Error('the Redis store is not available in this build');
  const client = new Cluster(
    config.clusterPorts.map((port) => ({ host: '127.0.0.1', port })),
    { ...lib.recommendedClusterOptions, lazyConnect: true },
  );
  await client.connect();
  redisClients.push(client);
  return new RedisTokenStore({ client, keyPrefix: 'bench:' });
}

/** The PostgreSQL store as the README recommends it: a pool with `recommendedPostgresPoolOptions`, migrated at start-up. */
async function postgresStore() {
  const { PostgresTokenStore, recommendedPostgresPoolOptions } = (await loadPostgresStore()) ?? {};
  if (!PostgresTokenStore) throw new Error('the PostgreSQL store is not available in this build');
  const pool = new pg.Pool({
    host: '127.0.0.1',
    port: config.postgresPort,
    user: 'postgres',
    database: 'postgres',
    ...recommendedPostgresPoolOptions,
  });
  pool.on('error', () => {});
  postgresPools.push(pool);
  const store = new PostgresTokenStore({ pool, tableName: 'bench_families' });
  await store.migrate();
  return store;
}

/** The app of each variant. */
const variants = {
  bare(app) {
    app.get('/me', me('u_000001'));
  },

  // ---- ours ----
  'ours-hs256'(app) {
    guarded(app, 'ours-hs256');
    app.use('/auth', authRouter(ours.hs256, new MemoryTokenStore()));
  },
  async 'ours-hs256-redis'(app) {
    const store = await redisClient();
    app.get('/me', requireAccessToken({ ...verifyOnly.hs256, store }), (req, res) => res.json({ userId: req.auth.userId }));
    app.use('/auth', authRouter(ours.hs256, store));
  },
  // revocation: 'cached' (README "Revocation checks from memory"): the same checks from memory.
  async 'ours-hs256-cached'(app) {
    const store = await redisClient();
    app.get('/me', requireAccessToken({ ...verifyOnly.hs256, store, revocation: 'cached' }), (req, res) =>
      res.json({ userId: req.auth.userId }),
    );
    app.use('/auth', authRouter(ours.hs256, store));
  },
  async 'ours-hs256-postgres'(app) {
    const store = await postgresStore();
    app.get('/me', requireAccessToken({ ...verifyOnly.hs256, store }), (req, res) => res.json({ userId: req.auth.userId }));
    app.use('/auth', authRouter(ours.hs256, store));
  },
  'ours-rs256'(app) {
    app.get('/me', requireAccessToken(verifyOnly.rs256), (req, res) => res.json({ userId: req.auth.userId }));
    app.use('/auth', authRouter(ours.rs256, new MemoryTokenStore()));
  },
  'ours-es256'(app) {
    app.get('/me', requireAccessToken(verifyOnly.es256), (req, res) => res.json({ userId: req.auth.userId }));
    app.use('/auth', authRouter(ours.es256, new MemoryTokenStore()));
  },
  // Key sets: the token's key is the second of the set, found by its kid.
  'ours-hs256-keyset'(app) {
    const keys = [
      { kid: 'next', secret: `${secret}-next` },
      { kid: 'current', secret },
    ];
    app.get('/me', requireAccessToken({ keys, expiresIn }), (req, res) => res.json({ userId: req.auth.userId }));
    app.use('/auth', authRouter({ keys: [keys[1]], expiresIn }, new MemoryTokenStore()));
  },
  'ours-es256-keyset'(app) {
    const keys = [
      { kid: 'next', secret: `${secret}-next` },
      { kid: 'current', algorithm: 'ES256', publicKey: config.ec?.publicKey },
    ];
    app.get('/me', requireAccessToken({ keys, expiresIn }), (req, res) => res.json({ userId: req.auth.userId }));
    app.use(
      '/auth',
      authRouter({ keys: [{ kid: 'current', algorithm: 'ES256', privateKey: config.ec?.privateKey }], expiresIn }, new MemoryTokenStore()),
    );
  },
  // Another service's view: createAccessTokenVerifier on the signer's JWKS (this process's own
  // router, fetched once, at the first request).
  'ours-es256-verifier'(app) {
    let guard;
    app.get(
      '/me',
      (req, res, next) => {
        guard ??= lib
          .createAccessTokenVerifier({ jwksUri: `http://127.0.0.1:${req.socket.localPort}/auth/jwks.json`, expiresIn })
          .requireAccessToken();
        guard(req, res, next);
      },
      (req, res) => res.json({ userId: req.auth.userId }),
    );
    app.use(
      '/auth',
      authRouter({ keys: [{ kid: 'current', algorithm: 'ES256', privateKey: config.ec?.privateKey }], expiresIn }, new MemoryTokenStore()),
    );
  },

  // ---- peers, each as its documentation shows it, verifying the same HS256 token, and the floor ----
  'express-jwt-string': (app) => guarded(app, 'express-jwt-string'),
  'express-jwt-keyobject': (app) => guarded(app, 'express-jwt-keyobject'),
  'passport-jwt-string': (app) => guarded(app, 'passport-jwt-string'),
  'passport-jwt-keyobject': (app) => guarded(app, 'passport-jwt-keyobject'),
  'fast-jwt-cache': (app) => guarded(app, 'fast-jwt-cache'),
  'fast-jwt': (app) => guarded(app, 'fast-jwt'),
  jose: (app) => guarded(app, 'jose'),
  'jsonwebtoken-keyobject': (app) => guarded(app, 'jsonwebtoken-keyobject'),
  'hmac-floor': (app) => guarded(app, 'hmac-floor'),

  // ---- /refresh ----
  'refresh-memory'(app) {
    app.use('/auth', authRouter(ours.hs256, new MemoryTokenStore()));
  },
  async 'refresh-redis'(app) {
    app.use('/auth', authRouter(ours.hs256, await redisClient()));
  },
  async 'refresh-cluster'(app) {
    app.use('/auth', authRouter(ours.hs256, await clusterClient()));
  },
  async 'refresh-postgres'(app) {
    app.use('/auth', authRouter(ours.hs256, await postgresStore()));
  },

  // ---- bench/reliability.mjs: revocation checks on /me, refresh tokens in the body ----
  async reliability(app) {
    const store = await redisClient();
    app.get('/me', requireAccessToken({ ...verifyOnly.hs256, store }), (req, res) => res.json({ userId: req.auth.userId }));
    app.use(
      '/auth',
      authRouter(ours.hs256, store, {
        refreshToken: { transport: 'body', reuseGraceSeconds: config.reuseGraceSeconds },
        hooks: {
          onRefresh: ({ retried }) => counters[retried ? 'retried' : 'rotated']++,
          onReuseDetected: () => counters.reuseDetected++,
        },
      }),
    );
  },

  // ---- bench/run.mjs "throttle": /login without bcrypt, with and without the login throttle ----
  // config.throttleStore: memory | redis | cluster | postgres; config.throttleMode: off (no
  // throttle), counting (limits too high to reach: every wrong password is counted and answered
  // 401) or throttled (the default limits, reached before the run: every answer is a 429).
  async throttle(app) {
    const stores = { memory: async () => new MemoryTokenStore(), redis: redisClient, cluster: clusterClient, postgres: postgresStore };
    const store = await stores[config.throttleStore]();
    const huge = { failures: 1_000_000, window: '1d' };
    const loginThrottle = { off: false, counting: { perUsernameAndIp: huge, perIp: huge }, throttled: {} }[config.throttleMode];
    app.use(
      '/auth',
      createAuthRouter({
        accessToken: ours.hs256,
        store,
        // No bcrypt: what remains is the throttle's cost, the store's and the router's.
        verifyCredentials: async (username, password) => (password === config.password ? { id: username } : null),
        refreshToken: { transport: 'body' },
        loginThrottle,
      }),
    );
  },

  // ---- /login with bcrypt ----
  async login(app) {
    const cost = config.bcryptCost;
    const passwordHash = await hashPassword(config.password, { cost });
    const verifyCredentials = createCredentialsVerifier({
      findUser: async (username) => (username === 'alice' ? { id: 'u_alice', passwordHash } : null),
      cost,
    });
    // One user logging in from 20 connections at once: the login throttle would answer most with
    // 429 (each attempt counts until it succeeds). This table measures bcrypt; "throttle" the throttle.
    app.use(
      '/auth',
      createAuthRouter({
        accessToken: ours.hs256,
        store: new MemoryTokenStore(),
        verifyCredentials,
        refreshToken: { transport: 'body' },
        loginThrottle: false,
      }),
    );
  },
};

try {
  const build = variants[variant];
  if (!build) throw new Error(`unknown variant ${variant}`);
  const app = express();
  app.set('etag', false);
  // In flight until the app answers, whether or not the client is still there to read it: a
  // request the load generator abandoned at the end of a round may still be hashing (bcrypt),
  // and the next round must not start before it is done.
  app.use((_req, res, next) => {
    inflight++;
    const end = res.end;
    let answered = false;
    res.end = function (...args) {
      if (!answered) {
        answered = true;
        inflight--;
        answeredAll++;
        if (res.statusCode < 300) ok2xx++;
      }
      return end.apply(this, args);
    };
    next();
  });
  await build(app);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.keepAliveTimeout = 60_000;
  serveIpc({
    stats() {
      const histogram = eventLoopDelay;
      histogram.disable();
      const delay = (ns) => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
      return {
        eventLoop: {
          p50Ms: delay(histogram.percentile(50)),
          p99Ms: delay(histogram.percentile(99)),
          maxMs: delay(histogram.max),
          samples: histogram.count,
        },
        inflight,
        ok2xx,
        /** Every answer, whatever its status. */
        answered: answeredAll,
        counters,
        cpuMicros: (({ user, system }) => user + system)(process.cpuUsage()),
        memory: process.memoryUsage(),
      };
    },
    'stats:reset'() {
      eventLoopDelay.reset();
      eventLoopDelay.enable();
      return {};
    },
    async idle({ timeoutMs = 60_000 }) {
      const deadline = Date.now() + timeoutMs;
      while (inflight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      return { inflight };
    },
  });
  process.on('exit', () => {
    for (const client of redisClients) client.disconnect();
    for (const pool of postgresPools) pool.end();
  });
  process.send({ type: 'ready', port: server.address().port, variant });
} catch (error) {
  process.send({ type: 'failed', error: error?.stack ?? String(error) });
  process.exit(1);
}
