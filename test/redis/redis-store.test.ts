/*
 * RedisTokenStore beyond the conformance suite: what is physically in Redis (TTLs, no plaintext,
 * the key layout), the script cache being flushed, re-sent rotations, stale indexes, and one round
 * trip per method. Standalone and Cluster run the same tests on the shared servers; the round-trip
 * count on standalone uses a private server so that MONITOR sees no other test's traffic.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis, type Cluster } from 'ioredis';
import ts from 'typescript';
import { ConfigurationError } from '../../src/errors.js';
import { RedisTokenStore } from '../../src/store/redis.js';
import { SCRIPT_COMMANDS, SCRIPT_LUA } from '../../src/store/redis-scripts.js';
import { shardKeyOf } from '../../src/shard-key.js';
import type { NewFamily, RefreshTokenStore, RotateRequest } from '../../src/store/types.js';
import { clusterClient, randomPrefix, standaloneClient } from './clients.js';
import { RedisServer, waitUntil } from './servers.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const random = (bytes = 32) => randomBytes(bytes).toString('base64url');
const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/** What the token service would hold: plaintext tokens (markers) and what the store gets. */
function newLogin(userId: string, now: number, overrides: Partial<NewFamily> = {}) {
  const refreshToken = `PLAINTEXT-REFRESH-${random(12)}`;
  const proof = `PLAINTEXT-PROOF-${random(12)}`;
  const family: NewFamily = {
    familyId: shardKeyOf(userId) + random(16),
    userId,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + 14 * DAY,
    absoluteExpiresAt: now + 90 * DAY,
    userAgent: 'redis-store-test/1.0',
    ip: '203.0.113.7',
    tokenHash: sha256(refreshToken),
    proofHash: sha256(proof),
    userRecord: JSON.stringify({ id: userId }),
    ...overrides,
  };
  return { family, refreshToken, proof };
}

function rotationOf(family: NewFamily, presentedHash: string, now: number, extra: Partial<RotateRequest> = {}) {
  const successor = `PLAINTEXT-REFRESH-${random(12)}`;
  const request: RotateRequest = {
    familyId: family.familyId,
    presentedHash,
    proofHash: family.proofHash,
    successorHash: sha256(successor),
    now,
    idleTtlMs: 14 * DAY,
    graceMs: 0,
    ...extra,
  };
  return { request, successor };
}

/** The masters to inspect: the client itself, or every master of a cluster. */
function mastersOf(client: Redis | Cluster): Redis[] {
  return client instanceof Redis ? [client] : client.nodes('master');
}

async function keysWithPrefix(client: Redis | Cluster, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of mastersOf(client)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000');
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys.sort();
}

/** Every string stored under a key: hash fields and values, set members, the string value. */
async function contentsOf(client: Redis | Cluster, key: string): Promise<string[]> {
  const type = await client.type(key);
  if (type === 'hash') return Object.entries(await client.hgetall(key)).flat();
  if (type === 'zset') return client.zrange(key, '0', '-1');
  if (type === 'string') return [(await client.get(key)) ?? ''];
  throw new Error(`unexpected type ${type} for ${key}`);
}

const setups: [string, () => Promise<Redis | Cluster>][] = [
  ['standalone', () => standaloneClient()],
  ['cluster', () => clusterClient()],
];

