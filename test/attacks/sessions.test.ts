/*
 * Attacks on the end of a session: a logged-out access token presented while a clock tolerance
 * still accepts it after its `exp`; the session cap turned against the login that triggers it.
 */
import express from 'express';
import request from 'supertest';
import { requireAccessToken } from '../../src/index.js';
import { expectError, login, makeApp, me, refresh, SECRET, type TestApp } from '../helpers/app.js';
import { claimsOf } from '../helpers/jwt.js';

const expOf = (token: string) => claimsOf(token).exp as number;

describe('session-end attacks', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });

  it('a logged-out access token stays refused while the largest clock tolerance (300 s) still accepts it after exp', async () => {
    // The router signs with the default tolerance (5 s); another service checks with the largest.
    const lenient = express();
    lenient.get(
      '/me',
      requireAccessToken({ secret: SECRET, store: t.store, now: () => t.clock.now, clockToleranceSeconds: 300 }),
      (req, res) => {
        res.json(req.auth);
      },
    );
    const { accessToken } = await login(t);
    // Logout with the access token only: the session lives on, the token is denylisted.
    const logout = await request(t.app).post('/auth/logout').set('Authorization', `Bearer ${accessToken}`);
    expect(logout.status).toBe(204);

    const exp = expOf(accessToken);
    for (const seconds of [0, 5, 299]) {
      t.clock.now = (exp + seconds) * 1000;
      expectError(await request(lenient).get('/me').set('Authorization', `Bearer ${accessToken}`), 401, 'invalid_token');
    }
    // Control: a token that was never logged out passes at the same point after its exp.
    t.clock.now = exp * 1000 - 60_000;
    const fresh = await login(t);
    t.clock.now = (expOf(fresh.accessToken) + 299) * 1000;
    expect((await request(lenient).get('/me').set('Authorization', `Bearer ${fresh.accessToken}`)).status).toBe(200);
  });

  it('the session cap never evicts the login that triggers it, even when the clock stepped back', async () => {
    const capped = await makeApp({ refreshToken: { maxSessionsPerUser: 1 } });
    const laptop = await login(capped);
    capped.clock.now -= 1000; // another instance's clock, or an NTP step: this login looks older
    const phone = await login(capped);
    expect((await refresh(capped, phone.refreshToken)).status).toBe(200);
    expectError(await refresh(capped, laptop.refreshToken), 401, 'invalid_grant');
    expectError(await me(capped, laptop.accessToken), 401, 'invalid_token');
  });
});
