/*
 * revocation: 'cached' across app processes (README "Revocation checks from memory"): two apps
 * ("processes": two createAuth instances, each with its own ioredis clients) on one Redis,
 * standalone and Cluster. A revocation made through one is refused by the other within the bound;
 * a live token costs no store call in the steady state; when notifications stop (a paused or
 * restarted server, subscriber connections killed), no revoked token ever passes.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import {
  createAuth,
  createCredentialsVerifier,
  recommendedClusterOptions,
  recommendedRedisOptions,
  RedisTokenStore,
  type Auth,
} from '../../src/index.js';
import { passwordHash, PASSWORD, SECRET } from '../helpers/app.js';
import { claimsOf } from '../helpers/jwt.js';
import { clusterPorts, randomPrefix } from './clients.js';
import { rawCommand, RedisServer, waitUntil } from './servers.js';

/** The bound the tests hold the view to: the default `maxStalenessMs`. */
const BOUND_MS = 1000;

type Client = Redis | Cluster;

/** One app process: its own client, store, createAuth, and an HTTP server on a free port. */
interface AppProcess {
  auth: Auth;
  store: RedisTokenStore;
  client: Client;
  keyPrefix: string;
  server: Server;
  base: string;
  /** Store round trips of the revocation check (isAccessTokenRevoked) made by this process. */
  storeChecks: { count: number };
}