describe.each(setups)('RedisTokenStore on %s', (_name, connect) => {
  let client: Redis | Cluster;
  let prefix: string;
  let store: RefreshTokenStore;
  let now: number;

  beforeAll(async () => {
    client = await connect();
  });

  afterAll(async () => {
    await client?.quit();
  });

  beforeEach(() => {
    prefix = randomPrefix();
    store = new RedisTokenStore({ client, keyPrefix: prefix });
    now = Date.now();
  });

  describe('what it writes', () => {
    it('gives every key a TTL and stores no plaintext token, with the documented key layout', async () => {
      const alice = `alice-${random(4)}`;
      const bob = `bob-${random(4)}`;
      const markers: string[] = [];

      const a1 = newLogin(alice, now);
      markers.push(a1.refreshToken, a1.proof);
      await store.createFamily(a1.family, { maxSessionsPerUser: 2, now });
      const first = rotationOf(a1.family, a1.family.tokenHash, now, { sealedSuccessor: `sealed-${random(16)}`, graceMs: 10_000 });
      markers.push(first.successor);
      expect((await store.rotate(first.request)).outcome).toBe('rotated');

      const a2 = newLogin(alice, now + 1, { createdAt: now + 1 });
      const a3 = newLogin(alice, now + 2, { createdAt: now + 2 });
      markers.push(a2.refreshToken, a2.proof, a3.refreshToken, a3.proof);
      await store.createFamily(a2.family, { maxSessionsPerUser: 2, now });
      expect(await store.createFamily(a3.family, { maxSessionsPerUser: 2, now })).toEqual({ evictedFamilyIds: [a1.family.familyId] });
      expect(await store.revokeFamily(a3.family.familyId, { userId: alice, now })).toEqual({ userId: alice });

      const b1 = newLogin(bob, now);
      markers.push(b1.refreshToken, b1.proof);
      await store.createFamily(b1.family, { maxSessionsPerUser: 2, now });
      const jti = random(12);
      await store.denylistAccessToken({ familyId: b1.family.familyId, jti, expiresAt: now + 15 * MINUTE, now });
      expect(await store.isAccessTokenRevoked({ familyId: b1.family.familyId, jti, userId: bob, now })).toBe(true);

      const aliceBase = `${prefix}{${shardKeyOf(alice)}}:`;
      const bobBase = `${prefix}{${shardKeyOf(bob)}}:`;
      const keys = await keysWithPrefix(client, prefix);
      expect(keys).toEqual(
        [
          `${aliceBase}f:${a2.family.familyId}`,
          `${aliceBase}u:${alice}`,
          `${bobBase}f:${b1.family.familyId}`,
          `${bobBase}u:${bob}`,
          `${bobBase}d:${jti}`,
        ].sort(),
      );

      for (const key of keys) {
        const ttl = await client.pttl(key);
        expect({ key, hasTtl: ttl > 0 }).toEqual({ key, hasTtl: true });
        const stored = [key, ...(await contentsOf(client, key))].join('\n');
        for (const marker of markers) expect(stored).not.toContain(marker);
      }
      expect(await client.pttl(`${bobBase}d:${jti}`)).toBeLessThanOrEqual(15 * MINUTE);
      expect(await client.pttl(`${bobBase}f:${b1.family.familyId}`)).toBeGreaterThan(14 * DAY - MINUTE);
    });

    it('keeps the user index alive at least as long as its longest-lived family', async () => {
      const user = `user-${random(4)}`;
      const { family } = newLogin(user, now, { expiresAt: now + DAY });
      await store.createFamily(family, { maxSessionsPerUser: 10, now });
      const base = `${prefix}{${shardKeyOf(user)}}:`;
      expect(await client.pttl(`${base}u:${user}`)).toBeLessThanOrEqual(DAY);
      // The rotation slides the family to 14 days: the index follows.
      await store.rotate(rotationOf(family, family.tokenHash, now).request);
      // Read the index first: both expiries were set in one script (one frozen server clock).
      const indexTtl = await client.pttl(`${base}u:${user}`);
      const familyTtl = await client.pttl(`${base}f:${family.familyId}`);
      expect(familyTtl).toBeGreaterThan(13 * DAY);
      expect(indexTtl).toBeGreaterThanOrEqual(familyTtl);
    });

    it('skips and removes an index entry whose family hash has expired', async () => {
      const user = `user-${random(4)}`;
      const kept = newLogin(user, now).family;
      const gone = newLogin(user, now + 1, { createdAt: now + 1 }).family;
      await store.createFamily(kept, { maxSessionsPerUser: 10, now });
      await store.createFamily(gone, { maxSessionsPerUser: 10, now });
      const base = `${prefix}{${shardKeyOf(user)}}:`;
      await client.del(`${base}f:${gone.familyId}`); // as if its TTL had run out

      expect((await store.listFamilies(user, now)).map((s) => s.familyId)).toEqual([kept.familyId]);
      expect(await client.zscore(`${base}u:${user}`, gone.familyId)).toBeNull();
      expect(await store.revokeUser(user, now)).toEqual([kept.familyId]);
    });

    it('returns sessions without userAgent and ip when they were not given', async () => {
      const user = `user-${random(4)}`;
      const { family } = newLogin(user, now, { userAgent: undefined, ip: undefined });
      await store.createFamily(family, { maxSessionsPerUser: 10, now });
      const [session] = await store.listFamilies(user, now);
      expect(session).toEqual({
        familyId: family.familyId,
        userId: user,
        createdAt: now,
        lastUsedAt: now,
        expiresAt: family.expiresAt,
        absoluteExpiresAt: family.absoluteExpiresAt,
      });
      expect(Object.keys(session!)).not.toContain('userAgent');
    });
  });

  it("keeps a session with a browser's User-Agent and a grace successor in the compact listpack encoding", async () => {
    const userAgent = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    const { family } = newLogin(`user-${random(4)}`, now, { userAgent });
    await store.createFamily(family, { maxSessionsPerUser: 10, now });
    await store.rotate({ ...rotationOf(family, family.tokenHash, now).request, sealedSuccessor: random(125), graceMs: 10_000 });
    const key = `${prefix}{${shardKeyOf(family.userId)}}:f:${family.familyId}`;
    expect(await client.call('OBJECT', 'ENCODING', key)).toBe('listpack');
    expect((await store.listFamilies(family.userId, now))[0]!.userAgent).toBe(userAgent);
  });

  it('reads and rotates a family written by the previous version (the hash layout is unchanged)', async () => {
    // The hash exactly as the previous version wrote it: long values in 64-byte pieces `name`, `name#1`, ...
    const user = `user-${random(4)}`;
    const family = newLogin(user, now).family;
    const userAgent = `Mozilla/5.0 ${'x'.repeat(130)}`; // 3 pieces
    const userRecord = JSON.stringify({ id: user, roles: ['r'.repeat(70)] }); // 2 pieces
    const sealed = 's'.repeat(150); // 3 pieces
    const presented = sha256(random());
    const base = `${prefix}{${shardKeyOf(user)}}:`;
    const key = `${base}f:${family.familyId}`;
    const pieces = (name: string, value: string) =>
      Array.from({ length: Math.ceil(value.length / 64) }, (_, i) => [
        i === 0 ? name : `${name}#${i}`,
        value.slice(i * 64, (i + 1) * 64),
      ]).flat();
    await client.hset(
      key,
      ...[
        'userId',
        user,
        'tokenHash',
        family.tokenHash,
        'previousHash',
        presented,
        'proofHash',
        family.proofHash,
        'rotatedAt',
        String(now - 1000),
      ],
      ...['createdAt', String(now - 5000), 'lastUsedAt', String(now - 1000), 'expiresAt', String(family.expiresAt)],
      ...['absoluteExpiresAt', String(family.absoluteExpiresAt), 'ip', '203.0.113.9'],
      ...pieces('userAgent', userAgent),
      ...pieces('subject', userRecord),
      ...pieces('sealedSuccessor', sealed),
    );
    await client.pexpire(key, DAY);
    await client.zadd(`${base}u:${user}`, String(now - 5000), family.familyId);
    await client.pexpire(`${base}u:${user}`, DAY);

    const session = {
      familyId: family.familyId,
      userId: user,
      createdAt: now - 5000,
      lastUsedAt: now - 1000,
      expiresAt: family.expiresAt,
      absoluteExpiresAt: family.absoluteExpiresAt,
      userAgent,
      ip: '203.0.113.9',
    };
    expect(await store.listFamilies(user, now)).toEqual([session]);
    expect(await store.findFamily!(family.familyId, { proofHash: family.proofHash, now })).toEqual({
      outcome: 'found',
      session,
      userRecord,
    });
    const retry = rotationOf(family, presented, now, { graceMs: 10_000 }).request;
    expect(await store.rotate(retry)).toEqual({ outcome: 'retried', session, userRecord, sealedSuccessor: sealed });

    // A rotation without a sealed successor (grace turned off) removes every piece of the old one.
    const { request } = rotationOf(family, family.tokenHash, now);
    expect(await store.rotate(request)).toEqual({
      outcome: 'rotated',
      session: { ...session, lastUsedAt: now, expiresAt: now + 14 * DAY },
      userRecord,
    });
    expect(Object.keys(await client.hgetall(key)).filter((field) => field.startsWith('sealedSuccessor'))).toEqual([]);
    expect(await client.hget(key, 'subject#1')).toBe(userRecord.slice(64));
  });

  it('keeps the family alive when the same rotation request is sent twice', async () => {
    const { family } = newLogin(`user-${random(4)}`, now);
    await store.createFamily(family, { maxSessionsPerUser: 10, now });
    const { request } = rotationOf(family, family.tokenHash, now);
    const once = await store.rotate(request);
    const twice = await store.rotate(request);
    expect(once.outcome).toBe('rotated');
    expect(twice).toEqual(once);
    expect(await store.isAccessTokenRevoked({ familyId: family.familyId, jti: random(8), userId: family.userId, now })).toBe(false);
    expect((await store.rotate(rotationOf(family, request.successorHash, now).request)).outcome).toBe('rotated');
  });

  it('keeps working after SCRIPT FLUSH (ioredis sends EVAL on NOSCRIPT)', async () => {
    const user = `user-${random(4)}`;
    const { family } = newLogin(user, now);
    await store.createFamily(family, { maxSessionsPerUser: 10, now });
    const rotateSha = createHash('sha1').update(SCRIPT_LUA.rotate).digest('hex');
    for (const node of mastersOf(client)) await node.script('FLUSH');
    for (const node of mastersOf(client)) expect(await node.script('EXISTS', rotateSha)).toEqual([0]);

    const { request } = rotationOf(family, family.tokenHash, now);
    expect((await store.rotate(request)).outcome).toBe('rotated');
    // The script was loaded again on the node that owns the user's slot.
    const loaded = await Promise.all(mastersOf(client).map(async (node) => ((await node.script('EXISTS', rotateSha)) as number[])[0]));
    expect(loaded).toContain(1);

    const second = newLogin(user, now + 1, { createdAt: now + 1 }).family;
    expect(await store.createFamily(second, { maxSessionsPerUser: 1, now })).toEqual({ evictedFamilyIds: [family.familyId] });
    expect((await store.listFamilies(user, now)).map((s) => s.familyId)).toEqual([second.familyId]);
    const jti = random(8);
    await store.denylistAccessToken({ familyId: second.familyId, jti, expiresAt: now + MINUTE, now });
    expect(await store.isAccessTokenRevoked({ familyId: second.familyId, jti, userId: user, now })).toBe(true);
    expect(await store.revokeFamily(second.familyId, { now })).toEqual({ userId: user });
    expect(await store.revokeUser(user, now)).toEqual([]);
  });

  describe('round trips', () => {
    it('sends exactly one command per store call (counted on each node connection)', async () => {
      const counts = new Map<string, number>();
      const restore: (() => void)[] = [];
      for (const node of mastersOf(client)) {
        const original = node.sendCommand;
        node.sendCommand = function (this: Redis, ...args: Parameters<Redis['sendCommand']>) {
          counts.set(args[0].name, (counts.get(args[0].name) ?? 0) + 1);
          return original.apply(this, args);
        } as Redis['sendCommand'];
        restore.push(() => (node.sendCommand = original));
      }
      try {
        // Steady state: a first pass on the same user (so the same cluster node) loads the
        // scripts there again, in case an earlier test flushed them (the NOSCRIPT fallback costs
        // one more command, once per script and node).
        const user = `user-${random(4)}`;
        await measureEachMethod(store, now, user, async (call) => (await call(), 0));
        const perCall = await measureEachMethod(store, now, user, async (call) => {
          counts.clear();
          await call();
          return [...counts.values()].reduce((a, b) => a + b, 0);
        });
        expect(perCall).toEqual(Object.fromEntries(Object.keys(perCall).map((method) => [method, 1])));
      } finally {
        for (const undo of restore) undo();
      }
    });
  });
});

