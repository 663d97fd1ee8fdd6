/*
 * revocation: 'cached' in one process, on the memory store, and the view's own rules
 * (README "Revocation checks from memory"): what it answers from memory, when it asks the store,
 * how much it holds, and the options that turn it on.
 */
import express from 'express';
import request from 'supertest';
import {
  createAuth,
  MemoryTokenStore,
  requireAccessToken,
  type RefreshTokenStore,
  type RevocationFeed,
  type RevocationListener,
} from '../../src/index.js';
import { MAX_VIEW_ENTRIES, RevocationView } from '../../src/tokens/revocation-view.js';
import { cookieHeader, login, makeApp, SECRET, type TestApp } from '../helpers/app.js';
import { claimsOf } from '../helpers/jwt.js';
import { optionError } from '../helpers/options.js';

/** Counts the store round trips of the revocation check on a real store. */
function countChecks(store: RefreshTokenStore): { count: number } {
  const calls = { count: 0 };
  const check = store.isAccessTokenRevoked.bind(store);
  store.isAccessTokenRevoked = (query) => {
    calls.count++;
    return check(query);
  };
  return calls;
}

async function appWithCachedRoute(): Promise<TestApp & { checks: { count: number } }> {
  const store = new MemoryTokenStore();
  const checks = countChecks(store);
  const t = await makeApp({ store, refreshToken: { reuseGraceSeconds: 0 } });
  t.app.get('/cached', t.auth.requireAccessToken({ revocation: 'cached' }), (req, res) => {
    res.json({ userId: req.auth!.userId });
  });
  return { ...t, checks };
}

const cached = (t: TestApp, token: string) => request(t.app).get('/cached').set('Authorization', `Bearer ${token}`);