async function startProcess(newClient: () => Promise<Client>, keyPrefix: string, storeTimeoutMs = 2000): Promise<AppProcess> {
  const client = await newClient();
  const store = new RedisTokenStore({ client, keyPrefix });
  const storeChecks = { count: 0 };
  const check = store.isAccessTokenRevoked.bind(store);
  store.isAccessTokenRevoked = (query) => {
    storeChecks.count++;
    return check(query);
  };
  const hash = await passwordHash();
  const auth = createAuth({
    accessToken: { secret: SECRET },
    store,
    storeTimeoutMs,
    verifyCredentials: createCredentialsVerifier({ findUser: (username) => ({ id: `u-${username}`, passwordHash: hash }), cost: 10 }),
    refreshToken: { transport: 'body', reuseGraceSeconds: 0 },
  });
  const app = express();
  app.use('/auth', auth.router);
  app.get('/cached', auth.requireAccessToken({ revocation: 'cached' }), (req, res) => {
    res.json({ userId: req.auth!.userId });
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return { auth, store, client, keyPrefix, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, storeChecks };
}

async function stopProcess(p: AppProcess): Promise<void> {
  await new Promise((resolve) => p.server.close(resolve));
  p.server.closeAllConnections();
  await p.store.close();
  p.client.disconnect();
}

/** Waits until the process's revocation feed is subscribed on every master and current. */
async function feedReady(p: AppProcess): Promise<void> {
  const feed = p.store.watchRevocations(() => undefined);
  await waitUntil('the revocation feed did not become current', async () => feed.state() !== undefined, 10_000);
}

async function login(p: AppProcess, username = 'alice'): Promise<{ accessToken: string; refreshToken: string }> {
  const res = await fetch(`${p.base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { accessToken: string; refreshToken: string };
}

async function post(p: AppProcess, path: string, body: unknown, accessToken?: string): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  const res = await fetch(`${p.base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

async function cached(p: AppProcess, accessToken: string): Promise<number> {
  const res = await fetch(`${p.base}/cached`, { headers: { authorization: `Bearer ${accessToken}` } });
  await res.arrayBuffer();
  return res.status;
}

/**
 * Requests the token on `p` in a tight loop from the moment `revoke` resolved: the first 401 must
 * come within the bound, and no 200 after it. Returns how long the refusal took, in ms.
 */
async function refusedWithinBound(p: AppProcess, accessToken: string, revoke: () => Promise<unknown>): Promise<number> {
  await revoke();
  const revokedAt = performance.now();
  let refusedAt: number | undefined;
  const afterRefusal: number[] = [];
  while (performance.now() - revokedAt < (refusedAt === undefined ? BOUND_MS + 500 : 0) || afterRefusal.length < 20) {
    const status = await cached(p, accessToken);
    if (refusedAt === undefined) {
      if (status === 401) refusedAt = performance.now();
      else expect(status).toBe(200);
    } else {
      afterRefusal.push(status);
    }
  }
  expect(refusedAt).toBeDefined();
  expect(afterRefusal.filter((status) => status !== 401)).toEqual([]);
  const elapsed = refusedAt! - revokedAt;
  expect(elapsed).toBeLessThan(BOUND_MS);
  return elapsed;
}

const topologies: [string, () => Promise<Client>][] = [
  [
    'standalone',
    async () => {
      const client = new Redis({
        ...recommendedRedisOptions,
        host: '127.0.0.1',
        port: Number(process.env.ERT_REDIS_PORT),
        lazyConnect: true,
      });
      await client.connect();
      return client;
    },
  ],
  [
    'Cluster',
    async () => {
      const client = new Cluster(
        clusterPorts().map((port) => ({ host: '127.0.0.1', port })),
        { ...recommendedClusterOptions, lazyConnect: true },
      );
      await client.connect();
      return client;
    },
  ],
];

describe.each(topologies)('revocation: cached across two app processes on %s Redis', (_name, newClient) => {
  let a: AppProcess;
  let b: AppProcess;

  beforeAll(async () => {
    const keyPrefix = randomPrefix();
    [a, b] = await Promise.all([startProcess(newClient, keyPrefix), startProcess(newClient, keyPrefix)]);
    await feedReady(b);
    // The view vouches for tokens issued after its epoch began (plus the 5 s clock tolerance); the
    // first request observes the epoch, older tokens are asked of the store once.
    const warmUp = await login(a, 'warm-up');
    expect(await cached(b, warmUp.accessToken)).toBe(200);
  });
  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map(stopProcess));
  });

  it('answers a live token from memory: no store round trip once the store vouched for it', async () => {
    const { accessToken } = await login(a);
    expect(await cached(b, accessToken)).toBe(200);
    const before = b.storeChecks.count;
    for (let i = 0; i < 50; i++) expect(await cached(b, accessToken)).toBe(200);
    expect(b.storeChecks.count).toBe(before);
  });

  it('logout on one: the access token it denylisted is refused on the other within the bound', async () => {
    const tokens = await login(a);
    expect(await cached(b, tokens.accessToken)).toBe(200);
    await refusedWithinBound(b, tokens.accessToken, async () =>
      expect(await post(a, '/auth/logout', { refreshToken: tokens.refreshToken }, tokens.accessToken)).toBe(204),
    );
  });

  it('logout without the access token: the revoked session refuses it on the other', async () => {
    const tokens = await login(a);
    expect(await cached(b, tokens.accessToken)).toBe(200);
    await refusedWithinBound(b, tokens.accessToken, async () =>
      expect(await post(a, '/auth/logout', { refreshToken: tokens.refreshToken })).toBe(204),
    );
  });

  it('logout-all on one: every session of the user is refused on the other', async () => {
    const first = await login(a, 'carol');
    const second = await login(a, 'carol');
    expect(await cached(b, second.accessToken)).toBe(200);
    await refusedWithinBound(b, second.accessToken, async () => expect(await post(a, '/auth/logout-all', {}, first.accessToken)).toBe(204));
    expect(await cached(b, first.accessToken)).toBe(401);
  });

  it("DELETE /sessions/:id on one: that session is refused on the other, the caller's own lives", async () => {
    const victim = await login(a, 'dave');
    const manager = await login(a, 'dave');
    const sid = claimsOf(victim.accessToken).sid as string;
    expect(await cached(b, victim.accessToken)).toBe(200);
    await refusedWithinBound(b, victim.accessToken, async () => {
      const res = await fetch(`${a.base}/auth/sessions/${sid}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${manager.accessToken}` },
      });
      expect(res.status).toBe(204);
    });
    expect(await cached(b, manager.accessToken)).toBe(200);
  });

  it('reuse detected on one: the whole family is refused on the other, newest access token included', async () => {
    const tokens = await login(a, 'erin');
    const rotated = await fetch(`${a.base}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: tokens.refreshToken }),
    });
    expect(rotated.status).toBe(200);
    const newest = ((await rotated.json()) as { accessToken: string }).accessToken;
    expect(await cached(b, newest)).toBe(200);
    await refusedWithinBound(b, newest, async () =>
      expect(await post(a, '/auth/refresh', { refreshToken: tokens.refreshToken })).toBe(401),
    );
    expect(await cached(b, tokens.accessToken)).toBe(401);
  });

  it('revokeUser and revokeSession on one (server-side): refused on the other', async () => {
    const user = await login(a, 'frank');
    const session = await login(a, 'grace');
    const sid = claimsOf(session.accessToken).sid as string;
    expect(await cached(b, user.accessToken)).toBe(200);
    expect(await cached(b, session.accessToken)).toBe(200);
    await refusedWithinBound(b, user.accessToken, () => a.auth.revokeUser('u-frank'));
    await refusedWithinBound(b, session.accessToken, () => a.auth.revokeSession(sid));
  });

  it('verifyAccessToken with revocation: cached refuses what the other revoked', async () => {
    const tokens = await login(a, 'heidi');
    await expect(b.auth.verifyAccessToken(tokens.accessToken, { revocation: 'cached' })).resolves.toMatchObject({ userId: 'u-heidi' });
    await a.auth.revokeUser('u-heidi');
    await waitUntil('verifyAccessToken did not refuse', async () =>
      b.auth.verifyAccessToken(tokens.accessToken, { revocation: 'cached' }).then(
        () => false,
        (error: { code?: string }) => error.code === 'invalid_token',
      ),
    );
  });

  it('attack: revoke, then hammer the other process at once: never a 200 once refused, refused within the bound', async () => {
    const elapsed: number[] = [];
    for (let i = 0; i < 5; i++) {
      const tokens = await login(a, `mallory-${i}`);
      expect(await cached(b, tokens.accessToken)).toBe(200);
      elapsed.push(await refusedWithinBound(b, tokens.accessToken, () => a.auth.revokeUser(`u-mallory-${i}`)));
    }
    expect(Math.max(...elapsed)).toBeLessThan(BOUND_MS);
  });

  it('a process that starts after revocations asks the store until its view is current', async () => {
    const live = await login(a, 'ivan');
    const revoked = await login(a, 'judy');
    await a.auth.revokeUser('u-judy');
    const late = await startProcess(newClient, a.keyPrefix);
    try {
      // Straight away, before the feed subscribed: from the store.
      expect(await cached(late, revoked.accessToken)).toBe(401);
      expect(await cached(late, live.accessToken)).toBe(200);
      expect(late.storeChecks.count).toBeGreaterThanOrEqual(2);
      await feedReady(late);
      // Once current: a token issued before the view's epoch is still asked of the store (once).
      expect(await cached(late, revoked.accessToken)).toBe(401);
      expect(await cached(late, live.accessToken)).toBe(200);
    } finally {
      await stopProcess(late);
    }
  });
});

describe('revocation: cached when notifications stop (a private standalone server)', () => {
  let server: RedisServer;
  let a: AppProcess;
  let b: AppProcess;
  const newClient = async () => {
    const client = new Redis({ ...recommendedRedisOptions, host: '127.0.0.1', port: server.port, lazyConnect: true });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    // AOF on every write: the restart keeps the sessions, so only the view's gap is under test.
    server = await RedisServer.start({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    const keyPrefix = randomPrefix();
    [a, b] = await Promise.all([startProcess(newClient, keyPrefix, 400), startProcess(newClient, keyPrefix, 400)]);
    await feedReady(b);
  });
  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map(stopProcess));
    await server.stop();
  });

  /** Requests both tokens on b for `ms`: the revoked one never passes; the live one passes or gets 503. */
  async function hammer(ms: number, live: string, revoked: string): Promise<{ live: number[]; revoked: number[] }> {
    const seen = { live: [] as number[], revoked: [] as number[] };
    const started = performance.now();
    while (performance.now() - started < ms) {
      const [l, r] = await Promise.all([cached(b, live), cached(b, revoked)]);
      seen.live.push(l);
      seen.revoked.push(r);
    }
    expect(seen.revoked.filter((status) => status !== 401 && status !== 503)).toEqual([]);
    expect(seen.live.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    return seen;
  }

  it('paused (SIGSTOP): no revoked token passes; once stale the live one gets 503 until the server is back', async () => {
    const live = await login(a, 'kim');
    const revoked = await login(a, 'leo');
    await a.auth.revokeUser('u-leo');
    await waitUntil('b did not refuse', async () => (await cached(b, revoked.accessToken)) === 401);
    server.pause();
    try {
      const seen = await hammer(BOUND_MS + 1500, live.accessToken, revoked.accessToken);
      // Beyond maxStalenessMs the view is not trusted: the store is asked, and it does not answer.
      expect(seen.live).toContain(503);
      expect(seen.live.at(-1)).toBe(503);
    } finally {
      server.resume();
    }
    await waitUntil('b did not recover', async () => (await cached(b, live.accessToken)) === 200);
    expect(await cached(b, revoked.accessToken)).toBe(401);
  });

  it('restarted: no revoked token passes meanwhile, and afterwards both are answered as before', async () => {
    const live = await login(a, 'mia');
    const revoked = await login(a, 'ned');
    await a.auth.revokeUser('u-ned');
    await waitUntil('b did not refuse', async () => (await cached(b, revoked.accessToken)) === 401);
    const restarting = server.restart();
    await hammer(300, live.accessToken, revoked.accessToken);
    await restarting;
    await hammer(300, live.accessToken, revoked.accessToken);
    await waitUntil('b did not recover', async () => (await cached(b, live.accessToken)) === 200);
    expect(await cached(b, revoked.accessToken)).toBe(401);
  });

  it('a missed message (subscriber connections killed while a revocation is made) never lets the token pass', async () => {
    for (let i = 0; i < 3; i++) {
      const tokens = await login(a, `oscar-${i}`);
      expect(await cached(b, tokens.accessToken)).toBe(200);
      // Kill every pub/sub connection, then revoke before b has resubscribed: b never hears of it.
      await rawCommand(server.port, ['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      await a.auth.revokeUser(`u-oscar-${i}`);
      const statuses: number[] = [];
      const started = performance.now();
      while (performance.now() - started < 1500) statuses.push(await cached(b, tokens.accessToken));
      expect(statuses.filter((status) => status !== 401 && status !== 503)).toEqual([]);
      expect(statuses.at(-1)).toBe(401);
    }
  });
});

describe('revocation: cached in a real child process (the built library)', () => {
  let a: AppProcess;
  let child: ChildProcess;
  let childBase: string;
  const newClient = async () => {
    const client = new Redis({
      ...recommendedRedisOptions,
      host: '127.0.0.1',
      port: Number(process.env.ERT_REDIS_PORT),
      lazyConnect: true,
    });
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    // `npm test` builds dist/ first; a bare `npx jest` needs `npm run build` once.
    expect(existsSync(join(__dirname, '..', '..', 'dist', 'cjs', 'index.js'))).toBe(true);
    const keyPrefix = randomPrefix();
    a = await startProcess(newClient, keyPrefix);
    child = fork(join(__dirname, 'cached-child.cjs'), [], {
      env: { ...process.env, REDIS_PORT: process.env.ERT_REDIS_PORT, KEY_PREFIX: keyPrefix, SECRET },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      child.once('message', (message) => resolve(message as { port: number }));
      child.once('exit', (code) => reject(new Error(`the child exited with ${code}`)));
    });
    childBase = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    }
    if (a) await stopProcess(a);
  });

  const onChild = async (accessToken: string) => {
    const res = await fetch(`${childBase}/cached`, { headers: { authorization: `Bearer ${accessToken}` } });
    await res.arrayBuffer();
    return res.status;
  };

  it('a revocation made here is refused by the other process within the bound, and never passes again', async () => {
    const tokens = await login(a, 'peggy');
    await waitUntil('the child did not answer 200', async () => (await onChild(tokens.accessToken)) === 200);
    await a.auth.revokeUser('u-peggy');
    const revokedAt = performance.now();
    let refusedAt: number | undefined;
    const after: number[] = [];
    while (after.length < 20) {
      const status = await onChild(tokens.accessToken);
      if (refusedAt !== undefined) after.push(status);
      else if (status === 401) refusedAt = performance.now();
      else expect(status).toBe(200);
      if (refusedAt === undefined && performance.now() - revokedAt > BOUND_MS + 500) break;
    }
    expect(refusedAt).toBeDefined();
    expect(refusedAt! - revokedAt).toBeLessThan(BOUND_MS);
    expect(after.filter((status) => status !== 401)).toEqual([]);
  });
});