/**
 * Calls every store method once (several times for rotate, one per outcome), each through
 * `measure`, which returns the number of commands the call sent.
 */
async function measureEachMethod(
  store: RefreshTokenStore,
  now: number,
  user: string,
  measure: (call: () => Promise<unknown>) => Promise<number>,
) {
  const { family } = newLogin(user, now);
  const result: Record<string, number> = {};
  result.createFamily = await measure(() => store.createFamily(family, { maxSessionsPerUser: 10, now }));
  const first = rotationOf(family, family.tokenHash, now, { graceMs: 5000, sealedSuccessor: `sealed-${random(8)}` });
  result['rotate (rotated)'] = await measure(() => store.rotate(first.request));
  result['rotate (same rotation again)'] = await measure(() => store.rotate(first.request));
  result['rotate (retried)'] = await measure(() => store.rotate(rotationOf(family, family.tokenHash, now, { graceMs: 5000 }).request));
  result['rotate (invalid)'] = await measure(() => store.rotate(rotationOf(family, random(), now, { proofHash: random() }).request));
  result.listFamilies = await measure(() => store.listFamilies(user, now));
  result.denylistAccessToken = await measure(() =>
    store.denylistAccessToken({ familyId: family.familyId, jti: random(8), expiresAt: now + MINUTE, now }),
  );
  result.isAccessTokenRevoked = await measure(() =>
    store.isAccessTokenRevoked({ familyId: family.familyId, jti: random(8), userId: user, now }),
  );
  result.revokeFamily = await measure(() => store.revokeFamily(family.familyId, { userId: user, now }));
  const other = newLogin(user, now).family;
  await store.createFamily(other, { maxSessionsPerUser: 10, now });
  result['rotate (reused)'] = await measure(() => store.rotate(rotationOf(other, random(), now).request));
  result.revokeUser = await measure(() => store.revokeUser(user, now));
  return result;
}

