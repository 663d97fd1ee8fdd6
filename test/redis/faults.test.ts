/*
 * RedisTokenStore when Redis fails, with the recommended client settings, on a PRIVATE server
 * (the shared ones of other test files are never touched). The server writes an append-only file
 * with fsync on every write, so a family survives a kill -9 and restart, as on a durable server.
 *
 * What the token service relies on: a store call rejects within 2 s when the server is down or
 * hung (the service answers 503), the same client and store recover by themselves, and a rotation
 * whose answer was lost, sent again with the same arguments, is recognised as the same rotation.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisTokenStore, recommendedRedisOptions } from '../../src/store/redis.js';
import { shardKeyOf } from '../../src/shard-key.js';
import type { NewFamily, RotateRequest } from '../../src/store/types.js';
import { RedisServer, waitUntil } from './servers.js';

const DAY = 24 * 60 * 60_000;
const FAIL_FAST_MS = 2000;
const RECOVERY_MS = 10_000;

const random = (bytes = 32) => randomBytes(bytes).toString('base64url');

let server: RedisServer;
let client: Redis;
let store: RedisTokenStore;
const keyPrefix = `faults-${random(4)}:`;
const clientErrors: Error[] = [];

beforeAll(async () => {
  server = await RedisServer.start({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  client = new Redis({ ...recommendedRedisOptions, host: '127.0.0.1', port: server.port, lazyConnect: true });
  client.on('error', (error: Error) => clientErrors.push(error)); // connection errors are expected here
  await client.connect();
  store = new RedisTokenStore({ client, keyPrefix });
});

afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});

async function login(): Promise<NewFamily> {
  const now = Date.now();
  const userId = `user-${random(6)}`;
  const family: NewFamily = {
    familyId: shardKeyOf(userId) + random(16),
    userId,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + 14 * DAY,
    absoluteExpiresAt: now + 90 * DAY,
    tokenHash: random(),
    proofHash: random(),
    userRecord: '{}',
  };
  await store.createFamily(family, { maxSessionsPerUser: 10, now });
  return family;
}

function rotation(family: NewFamily, presentedHash: string): RotateRequest {
  return {
    familyId: family.familyId,
    presentedHash,
    proofHash: family.proofHash,
    successorHash: random(),
    now: Date.now(),
    idleTtlMs: 14 * DAY,
    graceMs: 0,
  };
}

/** How long `call` took to reject; fails the test if it resolved. */
async function rejectionTime(call: () => Promise<unknown>): Promise<{ ms: number; message: string }> {
  const started = Date.now();
  try {
    await call();
  } catch (error) {
    return { ms: Date.now() - started, message: (error as Error).message };
  }
  throw new Error('the store call resolved although Redis could not answer');
}

/** Waits until the same store answers again (no new client, no new store). */
async function storeRecovers(family: NewFamily): Promise<void> {
  await waitUntil(
    'the store did not recover',
    async () =>
      (await store.isAccessTokenRevoked({ familyId: family.familyId, jti: random(8), userId: family.userId, now: Date.now() })) === false,
    RECOVERY_MS,
  );
}

/** The current token hash in the family's record, read directly. */
const currentHash = (family: NewFamily) => client.hget(`${keyPrefix}{${shardKeyOf(family.userId)}}:f:${family.familyId}`, 'tokenHash');

const isLive = async (family: NewFamily) =>
  !(await store.isAccessTokenRevoked({ familyId: family.familyId, jti: random(8), userId: family.userId, now: Date.now() }));

describe('when the server is down', () => {
  it('rejects every call within 2 s, then works again after a restart with the same client and store', async () => {
    const family = await login();
    await server.kill();

    const calls: [string, () => Promise<unknown>][] = [
      ['rotate', () => store.rotate(rotation(family, family.tokenHash))],
      ['createFamily', () => login()],
      ['listFamilies', () => store.listFamilies(family.userId, Date.now())],
      [
        'isAccessTokenRevoked',
        () => store.isAccessTokenRevoked({ familyId: family.familyId, jti: random(8), userId: family.userId, now: Date.now() }),
      ],
      ['revokeUser', () => store.revokeUser(family.userId, Date.now())],
    ];
    for (const [name, call] of calls) {
      const { ms } = await rejectionTime(call);
      expect({ name, failedFast: ms < FAIL_FAST_MS }).toEqual({ name, failedFast: true });
    }

    await server.restart();
    await storeRecovers(family);
    // Nothing was half-applied while it was down: the family is intact and rotates normally.
    expect(await isLive(family)).toBe(true);
    expect((await store.rotate(rotation(family, family.tokenHash))).outcome).toBe('rotated');
  });

  it('rejects a call in flight at once when the server dies under it; retried, the rotation simply runs', async () => {
    const family = await login();
    const request = rotation(family, family.tokenHash);
    server.pause();
    const pending = rejectionTime(() => store.rotate(request));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await server.kill(); // dies without having read the command
    const { ms, message } = await pending;
    expect(ms).toBeLessThan(1500); // the connection loss, not the 1.5 s command timeout
    expect(message).not.toMatch(/timed out/);

    await server.restart();
    await storeRecovers(family);
    expect(await currentHash(family)).toBe(family.tokenHash); // it never ran
    expect((await store.rotate(request)).outcome).toBe('rotated');
    expect((await store.rotate(rotation(family, request.successorHash))).outcome).toBe('rotated');
  });
});

describe('when the server hangs (SIGSTOP)', () => {
  it('rejects within 2 s, and the rotation whose answer was lost is recognised when sent again', async () => {
    const family = await login();
    const request = rotation(family, family.tokenHash);
    server.pause();
    let resumed = false;
    try {
      const [rotate, check] = await Promise.all([
        rejectionTime(() => store.rotate(request)),
        rejectionTime(() =>
          store.isAccessTokenRevoked({ familyId: family.familyId, jti: random(8), userId: family.userId, now: Date.now() }),
        ),
      ]);
      expect(rotate.ms).toBeLessThan(FAIL_FAST_MS);
      expect(rotate.message).toBe('Command timed out');
      expect(check.ms).toBeLessThan(FAIL_FAST_MS);
      server.resume();
      resumed = true;
    } finally {
      if (!resumed) server.resume();
    }

    await storeRecovers(family);
    // The server ran the timed-out rotation when it woke up (the command was already in its
    // socket). The token service, which only saw an error, sends the same rotation again: it is
    // the same rotation, not reuse, and the family lives on with one current token.
    expect(await currentHash(family)).toBe(request.successorHash);
    expect((await store.rotate(request)).outcome).toBe('rotated');
    expect(await isLive(family)).toBe(true);
    expect((await store.rotate(rotation(family, request.successorHash))).outcome).toBe('rotated');
  });

  it('recovers after a hang longer than socketTimeout, which replaces the connection', async () => {
    const family = await login();
    server.pause();
    let resumed = false;
    try {
      const started = Date.now();
      // Keep calling during the hang: every call fails fast, whether it times out on the old
      // connection or finds the client reconnecting.
      while (Date.now() - started < recommendedRedisOptions.socketTimeout + 1000) {
        const { ms } = await rejectionTime(() => store.listFamilies(family.userId, Date.now()));
        expect(ms).toBeLessThan(FAIL_FAST_MS);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(clientErrors.some((error) => /Socket timeout/.test(error.message))).toBe(true);
      server.resume();
      resumed = true;
    } finally {
      if (!resumed) server.resume();
    }
    await storeRecovers(family);
    expect((await store.rotate(rotation(family, family.tokenHash))).outcome).toBe('rotated');
  });
});
