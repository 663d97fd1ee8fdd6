import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { shardKeyOf } from '../shard-key.js';
import type {
  FindFamilyResult,
  InvalidFamilyReason,
  LoginCounter,
  NewFamily,
  RefreshTokenStore,
  RotateRequest,
  RotateResult,
  SessionRecord,
} from '../store/types.js';

/** The test-runner globals the suite registers with: Jest's, or any runner that has the same. */
interface TestGlobals {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>, timeout?: number): void;
  beforeEach(body: () => Promise<void>): void;
  afterEach(body: () => Promise<void>): void;
}

/** The options of `testRefreshTokenStore(name, makeStore, options)` (README "Writing a store adapter"). */
export interface ConformanceOptions {
  /** Timeout per test in ms (default 10 000): a networked store may need more on a slow CI. */
  timeoutMs?: number;
  /** Parallel calls in the concurrency tests (default 50). */
  concurrency?: number;
  /**
   * Whether the store implements the optional `findFamily` (default `true`, as every store of this
   * package does). `false` leaves its tests out; `createAuth` then refuses `refreshToken.resolveUser`.
   */
  findFamily?: boolean;
  /**
   * Whether the store implements the optional `hitLoginAttempt` and `resetLoginAttempts` (default
   * `true`, as every store of this package does). `false` leaves their tests out; the login
   * throttle then counts in each process's memory.
   */
  loginThrottle?: boolean;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * Registers `describe(name)` with every contract test of {@link RefreshTokenStore}. Call it at the
 * top level of a test file; `createStore` runs before each test and must return a fresh store
 * (or one whose earlier records cannot collide: every test uses new random ids). The suite gives
 * the store its own clock through the `now` arguments, starting from the real time.
 *
 * ```ts
 * import { testRefreshTokenStore } from 'express-refresh-tokens/testing';
 * testRefreshTokenStore('MyStore', () => new MyStore(client));
 * ```
 */
export function testRefreshTokenStore(
  name: string,
  createStore: () => RefreshTokenStore | Promise<RefreshTokenStore>,
  options: ConformanceOptions = {},
): void {
  const { describe, it: register, beforeEach, afterEach } = globalThis as unknown as TestGlobals;
  const timeout = options.timeoutMs ?? 10_000;
  const concurrency = options.concurrency ?? 50;
  const it = (title: string, body: () => Promise<void>) => register(title, body, timeout);

  let store: RefreshTokenStore;
  let clock: number;

  describe(name, () => {
    beforeEach(async () => {
      store = await createStore();
      clock = Date.now();
    });
    afterEach(async () => {
      await store.close?.();
    });

    /** A fresh family of a fresh user, stored; returns what a token service would remember. */
    async function login(overrides: Partial<NewFamily> = {}, maxSessionsPerUser = 100) {
      const userId = overrides.userId ?? `user-${random(6)}`;
      const family: NewFamily = {
        familyId: familyIdFor(userId),
        userId,
        createdAt: clock,
        lastUsedAt: clock,
        expiresAt: clock + 14 * DAY,
        absoluteExpiresAt: clock + 90 * DAY,
        userAgent: 'conformance/1.0',
        ip: '127.0.0.1',
        tokenHash: random(),
        proofHash: random(),
        userRecord: JSON.stringify({ id: userId, roles: ['reader'] }),
        ...overrides,
      };
      const result = await store.createFamily(family, { maxSessionsPerUser, now: clock });
      return { ...family, evicted: result.evictedFamilyIds };
    }

    function rotation(
      family: { familyId: string; proofHash: string },
      presentedHash: string,
      extra: Partial<RotateRequest> = {},
    ): RotateRequest {
      return {
        familyId: family.familyId,
        presentedHash,
        proofHash: family.proofHash,
        successorHash: random(),
        sealedSuccessor: `sealed-${random(8)}`,
        now: clock,
        idleTtlMs: 14 * DAY,
        graceMs: 0,
        ...extra,
      };
    }

    /** `{ outcome: 'invalid' }`, with `reason` when the store gives one (recommended, not required). */
    function assertInvalid(result: RotateResult | FindFamilyResult, reason: InvalidFamilyReason): void {
      assert.deepEqual(result, 'reason' in result && result.reason !== undefined ? { outcome: 'invalid', reason } : { outcome: 'invalid' });
    }

    async function isLive(family: { familyId: string; userId: string }) {
      return !(await store.isAccessTokenRevoked({ familyId: family.familyId, jti: random(8), userId: family.userId, now: clock }));
    }

    describe('createFamily and listFamilies', () => {
      it('lists a new family with the session fields it was given', async () => {
        const family = await login();
        const sessions = await store.listFamilies(family.userId, clock);
        assert.equal(sessions.length, 1);
        assert.deepEqual(pickSession(sessions[0]!), pickSession(family));
      });

      it("lists a user's live families oldest first, and no one else's", async () => {
        const first = await login();
        clock += MINUTE;
        const second = await login({ userId: first.userId, createdAt: clock, lastUsedAt: clock });
        await login();
        const sessions = await store.listFamilies(first.userId, clock);
        assert.deepEqual(
          sessions.map((s) => s.familyId),
          [first.familyId, second.familyId],
        );
      });

      it('keeps long values byte for byte: a user agent, a user record and a sealed successor', async () => {
        const userAgent = `Mozilla/5.0 (X11; Linux x86_64) ${'é€😀'.repeat(20)} Chrome/131.0.0.0 ${'x'.repeat(64)}`;
        const userRecord = JSON.stringify({ id: 'u', claims: { tenant: 'ü'.repeat(100) }, roles: ['a'.repeat(64)] });
        const family = await login({ userAgent, userRecord });
        assert.equal((await store.listFamilies(family.userId, clock))[0]!.userAgent, userAgent);
        const sealedSuccessor = random(125);
        const first = await store.rotate(rotation(family, family.tokenHash, { sealedSuccessor, graceMs: 10_000 }));
        assert.equal(first.outcome === 'rotated' && first.userRecord, userRecord);
        assert.equal(first.outcome === 'rotated' && first.session.userAgent, userAgent);
        const retry = await store.rotate(rotation(family, family.tokenHash, { graceMs: 10_000 }));
        assert.equal(retry.outcome === 'retried' && retry.sealedSuccessor, sealedSuccessor);
      });

      it('returns an empty list for an unknown user', async () => {
        assert.deepEqual(await store.listFamilies(`nobody-${random(6)}`, clock), []);
      });

      it('revokes the oldest families beyond maxSessionsPerUser, atomically with the new one', async () => {
        const first = await login({}, 2);
        clock += 1;
        const second = await login({ userId: first.userId, createdAt: clock }, 2);
        clock += 1;
        const third = await login({ userId: first.userId, createdAt: clock }, 2);
        assert.deepEqual(third.evicted, [first.familyId]);
        const sessions = await store.listFamilies(first.userId, clock);
        assert.deepEqual(
          sessions.map((s) => s.familyId),
          [second.familyId, third.familyId],
        );
        assertInvalid(await store.rotate(rotation(first, first.tokenHash)), 'unknown');
      });

      it('never evicts the family it creates, and breaks createdAt ties by family id (byte order)', async () => {
        const userId = `user-${random(6)}`;
        const older = [await login({ userId }, 3), await login({ userId }, 3), await login({ userId }, 3)];
        // Every createdAt is the same (the clock stands still), and this id sorts before the
        // others: a store that broke the tie by id alone would evict the session just created.
        const created = await login({ userId, familyId: shardKeyOf(userId) + '-'.repeat(22) }, 2);
        const byId = older.map((family) => family.familyId).sort();
        assert.deepEqual(created.evicted, byId.slice(0, 2));
        assert.equal(await isLive(created), true);
        const sessions = await store.listFamilies(userId, clock);
        assert.deepEqual(
          sessions.map((s) => s.familyId),
          [created.familyId, byId[2]],
        );
      });

      it('never evicts the family it creates when its createdAt is older (a clock that stepped back)', async () => {
        const first = await login({}, 1);
        const created = await login({ userId: first.userId, createdAt: clock - MINUTE, lastUsedAt: clock - MINUTE }, 1);
        assert.deepEqual(created.evicted, [first.familyId]);
        assert.equal(await isLive(created), true);
        assert.equal(await isLive(first), false);
      });

      it('does not count dead families toward maxSessionsPerUser', async () => {
        const expired = await login({ expiresAt: clock + MINUTE }, 2);
        clock += 2 * MINUTE;
        const live = await login({ userId: expired.userId, createdAt: clock }, 2);
        const newest = await login({ userId: expired.userId, createdAt: clock + 1 }, 2);
        assert.deepEqual(
          newest.evicted.filter((id) => id !== expired.familyId),
          [],
        );
        const sessions = await store.listFamilies(expired.userId, clock);
        assert.deepEqual(
          sessions.map((s) => s.familyId),
          [live.familyId, newest.familyId],
        );
      });
    });

    describe('rotate', () => {
      it('rotates the current token and slides the idle expiry', async () => {
        const family = await login();
        clock += DAY;
        const result = await store.rotate(rotation(family, family.tokenHash));
        assert.equal(result.outcome, 'rotated');
        if (result.outcome !== 'rotated') return;
        assert.equal(result.userRecord, family.userRecord);
        assert.equal(result.session.familyId, family.familyId);
        assert.equal(result.session.lastUsedAt, clock);
        assert.equal(result.session.expiresAt, clock + 14 * DAY);
        assert.equal(result.session.createdAt, family.createdAt);
      });

      it('lets the successor rotate in turn', async () => {
        const family = await login();
        const first = rotation(family, family.tokenHash);
        assert.equal((await store.rotate(first)).outcome, 'rotated');
        assert.equal((await store.rotate(rotation(family, first.successorHash))).outcome, 'rotated');
      });

      it('answers invalid for an unknown family and changes nothing', async () => {
        const family = await login();
        const unknown = { familyId: familyIdFor(family.userId), proofHash: family.proofHash };
        assertInvalid(await store.rotate(rotation(unknown, family.tokenHash)), 'unknown');
        assert.equal(await isLive(family), true);
      });

      it('answers invalid for a wrong family proof and does not revoke the family', async () => {
        const family = await login();
        const forged = rotation(family, random(), { proofHash: random() });
        assertInvalid(await store.rotate(forged), 'wrong_proof');
        assert.equal((await store.rotate(rotation(family, family.tokenHash))).outcome, 'rotated');
      });

      it('treats the previous token as reuse and revokes the family, newest token included', async () => {
        const family = await login();
        const first = rotation(family, family.tokenHash);
        await store.rotate(first);
        assert.deepEqual(await store.rotate(rotation(family, family.tokenHash)), { outcome: 'reused', userId: family.userId });
        assertInvalid(await store.rotate(rotation(family, first.successorHash)), 'unknown');
        assert.equal(await isLive(family), false);
        assert.deepEqual(await store.listFamilies(family.userId, clock), []);
      });

      it('treats a token of an older generation as reuse', async () => {
        const family = await login();
        const first = rotation(family, family.tokenHash);
        await store.rotate(first);
        const second = rotation(family, first.successorHash);
        await store.rotate(second);
        const replay = await store.rotate(rotation(family, random()));
        assert.equal(replay.outcome, 'reused');
        assert.equal(await isLive(family), false);
      });

      it('recognises the same rotation sent twice and keeps the family alive', async () => {
        const family = await login();
        const request = rotation(family, family.tokenHash);
        assert.equal((await store.rotate(request)).outcome, 'rotated');
        assert.equal((await store.rotate({ ...request })).outcome, 'rotated');
        assert.equal((await store.rotate(rotation(family, request.successorHash))).outcome, 'rotated');
      });

      describe('with a grace window', () => {
        const graceMs = 10_000;

        it('returns the kept successor for the previous token within the window, rotating nothing', async () => {
          const family = await login();
          const first = rotation(family, family.tokenHash, { graceMs });
          await store.rotate(first);
          clock += graceMs;
          const retry = await store.rotate(rotation(family, family.tokenHash, { graceMs }));
          assert.equal(retry.outcome, 'retried');
          if (retry.outcome !== 'retried') return;
          assert.equal(retry.sealedSuccessor, first.sealedSuccessor);
          assert.equal(retry.userRecord, family.userRecord);
          assert.equal((await store.rotate(rotation(family, first.successorHash, { graceMs }))).outcome, 'rotated');
        });

        it('treats the previous token as reuse once the window has passed', async () => {
          const family = await login();
          await store.rotate(rotation(family, family.tokenHash, { graceMs }));
          clock += graceMs + 1;
          assert.equal((await store.rotate(rotation(family, family.tokenHash, { graceMs }))).outcome, 'reused');
          assert.equal(await isLive(family), false);
        });

        it('treats a grandparent token as reuse even inside the window', async () => {
          const family = await login();
          const first = rotation(family, family.tokenHash, { graceMs });
          await store.rotate(first);
          await store.rotate(rotation(family, first.successorHash, { graceMs }));
          assert.equal((await store.rotate(rotation(family, family.tokenHash, { graceMs }))).outcome, 'reused');
          assert.equal(await isLive(family), false);
        });

        it('never retries when no successor was kept', async () => {
          const family = await login();
          await store.rotate(rotation(family, family.tokenHash, { graceMs, sealedSuccessor: undefined }));
          assert.equal((await store.rotate(rotation(family, family.tokenHash, { graceMs }))).outcome, 'reused');
        });
      });
    });

    describe('expiry', () => {
      it('forgets a family left idle until its expiry', async () => {
        const family = await login();
        clock = family.expiresAt;
        assertInvalid(await store.rotate(rotation(family, family.tokenHash)), 'unknown');
        assert.deepEqual(await store.listFamilies(family.userId, clock), []);
        assert.equal(await isLive(family), false);
      });

      it('keeps a family in use alive past its first idle expiry', async () => {
        const family = await login();
        clock += 10 * DAY;
        const first = rotation(family, family.tokenHash);
        await store.rotate(first);
        clock += 10 * DAY;
        assert.equal((await store.rotate(rotation(family, first.successorHash))).outcome, 'rotated');
      });

      it('never slides the idle expiry past the absolute expiry', async () => {
        const family = await login({ absoluteExpiresAt: clock + 20 * DAY });
        clock += 10 * DAY;
        const first = rotation(family, family.tokenHash);
        const result = await store.rotate(first);
        assert.equal(result.outcome === 'rotated' && result.session.expiresAt, family.absoluteExpiresAt);
        clock = family.absoluteExpiresAt;
        assertInvalid(await store.rotate(rotation(family, first.successorHash)), 'unknown');
      });
    });

    if (options.findFamily ?? true) {
      describe('findFamily', () => {
        const find = (family: { familyId: string; proofHash: string }) =>
          store.findFamily!(family.familyId, { proofHash: family.proofHash, now: clock });

        it('finds a live family by its id and proof, as rotate would, and changes nothing', async () => {
          const family = await login();
          const { familyId, userId, createdAt, lastUsedAt, expiresAt, absoluteExpiresAt, userAgent, ip, userRecord } = family;
          const session = { familyId, userId, createdAt, lastUsedAt, expiresAt, absoluteExpiresAt, userAgent, ip };
          assert.deepEqual(await find(family), { outcome: 'found', session, userRecord });
          assert.equal((await store.rotate(rotation(family, family.tokenHash))).outcome, 'rotated');
        });

        it('shows the session as the last rotation left it', async () => {
          const family = await login();
          clock += DAY;
          const rotated = await store.rotate(rotation(family, family.tokenHash));
          const found = await find(family);
          assert.equal(found.outcome, 'found');
          assert.deepEqual(found.outcome === 'found' && found.session, rotated.outcome === 'rotated' && rotated.session);
        });

        it('answers invalid for an unknown, expired or revoked family, and for a wrong proof', async () => {
          const family = await login();
          assertInvalid(await find({ familyId: familyIdFor(family.userId), proofHash: family.proofHash }), 'unknown');
          assertInvalid(await find({ ...family, proofHash: random() }), 'wrong_proof');
          assert.equal(await isLive(family), true);
          clock = family.expiresAt;
          assertInvalid(await find(family), 'unknown');
          const other = await login();
          await store.revokeFamily(other.familyId, { now: clock });
          assertInvalid(await find(other), 'unknown');
        });
      });
    }

    describe('revocation', () => {
      it('revokeFamily revokes a live family of the given user', async () => {
        const family = await login();
        assert.deepEqual(await store.revokeFamily(family.familyId, { userId: family.userId, now: clock }), { userId: family.userId });
        assertInvalid(await store.rotate(rotation(family, family.tokenHash)), 'unknown');
        assert.equal(await isLive(family), false);
      });

      it("revokeFamily returns null and changes nothing when the family is another user's", async () => {
        const family = await login();
        assert.equal(await store.revokeFamily(family.familyId, { userId: 'someone-else', now: clock }), null);
        assert.equal(await isLive(family), true);
      });

      it('revokeFamily checks the family proof when given one', async () => {
        const family = await login();
        assert.equal(await store.revokeFamily(family.familyId, { proofHash: random(), now: clock }), null);
        assert.equal(await isLive(family), true);
        assert.deepEqual(await store.revokeFamily(family.familyId, { proofHash: family.proofHash, now: clock }), { userId: family.userId });
      });

      it('revokeFamily returns null for an expired family', async () => {
        const family = await login();
        clock = family.expiresAt;
        assert.equal(await store.revokeFamily(family.familyId, { userId: family.userId, now: clock }), null);
      });

      it('revokeFamily returns null for an unknown or already revoked family', async () => {
        const family = await login();
        await store.revokeFamily(family.familyId, { now: clock });
        assert.equal(await store.revokeFamily(family.familyId, { now: clock }), null);
      });

      it('revokeUser revokes every family of the user and only theirs', async () => {
        const first = await login();
        const second = await login({ userId: first.userId });
        const other = await login();
        const revoked = await store.revokeUser(first.userId, clock);
        assert.deepEqual([...revoked].sort(), [first.familyId, second.familyId].sort());
        assert.equal(await isLive(first), false);
        assert.equal(await isLive(second), false);
        assert.equal(await isLive(other), true);
        assert.deepEqual(await store.listFamilies(first.userId, clock), []);
      });
    });

    describe('access-token checks and the denylist', () => {
      it('passes an access token of a live family that is not denylisted', async () => {
        const family = await login();
        assert.equal(
          await store.isAccessTokenRevoked({ familyId: family.familyId, jti: random(8), userId: family.userId, now: clock }),
          false,
        );
      });

      it('refuses a denylisted jti until its expiry', async () => {
        const family = await login();
        const jti = random(8);
        await store.denylistAccessToken({ familyId: family.familyId, jti, expiresAt: clock + 15 * MINUTE, now: clock });
        const query = { familyId: family.familyId, jti, userId: family.userId };
        assert.equal(await store.isAccessTokenRevoked({ ...query, now: clock }), true);
        assert.equal(await store.isAccessTokenRevoked({ ...query, now: clock + 15 * MINUTE }), false);
      });

      it("refuses a token whose family is unknown, revoked or another user's", async () => {
        const family = await login();
        assert.equal(
          await store.isAccessTokenRevoked({ familyId: family.familyId, jti: random(8), userId: 'someone-else', now: clock }),
          true,
        );
        assert.equal(
          await store.isAccessTokenRevoked({ familyId: familyIdFor(family.userId), jti: random(8), userId: family.userId, now: clock }),
          true,
        );
        await store.revokeUser(family.userId, clock);
        assert.equal(await isLive(family), false);
      });
    });

    if (options.loginThrottle ?? true) {
      describe('login counters (hitLoginAttempt, resetLoginAttempts)', () => {
        /** A fresh group with a username counter (limit 3 per minute) and a group counter (limit 5 per hour). */
        function attempt(group = random(12)) {
          const counters: LoginCounter[] = [
            { key: `u:${random(8)}`, limit: 3, windowMs: MINUTE },
            { key: 'ip', limit: 5, windowMs: 60 * MINUTE },
          ];
          return { group, counters, hit: (at = clock) => store.hitLoginAttempt!({ group, counters, now: at }) };
        }
        const reset = (group: string, clear: string[], decrement: string[], at = clock) =>
          store.resetLoginAttempts!({ group, clear, decrement, now: at });

        it('allows up to the limit, then refuses with the time until the limiting counter expires, and its key', async () => {
          const { counters, hit } = attempt();
          for (let i = 0; i < 3; i++) assert.deepEqual(await hit(clock + i * 1000), { allowed: true });
          assert.deepEqual(await hit(clock + 10_000), { allowed: false, retryAfterMs: MINUTE - 10_000, key: counters[0]!.key });
        });

        it('counts nothing when it refuses, and starts a counter again once its window has passed', async () => {
          const { hit } = attempt();
          for (let i = 0; i < 3; i++) await hit();
          for (let i = 0; i < 5; i++) assert.equal((await hit(clock + 1000)).allowed, false);
          // The username counter starts again; the group counter (3 of 5) counted none of the refusals.
          for (let i = 0; i < 2; i++) assert.deepEqual(await hit(clock + MINUTE), { allowed: true });
          assert.deepEqual(await hit(clock + MINUTE), { allowed: false, retryAfterMs: 59 * MINUTE, key: 'ip' });
        });

        it('keeps counters apart by key and by group: the same key in another group is another counter', async () => {
          const first = attempt();
          for (let i = 0; i < 3; i++) await first.hit();
          const sameGroup = attempt(first.group);
          for (let i = 0; i < 2; i++) assert.deepEqual(await sameGroup.hit(), { allowed: true });
          assert.deepEqual(await sameGroup.hit(), { allowed: false, retryAfterMs: 60 * MINUTE, key: 'ip' });
          assert.deepEqual(await attempt().hit(), { allowed: true });
        });

        it('answers the counter that expires last when several are at their limit', async () => {
          const { group, counters, hit } = attempt();
          for (let i = 0; i < 3; i++) await hit();
          for (let i = 0; i < 2; i++)
            await store.hitLoginAttempt!({
              group,
              counters: [{ key: `u:${random(8)}`, limit: 3, windowMs: MINUTE }, counters[1]!],
              now: clock,
            });
          assert.deepEqual(await hit(clock + 1), { allowed: false, retryAfterMs: 60 * MINUTE - 1, key: 'ip' });
        });

        it('resetLoginAttempts clears one counter and lowers another by one, never below 0', async () => {
          const { group, counters, hit } = attempt();
          const [username, ip] = counters.map((counter) => counter.key) as [string, string];
          for (let i = 0; i < 3; i++) await hit();
          await reset(group, [username], [ip]);
          await reset(group, [], [ip]);
          await reset(group, [], [ip]);
          await reset(group, [], [ip]);
          // ip is at 0: five more attempts fit in it, three in the cleared username counter.
          for (let i = 0; i < 3; i++) assert.deepEqual(await hit(), { allowed: true });
          assert.deepEqual(await hit(), { allowed: false, retryAfterMs: MINUTE, key: username });
          await reset(group, [username], []);
          for (let i = 0; i < 2; i++) assert.deepEqual(await hit(), { allowed: true });
          assert.deepEqual(await hit(), { allowed: false, retryAfterMs: 60 * MINUTE, key: ip });
        });

        it('resetLoginAttempts of counters that do not exist changes nothing and does not fail', async () => {
          const { group, hit } = attempt();
          await reset(group, [`u:${random(8)}`], ['ip']);
          for (let i = 0; i < 3; i++) assert.deepEqual(await hit(), { allowed: true });
        });

        it(`lets exactly the limit of ${concurrency} parallel attempts through`, async () => {
          const { hit } = attempt();
          const results = await Promise.all(Array.from({ length: concurrency }, () => hit()));
          assert.equal(results.filter((result) => result.allowed).length, 3);
        });
      });
    }

    describe('concurrency', () => {
      it(`lets exactly one of ${concurrency} parallel rotations of one token win, then revokes the family`, async () => {
        const family = await login();
        const results = await Promise.all(Array.from({ length: concurrency }, () => store.rotate(rotation(family, family.tokenHash))));
        assert.equal(results.filter((r) => r.outcome === 'rotated').length, 1);
        assert.equal(
          results.filter((r) => r.outcome === 'rotated' || r.outcome === 'reused' || r.outcome === 'invalid').length,
          concurrency,
        );
        assert.equal(await isLive(family), false);
      });

      it(`ends ${concurrency} parallel rotations inside a grace window with one live successor`, async () => {
        const family = await login();
        const results = await Promise.all(
          Array.from({ length: concurrency }, () => store.rotate(rotation(family, family.tokenHash, { graceMs: 10_000 }))),
        );
        const rotated = results.filter((r) => r.outcome === 'rotated');
        const retried = results.filter((r) => r.outcome === 'retried');
        assert.equal(rotated.length, 1);
        assert.equal(retried.length, concurrency - 1);
        assert.equal(new Set(retried.map((r) => r.outcome === 'retried' && r.sealedSuccessor)).size, 1);
        assert.equal(await isLive(family), true);
      });

      it('leaves no family alive when rotations race revokeUser', async () => {
        const first = await login();
        const families = [first, ...(await Promise.all(Array.from({ length: 4 }, () => login({ userId: first.userId }))))];
        const results = await Promise.all([
          ...families.map((family) => store.rotate(rotation(family, family.tokenHash))),
          store.revokeUser(first.userId, clock),
        ]);
        assert.equal(results.length, families.length + 1);
        for (const family of families) assert.equal(await isLive(family), false);
        assert.deepEqual(await store.listFamilies(first.userId, clock), []);
      });
    });
  });
}

function random(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

function familyIdFor(userId: string): string {
  return shardKeyOf(userId) + random(16);
}

/** The fields a session listing shows, so a store's list and its own record compare field by field. */
function pickSession(s: SessionRecord): SessionRecord {
  return {
    familyId: s.familyId,
    userId: s.userId,
    createdAt: s.createdAt,
    lastUsedAt: s.lastUsedAt,
    expiresAt: s.expiresAt,
    absoluteExpiresAt: s.absoluteExpiresAt,
    userAgent: s.userAgent,
    ip: s.ip,
  };
}