describe('RedisTokenStore round trips seen by the server (MONITOR on a private server)', () => {
  let server: RedisServer;
  let client: Redis;
  let monitored: Redis;
  let monitor: Redis;
  const seen: { source: string; command: string; args: string[] }[] = [];

  beforeAll(async () => {
    server = await RedisServer.start();
    client = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
    await client.connect();
    monitored = new Redis({ host: '127.0.0.1', port: server.port });
    monitor = await monitored.monitor(); // a second connection, in monitor mode
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      seen.push({ source, command: String(args[0]).toLowerCase(), args: args.slice(1).map(String) });
    });
  });

  afterAll(async () => {
    monitor?.disconnect();
    monitored?.disconnect();
    await client?.quit();
    await server?.stop();
  });

  it('executes exactly one top-level command per store call', async () => {
    const store = new RedisTokenStore({ client, keyPrefix: randomPrefix() });
    let marker = 0;
    // Each call is framed by ECHO markers sent on the store's own connection, so MONITOR shows
    // them in execution order; lines from inside a script have the source "lua" and are skipped.
    const perCall = await measureEachMethod(store, Date.now(), `user-${random(4)}`, async (call) => {
      const start = `start-${++marker}`;
      const end = `end-${marker}`;
      await client.echo(start);
      await call();
      await client.echo(end);
      const isEcho = (text: string) => (line: (typeof seen)[number]) => line.command === 'echo' && line.args[0] === text;
      await waitUntil('MONITOR did not show the end marker', async () => seen.some(isEcho(end)), 5000);
      const from = seen.findIndex(isEcho(start));
      const to = seen.findIndex(isEcho(end));
      const between = seen.slice(from + 1, to).filter((line) => line.source !== 'lua');
      for (const line of between) expect(['eval', 'evalsha', 'set']).toContain(line.command);
      return between.length;
    });
    expect(perCall).toEqual(Object.fromEntries(Object.keys(perCall).map((method) => [method, 1])));
  });
});