describe("revocation: 'cached' on the memory store", () => {
  let t: TestApp & { checks: { count: number } };
  beforeEach(async () => {
    t = await appWithCachedRoute();
  });

  it('asks the store once for a token issued before the view began, then answers from memory', async () => {
    const { accessToken } = await login(t);
    expect((await cached(t, accessToken)).status).toBe(200);
    expect(t.checks.count).toBe(1);
    for (let i = 0; i < 10; i++) expect((await cached(t, accessToken)).status).toBe(200);
    expect(t.checks.count).toBe(1);
  });

  it('answers a token issued a minute after the view began without any store call', async () => {
    const { accessToken: early } = await login(t);
    await cached(t, early); // the view sees its epoch begin
    t.clock.now += 61_000;
    const { accessToken } = await login(t);
    const before = t.checks.count;
    for (let i = 0; i < 10; i++) expect((await cached(t, accessToken)).status).toBe(200);
    expect(t.checks.count).toBe(before);
  });

  it.each([
    [
      'logout',
      async (tokens: { accessToken: string; refreshToken: string }) => {
        await request(t.app)
          .post('/auth/logout')
          .set('Cookie', cookieHeader(tokens.refreshToken))
          .set('Authorization', `Bearer ${tokens.accessToken}`)
          .expect(204);
      },
    ],
    [
      'logout-all',
      async (tokens: { accessToken: string }) => {
        await request(t.app).post('/auth/logout-all').set('Authorization', `Bearer ${tokens.accessToken}`).expect(204);
      },
    ],
    ['revokeUser', async () => void (await t.auth.revokeUser('u-alice'))],
    [
      'revokeSession',
      async (tokens: { accessToken: string }) => void (await t.auth.revokeSession(claimsOf(tokens.accessToken).sid as string)),
    ],
    [
      'reuse',
      async (tokens: { refreshToken: string }) => {
        await request(t.app).post('/auth/refresh').set('Cookie', cookieHeader(tokens.refreshToken)).expect(200);
        await request(t.app).post('/auth/refresh').set('Cookie', cookieHeader(tokens.refreshToken)).expect(401);
      },
    ],
  ])('%s: refused at once, from memory', async (_name, revoke) => {
    const { accessToken: early } = await login(t);
    await cached(t, early);
    t.clock.now += 61_000;
    const { res: _res, ...tokens } = await login(t);
    expect((await cached(t, tokens.accessToken)).status).toBe(200);
    await revoke(tokens as { accessToken: string; refreshToken: string });
    const before = t.checks.count;
    const res = await cached(t, tokens.accessToken);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
    expect(t.checks.count).toBe(before);
  });

  it('verifyAccessToken({ revocation: "cached" }) refuses a revoked token', async () => {
    const { accessToken } = await login(t);
    await expect(t.auth.verifyAccessToken(accessToken, { revocation: 'cached' })).resolves.toMatchObject({ userId: 'u-alice' });
    await t.auth.revokeUser('u-alice');
    await expect(t.auth.verifyAccessToken(accessToken, { revocation: 'cached' })).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('the standalone requireAccessToken takes it too', async () => {
    const app = express();
    app.get(
      '/x',
      requireAccessToken({ secret: SECRET, store: t.store, revocation: 'cached', now: () => t.clock.now }),
      (_req, res) => void res.json({ ok: true }),
    );
    const { accessToken } = await login(t);
    await request(app).get('/x').set('Authorization', `Bearer ${accessToken}`).expect(200);
    await t.auth.revokeUser('u-alice');
    await request(app).get('/x').set('Authorization', `Bearer ${accessToken}`).expect(401);
  });
});

/** A store whose feed the test drives: the view's rules without a network. */
class DrivenStore extends MemoryTokenStore {
  state: ReturnType<RevocationFeed['state']> = undefined;
  listener: RevocationListener | undefined;
  override watchRevocations(listener: RevocationListener): RevocationFeed {
    this.listener = listener;
    return { state: () => this.state };
  }
}

describe('the revocation view', () => {
  const lifetimeSeconds = 900;
  const toleranceSeconds = 5;
  let clock: number;
  let store: DrivenStore;
  let view: RevocationView;
  const claims = (iat: number, sid = 'f1', jti = 'j1') => ({
    sub: 'u',
    sid,
    jti,
    iat,
    exp: iat + lifetimeSeconds,
    roles: [],
    scopes: [],
    amr: [],
    claims: {},
  });

  beforeEach(() => {
    clock = Date.UTC(2026, 0, 1);
    store = new DrivenStore();
    view = new RevocationView(store, { lifetimeSeconds, toleranceSeconds }, () => clock);
  });

  it('vouches for nothing before the feed is subscribed', () => {
    expect(view.check(claims(clock / 1000 + 60), 1000)).toBe('unknown');
  });

  it('vouches for nothing once the feed is older than maxStalenessMs', () => {
    store.state = { epoch: 1, currentAsOf: performance.now() };
    const fresh = claims(clock / 1000 + 60);
    expect(view.check(fresh, 1000)).toBe('live');
    store.state = { epoch: 1, currentAsOf: performance.now() - 1500 };
    expect(view.check(fresh, 1000)).toBe('unknown');
    expect(view.check(fresh, 2000)).toBe('live');
  });

  it('refuses what it learned whatever the feed state, and forgets a store answer when the epoch changes', () => {
    store.state = { epoch: 1, currentAsOf: performance.now() };
    const old = claims(clock / 1000 - 60, 'f2', 'j2');
    const epoch = view.currentEpoch(1000);
    view.record(old, false, epoch);
    expect(view.check(old, 1000)).toBe('live');
    store.state = { epoch: 2, currentAsOf: performance.now() };
    expect(view.check(old, 1000)).toBe('unknown');
    store.listener!({ kind: 'families', familyIds: ['f2'] });
    store.state = undefined;
    expect(view.check(old, 1000)).toBe('revoked');
  });

  it('does not keep a store answer given across an epoch change', () => {
    store.state = { epoch: 1, currentAsOf: performance.now() };
    const old = claims(clock / 1000 - 60);
    const epoch = view.currentEpoch(1000);
    store.state = { epoch: 2, currentAsOf: performance.now() };
    view.record(old, false, epoch);
    expect(view.check(old, 1000)).toBe('unknown');
  });

  it('asks the store for a token dated less than a minute into the epoch: an issuer clock ahead of ours by more than the tolerance cannot date an older token in', () => {
    store.state = { epoch: 1, currentAsOf: performance.now() };
    view.currentEpoch(1000); // the epoch begins now
    expect(view.check(claims(clock / 1000 + 10), 1000)).toBe('unknown');
    expect(view.check(claims(clock / 1000 + 59), 1000)).toBe('unknown');
    expect(view.check(claims(clock / 1000 + 60), 1000)).toBe('live');
  });

  it('holds at most MAX_VIEW_ENTRIES: beyond, it forgets all and sends tokens issued before to the store', () => {
    store.state = { epoch: 1, currentAsOf: performance.now() };
    view.currentEpoch(1000);
    clock += 120_000;
    const revokedEarlier = claims(clock / 1000 - 30, 'f-early', 'j-early'); // issued after the epoch began
    store.listener!({ kind: 'families', familyIds: ['f-early'] });
    expect(view.check(revokedEarlier, 1000)).toBe('revoked');
    for (let i = 0; i <= MAX_VIEW_ENTRIES; i++) store.listener!({ kind: 'token', jti: `flood${i}`, expiresAt: clock + 60_000 });
    expect(view.size.families + view.size.tokens).toBeLessThanOrEqual(1);
    // Forgotten, so no longer known revoked: but no longer vouched for either. The store decides.
    expect(view.check(revokedEarlier, 1000)).toBe('unknown');
    expect(view.check(claims(clock / 1000 + 60, 'f-new', 'j-new'), 1000)).toBe('live');
  });

  it('keeps a denylist entry no longer than a token can live, whatever the message says', () => {
    store.listener!({ kind: 'token', jti: 'forever', expiresAt: 1e300 });
    store.listener!({ kind: 'token', jti: 'first', expiresAt: clock + 1000 });
    expect(view.size.tokens).toBe(2);
    clock += (lifetimeSeconds + 600) * 1000 + 1;
    store.listener!({ kind: 'token', jti: 'late', expiresAt: clock + 1000 });
    expect(view.size.tokens).toBe(1);
  });

  it('holds only what was revoked within one token lifetime', () => {
    for (let i = 0; i < 1000; i++) store.listener!({ kind: 'families', familyIds: [`f${i}`] });
    for (let i = 0; i < 1000; i++) store.listener!({ kind: 'token', jti: `j${i}`, expiresAt: clock + lifetimeSeconds * 1000 });
    expect(view.size).toEqual({ families: 1000, tokens: 1000, cleared: 0 });
    expect(view.check(claims(clock / 1000, 'f999', 'x'), 1000)).toBe('revoked');
    clock += (lifetimeSeconds + 2 * toleranceSeconds) * 1000 + 1;
    store.listener!({ kind: 'families', familyIds: ['late'] });
    store.listener!({ kind: 'token', jti: 'late', expiresAt: clock + 1000 });
    expect(view.size).toEqual({ families: 1, tokens: 1, cleared: 0 });
  });
});

describe("revocation: 'cached' options", () => {
  const accessToken = { secret: SECRET };
  /** A third-party store with every required method and no watchRevocations. */
  function plainStore(): RefreshTokenStore {
    const memory = new MemoryTokenStore();
    const store: Record<string, unknown> = {};
    for (const method of [
      'createFamily',
      'rotate',
      'revokeFamily',
      'revokeUser',
      'listFamilies',
      'denylistAccessToken',
      'isAccessTokenRevoked',
    ] as const) {
      store[method] = (memory[method] as (...args: unknown[]) => unknown).bind(memory);
    }
    return store as unknown as RefreshTokenStore;
  }

  it('refuses a store without watchRevocations at start-up, naming the option', () => {
    const auth = createAuth({ accessToken, store: plainStore() });
    expect(optionError(() => auth.requireAccessToken({ revocation: 'cached' })).option).toBe('requireAccessToken.revocation');
    expect(optionError(() => requireAccessToken({ secret: SECRET, store: plainStore(), revocation: 'cached' })).option).toBe(
      'requireAccessToken.revocation',
    );
    expect(() => auth.requireAccessToken({ revocation: true })).not.toThrow();
  });

  it.each([
    [{ revocation: 'cached', maxStalenessMs: 100 }, 'requireAccessToken.maxStalenessMs'],
    [{ revocation: 'cached', maxStalenessMs: '1s' }, 'requireAccessToken.maxStalenessMs'],
    [{ revocation: true, maxStalenessMs: 1000 }, 'requireAccessToken.maxStalenessMs'],
    [{ revocation: 'cache' }, 'requireAccessToken.revocation'],
  ])('refuses %j, naming the option', (options, option) => {
    const auth = createAuth({ accessToken, store: new MemoryTokenStore() });
    expect(optionError(() => auth.requireAccessToken(options as never)).option).toBe(option);
  });

  it('checks verifyAccessToken options too', async () => {
    const auth = createAuth({ accessToken, store: new MemoryTokenStore() });
    await expect(auth.verifyAccessToken('x', { revocation: 'cached', maxStalenessMs: 10 })).rejects.toMatchObject({
      option: 'verifyAccessToken.maxStalenessMs',
    });
  });
});
