/*
 * Attacks on rotation and reuse detection: stolen tokens replayed in every order, from another
 * address, inside the grace window, racing logout-all; forged tokens that name a real family.
 */
import request from 'supertest';
import { cookieHeader, expectError, login, makeApp, me, refresh, refreshCookie, type TestApp } from '../helpers/app.js';
import { sessionIdOf } from '../suites/shared.js';

describe('rotation and reuse attacks', () => {
  let t: TestApp;
  beforeEach(async () => {
    // Strict: no grace window, so that any rotated token presented again is reuse at once. The
    // default window (cookie transport) is attacked on its own below.
    t = await makeApp({ refreshToken: { reuseGraceSeconds: 0 } });
  });

  it('a thief who refreshes first loses everything when the owner presents the old token', async () => {
    const owner = await login(t);
    const thief = await refresh(t, owner.refreshToken);
    expect(thief.status).toBe(200);
    expectError(await refresh(t, owner.refreshToken), 401, 'invalid_grant');
    expectError(await refresh(t, refreshCookie(thief)!.value), 401, 'invalid_grant');
    expectError(await me(t, thief.body.accessToken), 401, 'invalid_token');
    expect(t.events.filter((e) => e.name === 'onReuseDetected')).toHaveLength(1);
  });

  it('a rotated token replayed from another IP and user agent is reuse, not a new client', async () => {
    t.app.set('trust proxy', true);
    const owner = await login(t, 'alice', { 'X-Forwarded-For': '203.0.113.7', 'User-Agent': 'Owner/1.0' });
    const rotated = await refresh(t, owner.refreshToken, { 'X-Forwarded-For': '203.0.113.7', 'User-Agent': 'Owner/1.0' });
    expect(rotated.status).toBe(200);
    const replay = await refresh(t, owner.refreshToken, { 'X-Forwarded-For': '198.51.100.66', 'User-Agent': 'curl/8.0' });
    expectError(replay, 401, 'invalid_grant');
    expectError(await refresh(t, refreshCookie(rotated)!.value), 401, 'invalid_grant');
    expect(await t.store.listFamilies('u-alice', t.clock.now)).toEqual([]);
  });

  it('with the default window (cookie transport), a stolen token replayed within 10 s of the rotation gets the same successor; later it is reuse', async () => {
    const defaults = await makeApp();
    const owner = await login(defaults);
    const rotated = await refresh(defaults, owner.refreshToken);
    defaults.clock.now += 10_000;
    // The cost of the window: the thief's replay is taken for the owner's retry.
    const thief = await refresh(defaults, owner.refreshToken);
    expect(thief.status).toBe(200);
    expect(refreshCookie(thief)!.value).toBe(refreshCookie(rotated)!.value);
    expect(defaults.events.filter((e) => e.name === 'onReuseDetected')).toEqual([]);
    defaults.clock.now += 1;
    expectError(await refresh(defaults, owner.refreshToken), 401, 'invalid_grant');
    expectError(await refresh(defaults, refreshCookie(rotated)!.value), 401, 'invalid_grant');
    expectError(await me(defaults, thief.body.accessToken), 401, 'invalid_token');
    expect(defaults.events.filter((e) => e.name === 'onReuseDetected')).toHaveLength(1);
  });

  it('a grandparent token replayed inside the grace window is reuse, never a retry', async () => {
    const graced = await makeApp({ refreshToken: { reuseGraceSeconds: 30 } });
    const owner = await login(graced);
    const child = await refresh(graced, owner.refreshToken);
    const grandchild = await refresh(graced, refreshCookie(child)!.value);
    expect(grandchild.status).toBe(200);
    expectError(await refresh(graced, owner.refreshToken), 401, 'invalid_grant');
    expectError(await refresh(graced, refreshCookie(grandchild)!.value), 401, 'invalid_grant');
  });

  it('the previous token after the grace window is reuse', async () => {
    const graced = await makeApp({ refreshToken: { reuseGraceSeconds: 30 } });
    const owner = await login(graced);
    const child = await refresh(graced, owner.refreshToken);
    graced.clock.now += 31_000;
    expectError(await refresh(graced, owner.refreshToken), 401, 'invalid_grant');
    expectError(await refresh(graced, refreshCookie(child)!.value), 401, 'invalid_grant');
  });

  it('a refresh racing logout-all leaves no family alive, whichever wins', async () => {
    for (let round = 0; round < 20; round++) {
      const laptop = await login(t);
      const phone = await login(t);
      const [rotated, loggedOut] = await Promise.all([
        refresh(t, laptop.refreshToken),
        request(t.app).post('/auth/logout-all').set('Authorization', `Bearer ${phone.accessToken}`),
      ]);
      expect(loggedOut.status).toBe(204);
      if (rotated.status === 200) {
        expectError(await refresh(t, refreshCookie(rotated)!.value), 401, 'invalid_grant');
        expectError(await me(t, rotated.body.accessToken), 401, 'invalid_token');
      } else {
        expectError(rotated, 401, 'invalid_grant');
      }
      expect(await t.store.listFamilies('u-alice', t.clock.now)).toEqual([]);
    }
  }, 60_000); // 40 bcrypt logins: over 20 s on a loaded 2-core machine

  it('a token naming a real family without its proof is refused and revokes nothing', async () => {
    const owner = await login(t);
    const [family, , secret] = owner.refreshToken.split('.');
    const forged = `${family}.${'A'.repeat(22)}.${secret}`;
    expectError(await refresh(t, forged), 401, 'invalid_grant');
    expect((await request(t.app).post('/auth/logout').set('Cookie', cookieHeader(forged))).status).toBe(204);
    expect(t.events.filter((e) => e.name === 'onReuseDetected')).toEqual([]);
    expect((await refresh(t, owner.refreshToken)).status).toBe(200);
  });

  it("one family's id with another family's proof is refused, and both families live", async () => {
    const first = await login(t);
    const second = await login(t, 'bob');
    const [familyA] = first.refreshToken.split('.');
    const [, proofB, secretB] = second.refreshToken.split('.');
    expectError(await refresh(t, `${familyA}.${proofB}.${secretB}`), 401, 'invalid_grant');
    expect((await refresh(t, first.refreshToken)).status).toBe(200);
    expect((await refresh(t, second.refreshToken)).status).toBe(200);
  });

  it("a token of another user's family cannot delete that session: 404, and it lives", async () => {
    const alice = await login(t);
    const bob = await login(t, 'bob');
    const res = await request(t.app)
      .delete(`/auth/sessions/${sessionIdOf(alice.refreshToken)}`)
      .set('Authorization', `Bearer ${bob.accessToken}`);
    expectError(res, 404, 'not_found');
    expect((await refresh(t, alice.refreshToken)).status).toBe(200);
  });

  it('the access token of a reused family stops at once where revocation is checked', async () => {
    const owner = await login(t);
    await refresh(t, owner.refreshToken);
    await refresh(t, owner.refreshToken);
    expectError(await me(t, owner.accessToken), 401, 'invalid_token');
    expectError(await request(t.app).get('/auth/sessions').set('Authorization', `Bearer ${owner.accessToken}`), 401, 'invalid_token');
  });
});