describe('RedisTokenStore construction', () => {
  let client: Redis;

  beforeAll(async () => {
    client = await standaloneClient();
  });

  afterAll(async () => {
    await client?.quit();
  });

  it('defines its scripts once per client however many stores share it', () => {
    const fresh = new Redis({ lazyConnect: true, port: 1 });
    const defineCommand = jest.spyOn(fresh, 'defineCommand');
    new RedisTokenStore({ client: fresh });
    new RedisTokenStore({ client: fresh, keyPrefix: 'other:' });
    expect(defineCommand).toHaveBeenCalledTimes(Object.keys(SCRIPT_COMMANDS).length);
    fresh.disconnect();
  });

  it('refuses a key prefix with a brace, which would break the hash tags', () => {
    expect(() => new RedisTokenStore({ client, keyPrefix: 'a{b}:' })).toThrow(ConfigurationError);
  });

  it("refuses a family whose id does not begin with its user's shard key", async () => {
    const store = new RedisTokenStore({ client, keyPrefix: randomPrefix() });
    const now = Date.now();
    const { family } = newLogin(`user-${random(4)}`, now, { familyId: `AAAAAAAA${random(16)}` });
    await expect(store.createFamily(family, { maxSessionsPerUser: 10, now })).rejects.toThrow(TypeError);
  });

  it('answers "not found" without a round trip for a family id that cannot be one of ours', async () => {
    const store = new RedisTokenStore({ client, keyPrefix: randomPrefix() });
    const now = Date.now();
    const bad = { familyId: '{x}:u:', userId: 'u', jti: 'j', now };
    const sendCommand = jest.spyOn(client, 'sendCommand');
    expect(
      await store.rotate({
        familyId: bad.familyId,
        presentedHash: 'a',
        proofHash: 'b',
        successorHash: 'c',
        now,
        idleTtlMs: DAY,
        graceMs: 0,
      }),
    ).toEqual({ outcome: 'invalid', reason: 'unknown' });
    expect(await store.revokeFamily(bad.familyId, { now })).toBeNull();
    expect(await store.isAccessTokenRevoked(bad)).toBe(true);
    await store.denylistAccessToken({ ...bad, expiresAt: now + MINUTE });
    expect(sendCommand).not.toHaveBeenCalled();
    sendCommand.mockRestore();
  });

  it('refuses something that is not an ioredis client', () => {
    expect(() => new RedisTokenStore({ client: {} as Redis })).toThrow(ConfigurationError);
  });

  it("leaves the caller's client open on close()", async () => {
    const store = new RedisTokenStore({ client, keyPrefix: randomPrefix() });
    await store.close?.();
    expect(client.status).toBe('ready');
    expect(await store.listFamilies('nobody', Date.now())).toEqual([]);
  });

  it("works under the client's own ioredis keyPrefix", async () => {
    const prefix = randomPrefix();
    const prefixed = await standaloneClient({ keyPrefix: `app-${prefix}` });
    try {
      const store = new RedisTokenStore({ client: prefixed, keyPrefix: 'ert:' });
      const now = Date.now();
      const user = `user-${random(4)}`;
      const { family } = newLogin(user, now);
      await store.createFamily(family, { maxSessionsPerUser: 10, now });
      expect((await store.rotate(rotationOf(family, family.tokenHash, now).request)).outcome).toBe('rotated');
      expect(await keysWithPrefix(client, `app-${prefix}`)).toEqual(
        [`app-${prefix}ert:{${shardKeyOf(user)}}:f:${family.familyId}`, `app-${prefix}ert:{${shardKeyOf(user)}}:u:${user}`].sort(),
      );
      expect(await store.revokeUser(user, now)).toEqual([family.familyId]);
    } finally {
      await prefixed.quit();
    }
  });

  it('imports ioredis for types only, so the build never requires it', () => {
    for (const file of ['redis.ts', 'redis-scripts.ts']) {
      const source = readFileSync(join(__dirname, '../../src/store', file), 'utf8');
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
      });
      expect(outputText).not.toMatch(/require\(["']ioredis["']\)/);
      expect(outputText).toMatch(/require\(["']node:crypto["']\)|require\(["']\.\/redis-scripts\.js["']\)/);
    }
  });
});
